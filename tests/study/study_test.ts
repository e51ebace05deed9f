// `deno task study --grid quick` end to end on one task with a tiny protocol: the sweep writes one
// line per row and resumes, the speed run measures the deployable variants beside fp32, and the
// report has its sections and real SVG plots. (Seconds-scale; the paper grid runs outside CI.)
import assert from "node:assert/strict";
import { graphSignature } from "../../study/pipeline/structure.ts";
import { currentRows, readRows, rowBasis } from "../../study/pipeline/rows.ts";

const OUT = Deno.makeTempDirSync();
const REPORT = Deno.makeTempDirSync();

async function study(...args: string[]) {
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "study/study.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: p.code, err: new TextDecoder().decode(p.stderr) };
}

Deno.test("study --grid quick: every row once, with success, intervals, objective traces, latent error and bytes", async () => {
  const r = await study("--grid", "quick", "--tasks", "wall", "--episodes", "3", "--budget", "3", "--out", OUT);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /grid quick on wall: 5 rows \(~\d+\.\d core-hours; per row wall \d+ s\)/);
  const rows = readRows(OUT);
  assert.deepEqual(rows.map((x) => x.id).sort(), ["fp32", "gptq-w4g32", "oracle", "rtn-w4g32", "rtn-w8a8dyn"]);
  for (const x of rows) {
    assert.equal(x.status, "done");
    assert.equal(x.success_at_episode!.length, 3);
    const [lo, hi] = x.ci95!["3"];
    assert.ok(lo <= x.success!["3"] && x.success!["3"] <= hi);
  }
  const q = rows.find((x) => x.id === "gptq-w4g32")!;
  assert.equal(q.objective!.per_iteration.length, 4, "the fast preset's 4 CEM iterations");
  assert.ok(q.objective!.per_iteration.every(Number.isFinite));
  assert.ok(q.latent_error!.step5 > 0 && q.latent_error!.step5 < 0.1, `latent error ${q.latent_error!.step5}`);
  const fp32 = rows.find((x) => x.id === "fp32")!;
  assert.ok(q.bytes!.total < 0.5 * fp32.bytes!.total, "W4 g32 is well under half of fp32's bytes");
  assert.equal(q.deployable, true);
  // Each row records its CPU seconds (what the report's core-hours sum), never more than the
  // machine's cores allow in the row's wall time.
  for (const x of rows) {
    const { cpu, total, eval: ev } = x.seconds!;
    assert.ok(
      cpu! > 0 && cpu! <= navigator.hardwareConcurrency * Math.max(total, ev) + 1,
      `${x.id}: cpu ${cpu} s, wall ${total || ev} s`,
    );
  }

  // A rerun finds every row done and runs nothing.
  const again = await study("--grid", "quick", "--tasks", "wall", "--episodes", "3", "--budget", "3", "--out", OUT);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /5 rows, 0 to run/);
  // --families keeps the references and the named families only; an unknown family is refused by name.
  const some = await study(
    "--grid",
    "quick",
    "--tasks",
    "wall",
    "--families",
    "weight-act",
    "--episodes",
    "3",
    "--budget",
    "3",
    "--out",
    OUT,
  );
  assert.equal(some.code, 0, some.err);
  assert.match(some.err, /shard 0\/1: 2 rows, 0 to run/, "fp32 and the one weight-act row");
  const bad = await study("--grid", "quick", "--families", "weight-only,int4", "--out", OUT);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--families.*int4/);
  assert.equal(readRows(OUT).length, 5);
  for (const x of rows) assert.equal(x.basis, rowBasis("wall", x.kind, "models"), `${x.id} records its basis`);

  // A row measured on other fp32 models (another basis) is stale: the sweep reruns it, reports keep the new line.
  const file = [...Deno.readDirSync(OUT)].find((e) => /^rows.*\.jsonl$/.test(e.name))!.name;
  const lines = Deno.readTextFileSync(`${OUT}/${file}`).trim().split("\n").map((l) => JSON.parse(l));
  const stale = lines.find((x) => x.id === "rtn-w4g32");
  stale.basis = "0000000000000000";
  stale.success["3"] = -1;
  Deno.writeTextFileSync(`${OUT}/${file}`, lines.map((x) => JSON.stringify(x)).join("\n") + "\n");
  assert.equal(currentRows(OUT).stale, 1);
  const rerun = await study("--grid", "quick", "--tasks", "wall", "--episodes", "3", "--budget", "3", "--out", OUT);
  assert.equal(rerun.code, 0, rerun.err);
  assert.match(rerun.err, /1 rows in .* measured other fp32 models or oracle settings: they rerun/);
  assert.match(rerun.err, /5 rows, 1 to run/);
  const now = currentRows(OUT);
  assert.equal(now.rows.length, 5);
  assert.ok(now.rows.find((x) => x.id === "rtn-w4g32")!.success!["3"] >= 0, "the fresh row replaces the stale one");

  // A skipped row (its tool was missing then) is no result: the next sweep runs it again.
  const skipped = { ...now.rows.find((x) => x.id === "rtn-w8a8dyn")!, status: "skipped", reason: "no tool" };
  Deno.writeTextFileSync(`${OUT}/${file}`, JSON.stringify(skipped) + "\n", { append: true });
  const retry = await study("--grid", "quick", "--tasks", "wall", "--episodes", "3", "--budget", "3", "--out", OUT);
  assert.equal(retry.code, 0, retry.err);
  assert.match(retry.err, /5 rows, 1 to run/);
  const retried = currentRows(OUT).rows.filter((x) => x.id === "rtn-w8a8dyn");
  assert.deepEqual(retried.map((x) => x.status), ["done"], "one row: the retried line");

  // --rerun runs the named rows again though finished; the new line wins, and the protocol is deterministic.
  const re = await study(
    ...["--grid", "quick", "--tasks", "wall", "--rerun", "rtn-w4g32", "--episodes", "3", "--budget", "3", "--out", OUT],
  );
  assert.equal(re.code, 0, re.err);
  assert.match(re.err, /1 rows, 1 to run/);
  const runs = readRows(OUT).filter((x) => x.id === "rtn-w4g32");
  assert.ok(runs.length >= 2);
  const { seconds: _a, finished_at: _b, ...first } = runs.at(-2)!,
    { seconds: _c, finished_at: _d, ...second } = runs.at(-1)!;
  assert.deepEqual({ ...second, plan_ms_p50: 0 }, { ...first, plan_ms_p50: 0 });
  const nope = await study("--grid", "quick", "--tasks", "wall", "--rerun", "rtn-w4g33", "--out", OUT);
  assert.equal(nope.code, 2);
  assert.match(nope.err, /--rerun: not rows of the quick grid on wall: rtn-w4g33/);

  // --tier 0 keeps the references only (tier 1 adds the default's candidates).
  const refs = await study(
    "--grid",
    "quick",
    "--tasks",
    "wall",
    "--episodes",
    "3",
    "--budget",
    "3",
    "--tier",
    "0",
    "--out",
    OUT,
  );
  assert.equal(refs.code, 0, refs.err);
  assert.match(refs.err, /shard 0\/1: 2 rows, 0 to run/);
});

