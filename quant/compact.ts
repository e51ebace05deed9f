/**
 * Short names for a deployable graph. An exported graph names every tensor and node by the path of
 * the module that made it ("/enc/blocks.2/attn/qkv/MatMul_output_0"): in a W4 encoder those names
 * are ~40 KB of a ~500 KB file, as many bytes as a third of its weights. The runtime needs none of
 * them, only unique tensor names, so every tensor that is not a graph input or output is renamed to
 * a counter in base 36 and node names are dropped. What is computed does not change.
 */
import type { Model } from "../lib/onnx.ts";
import { OnnxError } from "../lib/onnx.ts";

/** AttributeProto types that hold subgraphs (GRAPH, GRAPHS): their names refer to the outer graph. */
const SUBGRAPH_TYPES = new Set([5, 10]);

/** Rename `model`'s inner tensors in place; returns how many names changed. */
export function compactNames(model: Model): number {
  const g = model.graph;
  for (const n of g.nodes) {
    if (n.attributes.some((a) => a.type !== undefined && SUBGRAPH_TYPES.has(a.type))) {
      throw new OnnxError(`node ${n.name ?? n.opType} holds a subgraph: names cannot be compacted`);
    }
  }
  const keep = new Set([...g.inputs, ...g.outputs].map((v) => v.name));
  const names = new Map<string, string>();
  let next = 0;
  const short = (name: string) => {
    // "" is an omitted optional input and stays so; graph inputs and outputs are the model's interface.
    if (name === "" || keep.has(name)) return name;
    let s = names.get(name);
    if (s === undefined) {
      do s = (next++).toString(36); while (keep.has(s));
      names.set(name, s);
    }
    return s;
  };
  for (const t of g.initializers) if (t.name !== undefined) t.name = short(t.name);
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(short);
    n.outputs = n.outputs.map(short);
    delete n.name;
  }
  for (const v of g.valueInfo) v.name = short(v.name);
  return names.size;
}
