// The verdicts on the paper's findings, from rows built by hand: what each one counts, and what it leaves out.
import assert from "node:assert/strict";
import type { RowResult } from "../../../study/pipeline/rows.ts";
import {
  verdictAlignment,
  verdictAsymmetry,
  verdictGroups,
  verdictOmniQuant,
  verdictPerToken,
  verdictTasks,
} from "../../../study/pipeline/verdicts.ts";

type Opts = {
  bits?: number;
  group?: number;
  abits?: number;
  amode?: string;
  method?: string;
  at20?: number;
  obj?: number;
};

/** A finished row with success `s` at replan 50 (and at 10 and 20 unless given), and its first quantize step. */
function row(task: string, id: string, family: RowResult["family"], s: number, o: Opts = {}): RowResult {
  const weight = o.group ? { bits: o.bits ?? 4, granularity: "group", group: o.group } : {
    bits: o.bits ?? 4,
    granularity: "channel",
  };
  return {
    id,
    task,
    family,
    kind: id === "fp32" ? "fp32" : "quant",
    status: "done",
    episodes: 50,
    budget: 50,
    seed: 0,
    config: id === "fp32"
      ? null
      : [{ method: o.method ?? "rtn", weight, ...(o.abits ? { act: { bits: o.abits, mode: o.amode } } : {}) }],
    success: { "10": o.at20 ?? s, "20": o.at20 ?? s, "50": s },
    objective: { per_iteration: [o.obj ?? 3], per_replan: [], first: [], last: [] },
  } as unknown as RowResult;
}

const fp32 = (task: string, s: number) => row(task, "fp32", "reference", s);

Deno.test("I: groups against per-channel at W4 and below, same method; a task fp32 rarely solves is left out", () => {
  const rows = [
    fp32("wall", 1),
    fp32("pusht", 0.06),
    row("wall", "rtn-w4", "weight-only", 0.2),
    row("wall", "rtn-w4g16", "weight-only", 0.9, { group: 16 }),
    row("wall", "rtn-w4g32", "weight-only", 0.8, { group: 32 }),
    row("wall", "gptq-w3", "weight-only", 0.5, { method: "gptq", bits: 3 }),
    row("wall", "gptq-w3g16", "weight-only", 0.7, { method: "gptq", bits: 3, group: 16 }),
    // W8 is not low-bit: not compared.
    row("wall", "rtn-w8", "weight-only", 0.1, { bits: 8 }),
    row("wall", "rtn-w8g16", "weight-only", 1, { bits: 8, group: 16 }),
    // pusht's noise-level successes would count as pairs that neither gain nor lose.
    row("pusht", "rtn-w4", "weight-only", 0.1),
    row("pusht", "rtn-w4g16", "weight-only", 0.02, { group: 16 }),
  ];
  const v = verdictGroups(rows);
  assert.equal(v.verdict, "confirmed");
  assert.match(v.evidence, /^3 of 3 pairs gain > 0\.04, 0 lose/);
  assert.match(v.evidence, /wall rtn W4 g16 vs channel: \+0\.70/);
  assert.match(v.evidence, /left out, success too rare to compare: pusht \(fp32 succeeds 0\.06\)/);
  // Groups that lose in half the pairs refute it.
  const worse = rows.map((r) => r.id === "rtn-w4" || r.id === "gptq-w3" ? { ...r, success: { "50": 1 } } : r);
  assert.equal(verdictGroups(worse).verdict, "refuted");
  assert.equal(verdictGroups(rows.slice(0, 4)).verdict, "pending", "one pair is too few");
});

Deno.test("II: per-token against per-tensor twins; inconsistent when it helps some and hurts others", () => {
  const a = (id: string, s: number) => row("wall", id, "weight-act", s, { bits: 4, abits: 8, amode: "x" });
  const rows = [
    fp32("wall", 1),
    a("rtn-w4a8", 0.5),
    a("rtn-w4a8tok", 0.8),
    a("omse-w4a8", 0.9),
    a("omse-w4a8tok", 0.6),
    a("gptq-w4a8", 0.9),
    a("gptq-w4a8tok", 0.9),
  ];
  const v = verdictPerToken(rows);
  assert.equal(v.verdict, "confirmed");
  assert.match(v.evidence, /^per-token better in 1, worse in 1 of 3/);
  assert.doesNotMatch(v.evidence, /left out/);
  const always = rows.map((r) => r.id.endsWith("tok") ? { ...r, success: { "50": 1 } } : r);
  assert.equal(verdictPerToken(always).verdict, "refuted", "per-token better in every pair");
});

Deno.test("III: the predictor as bottleneck when quantizing it alone costs more", () => {
  const r = (id: string, s: number, at10 = s) => ({
    ...row("pointmaze", id, "asymmetry", s),
    success: { "10": at10, "50": s },
  });
  const rows = [
    fp32("pointmaze", 1),
    r("enc-w4.pred-fp32", 0.96, 0.8),
    r("pred-w4.enc-fp32", 0.58),
    r("enc-w4a8.pred-w8a8", 0.92, 0.9),
    r("pred-w4a8.enc-w8a8", 0.66),
  ] as RowResult[];
  const v = verdictAsymmetry(rows);
  assert.equal(v.verdict, "confirmed");
  assert.match(v.evidence, /^bottleneck: predictor \(0 pairs encoder worse, 2 predictor worse, of 2\)/);
  assert.match(v.evidence, /encoder-quantized rows gain 0\.09 success from replan 10 to 50/);
});

