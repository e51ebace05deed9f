// The command-line tools answer bad input with one line on stderr and exit code 2, never a stack trace.
import assert from "node:assert/strict";

async function run(script: string, ...args: string[]) {
  // Commands that load onnxruntime-node statically (the studies) need FFI even to print their help.
  const ffi = script.startsWith("study/") ? ["--allow-ffi", "--allow-run"] : [];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", ...ffi, script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const cases: [string, string[], RegExp][] = [
  ["tasks/dataset.ts", ["--task", "nope", "--episodes", "1", "--out", "/tmp/x"], /unknown task "nope"/],
  ["tasks/dataset.ts", ["--task", "wall", "--episodes", "0", "--out", "/tmp/x"], /--episodes must be an integer/],
  ["tasks/dataset.ts", ["--task", "wall", "--episodes", "1", "--out", "deno.json"], /is a file, not a folder/],
  ["tasks/dataset.ts", ["--task", "wall", "--episodes", "1"], /--out is required/],
  ["tasks/dataset.ts", ["--task", "wall", "--bogus", "1"], /Unknown option '--bogus'/],
  ["agent/planners/oracle.ts", ["--task", "wall", "--budget=-3"], /--budget must be an integer/],
  ["agent/filmstrip.ts", ["--task", "reacher"], /--out is required/],
  [
    "agent/eval.ts",
    ["--task", "wall", "--model", "models/wall/fp32", "--topk", "100"],
    /--topk: topk 100 must not exceed samples 32/,
  ],
  [
    "agent/eval.ts",
    ["--task", "wall", "--model", "models/wall/fp32", "--horizon", "2", "--execute", "3"],
    /--execute: execute 3 must not exceed horizon 2/,
  ],
  // A negative number is read as the flag's value (and refused by its range), not as another flag.
  [
    "tasks/dataset.ts",
    ["--task", "wall", "--episodes", "1", "--seed", "-1", "--out", "/tmp/x"],
    /--seed must be an integer in \[0,/,
  ],
  // Files a user names that cannot be written: one line naming the path, not a stack trace.
  [
    "agent/filmstrip.ts",
    ["--task", "wall", "--out", "/nonexistent-edgewm/dir/x.png"],
    /No such file or directory.*nonexistent-edgewm/,
  ],
  [
    "agent/eval.ts",
    ["--task", "wall", "--model", "models/wall/fp32", "--samples", "1"],
    /--samples must be an integer/,
  ],
];

for (const [script, args, message] of cases) {
  Deno.test(`${script} ${args.join(" ")}: exits 2 with a one-line error`, async () => {
    const r = await run(script, ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });
}

Deno.test("oracle CLI prints its result as JSON on the last line", async () => {
  const r = await run("agent/planners/oracle.ts", "--task", "wall", "--episodes", "2", "--seed", "1");
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(last.task, "wall");
  assert.equal(last.episodes, 2);
  assert.deepEqual(Object.keys(last.success_at), ["0", "5", "10", "20", "30", "40", "50"]);
  assert.ok(last.success_rate >= 0 && last.success_rate <= 1);
});

Deno.test("render CLI writes a filmstrip PNG", async () => {
  const out = Deno.makeTempFileSync({ suffix: ".png" });
  try {
    const r = await run("agent/filmstrip.ts", "--task", "wall", "--seed", "0", "--size", "32", "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const { decodePng } = await import("../lib/png.ts");
    const img = decodePng(Deno.readFileSync(out));
    assert.equal(img.height, 32);
    assert.ok(img.width >= 3 * 32, `filmstrip width ${img.width}`);
  } finally {
    Deno.removeSync(out);
  }
});

// Every command answers --help with its usage and flags, and exits 0.
const COMMANDS: [string, string[]][] = [
  ["tasks/dataset.ts", ["--task", "--episodes", "--out"]],
  ["tasks/probe.ts", ["--pairs", "--paths"]],
  ["agent/planners/oracle.ts", ["--task", "--budget"]],
  ["agent/filmstrip.ts", ["--model", "--out"]],
  ["agent/eval.ts", ["--model", "--samples", "--backend"]],
  ["agent/bench.ts", ["--model", "--plans"]],
  ["quant/quantize.ts", ["--method", "--wbits", "--group"]],
  ["study/study.ts", ["--grid", "--shard", "--out"]],
  ["study/experiments/success_table.ts", ["--out"]],
  ["study/experiments/encoder_planning.ts", ["--cost"]],
  ["study/experiments/quant_toolkit.ts", ["--out"]],
];
for (const [script, flags] of COMMANDS) {
  Deno.test(`${script} --help prints its usage and exits 0`, async () => {
    const r = await run(script, "--help");
    assert.equal(r.code, 0, r.stderr);
    for (const f of [...flags, "--help"]) assert.match(r.stdout, new RegExp(`^  ${f}\\b`, "m"), `${script} lists ${f}`);
  });
}
