// The layering rule of the README: each folder imports only from folders below it
// (lib < tasks < agent < quant < study < main.ts), so the ground floor stays the ground floor.
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const FLOORS = ["lib", "tasks", "agent", "quant", "study"];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

Deno.test("no source file imports from a folder above its own", () => {
  const wrong: string[] = [];
  for (const floor of FLOORS) {
    for (const file of sources(floor)) {
      const text = Deno.readTextFileSync(file);
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        const target = normalize(join(dirname(file), m[1]));
        const top = relative(".", target).split("/")[0];
        const level = FLOORS.indexOf(top);
        if (level > FLOORS.indexOf(floor) || top === "main.ts") wrong.push(`${file} imports ${m[1]}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});