Deno.test("study speed + report: latency beside fp32 on every backend, the report's sections and SVG plots", async () => {
  // --candidates: fp32 first, then the smallest variants the rule could pick until one qualifies, on every backend.
  const c = await study("speed", "--in", OUT, "--tasks", "wall", "--plans", "3", "--rounds", "1", "--candidates");
  assert.equal(c.code, 0, c.err);
  const few = Deno.readTextFileSync(`${OUT}/speed.jsonl`).trim().split("\n").map((l) => JSON.parse(l));
  const ids = [...new Set(few.map((x) => x.id))];
  assert.equal(ids[0], "fp32");
  assert.ok(ids.length >= 2 && ids.length <= 4, ids.join());
  assert.equal(few.length, 3 * ids.length, "each measured variant on web-1t, web-2t and node");
  // The full run writes every deployable variant to its own file; the rule's paired lines stay as they were.
  const s = await study("speed", "--in", OUT, "--tasks", "wall", "--plans", "3", "--rounds", "1");
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(
    Deno.readTextFileSync(`${OUT}/speed.jsonl`).trim().split("\n").map((l) => JSON.parse(l)),
    few,
    "speed.jsonl keeps the --candidates lines",
  );
  const speed = Deno.readTextFileSync(`${OUT}/speed_all.jsonl`).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(speed.length, 4 * 3, "fp32 and 3 deployable variants x web-1t, web-2t, node");
  for (const x of speed) assert.ok(x.p50_ms > 0 && x.rss_peak_mb > 0 && x.bytes > 0);
  // RTN and GPTQ at W4 g32 write the same graph (the sweep built both): one is measured, the other borrows its lines.
  const v = (id: string) => `${OUT}/variants/wall/${id}`;
  assert.equal(graphSignature(v("rtn-w4g32")), graphSignature(v("gptq-w4g32")));
  assert.notEqual(graphSignature(v("rtn-w4g32")), graphSignature(v("rtn-w8a8dyn")));
  const lent = speed.filter((x) => x.measured_as);
  assert.equal(lent.length, 3, "one of the W4 g32 pair, on each backend");
  for (const x of lent) {
    assert.ok(["rtn-w4g32", "gptq-w4g32"].includes(x.id) && x.measured_as !== x.id);
    const own = speed.find((y) => y.id === x.measured_as && y.backend === x.backend)!;
    assert.equal(x.p50_ms, own.p50_ms);
  }
  assert.match(s.err, /3 deployable variants, 2 graph structures to measure/);

  const r = await study("report", "--in", OUT, "--out", REPORT, "--grid", "quick");
  assert.equal(r.code, 0, r.err);
  const md = Deno.readTextFileSync(`${REPORT}/REPORT.md`);
  for (
    const h of [
      "## Findings of arXiv 2602.02110",
      "## The chosen defaults",
      "## Speed and size of the deployable variants",
      "## Plots",
      "### wall",
      "## Not run yet",
    ]
  ) assert.ok(md.includes(h), `report has ${h}`);
  assert.match(
    md,
    /### wall\n\nMedians of 1 round per \(variant, backend\)\.\n\n\| variant \|/,
    "says what the figures are medians of",
  );
  assert.match(md, /\| (rtn|gptq)-w4g32 \| \d+ \| [\d.]+ \| \d+ \/ \d+ \([\d.]+x\), \d+ MB \|.*\| (rtn|gptq)-w4g32 \|/);
  for (const n of ["I.", "II.", "III.", "IV.", "V."]) assert.match(md, new RegExp(`\\*\\*${n.replace(".", "\\.")} `));
  assert.match(md, /\*\*wall\*\*: fp32 \d+ KB/);
  assert.match(md, /\| gptq-w4g32 \| weight-only \|/);
  assert.match(md, /\| 95% CI @3 \| final distance \| objective \| KB \|/);
  assert.match(md, /\n\| fp32 \| reference \| [\d.]+ \| [\d.]+-[\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \|/);
  for (const fig of ["success_vs_bytes", "success_vs_latency", "alignment"]) {
    const svg = Deno.readTextFileSync(`${REPORT}/figures/${fig}.svg`);
    assert.match(svg, /^<svg/);
    assert.ok(svg.length > 2000, `${fig}.svg has marks`);
  }
  assert.doesNotMatch(md, /Not timed yet/, "every deployable variant was timed");

  // A deployable variant that finished after the speed run is named, not silently left out of the table.
  const later = Deno.makeTempDirSync(), laterReport = Deno.makeTempDirSync();
  for (const e of Deno.readDirSync(OUT)) {
    if (e.isFile && e.name.endsWith(".jsonl")) Deno.copyFileSync(`${OUT}/${e.name}`, `${later}/${e.name}`);
  }
  Deno.writeTextFileSync(
    `${later}/speed_all.jsonl`,
    speed.filter((x) => x.id !== "rtn-w8a8dyn").map((x) => JSON.stringify(x)).join("\n") + "\n",
  );
  const r2 = await study("report", "--in", later, "--out", laterReport, "--grid", "quick");
  assert.equal(r2.code, 0, r2.err);
  assert.match(
    Deno.readTextFileSync(`${laterReport}/REPORT.md`),
    /Not timed yet: 1 deployable variant of wall finished after this table was measured \(rtn-w8a8dyn\); `deno task study speed --in .* --tasks wall --missing`/,
  );

  // --missing times just that one (a structure of its own, beside a fresh fp32) and keeps every line there was;
  // a variant whose structure was measured before borrows those lines instead of being timed again.
  Deno.symlinkSync(`${OUT}/variants`, `${later}/variants`);
  const borrower = speed.find((x) => x.measured_as)!, own = borrower.measured_as;
  const before = speed.filter((x) => x.id !== "rtn-w8a8dyn" && x.id !== borrower.id);
  Deno.writeTextFileSync(`${later}/speed_all.jsonl`, before.map((x) => JSON.stringify(x)).join("\n") + "\n");
  const m = await study("speed", "--in", later, "--tasks", "wall", "--plans", "3", "--rounds", "1", "--missing");
  assert.equal(m.code, 0, m.err);
  assert.match(
    m.err,
    /3 deployable variants, 1 borrowing the lines of a structure measured before, 1 graph structures/,
  );
  const after = Deno.readTextFileSync(`${later}/speed_all.jsonl`).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(after.slice(0, before.length), before, "the lines there were are kept as they were");
  const added = after.slice(before.length);
  assert.equal(added.length, 6, "the two variants without lines, on 3 backends each; no second fp32");
  for (const x of added.filter((x) => x.id === borrower.id)) {
    assert.equal(x.measured_as, own);
    assert.equal(x.p50_ms, before.find((y) => y.id === own && y.backend === x.backend)!.p50_ms);
  }
  for (const x of added.filter((x) => x.id === "rtn-w8a8dyn")) {
    assert.ok(!x.measured_as && x.p50_ms > 0 && x.vs_fp32 > 0);
  }
  // Nothing left to time: nothing runs and the file stays as it is.
  const again = await study("speed", "--in", later, "--tasks", "wall", "--plans", "3", "--missing");
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /0 graph structures to measure/);
  assert.deepEqual(
    Deno.readTextFileSync(`${later}/speed_all.jsonl`).trim().split("\n").map((l) => JSON.parse(l)),
    after,
  );
});

