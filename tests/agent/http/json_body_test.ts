import assert from "node:assert/strict";
import { z } from "zod";
import { readJsonBody } from "../../../agent/http/json_body.ts";
import { PlanRequestError } from "../../../agent/http/plan_job.ts";

const Schema = z.strictObject({ seed: z.number().int(), inner: z.strictObject({ size: z.number() }) });
const read = (v: unknown) => () => Promise.resolve(v);
const refused = async (p: Promise<unknown>, field: string, status: number, msg: RegExp) => {
  const e = await p.then(() => null, (e) => e);
  assert.ok(e instanceof PlanRequestError, String(e));
  assert.equal(e.field, field);
  assert.equal(e.status, status);
  assert.match(e.message, msg);
};

Deno.test("readJsonBody: the parsed body, or a 415/400 naming what is wrong", async () => {
  assert.deepEqual(
    await readJsonBody("application/json; charset=utf-8", read({ seed: 1, inner: { size: 2 } }), Schema),
    { seed: 1, inner: { size: 2 } },
  );
  await refused(readJsonBody("text/plain", read({}), Schema), "content-type", 415, /not "text\/plain"/);
  await refused(readJsonBody(undefined, read({}), Schema), "content-type", 415, /not "nothing"/);
  await refused(readJsonBody("application/json", () => Promise.reject(new SyntaxError()), Schema), "body", 400, /JSON/);
  await refused(readJsonBody("application/json", read({ seed: 1.5, inner: { size: 2 } }), Schema), "seed", 400, /int/);
  await refused(
    readJsonBody("application/json", read({ seed: 1, inner: { size: 2, colour: 3 } }), Schema),
    "inner.colour",
    400,
    /unknown key "colour"/,
  );
  await refused(readJsonBody("application/json", read([]), Schema), "body", 400, /object/);
});
