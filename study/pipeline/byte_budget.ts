/**
 * Where a model's bytes are: per graph, the low-bit weight codes, their scales and zero points, the
 * tensors left in fp32 (norms, biases, embeddings, whole fp32 graphs) and the graph's structure (node
 * and tensor names, attributes). The report uses it to say what keeps a default above its size goal.
 *
 *   deno run -A study/pipeline/byte_budget.ts models/wall/gptq-w4g16-whole
 */
import { graphFiles, loadModelCard } from "../../model/model_card.ts";
import { decodeModel, type Tensor } from "../../lib/onnx.ts";

export interface GraphBudget {
  graph: string;
  total: number;
  /** Packed weight codes (MatMulNBits B, MatMulInteger / DequantizeLinear uint8 or int8 weights). */
  codes: number;
  /** Their scales and zero points. */
  scales: number;
  /** Float tensors left as they were. */
  float: number;
  /** Everything that is not tensor data. */
  structure: number;
}

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 10: 2, 11: 8 };

function dataBytes(t: Tensor): number {
  if (t.raw) return t.raw.length;
  const n = t.floatData?.length ?? t.int32Data?.length ?? t.int64Data?.length ?? 0;
  return n * (ELEMENT_BYTES[t.dataType] ?? 4);
}

/** The budget of one ONNX graph's bytes. */
export function graphBudget(name: string, bytes: Uint8Array): GraphBudget {
  const m = decodeModel(bytes);
  const codes = new Set<string>(), scales = new Set<string>();
  for (const n of m.graph.nodes) {
    if (n.opType === "MatMulNBits") {
      codes.add(n.inputs[1]);
      for (const i of n.inputs.slice(2, 4)) scales.add(i);
    } else if (n.opType === "MatMulInteger") {
      codes.add(n.inputs[1]);
      scales.add(n.inputs[3] ?? "");
    } else if (n.opType === "DequantizeLinear") {
      codes.add(n.inputs[0]);
      for (const i of n.inputs.slice(1, 3)) scales.add(i);
    }
  }
  const b: GraphBudget = { graph: name, total: bytes.length, codes: 0, scales: 0, float: 0, structure: 0 };
  for (const t of m.graph.initializers) {
    const k = t.name ?? "", size = dataBytes(t);
    if (codes.has(k)) b.codes += size;
    else if (scales.has(k)) b.scales += size;
    else b.float += size;
  }
  b.structure = b.total - b.codes - b.scales - b.float;
  return b;
}

/** Every graph of a model directory. */
export function modelBudget(dir: string): GraphBudget[] {
  return graphFiles(loadModelCard(dir)).map((f) => graphBudget(f, Deno.readFileSync(`${dir}/${f}`)));
}

if (import.meta.main) {
  for (const dir of Deno.args) {
    for (const b of modelBudget(dir)) console.log(JSON.stringify({ dir, ...b }));
  }
}
