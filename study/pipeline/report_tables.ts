/**
 * The report's tables and per-default lines, each from the rows (and speed lines) of one task:
 * success by replan checkpoint, onnxruntime's quantizer against ours, speed and size of the
 * deployable variants, and what the default rule chose and where its bytes are.
 */
import { CHECKPOINTS } from "../../tasks/evaluation.ts";
import { type Choice, netLoss, SIZE_GOAL, type SpeedRow } from "./choose_default.ts";
import { type GraphBudget, modelBudget } from "./byte_budget.ts";
import type { RowResult } from "./rows.ts";
import { f2, final, MIN_FP32_SUCCESS, setting } from "./verdicts.ts";

export function successTable(rows: RowResult[], task: string, budget: number): string {
  const cps = CHECKPOINTS.filter((c) => c <= budget);
  const head = `| variant | family | ${
    cps.map((c) => `@${c}`).join(" | ")
  } | 95% CI @${budget} | final distance | objective | KB | latent err step 1 / 5 |`;
  const lines = [head, `|${"---|".repeat(cps.length + 7)}`];
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const order = (r: RowResult) => (r.id === "oracle" ? 0 : r.id === "fp32" ? 1 : 2);
  // Where fp32 itself rarely succeeds (pusht), success barely separates the rows: the distance left does.
  const fp32 = mine.find((r) => r.id === "fp32");
  const byDistance = fp32 !== undefined && final(fp32)! < MIN_FP32_SUCCESS;
  const rank = (a: RowResult, b: RowResult) =>
    byDistance ? (a.final_distance_mean ?? Infinity) - (b.final_distance_mean ?? Infinity) : final(b)! - final(a)!;
  for (const r of mine.sort((a, b) => order(a) - order(b) || rank(a, b))) {
    const ci = r.ci95?.[String(budget)];
    const le = r.latent_error, obj = r.objective?.per_iteration.at(-1);
    lines.push(
      `| ${r.id} | ${r.family} | ${cps.map((c) => f2(r.success?.[String(c)])).join(" | ")} | ${
        ci ? `${ci[0].toFixed(2)}-${ci[1].toFixed(2)}` : "-"
      } | ${f2(r.final_distance_mean)} | ${obj === undefined ? "-" : obj.toPrecision(3)} | ${
        r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"
      } | ${le ? `${le.step1.toExponential(1)} / ${le.step5.toExponential(1)}` : "-"} |`,
    );
  }
  return lines.join("\n");
}

/**
 * onnxruntime's own weight-only quantizer (RTN, HQQ at W4 g32 / g128, MatMul layers of both graphs)
 * beside ours at the same bits and groups (every MatMul/Gemm), on the same paired episodes.
 */
export function peerTable(rows: RowResult[], speed: SpeedRow[], task: string): string | null {
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const fp32 = mine.find((r) => r.id === "fp32");
  if (!fp32 || !mine.some((r) => r.family === "peer")) return null;
  const web2 = (id: string) => speed.find((s) => s.task === task && s.id === id && s.backend === "web-2t");
  const lines = [
    "| group | quantizer | success @50 | net episodes lost vs fp32 | KB | latent err step 5 | web-2t replan p50 (x fp32) |",
    "|---|---|---|---|---|---|---|",
  ];
  // Rows are found by what they ran (their config), not by reading their ids apart.
  const peerOf = (g: number, algo: string) =>
    mine.find((r) => {
      const c = r.config as { algo?: string; group?: number } | null;
      return r.family === "peer" && c?.algo === algo && c?.group === g;
    });
  const oursOf = (g: number, method: string) =>
    mine.find((r) => {
      const s = setting(r);
      return r.family === "weight-only" && s?.method === method && s.bits === 4 && s.granularity === `g${g}`;
    });
  for (const g of [32, 128]) {
    const quantizers: [string, RowResult | undefined][] = [
      ["onnxruntime RTN", peerOf(g, "rtn")],
      ["onnxruntime HQQ", peerOf(g, "hqq")],
      ...["rtn", "awq", "gptq"].map((m): [string, RowResult | undefined] => [`ours ${m}`, oursOf(g, m)]),
    ];
    for (const [label, r] of quantizers) {
      if (!r) continue;
      const id = r.id;
      lines.push(
        `| ${g} | ${label} | ${f2(final(r))} | ${netLoss(r, fp32)} | ${
          r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"
        } | ${r.latent_error ? r.latent_error.step5.toExponential(1) : "-"} | ${
          ((s) => (s ? `${s.p50_ms.toFixed(0)} ms${s.vs_fp32 ? ` (${s.vs_fp32.toFixed(2)}x)` : ""}` : "-"))(web2(id))
        } |`,
      );
    }
  }
  return lines.join("\n");
}

/** The settings OmniQuant runs at in the grid (grid.ts), in the paper's order. */
const OMNI_SETTINGS = ["w4g128", "w4", "w3g128", "w3", "w8a8tok", "w6a6tok", "w4a8tok", "w4a4tok"];
const OMNI_PEERS = ["rtn", "omse", "awq", "smoothquant", "gptq", "omniquant"];

/**
 * OmniQuant beside the other methods at each of its settings, on one task: success at the budget, latent error
 * five steps on, bytes and the seconds quantizing took (null when the task has no OmniQuant row yet).
 */
