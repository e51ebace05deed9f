import assert from "node:assert/strict";
import { join } from "node:path";
import { graphBytes, type SiteModel, siteRoutes } from "../../../agent/http/site_routes.ts";
import { loadModelCard, sha256 } from "../../../model/model_card.ts";

const site = Deno.makeTempDirSync({ prefix: "edgewm-site-routes-" });
Deno.writeTextFileSync(join(site, "index.html"), "<!doctype html><title>playground</title>");
Deno.writeTextFileSync(join(site, "page.js"), "console.log(1)");
Deno.writeTextFileSync(join(site, "notes.txt"), "not a page file");
const card = loadModelCard("models/wall/fp32");
const app = siteRoutes({
  dir: site,
  models: new Map([["wall/fp32", { dir: "models/wall/fp32", card, served: false }]]),
  defaults: { wall: "w4" },
});

Deno.test("the page is served cross-origin isolated, with its content types", async () => {
  for (const [path, type] of [["/", "text/html"], ["/page.js", "text/javascript"]]) {
    const r = await app.request(path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get("content-type")!, new RegExp(type));
    assert.equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.equal(r.headers.get("cross-origin-opener-policy"), "same-origin");
    await r.body?.cancel();
  }
});

Deno.test("models.json lists the page's models, with their bytes and whether the server plans with them", async () => {
  const list: SiteModel[] = await (await app.request("/models.json")).json();
  assert.deepEqual(list, [
    { task: "wall", variant: "fp32", default: false, bytes: graphBytes(card), served: false, image_size: 64 },
  ]);
  assert.ok(list[0].bytes > 1e6);
});

Deno.test("a model's listed graphs are served byte for byte; anything else is a 404", async () => {
  const r = await app.request("/models/wall/fp32/encoder.onnx");
  assert.equal(r.status, 200);
  assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), card.files["encoder.onnx"].sha256);
  for (
    const path of [
      "/models/wall/fp32/reference.json", // listed by the card, but not a graph: the page never needs it
      "/models/wall/w4/encoder.onnx", // not loaded
      "/models/wall/fp32/..%2Fdefaults.json",
      "/notes.txt", // not a kind of file the page has
      "/..%2Fdeno.json",
    ]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
});
