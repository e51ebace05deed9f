import assert from "node:assert/strict";
import { buildGrid } from "../../../study/pipeline/grid.ts";
import { representative, structureKey } from "../../../study/pipeline/structure.ts";

const grid = buildGrid("paper", ["wall"], () => true);
const key = (id: string) => structureKey(grid.find((s) => s.id === id)!);

Deno.test("structureKey(): RTN, OMSE and GPTQ of one configuration share a graph; AWQ, other bits and groups do not", () => {
  assert.equal(key("rtn-w4g32"), key("gptq-w4g32"));
  assert.equal(key("rtn-w4g32"), key("omse-w4g32"));
  assert.notEqual(key("rtn-w4g32"), key("awq-w4g32"), "AWQ may add a Mul where its scale cannot be folded");
  assert.notEqual(key("rtn-w4g32"), key("rtn-w4g16"));
  assert.notEqual(key("rtn-w4g32"), key("rtn-w8g32"));
  assert.notEqual(key("rtn-w8a8"), key("rtn-w8a8dyn"));
  assert.notEqual(key("smoothquant-w8a8dyn"), key("rtn-w8a8dyn"));
  // MatMulNBits holds W3 in 4-bit containers, so a deployable W3 graph is W4's.
  assert.equal(key("gptq-w3g16-whole"), key("gptq-w4g16-whole"));
  assert.notEqual(key("gptq-w4g16-whole"), key("gptq-w4g16-whole-fp32head"), "the head's step is part of the graph");
  assert.notEqual(key("ort-rtn-w4g32"), key("ort-hqq-w4g32"));
});

Deno.test("representative(): a variant already built, else the cheapest method to build", () => {
  const specs = ["gptq-w4g32", "omse-w4g32", "rtn-w4g32"].map((id) => grid.find((s) => s.id === id)!);
  assert.equal(representative(specs, () => false).id, "rtn-w4g32");
  assert.equal(representative(specs, (s) => s.id === "gptq-w4g32").id, "gptq-w4g32");
});