export function omniquantTable(rows: RowResult[], task: string, budget: number): string | null {
  const mine = rows.filter((r) =>
    r.task === task && r.status === "done" && (r.family === "weight-only" || r.family === "weight-act")
  );
  if (!mine.some((r) => setting(r)?.method === "omniquant")) return null;
  const lines = [
    `| setting | method | success @${budget} | latent err step 5 | KB | quantize s |`,
    "|---|---|---|---|---|---|",
  ];
  for (const tag of OMNI_SETTINGS) {
    for (const m of OMNI_PEERS) {
      const r = mine.find((r) => setting(r)?.method === m && setting(r)?.tag === tag);
      if (!r) continue;
      const name = m === "omniquant" ? "**omniquant**" : m;
      lines.push(
        `| ${tag} | ${name} | ${f2(final(r))} | ${r.latent_error ? r.latent_error.step5.toExponential(1) : "-"} | ${
          r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"
        } | ${r.seconds ? r.seconds.quantize.toFixed(0) : "-"} |`,
      );
    }
  }
  return lines.join("\n");
}

export function choiceSection(c: Choice): string {
  const out = [`**${c.task}**: fp32 ${(c.fp32.bytes / 1024).toFixed(0)} KB, success ${f2(c.fp32.success)}.`];
  if (c.chosen) {
    out.push(
      ` Chosen: **${c.chosen.id}**, ${(c.chosen.bytes / 1024).toFixed(0)} KB (${
        (100 * c.chosen.bytes / c.fp32.bytes).toFixed(0)
      }% of fp32), success ${
        f2(c.chosen.success)
      } (net loss ${c.chosen.net_loss}), ${c.chosen.slowdown}x fp32's replan time.`,
    );
  } else out.push(" No variant meets the rule yet.");
  // Only variants no larger than the choice were passed over; larger ones were never in the running.
  const rejected = c.candidates.filter((x) => !x.eligible && (!c.chosen || x.bytes <= c.chosen.bytes)).slice(0, 6);
  if (rejected.length) {
    out.push(
      "\n\n  Smaller candidates passed over: " +
        rejected.map((x) => `${x.id} (${(x.bytes / 1024).toFixed(0)} KB: ${x.why})`).join("; ") + ".",
    );
  }
  return out.join("");
}

/** Replan latency (p50 and its ratio to fp32 in the same run, p95), peak RSS and bytes per backend, one line a variant. */
export function speedTable(speed: SpeedRow[], rows: RowResult[], task: string): string | null {
  const mine = speed.filter((s) => s.task === task);
  if (!mine.length) return null;
  const ids = [...new Set(mine.map((s) => s.id))];
  // The row's bytes where there is one: a speed line keeps those of the graph it timed, which `study bytes` may
  // since have brought up to date in the row (same computation, smaller graph).
  const bytesOf = (id: string) =>
    rows.find((r) => r.task === task && r.id === id)?.bytes?.total ?? mine.find((s) => s.id === id)!.bytes;
  ids.sort((a, b) => (a === "fp32" ? -1 : b === "fp32" ? 1 : bytesOf(a) - bytesOf(b)));
  const backends = ["web-1t", "web-2t", "node"];
  const cell = (id: string, b: string) => {
    const s = mine.find((x) => x.id === id && x.backend === b);
    if (!s) return "-";
    return `${s.p50_ms.toFixed(0)} / ${s.p95_ms.toFixed(0)}${s.vs_fp32 ? ` (${s.vs_fp32.toFixed(2)}x)` : ""}, ${
      s.rss_peak_mb.toFixed(0)
    } MB`;
  };
  const lines = [
    `| variant | KB | success @50 | ${
      backends.map((b) => `${b}: p50 / p95 ms (x fp32), RSS`).join(" | ")
    } | measured as |`,
    `|---|---|---|${backends.map(() => "---").join("|")}|---|`,
  ];
  for (const id of ids) {
    const r = rows.find((x) => x.task === task && x.id === id);
    const as = mine.find((x) => x.id === id && x.measured_as)?.measured_as;
    lines.push(
      `| ${id} | ${(bytesOf(id) / 1024).toFixed(0)} | ${r ? f2(final(r)) : "-"} | ${
        backends.map((b) => cell(id, b)).join(" | ")
      } | ${as ?? ""} |`,
    );
  }
  return lines.join("\n");
}

/** Where the chosen default's bytes are, and what keeps it above the size goal (read from the shipped files). */
export function budgetSection(c: Choice, dir: string): string | null {
  let graphs: GraphBudget[];
  try {
    graphs = modelBudget(dir);
  } catch {
    return null; // not shipped (yet) under models/
  }
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  const sum = (k: keyof Omit<GraphBudget, "graph">) => graphs.reduce((a, g) => a + g[k], 0);
  const total = sum("total"), goal = SIZE_GOAL * c.fp32.bytes;
  const parts = graphs.map((g) =>
    `${g.graph} ${kb(g.total)} (codes ${kb(g.codes)}, scales and zero points ${kb(g.scales)}, fp32 tensors ${
      kb(g.float)
    }, structure ${kb(g.structure)})`
  ).join("; ");
  const verdict = total <= goal
    ? `within the ${100 * SIZE_GOAL}% goal (${kb(goal)})`
    : `${kb(total - goal)} over the ${100 * SIZE_GOAL}% goal (${kb(goal)}): beyond its weight codes (${
      kb(sum("codes"))
    }) it carries ${kb(sum("scales"))} of scales and zero points, ${kb(sum("float"))} of fp32 tensors and ${
      kb(sum("structure"))
    } of graph structure`;
  return `Where its bytes are: ${parts}. In all ${kb(total)}, ${verdict}.`;
}
