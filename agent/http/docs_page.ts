/**
 * A browsable view of the OpenAPI document at GET /docs: one self-contained
 * HTML page (no CDN, so it works on offline edge hosts) that lists every
 * route with its request and response schemas and lets you send a request
 * and see the answer, with the images in either drawn (PNG, raw or values).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgewm API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222 }
h1 { margin-bottom: 0 } .route { border: 1px solid #ddd; border-radius: 6px; margin: 1em 0; padding: .6em 1em }
.verb { font-weight: 700; display: inline-block; width: 4em } .post { color: #0a6 } .get { color: #06c }
pre, textarea { background: #f6f6f6; border-radius: 4px; padding: .6em; overflow: auto; max-height: 24em; font-size: 12px }
textarea { width: 100%; height: 14em; box-sizing: border-box } details { margin: .4em 0 }
button { margin: .4em 0; padding: .3em 1em } .status { font-weight: 700 }
.images { display: flex; gap: .6em; flex-wrap: wrap; align-items: flex-end } .images figure { margin: 0 }
.images canvas, .images img { width: 128px; height: 128px; image-rendering: pixelated; border: 1px solid #ccc }
.images figcaption { font-size: 11px; color: #555; max-width: 128px; overflow-wrap: anywhere }
</style></head><body>
<h1>edgewm API</h1><p id="desc"></p><p>Document: <a href="openapi.json">openapi.json</a></p>
<div id="routes">loading openapi.json ...</div>
<script>
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  Object.assign(e, attrs);
  for (const k of kids) e.append(k);
  return e;
};
const example = (s) => {
  if (!s || typeof s !== "object") return null;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.type === "object") {
    const o = {};
    for (const [k, v] of Object.entries(s.properties || {})) if ((s.required || []).includes(k)) o[k] = example(v);
    return o;
  }
  if (s.type === "array") return [];
  if (s.type === "string") return "";
  if (s.type === "number" || s.type === "integer") return s.minimum ?? 0;
  if (s.anyOf) return example(s.anyOf[0]);
  if (s.oneOf) return example(s.oneOf[0]);
  return null;
};
// Every image in a JSON value ({png}, {raw} or {rgb}), with where it is, drawn at 2x.
const images = (v, at = "", out = []) => {
  if (Array.isArray(v)) v.forEach((x, i) => images(x, at + "." + i, out));
  else if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && ["png", "raw", "rgb"].includes(keys[0])) out.push([at.slice(1), v]);
    else for (const [k, x] of Object.entries(v)) images(x, at + "." + k, out);
  }
  return out;
};
const draw = ([where, img]) => {
  let node;
  if (img.png !== undefined) node = el("img", { src: "data:image/png;base64," + img.png });
  else {
    const bytes = img.raw !== undefined ? Uint8Array.from(atob(img.raw), (c) => c.charCodeAt(0)) : img.rgb;
    const n = Math.round(Math.sqrt(bytes.length / 3));
    node = el("canvas", { width: n, height: n });
    const data = node.getContext("2d").createImageData(n, n);
    for (let i = 0; i < n * n; i++) data.data.set([bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2], 255], 4 * i);
    node.getContext("2d").putImageData(data, 0, 0);
  }
  return el("figure", {}, node, el("figcaption", { textContent: where }));
};
// Long arrays and strings shortened for reading (the answer itself is whole in the browser's network panel).
const brief = (v) => JSON.stringify(v, (k, x) =>
  typeof x === "string" && x.length > 80 ? x.slice(0, 40) + "... (" + x.length + " characters)"
  : Array.isArray(x) && x.length > 24 && typeof x[0] === "number" ? [...x.slice(0, 12), "... " + x.length + " numbers"] : x, 2);
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  document.getElementById("desc").textContent = doc.info.description + " (version " + doc.info.version + ")";
  const root = document.getElementById("routes");
  root.textContent = "";
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      const box = el("div", { className: "route" });
      box.append(el("div", {}, el("span", { className: "verb " + verb, textContent: verb.toUpperCase() }),
        el("code", { textContent: path }), " - " + (op.summary || "")));
      const media = op.requestBody?.content?.["application/json"];
      const resolve = (s) => (s && s.$ref ? resolve(doc.components.schemas[s.$ref.split("/").pop()]) : s);
      const body = resolve(media?.schema);
      if (body) box.append(el("details", {}, el("summary", { textContent: "request schema" }),
        el("pre", { textContent: JSON.stringify(body, null, 2) })));
      const codes = Object.entries(op.responses || {}).map(([c, r]) => c + " " + r.description).join("; ");
      box.append(el("div", { textContent: "responses: " + codes }));
      for (const [c, r] of Object.entries(op.responses || {})) {
        const schema = resolve(r.content?.["application/json"]?.schema);
        if (schema && c === "200") box.append(el("details", {}, el("summary", { textContent: "response schema (" + c + ")" }),
          el("pre", { textContent: JSON.stringify(schema, null, 2) })));
      }
      const params = (op.parameters || []).filter((p) => p.in === "path").map((p) =>
        [p.name, el("input", { placeholder: p.name, value: p.name === "task" ? "wall" : "", size: 12 })]);
      // The server's own example is a request it answers with 200; the schema's defaults are the fallback.
      const input = body ? el("textarea", { value: JSON.stringify(media.example ?? example(body), null, 2) }) : null;
      const key = el("input", { placeholder: "API key (if the server wants one)", size: 30 });
      const out = el("pre", { hidden: true });
      const pics = el("div", { className: "images" });
      const send = el("button", { textContent: "send" });
      send.onclick = async () => {
        out.hidden = false;
        out.textContent = "...";
        pics.textContent = "";
        const headers = { "content-type": "application/json" };
        if (key.value) headers.authorization = "Bearer " + key.value;
        let url = path;
        for (const [name, field] of params) url = url.replace("{" + name + "}", encodeURIComponent(field.value));
        const res = await fetch(url.slice(1), { method: verb.toUpperCase(), headers, body: input ? input.value : undefined });
        const text = await res.text();
        let shown = text, answer;
        try { answer = JSON.parse(text); shown = brief(answer); } catch {}
        out.textContent = res.status + " " + res.statusText + "\\n" + shown;
        let request;
        try { request = input ? JSON.parse(input.value) : undefined; } catch {}
        for (const [label, v] of [["request", request], ["answer", answer]]) {
          for (const [where, img] of images(v)) pics.append(draw([label + ": " + where, img]));
        }
      };
      box.append(el("details", {}, el("summary", { textContent: "try it" }),
        ...params.map(([n, f]) => el("label", {}, n + " ", f, " ")), ...(input ? [input] : []), key, send, pics, out));
      root.append(box);
    }
  }
}).catch((e) => { document.getElementById("routes").textContent = "cannot load openapi.json: " + e; });
</script></body></html>
`;
