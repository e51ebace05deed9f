// The OpenAPI document says what the server does: components referenced where used, every operation with an
// id and its responses, `required` as the server requires, and every $ref resolving.
import assert from "node:assert/strict";
import { openApiDocument } from "../../../agent/http/openapi.ts";
import { PlanRequest } from "../../../agent/http/schemas.ts";

type J = Record<string, unknown>;
const doc = openApiDocument({ simulators: true }) as J & {
  paths: Record<string, Record<string, J & { responses: Record<string, J> }>>;
  components: { schemas: Record<string, J & { properties?: Record<string, J>; required?: string[] }> };
};

function refs(x: unknown, out: string[] = []): string[] {
  if (Array.isArray(x)) x.forEach((v) => refs(v, out));
  else if (x && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) k === "$ref" ? out.push(v as string) : refs(v, out);
  }
  return out;
}

Deno.test("every $ref resolves; image shapes are components referenced by the frames, not inlined", () => {
  for (const r of refs(doc)) {
    const name = r.replace("#/components/schemas/", "");
    assert.ok(doc.components.schemas[name], `dangling ${r}`);
  }
  const s = doc.components.schemas;
  assert.deepEqual(s.Observation.properties!.image, { $ref: "#/components/schemas/ImageInput" });
  assert.equal((s.ImageInput.oneOf as unknown[]).length, 3);
  assert.deepEqual(s.PlanRequest.properties!.observation, { $ref: "#/components/schemas/Observation" });
});

Deno.test("`required` is what the server requires: the observation's proprio yes, the goal's no", () => {
  const s = doc.components.schemas;
  assert.deepEqual(s.Observation.required, ["image", "proprio"]);
  assert.deepEqual(s.Goal.required, ["image"]);
  assert.deepEqual(s.PlanRequest.required?.sort(), ["goal", "observation", "task"]);
  // And the server agrees: a request without the observation's proprio is refused by the schema itself.
  const r = PlanRequest.safeParse({ task: "wall", observation: { image: { rgb: [] } }, goal: { image: { rgb: [] } } });
  assert.equal(r.success, false);
  assert.deepEqual(r.error!.issues[0].path, ["observation", "proprio"]);
});

Deno.test("every operation has an operationId, tags and responses whose bodies have schemas; servers are listed", () => {
  const ids = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      assert.ok(typeof op.operationId === "string", `${verb} ${path}: operationId`);
      assert.ok(!ids.has(op.operationId as string), `duplicate ${op.operationId}`);
      ids.add(op.operationId as string);
      for (const [status, res] of Object.entries(op.responses)) {
        if (status === "499") continue; // never sent
        const content = res.content as Record<string, { schema?: unknown }> | undefined;
        assert.ok(content && Object.values(content).every((c) => c.schema), `${verb} ${path} ${status}: a schema`);
      }
    }
  }
  assert.ok(ids.has("plan") && ids.has("stepState") && ids.has("drawEpisode"));
  assert.ok(Array.isArray(doc.servers) && (doc.servers as unknown[]).length > 0);
});