Deno.test("IV: the lowest weight-only bits keeping 90% of fp32's success differ by task", () => {
  const rows = [
    fp32("wall", 1),
    fp32("reacher", 1),
    fp32("pusht", 0.06),
    row("wall", "gptq-w4g32", "weight-only", 0.95, { bits: 4, group: 32 }),
    row("wall", "gptq-w3g32", "weight-only", 0.5, { bits: 3, group: 32 }),
    row("reacher", "gptq-w3g16", "weight-only", 0.94, { bits: 3, group: 16 }),
    row("pusht", "gptq-w2g16", "weight-only", 0.06, { bits: 2, group: 16 }),
  ];
  const v = verdictTasks(rows, ["wall", "reacher", "pusht"]);
  assert.equal(v.verdict, "confirmed");
  assert.equal(v.evidence, "lowest weight bits keeping >= 90% of fp32's success: wall W4, reacher W3");
  // Once wall also keeps its success at W3, both tasks break at the same bits.
  const same = rows.map((r) => (r.id === "gptq-w3g32" ? { ...r, success: { "50": 1 } } : r));
  assert.equal(verdictTasks(same, ["wall", "reacher", "pusht"]).verdict, "refuted");
});

Deno.test("V: failing low-bit rows whose objective is as low as fp32's and that do not recover late", () => {
  const rows = [
    { ...fp32("wall", 1), objective: { per_iteration: [3], per_replan: [], first: [], last: [] } } as RowResult,
    row("wall", "gptq-w2g16", "weight-only", 0.1, { bits: 2, group: 16, obj: 3.5, at20: 0.1 }),
    row("wall", "rtn-w4a4", "weight-act", 0.2, { bits: 4, abits: 4, amode: "per-tensor", obj: 4, at20: 0.18 }),
    // Its objective is far worse than fp32's: the model knows it is lost, so alignment is not what broke.
    row("wall", "rtn-w2g16", "weight-only", 0.1, { bits: 2, group: 16, obj: 9, at20: 0.1 }),
    // Not failing: not counted.
    row("wall", "gptq-w3g16", "weight-only", 0.8, { bits: 3, group: 16 }),
  ];
  const v = verdictAlignment(rows);
  assert.equal(v.verdict, "confirmed");
  assert.match(v.evidence, /^2 of 3 failing low-bit rows reach fp32-like objectives/);
});

Deno.test("VI: OmniQuant at the settings where RTN and OMSE fall short; GPTQ named beside it; pusht left out", () => {
  const w = (task: string, method: string, s: number, o: Opts = {}) =>
    row(
      task,
      `${method}-w${o.bits ?? 4}${o.abits ? `a${o.abits}tok` : ""}`,
      o.abits ? "weight-act" : "weight-only",
      s,
      {
        method,
        ...o,
      },
    );
  const rows = [
    fp32("wall", 1),
    fp32("reacher", 1),
    fp32("pusht", 0.06),
    w("wall", "rtn", 0.6),
    w("wall", "omse", 0.2),
    w("wall", "gptq", 1),
    w("wall", "omniquant", 0.95), // closes the gap
    w("reacher", "rtn", 0.5, { bits: 3 }),
    w("reacher", "omniquant", 0.7, { bits: 3 }), // helps, does not close it
    w("reacher", "rtn", 1, { bits: 8, abits: 8, amode: "per-token" }),
    w("reacher", "omniquant", 1, { bits: 8, abits: 8, amode: "per-token" }), // no gap there: not counted
    w("pusht", "rtn", 0.02),
    w("pusht", "omniquant", 0.04),
    // A single-module row with the same tag is not a baseline.
    row("wall", "rtn-w4-enc", "asymmetry", 0.99, { method: "rtn" }),
  ];
  const v = verdictOmniQuant(rows);
  assert.equal(v.verdict, "mixed", v.evidence);
  assert.match(
    v.evidence,
    /of 2 settings where RTN and OMSE fall below 90% of fp32's success, OmniQuant reaches it at 1/,
  );
  assert.match(v.evidence, /gains >= 0.10 over them at 2/);
  assert.match(v.evidence, /wall w4: omniquant 0.95, rtn\/omse 0.60, gptq 1.00/);
  assert.match(v.evidence, /left out, success too rare to compare: pusht/);
  assert.equal(verdictOmniQuant(rows.slice(0, 7)).verdict, "pending", "one setting is not enough");
  const worse = rows.map((r) => r.id.startsWith("omniquant") ? { ...r, success: { ...r.success, "50": 0.1 } } : r);
  assert.equal(verdictOmniQuant(worse).verdict, "refuted");
});
