/**
 * `deno task render`: a filmstrip PNG of one protocol episode, planned by the oracle (default) or by
 * a model directory's world model with --model.
 *
 *   deno task render --task pusht --seed 0 --out pusht.png
 *   deno task render --task wall --model models/wall/fp32 --out wall_model.png
 */
import { parseFlags, runCli } from "../lib/cli.ts";
import { evaluate, evaluationEpisode, type Planner } from "../tasks/evaluation.ts";
import { filmstripPng } from "../tasks/filmstrip.ts";
import { getTask } from "../tasks/registry.ts";
import { type Task, TASK_NAMES } from "../tasks/task.ts";
import { runOracle } from "./planners/oracle.ts";

/** Render one episode as a filmstrip PNG: the oracle's, or any protocol planner's. */
export async function episodeFilmstrip(
  task: Task,
  seed: number,
  episode = 0,
  size = 96,
  maxFrames = 12,
  planner?: { planner: Planner; execute: number; imageSize: number },
): Promise<{ png: Uint8Array; success: boolean; steps: number }> {
  const states: Float64Array[] = [];
  const onState = (s: Float64Array) => states.push(s);
  const r = planner
    ? await evaluate(task, planner.planner, {
      episodes: 1,
      first: episode,
      seed,
      budget: 50,
      execute: planner.execute,
      imageSize: planner.imageSize,
      onState,
    })
    : await runOracle(task, 1, seed, 50, undefined, { first: episode, onState });
  const goal = evaluationEpisode(task, seed, episode).goal;
  const success = r.results[0].successAt !== null;
  return { png: filmstripPng(task, states, goal, success, size, maxFrames), success, steps: states.length - 1 };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string", required: true, help: TASK_NAMES.join(" | ") },
      seed: { type: "int", default: 0, min: 0, max: 2 ** 32 - 1, help: "evaluation seed" },
      episode: { type: "int", default: 0, min: 0, help: "episode index of that seed" },
      size: { type: "int", default: 96, min: 16, max: 512, help: "frame size in the strip (px)" },
      model: { type: "string", help: "a model directory (default: the oracle plans)" },
      out: { type: "string", required: true, help: "PNG file to write" },
    }, "deno task render --task T [--model DIR] --out FILE.png: a filmstrip of one protocol episode");
    const task = getTask(f.task);
    let planner;
    if (f.model) {
      // Imported only when asked for, so the oracle filmstrip needs no onnxruntime.
      const { WorldModel } = await import("./world_model.ts");
      const { worldModelPlanner } = await import("./planners/world_model_planner.ts");
      const { cardPreset } = await import("../model/planner_options.ts");
      const model = await WorldModel.load(f.model);
      const preset = cardPreset(model.card); // the planner the model is served with
      planner = {
        planner: worldModelPlanner(model, preset),
        execute: preset.execute,
        imageSize: model.card.image_size,
      };
    }
    const r = await episodeFilmstrip(task, f.seed, f.episode, f.size, 12, planner);
    Deno.writeFileSync(f.out, r.png);
    console.log(JSON.stringify({ task: task.name, out: f.out, success: r.success, model_actions: r.steps }));
  });
}
