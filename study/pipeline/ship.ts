/**
 * `deno task study ship --in study/results/study/NAME [--tasks ...]`: apply the default rule to the study's
 * rows and ship the result: each chosen variant is copied to models/<task>/<variant>/ with the
 * rule's evidence in its model.json (`selection`), and models/defaults.json points at it. Tasks
 * where nothing meets the rule keep their current default if it was quantized from today's fp32,
 * else fall back to fp32 (a default built from an older fp32 is not what the study measured).
 */
import { loadModelCard } from "../../model/model_card.ts";
import { CliError, parseFlags } from "../../lib/cli.ts";
import { TASK_NAMES } from "../../tasks/task.ts";
import { chooseDefault, MAX_NET_LOSS, MAX_SLOWDOWN, readSpeed } from "./choose_default.ts";
import { builtFrom } from "./sweep.ts";
import { currentRows } from "./rows.ts";

export function ship(args: string[]): void {
  const f = parseFlags(args, {
    in: { type: "string", required: true, help: "the sweep's run folder (with speed.jsonl)" },
    tasks: { type: "string", default: TASK_NAMES.join(",") },
    models: { type: "string", default: "models", help: "where models and defaults.json live" },
  }, "deno task study ship --in DIR: copy the variants the rule chooses into models/ and make them the defaults");
  const rows = currentRows(f.in, f.models).rows, speed = readSpeed(f.in);
  if (rows.length === 0) throw new CliError(`${f.in} holds no study rows`);
  const defaultsPath = `${f.models}/defaults.json`;
  const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync(defaultsPath));
  for (const task of f.tasks.split(",").filter(Boolean)) {
    const c = chooseDefault(task, rows, speed);
    if (!c?.chosen) {
      const current = defaults[task], fp32 = loadModelCard(`${f.models}/${task}/fp32`);
      let fresh = current === "fp32";
      try {
        fresh ||= builtFrom(loadModelCard(`${f.models}/${task}/${current}`), fp32);
      } catch { /* missing or corrupt: not fresh */ }
      if (!fresh) defaults[task] = "fp32";
      console.error(
        `ship: ${task}: nothing meets the rule; the default ${
          fresh ? `stays ${current}` : `${current} was quantized from another fp32 model: fp32 is served`
        }`,
      );
      continue;
    }
    const from = `${f.in}/variants/${task}/${c.chosen.id}`, to = `${f.models}/${task}/${c.chosen.id}`;
    const card = loadModelCard(from); // hashes checked before anything is copied
    Deno.mkdirSync(to, { recursive: true });
    for (const name of Object.keys(card.files)) Deno.copyFileSync(`${from}/${name}`, `${to}/${name}`);
    const selection = {
      rule: `fewest bytes among deployable variants losing <= ${MAX_NET_LOSS} paired episodes (net) vs fp32 ` +
        `and <= ${MAX_SLOWDOWN}x fp32's replan p50 on web with 2 threads`,
      study: f.in,
      success: c.chosen.success,
      fp32_success: c.fp32.success,
      net_loss: c.chosen.net_loss,
      slowdown_web_2t: c.chosen.slowdown,
      bytes: c.chosen.bytes,
      fp32_bytes: c.fp32.bytes,
    };
    Deno.writeTextFileSync(`${to}/model.json`, JSON.stringify({ ...card, selection }, null, 2) + "\n");
    loadModelCard(to);
    defaults[task] = c.chosen.id;
    console.error(`ship: ${task}: ${c.chosen.id} (${c.chosen.bytes} bytes, success ${c.chosen.success})`);
  }
  Deno.writeTextFileSync(defaultsPath, JSON.stringify(defaults, null, 2) + "\n");
}
