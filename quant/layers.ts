/**
 * The quantizable layers of a graph: MatMul with a 2-D float initializer as
 * its second input, and Gemm (alpha = beta = 1, no transA) with an
 * initializer B. By default only the transformer blocks' attention (qkv,
 * proj) and MLP (fc1, fc2) layers are chosen, as in arXiv 2602.02110;
 * embeddings and heads stay float unless `scope` is "all". "whole" is "all"
 * on a graph whose patch-embedding Conv was first rewritten as a MatMul
 * (agent/patchify.ts), so that it is a layer too.
 */
import { type Model, type Node, type Tensor } from "../lib/onnx.ts";
import { getAttr, tensorFloats } from "../lib/onnx_graph.ts";
import type { Matrix } from "./matrix.ts";
import { QuantError } from "./quant_error.ts";

export type LayerScope = "blocks" | "all" | "whole";

export interface Layer {
  /** The node's name (or its output's, when unnamed). */
  name: string;
  node: Node;
  /** The activation input X. */
  input: string;
  weight: Tensor;
  K: number;
  N: number;
  /** Gemm with transB = 1 stores the weight as [N, K]. */
  transB: boolean;
  /** Gemm's bias input C. */
  bias?: string;
}

const BLOCK_LAYER = /blocks\.\d+\/(qkv|proj|fc1|fc2)\//;

export function findLayers(model: Model, scope: LayerScope = "blocks"): Layer[] {
  const inits = new Map(model.graph.initializers.map((t) => [t.name ?? "", t]));
  const layers: Layer[] = [];
  for (const node of model.graph.nodes) {
    if ((node.domain ?? "") !== "" || (node.opType !== "MatMul" && node.opType !== "Gemm")) continue;
    const weight = inits.get(node.inputs[1]);
    if (!weight || weight.dims.length !== 2 || weight.dataType !== 1) continue;
    const name = node.name || node.outputs[0];
    if (scope === "blocks" && !BLOCK_LAYER.test(name + "/")) continue;
    let transB = false, bias: string | undefined;
    if (node.opType === "Gemm") {
      const a = (n: string, d: number) => getAttr(node, n)?.[n === "alpha" || n === "beta" ? "f" : "i"] ?? d;
      if (a("alpha", 1) !== 1 || a("beta", 1) !== 1 || a("transA", 0) !== 0) continue;
      transB = a("transB", 0) === 1;
      bias = node.inputs[2] || undefined;
    }
    const [r, c] = weight.dims;
    layers.push({ name, node, input: node.inputs[0], weight, K: transB ? c : r, N: transB ? r : c, transB, bias });
  }
  if (layers.length === 0) {
    throw new QuantError(
      `the graph has no quantizable layers (MatMul/Gemm with a 2-D float weight${
        scope === "blocks" ? " inside transformer blocks; try --layers all" : ""
      })`,
    );
  }
  return layers;
}

/** The layer's weight as [K, N] row-major. */
export function weightMatrix(layer: Layer): Matrix {
  const w = tensorFloats(layer.weight), { K, N } = layer;
  if (!layer.transB) return { data: w, rows: K, cols: N };
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[k * N + n] = w[n * K + k];
  return { data: out, rows: K, cols: N };
}

/** Which nodes read each tensor name (graph outputs count as a reader named ""). */
export function consumers(model: Model): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const n of model.graph.nodes) {
    for (const i of n.inputs) {
      if (!map.has(i)) map.set(i, []);
      map.get(i)!.push(n);
    }
  }
  for (const o of model.graph.outputs) {
    if (!map.has(o.name)) map.set(o.name, []);
    map.get(o.name)!.push({ inputs: [o.name], outputs: [], opType: "", attributes: [], rest: [] });
  }
  return map;
}
