import assert from "node:assert/strict";
import { modelBudget } from "../../../study/pipeline/byte_budget.ts";

Deno.test("byte budget: the parts add up to each file; fp32 is all float, a W4 default mostly codes", () => {
  const sizes = (dir: string) => Object.values(JSON.parse(Deno.readTextFileSync(`${dir}/model.json`)).files);
  for (const dir of ["models/reacher/fp32", "models/reacher/gptq-w4g32-whole"]) {
    const graphs = modelBudget(dir);
    for (const g of graphs) {
      assert.equal(g.codes + g.scales + g.float + g.structure, g.total, `${dir}/${g.graph}`);
      assert.ok(g.structure > 0 && g.float > 0);
      assert.equal(g.total, Deno.statSync(`${dir}/${g.graph}`).size);
    }
    assert.ok(graphs.length >= 2 && graphs.length <= sizes(dir).length);
  }
  const [enc] = modelBudget("models/reacher/fp32").filter((g) => g.graph === "encoder.onnx");
  assert.equal(enc.codes + enc.scales, 0, "nothing quantized in fp32");
  const [q] = modelBudget("models/reacher/gptq-w4g32-whole").filter((g) => g.graph === "encoder.onnx");
  // W4 g32 with a zero point: 4 bits a weight, then 32 + 4 bits per 32 weights, ~1/3.5 of the codes.
  assert.ok(q.codes > 2.5 * q.scales && q.codes < 5 * q.scales, `codes ${q.codes}, scales ${q.scales}`);
  assert.ok(q.float < 0.1 * q.total, "only norms, biases and position embeddings stay fp32");
});
