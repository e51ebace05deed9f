/**
 * A ViT's patch embedding is a Conv whose kernel equals its stride: each output pixel is one
 * non-overlapping patch times the same [C*k*k, O] matrix. Written as that MatMul (patches cut by
 * Reshape + Transpose), it becomes a layer like any other, so the quantizers and the low-bit
 * kernels reach it: in our encoder it holds 74k of 536k weights, ~295 KB in fp32, the largest
 * single tensor a `--layers all` variant used to keep in float.
 *
 *   x [B, C, H, W] -> [B, C, H/k, k, W/k, k] -> [B, H/k, W/k, C, k, k] -> [B, P, C*k*k]
 *     -> MatMul W' [C*k*k, O] (+ bias) -> [B, H/k, W/k, O] -> [B, O, H/k, W/k]   (the Conv's output)
 *
 * The output keeps the Conv's name, so the rest of the graph is untouched.
 */
import { type Model, type Node, type Tensor } from "../lib/onnx.ts";
import { attrInts, getAttr, makeNode, makeTensor, tensorFloats } from "../lib/onnx_graph.ts";

/** Why `node` is not a patch embedding we can rewrite (null when it is), given its input's spatial size. */
function patchConvProblem(inits: Map<string, Tensor>, node: Node, spatial: [number, number]): string | null {
  const w = inits.get(node.inputs[1]);
  if (!w || w.dims.length !== 4 || w.dataType !== 1) return "its weight is not a 4-D float initializer";
  const ints = (n: string, d: number[]) => getAttr(node, n)?.ints ?? d;
  const [kh, kw] = w.dims.slice(2), stride = ints("strides", [1, 1]);
  if (stride[0] !== kh || stride[1] !== kw) return `stride ${stride} is not its kernel ${kh}x${kw}`;
  if (ints("pads", [0, 0, 0, 0]).some((p) => p !== 0)) return "it pads";
  if (ints("dilations", [1, 1]).some((d) => d !== 1)) return "it dilates";
  if ((getAttr(node, "group")?.i ?? 1) !== 1) return "it is grouped";
  if ((getAttr(node, "auto_pad")?.s?.length ?? 0) > 0) return "it sets auto_pad";
  if (spatial[0] % kh || spatial[1] % kw) return `its ${spatial.join("x")} input is not a whole number of patches`;
  if (node.inputs[2] && !inits.has(node.inputs[2])) return "its bias is not an initializer";
  return null;
}

/**
 * Rewrite every patch-embedding Conv (kernel = stride, no padding) over an input of `spatial` size
 * [H, W] as Reshape/Transpose + MatMul (+ Add). Returns the names of the MatMuls made.
 */
export function patchConvsToMatMul(model: Model, spatial: [number, number]): string[] {
  const made: string[] = [], nodes: Node[] = [], dropped = new Set<string>();
  const inits = new Map(model.graph.initializers.map((t) => [t.name ?? "", t]));
  for (const node of model.graph.nodes) {
    if ((node.domain ?? "") !== "" || node.opType !== "Conv" || patchConvProblem(inits, node, spatial)) {
      nodes.push(node);
      continue;
    }
    const w = inits.get(node.inputs[1])!, [O, C, k, k2] = w.dims;
    dropped.add(node.inputs[1]);
    const [gh, gw] = [spatial[0] / k, spatial[1] / k2], K = C * k * k2;
    const base = node.name || node.outputs[0];
    const name = (what: string) => `${base}/patchify/${what}`;
    const shape = (what: string, dims: number[]) => {
      const n = name(`${what}_shape`);
      model.graph.initializers.push(makeTensor(n, [dims.length], BigInt64Array.from(dims.map(BigInt))));
      return n;
    };
    // W [O, C, k, k] -> W' [C*k*k, O]: row c*k*k + i*k + j, column o.
    const src = tensorFloats(w), wm = new Float32Array(K * O);
    for (let o = 0; o < O; o++) for (let r = 0; r < K; r++) wm[r * O + o] = src[o * K + r];
    model.graph.initializers.push(makeTensor(name("weight"), [K, O], wm));
    const x = node.inputs[0];
    nodes.push(
      makeNode("Reshape", [x, shape("cut", [-1, C, gh, k, gw, k2])], [name("cut")], name("cut_node")),
      makeNode("Transpose", [name("cut")], [name("patches")], name("patches_node"), [
        attrInts("perm", [0, 2, 4, 1, 3, 5]),
      ]),
      makeNode("Reshape", [name("patches"), shape("rows", [-1, gh * gw, K])], [name("rows")], name("rows_node")),
      makeNode("MatMul", [name("rows"), name("weight")], [name("matmul")], name("matmul_node")),
    );
    let y = name("matmul");
    if (node.inputs[2]) {
      nodes.push(makeNode("Add", [y, node.inputs[2]], [name("biased")], name("bias_node")));
      y = name("biased");
    }
    nodes.push(
      makeNode("Reshape", [y, shape("grid", [-1, gh, gw, O])], [name("grid")], name("grid_node")),
      makeNode("Transpose", [name("grid")], [node.outputs[0]], name("channels_first_node"), [
        attrInts("perm", [0, 3, 1, 2]),
      ]),
    );
    made.push(name("matmul_node"));
  }
  model.graph.nodes = nodes;
  // The Conv weights nothing reads any more are dropped (they are what the rewrite saves).
  const read = new Set(model.graph.nodes.flatMap((n) => n.inputs));
  model.graph.initializers = model.graph.initializers.filter((t) =>
    read.has(t.name ?? "") || !dropped.has(t.name ?? "")
  );
  return made;
}
