/**
 * The playground at `/`: the page `deno task site` built (deploy/site.ts) and the files of the loaded models
 * it plans with in the browser, at `/models/<task>/<variant>/<file>`. Only what a card lists is served
 * (model.json and its ONNX graphs), never a path a request makes up. Every answer here is cross-origin
 * isolated (COOP and COEP), which is what lets onnxruntime-web plan on more than one wasm thread.
 */
import { Hono } from "hono";
import { readBytes } from "../../lib/platform.ts";
import type { ModelCard } from "../../model/model_card.ts";

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  wasm: "application/wasm",
  json: "application/json",
  onnx: "application/octet-stream",
  png: "image/png",
};

/** The page's own files: flat names, the kinds above; anything else is not asked of the disk at all. */
const SITE_FILE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(html|js|mjs|wasm|png)$/;

export interface SiteOptions {
  /** The built page's folder (dist/site from the source tree; site/ in a bundle). */
  dir: string;
  /**
   * The models the page may plan with, by "task/variant": the folder its card came from, and whether the
   * server plans with it too (`served`; the others, fp32 beside a low-bit default, plan in the page only).
   */
  models: Map<string, { dir: string; card: ModelCard; served: boolean }>;
  /** Each task's default variant (marked in the manifest). */
  defaults: Record<string, string>;
}

/** One entry of the page's model list (`/models.json`; a static site writes the same file). */
export interface SiteModel {
  task: string;
  variant: string;
  default: boolean;
  /** Bytes of its ONNX graphs: what the page downloads to plan with it. */
  bytes: number;
  /** Whether the server plans with it (POST /v1/plan); false on a static site. */
  served: boolean;
  /** The frame size its encoder reads (model.json `image_size`): the page renders frames at it. */
  image_size: number;
}

/** The graphs' bytes of a card: what a page downloads. */
export const graphBytes = (card: ModelCard) =>
  Object.entries(card.files).filter(([f]) => f.endsWith(".onnx")).reduce((a, [, f]) => a + f.bytes, 0);

function fileResponse(path: string, name: string): Response | null {
  let body: Uint8Array;
  try {
    body = readBytes(path);
  } catch {
    return null;
  }
  return new Response(body as BodyInit, {
    headers: {
      "content-type": CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream",
      // Small and rebuilt with the server: always revalidated, never stale after an upgrade.
      "cache-control": "no-cache",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-opener-policy": "same-origin",
    },
  });
}

/** The playground's routes, mounted at `/` by createApp when the page is built. */
export function siteRoutes(o: SiteOptions): Hono {
  const site = new Hono();
  site.get("/", (c) => fileResponse(`${o.dir}/index.html`, "index.html") ?? c.json({ error: "no page" }, 404));
  site.get("/models.json", (c) =>
    c.json(
      [...o.models.values()].map(({ card, served }): SiteModel => ({
        task: card.task,
        variant: card.variant,
        default: o.defaults[card.task] === card.variant,
        bytes: graphBytes(card),
        served,
        image_size: card.image_size,
      })),
    ));
  site.get("/models/:task/:variant/:file", (c) => {
    const { task, variant, file } = c.req.param();
    const m = o.models.get(`${task}/${variant}`);
    const listed = m && (file === "model.json" || (file.endsWith(".onnx") && file in m.card.files));
    return (listed && fileResponse(`${m.dir}/${file}`, file)) ||
      c.json({ error: `no model file ${task}/${variant}/${file}` }, 404);
  });
  site.get("/:file", async (c, next) => {
    const file = c.req.param("file");
    const r = SITE_FILE.test(file) ? fileResponse(`${o.dir}/${file}`, file) : null;
    if (r) return r;
    await next();
  });
  return site;
}
