// The layering rule of the README: each folder imports only from folders on floors below its own
// (lib < tasks < model < agent | quant < deploy < study < main.ts), so the ground floor stays the ground floor.
// agent/ and quant/ share a floor and import nothing of each other: the planner needs no quantizer and the
// quantizer no planner; what both need (the model card, onnxruntime, graph rewrites) is model/'s.
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const FLOORS: readonly (readonly string[])[] = [["lib"], ["tasks"], ["model"], ["agent", "quant"], ["deploy", "site"], [
  "study",
]];
const floorOf = (folder: string) => FLOORS.findIndex((f) => f.includes(folder));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every relative import of a source file, as a path from the repository root. */
function imports(file: string): { spec: string; target: string }[] {
  const text = Deno.readTextFileSync(file);
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => ({
    spec: m[1],
    target: relative(".", normalize(join(dirname(file), m[1]))),
  }));
}

Deno.test("no source file imports from a folder on a floor above its own, or from a sibling on its floor", () => {
  const wrong: string[] = [];
  for (const folder of FLOORS.flat()) {
    for (const file of sources(folder)) {
      for (const { spec, target } of imports(file)) {
        const top = target.split("/")[0];
        if (top === folder) continue;
        const level = floorOf(top);
        if (level >= floorOf(folder) || top === "main.ts") wrong.push(`${file} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("the server's request path imports task specs, not simulators (no physics engine rides along)", () => {
  // Static imports from the HTTP app, the planning worker and the model floor, followed transitively.
  const seen = new Set<string>(), todo = ["agent/http/app.ts", "agent/http/plan_worker.ts", "agent/world_model.ts"];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = Deno.readTextFileSync(f);
    for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']/gms)) {
      if (/^import type|^export type/.test(m[0])) continue;
      todo.push(relative(".", normalize(join(dirname(f), m[1]))));
    }
  }
  const simulators = [...seen].filter((f) => /^tasks\/(wall|pointmaze|pusht|reacher|registry)\.ts$/.test(f));
  assert.deepEqual(simulators, []);
  // The walk did follow the request path down to the model card and the specs it checks cards against.
  for (const f of ["agent/http/plan_job.ts", "model/model_card.ts", "tasks/specs.ts"]) assert.ok(seen.has(f), f);
});
