import assert from "node:assert/strict";
import type { RowResult } from "../../../study/pipeline/rows.ts";
import { omniquantTable } from "../../../study/pipeline/report_tables.ts";

function row(id: string, method: string, s: number, family = "weight-only"): RowResult {
  return {
    id,
    task: "wall",
    family,
    kind: "quant",
    status: "done",
    episodes: 50,
    budget: 50,
    seed: 0,
    config: [{ method, weight: { bits: 4, granularity: "channel" } }],
    success: { "50": s },
    latent_error: { encoder: 1e-5, step1: 1e-4, step5: 2e-3 },
    bytes: { encoder: 500 * 1024, predictor: 300 * 1024, total: 800 * 1024 },
    seconds: { quantize: 144.2, eval: 30, total: 174 },
  } as unknown as RowResult;
}

Deno.test("omniquantTable: OmniQuant beside the other methods at its settings; none without an OmniQuant row", () => {
  const rows = [row("rtn-w4", "rtn", 0.6), row("gptq-w4", "gptq", 1), row("rtn-w4-enc", "rtn", 0.9, "asymmetry")];
  assert.equal(omniquantTable(rows, "wall", 50), null);
  const t = omniquantTable([...rows, row("omniquant-w4", "omniquant", 0.8)], "wall", 50)!.split("\n");
  assert.deepEqual(t.slice(2), [
    "| w4 | rtn | 0.60 | 2.0e-3 | 800 | 144 |",
    "| w4 | gptq | 1.00 | 2.0e-3 | 800 | 144 |",
    "| w4 | **omniquant** | 0.80 | 2.0e-3 | 800 | 144 |",
  ]);
});