Deno.test("study bytes: stale bytes are brought up to date, results kept; a row whose graph changed is refused", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.symlinkSync(`${OUT}/variants`, `${dir}/variants`);
  for (const e of Deno.readDirSync(OUT)) {
    if (e.isFile && /^rows.*\.jsonl$/.test(e.name)) Deno.copyFileSync(`${OUT}/${e.name}`, `${dir}/${e.name}`);
  }
  const before = currentRows(dir).rows, row = (id: string) => before.find((r) => r.id === id)!;
  const rtn = row("rtn-w4g32"), gptq = row("gptq-w4g32");
  const more = (r: typeof rtn) => ({ ...r.bytes!, total: r.bytes!.total + 40_000 });
  // As an older quantizer recorded them: more bytes for the same graph; and for GPTQ a latent error its graph
  // does not give (it computed something else then).
  const stale = [
    { ...rtn, bytes: more(rtn) },
    { ...gptq, bytes: more(gptq), latent_error: { ...gptq.latent_error!, step5: 2 * gptq.latent_error!.step5 } },
  ];
  Deno.writeTextFileSync(`${dir}/rows.jsonl`, stale.map((r) => JSON.stringify(r) + "\n").join(""), { append: true });
  const r = await study("bytes", "--in", dir, "--tasks", "wall");
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /bytes: 1 rows refreshed, 1 already right, 1 to rerun/);
  assert.match(r.err, /^error: .*to rerun: wall\/gptq-w4g32$/m);
  const after = currentRows(dir).rows;
  assert.deepEqual(after.find((x) => x.id === "rtn-w4g32"), rtn, "the row as it was, with today's bytes");
  assert.deepEqual(after.find((x) => x.id === "gptq-w4g32"), stale[1], "left as it is");
  assert.deepEqual(after.find((x) => x.id === "rtn-w8a8dyn"), row("rtn-w8a8dyn"));
});

