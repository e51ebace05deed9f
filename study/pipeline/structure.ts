/**
 * Which variants run the same computation: the same operators with the same attributes on tensors of the
 * same shapes, differing only in the values of their weights. RTN, OMSE and GPTQ choose different codes
 * and scales for one configuration but write the same graph (so does OmniQuant without activations); AWQ,
 * SmoothQuant and OmniQuant with activations may add a Mul (and a Sub and an Add) where a scale or shift cannot
 * be folded, so they stay apart. The kernels our variants run (MatMulNBits, MatMulInteger,
 * DequantizeLinear, float ops) take the same time whatever the weights hold, so `study speed` measures
 * one variant per structure and lends its figures to the rest, saying so.
 *
 *   deno run -A study/pipeline/structure.ts DIR...   # prints each model directory's graph signature
 */
import { graphFiles, loadModelCard } from "../../model/model_card.ts";
import { decodeModel } from "../../lib/onnx.ts";
import type { RowSpec } from "./grid.ts";

/** Methods whose graphs differ from their configuration's plain (RTN) graph. */
const OWN_STRUCTURE = new Set(["awq", "smoothquant"]);

/** A key shared by rows whose variants are built as the same graph (from the grid, before any is built). */
export function structureKey(spec: RowSpec): string {
  if (spec.ort) return `ort:${spec.ort.algo}:${spec.ort.group}`;
  if (!spec.steps) return spec.id;
  return JSON.stringify(spec.steps.map((s) => {
    // Only what shapes the graph: bit width, granularity, activation scheme, scope and format; never the
    // method's search options or its calibration.
    const { act, modules, format, layers } = s;
    // MatMulNBits holds W3 in 4-bit containers (grid.ts): a deployable W3 graph is its W4 graph.
    const weight = format === "deploy" && s.weight.bits === 3 ? { ...s.weight, bits: 4 } : s.weight;
    // OmniQuant's learned scale and shift add nodes only where activations are quantized (weight-only: LWC).
    const own = OWN_STRUCTURE.has(s.method) || (s.method === "omniquant" && !!act);
    return { kind: own ? s.method : "plain", weight, act, modules, format, layers };
  }));
}

/** Of rows sharing a structure, the one to build and measure: one already built, else the cheapest to build. */
export function representative(specs: RowSpec[], built: (s: RowSpec) => boolean): RowSpec {
  const cost = (s: RowSpec) => (built(s) ? 0 : s.id.startsWith("rtn") ? 1 : s.id.startsWith("omse") ? 2 : 3);
  return [...specs].sort((a, b) => cost(a) - cost(b))[0];
}

/**
 * What a model directory computes, without its weights: per graph, every node's domain, operator and
 * attributes (in order), and the type and shape of every initializer. Equal signatures, equal work.
 */
export function graphSignature(dir: string): string {
  const parts: string[] = [];
  for (const file of graphFiles(loadModelCard(dir))) {
    const g = decodeModel(Deno.readFileSync(`${dir}/${file}`)).graph;
    parts.push(file);
    for (const n of g.nodes) {
      const attrs = n.attributes.map((a) =>
        `${a.name}=${a.i ?? a.f ?? a.ints?.join(",") ?? a.floats?.join(",") ?? ""}`
      );
      parts.push(`${n.domain ?? ""}:${n.opType}(${attrs.join(";")})`);
    }
    const shapes = g.initializers.map((t) => `${t.dataType}[${t.dims.join("x")}]`).sort();
    parts.push(shapes.join(" "));
  }
  return parts.join("\n");
}

if (import.meta.main) {
  for (const dir of Deno.args) {
    const bytes = new TextEncoder().encode(graphSignature(dir));
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    console.log(dir, [...hash.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
}
