// The playground in a real browser (headless Chromium through playwright-core): the page built as
// `deno task serve` builds it, loaded from a started server and from a static folder any file server
// serves; a wall episode planned in the page reaches its goal, the same episode planned through the server
// gives the same plans, the page logs no errors, and a screenshot is saved.
//
// Chromium: Debian's package (apt-get install -y chromium) or CHROMIUM=/path. Without it this test is
// ignored here, with a line saying so; under CI=true a missing browser fails.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type LaneResult, playPages } from "../study/experiments/playground_pages.ts";
import { buildSite } from "../deploy/site.ts";
import { stopServer, waitReady } from "./_helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const present = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const CI = Deno.env.get("CI") === "true";
if (!present && !CI) {
  console.warn(`site_browser_test: no Chromium at ${CHROMIUM} (apt-get install -y chromium): ignored`);
}

const WALL_DEFAULT = JSON.parse(Deno.readTextFileSync("models/defaults.json")).wall as string;
/** Where the screenshot goes (EDGEWM_SCREENSHOT=docs/playground.png refreshes the README's). */
const SHOT = Deno.env.get("EDGEWM_SCREENSHOT") ?? "dist/test-artifacts/playground.png";

/** The plans of two runs of one episode agree (the same request, the same seed: the same plan). */
function assertSamePlans(a: LaneResult, b: LaneResult, what: string): void {
  assert.equal(a.replans, b.replans, `${what}: replans`);
  assert.equal(a.successAt, b.successAt, `${what}: success at`);
  for (let r = 0; r < a.plans.length; r++) {
    a.plans[r].flat().forEach((x, i) => {
      const y = b.plans[r].flat()[i];
      assert.ok(Math.abs(x - y) <= 1e-5, `${what}: replan ${r + 1}, action value ${i}: ${x} vs ${y}`);
    });
  }
}

/** A static file server for a folder, as any would be: no special headers (so no cross-origin isolation). */
function serveStatic(dir: string): Deno.HttpServer<Deno.NetAddr> {
  const types: Record<string, string> = { html: "text/html", js: "text/javascript", mjs: "text/javascript" };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const file = join(dir, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(dir) || path.includes("..")) return new Response("no", { status: 403 });
    try {
      const ext = file.slice(file.lastIndexOf(".") + 1);
      return new Response(Deno.readFileSync(file), {
        headers: { "content-type": types[ext] ?? (ext === "wasm" ? "application/wasm" : "application/octet-stream") },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

Deno.test({
  name: "the playground plans a wall episode to its goal in the page and through the server, with the same plans",
  ignore: !present && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    assert.ok(present, `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM=/path)`);
    const tmp = Deno.makeTempDirSync({ prefix: "edgewm-site-" });
    const siteDir = join(tmp, "site"), staticDir = join(tmp, "static");
    const sizes = await buildSite(siteDir);
    await buildSite(staticDir, [`wall/${WALL_DEFAULT}`, "wall/fp32"]);
    assert.ok(sizes.page_bytes < 1_000_000, `page weight without the wasm: ${sizes.page_bytes} bytes`);

    const port = 21000 + Math.floor(Math.random() * 1000);
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-net=127.0.0.1", "--allow-env", "main.ts"],
      env: { PORT: String(port), EDGEWM_SITE: siteDir, EDGEWM_WORKERS: "1", EDGEWM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const files = serveStatic(staticDir);
    try {
      await waitReady(port, server);
      const at = `http://127.0.0.1:${port}/?task=wall&seed=0&episode=0&threads=1&autoplay`;
      const [inPage, viaServer, fromStatic] = await playPages(CHROMIUM, [
        // In the page, with fp32 beside the default (fp32 plans in the page: the server does not load it).
        { url: `${at}&mode=page&compare=fp32`, shot: SHOT },
        { url: `${at}&mode=server` },
        { url: `http://127.0.0.1:${files.addr.port}/?task=wall&seed=0&episode=0&threads=1&autoplay` },
      ]);

      for (const [name, r] of Object.entries({ inPage, viaServer, fromStatic })) {
        assert.deepEqual(r.errors, [], `${name}: the page reported errors`);
        assert.deepEqual(r.console, [], `${name}: console errors`);
        const lane = r.lanes[0];
        assert.equal(lane.variant, WALL_DEFAULT, `${name}: the default variant`);
        assert.ok(lane.successAt !== null, `${name}: the wall episode reached its goal (${lane.replans} replans)`);
        assert.ok(r.firstPlanMs !== null && lane.plans.length === lane.replans);
      }
      assert.equal(inPage.isolated, true, "the server makes the page cross-origin isolated (threads possible)");
      assert.equal(fromStatic.isolated, false);
      assert.equal(inPage.lanes[1]?.variant, "fp32", "fp32 ran beside the default");
      assert.ok(inPage.lanes[1].successAt !== null, "fp32 reached the goal too");
      assertSamePlans(inPage.lanes[0], viaServer.lanes[0], "in the page vs on the server");
      assertSamePlans(fromStatic.lanes[0], viaServer.lanes[0], "the static site vs the server");
      console.log(
        `playground: page ${sizes.page_bytes} B (${sizes.page_gzip_bytes} gzip), wasm ${sizes.wasm_bytes} B; ` +
          `wall reached at replan ${inPage.lanes[0].successAt}; screenshot ${SHOT}`,
      );
    } finally {
      await files.shutdown();
      await stopServer(server);
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
