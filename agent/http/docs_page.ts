/**
 * A browsable view of the OpenAPI document at GET /docs: one self-contained
 * HTML page (no CDN, so it works on offline edge hosts) that lists every
 * route with its schema and lets you send a request and see the answer.
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
      // The server's own example is a request it answers with 200; the schema's defaults are the fallback.
      const input = body ? el("textarea", { value: JSON.stringify(media.example ?? example(body), null, 2) }) : null;
      const key = el("input", { placeholder: "API key (if the server wants one)", size: 30 });
      const out = el("pre", { hidden: true });
      const send = el("button", { textContent: "send" });
      send.onclick = async () => {
        out.hidden = false;
        out.textContent = "...";
        const headers = { "content-type": "application/json" };
        if (key.value) headers.authorization = "Bearer " + key.value;
        const res = await fetch(path.slice(1), { method: verb.toUpperCase(), headers, body: input ? input.value : undefined });
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
        out.textContent = res.status + " " + res.statusText + "\\n" + shown;
      };
      box.append(el("details", {}, el("summary", { textContent: "try it" }), ...(input ? [input] : []), key, send, out));
      root.append(box);
    }
  }
}).catch((e) => { document.getElementById("routes").textContent = "cannot load openapi.json: " + e; });
</script></body></html>
`;