Deno.test("study all: sweep, speed, ship and report in one command, on a models folder of its own", async () => {
  const models = Deno.makeTempDirSync(), out = Deno.makeTempDirSync(), report = Deno.makeTempDirSync();
  Deno.mkdirSync(`${models}/wall/fp32`, { recursive: true });
  for (const e of Deno.readDirSync("models/wall/fp32")) {
    Deno.copyFileSync(`models/wall/fp32/${e.name}`, `${models}/wall/fp32/${e.name}`);
  }
  Deno.writeTextFileSync(`${models}/defaults.json`, JSON.stringify({ wall: "a-variant-of-an-older-fp32" }));
  const r = await study(
    "all",
    ...["--grid", "quick", "--tasks", "wall", "--episodes", "3", "--budget", "3", "--tier", "1"],
    ...["--candidates", "--rounds", "1", "--plans", "3"], // the speed step: only what the rule reads, once
    ...["--out", out, "--models", models, "--report", report],
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /ship: wall: /);
  const chosen = JSON.parse(Deno.readTextFileSync(`${models}/defaults.json`)).wall;
  // The rule picks a variant, or, where none qualifies, fp32 replaces a default it cannot vouch for.
  assert.ok(chosen === "fp32" || Deno.statSync(`${models}/wall/${chosen}/model.json`).isFile, chosen);
  assert.match(Deno.readTextFileSync(`${report}/REPORT.md`), /## The chosen defaults/);
});
