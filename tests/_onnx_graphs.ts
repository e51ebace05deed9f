/** Small ONNX graphs built in the tests, and a helper to run them. */
import { type BackendName, ortFor } from "../model/ort.ts";
import { encodeModel, type Model } from "../lib/onnx.ts";
import { attrFloat, attrInt, makeNode, makeTensor, makeValueInfo } from "../lib/onnx_graph.ts";
import { Rng } from "../lib/rng.ts";
import { sha256Hex } from "../lib/sha256.ts";

export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/**
 * A toy transformer-block slice, opset 17:
 *   x [B, T, 64] -> LayerNorm -> fc1 MatMul [64, 96] -> Relu -> fc2 MatMul [96, 64] -> y
 *   u [B, 64] -> proj Gemm (transB, bias) [40 x 64] -> g
 *   u [B, 64] -> qkv MatMul [64, 48] -> q
 * Input channel 3 of x and u is scaled up to make an activation outlier.
 */
export function toyBlock(seed = 1): Model {
  const rng = new Rng(seed);
  const w = (name: string, dims: number[], scale: number) =>
    makeTensor(name, dims, randn(rng, dims[0] * dims[1], scale));
  const initializers = [
    makeTensor("ln.g", [64], Float32Array.from({ length: 64 }, (_, i) => 1 + 0.1 * Math.sin(i))),
    makeTensor("ln.b", [64], Float32Array.from({ length: 64 }, (_, i) => 0.05 * Math.cos(i))),
    w("fc1.w", [64, 96], 0.15),
    w("fc2.w", [96, 64], 0.1),
    w("proj.w", [40, 64], 0.12),
    makeTensor("proj.b", [40], randn(rng, 40, 0.1)),
    w("qkv.w", [64, 48], 0.12),
  ];
  const nodes = [
    makeNode("LayerNormalization", ["x", "ln.g", "ln.b"], ["ln"], "/blocks.0/ln1/LayerNormalization", [
      attrInt("axis", -1),
      attrFloat("epsilon", 1e-5),
    ]),
    makeNode("MatMul", ["ln", "fc1.w"], ["h"], "/blocks.0/fc1/MatMul"),
    makeNode("Relu", ["h"], ["r"], "/blocks.0/act/Relu"),
    makeNode("MatMul", ["r", "fc2.w"], ["y"], "/blocks.0/fc2/MatMul"),
    makeNode("Gemm", ["u", "proj.w", "proj.b"], ["g"], "/blocks.0/proj/Gemm", [attrInt("transB", 1)]),
    makeNode("MatMul", ["u", "qkv.w"], ["q"], "/blocks.1/qkv/MatMul"),
  ];
  return {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "edgewm-tests",
    graph: {
      name: "toy",
      nodes,
      initializers,
      inputs: [makeValueInfo("x"), makeValueInfo("u")],
      outputs: [makeValueInfo("y"), makeValueInfo("g"), makeValueInfo("q")],
      valueInfo: [],
      rest: [],
    },
    metadataProps: [],
    rest: [],
  };
}

export function toyInputs(seed: number, B = 6, T = 5): { x: Float32Array; u: Float32Array; B: number; T: number } {
  const rng = new Rng(seed);
  const x = randn(rng, B * T * 64), u = randn(rng, B * 64);
  for (let i = 0; i < B * T; i++) x[i * 64 + 3] *= 12;
  for (let i = 0; i < B; i++) u[i * 64 + 3] *= 12;
  return { x, u, B, T };
}

/** Run a model on float32 inputs; returns every output by name. */
export async function runModel(
  model: Model | Uint8Array,
  inputs: Record<string, { data: Float32Array; dims: number[] }>,
  backend: BackendName = "web",
): Promise<Record<string, Float32Array>> {
  const ort = await ortFor(backend, 1);
  const session = await ort.InferenceSession.create(model instanceof Uint8Array ? model : encodeModel(model));
  const feeds = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor("float32", v.data, v.dims)]),
  );
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A toy proposal policy (train/proposal_policy.py's interface), opset 17:
 *   actions [B, H, A] = Reshape((goal_global - global) W + proprio V + b)
 * with W [G, H*A], V [P, H*A] and b drawn from `seed`; `inputs` leaves out inputs (a malformed policy).
 */
export function toyPolicy(
  G: number,
  P: number,
  H: number,
  A: number,
  seed = 1,
  inputs = ["global", "proprio", "goal_global"],
): { model: Model; W: Float32Array; V: Float32Array; b: Float32Array } {
  const rng = new Rng(seed), L = H * A;
  const W = randn(rng, G * L, 0.3), V = randn(rng, P * L, 0.3), b = randn(rng, L, 0.3);
  const model: Model = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "edgewm-tests",
    graph: {
      name: "policy",
      nodes: [
        makeNode("Sub", ["goal_global", "global"], ["d"], "sub"),
        makeNode("MatMul", ["d", "W"], ["dw"], "dw"),
        makeNode("MatMul", ["proprio", "V"], ["pv"], "pv"),
        makeNode("Add", ["dw", "pv"], ["s"], "s"),
        makeNode("Add", ["s", "b"], ["flat"], "bias"),
        makeNode("Reshape", ["flat", "shape"], ["actions"], "reshape"),
      ],
      initializers: [
        makeTensor("W", [G, L], W),
        makeTensor("V", [P, L], V),
        makeTensor("b", [L], b),
        makeTensor("shape", [3], BigInt64Array.from([-1n, BigInt(H), BigInt(A)])),
      ],
      inputs: inputs.map((n) => makeValueInfo(n)),
      outputs: [makeValueInfo("actions")],
      valueInfo: [],
      rest: [],
    },
    metadataProps: [],
    rest: [],
  };
  return { model, W, V, b };
}

/**
 * A copy of model folder `dir` in a temporary folder with `toyPolicy` as its policy.onnx, listed with its
 * sha256, and (unless `proposal` is false) the card's planner set to start from it.
 */
export function modelWithToyPolicy(
  dir: string,
  o: { seed?: number; inputs?: string[]; proposal?: boolean } = {},
): { dir: string; W: Float32Array; V: Float32Array; b: Float32Array; H: number } {
  const tmp = Deno.makeTempDirSync({ prefix: "edgewm-policy-" });
  for (const e of Deno.readDirSync(dir)) Deno.copyFileSync(`${dir}/${e.name}`, `${tmp}/${e.name}`);
  const card = JSON.parse(Deno.readTextFileSync(`${tmp}/model.json`));
  const H = 5;
  const p = toyPolicy(card.global_dim, card.proprio_dim, H, card.action_dim, o.seed, o.inputs);
  const bytes = encodeModel(p.model);
  Deno.writeFileSync(`${tmp}/policy.onnx`, bytes);
  card.files["policy.onnx"] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  if (o.proposal !== false) card.planner = { ...card.planner, proposal: "policy" };
  Deno.writeTextFileSync(`${tmp}/model.json`, JSON.stringify(card));
  return { dir: tmp, W: p.W, V: p.V, b: p.b, H };
}
