/**
 * A filmstrip PNG of one episode (the oracle's, or a model's with --model), so a person can see it:
 * start frame, the frame after each executed model action (subsampled to at
 * most `maxFrames`), then the goal frame, framed green on success and red
 * otherwise.
 *
 *   deno task render --task pusht --seed 0 --out pusht.png
 *   deno task render --task wall --model models/wall/fp32 --out wall_model.png
 */
import { intFlag, parseFlags, runCli, stringFlag } from "./cli.ts";
import { evaluate, evaluationEpisode, type Planner } from "./evaluation.ts";
import { runOracle } from "./oracle.ts";
import { encodePng } from "./png.ts";
import { getTask } from "./registry.ts";
import type { Task } from "./task.ts";

/** Lay frames side by side with `gap` white columns; returns RGB and width. */
export function tileFrames(frames: Uint8Array[], size: number, gap = 4): { rgb: Uint8Array; width: number } {
  const width = frames.length * size + (frames.length - 1) * gap;
  const rgb = new Uint8Array(width * size * 3).fill(255);
  frames.forEach((f, i) => {
    const x0 = i * (size + gap);
    for (let y = 0; y < size; y++) rgb.set(f.subarray(y * size * 3, (y + 1) * size * 3), (y * width + x0) * 3);
  });
  return { rgb, width };
}

function frame(img: Uint8Array, size: number, color: readonly number[], t: number): Uint8Array {
  const out = img.slice();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (x < t || y < t || x >= size - t || y >= size - t) out.set(color, (y * size + x) * 3);
    }
  }
  return out;
}

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
  const pick = states.length <= maxFrames
    ? states
    : Array.from({ length: maxFrames }, (_, i) => states[Math.round((i * (states.length - 1)) / (maxFrames - 1))]);
  const success = r.results[0].successAt !== null;
  const frames = pick.map((s) => task.render(s, size));
  frames.push(frame(task.render(goal, size), size, success ? [40, 190, 60] : [220, 40, 40], 3));
  const { rgb, width } = tileFrames(frames, size);
  return { png: encodePng(rgb, width, size), success, steps: states.length - 1 };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string" },
      seed: { type: "string", default: "0" },
      episode: { type: "string", default: "0" },
      size: { type: "string", default: "96" },
      model: { type: "string" },
      out: { type: "string" },
    });
    const task = getTask(stringFlag(f.task, "task"));
    const out = stringFlag(f.out, "out");
    let planner;
    if (f.model) {
      // Imported only when asked for, so the oracle filmstrip needs no onnxruntime.
      const { WorldModel } = await import("../agent/world_model.ts");
      const { PRESETS, worldModelPlanner } = await import("../agent/planner.ts");
      const model = await WorldModel.load(f.model as string);
      planner = { planner: worldModelPlanner(model, PRESETS.fast), execute: 1, imageSize: model.card.image_size };
    }
    const r = await episodeFilmstrip(
      task,
      intFlag(f.seed, "seed", 0, 2 ** 32 - 1),
      intFlag(f.episode, "episode", 0),
      intFlag(f.size, "size", 16, 512),
      12,
      planner,
    );
    Deno.writeFileSync(out, r.png);
    console.log(JSON.stringify({ task: task.name, out, success: r.success, model_actions: r.steps }));
  });
}
