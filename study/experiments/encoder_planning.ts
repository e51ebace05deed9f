/**
 * Encoder study, closed loop: CEM on the TRUE simulator whose cost is computed
 * by an encoder on rendered frames (no predictor), under the fixed protocol.
 * It measures what an encoder's latent distance is worth as a planning cost,
 * apart from any predictor error (after DESIGN's synthetic-cost experiment).
 *
 *   deno run -A study/experiments/encoder_planning.ts --task wall --encoder runs/onnx_tdist/encoder.onnx --cost global
 *
 * --cost: global (L2 of global embeddings), patch (MSE of patch tokens), learned (L2 in the space
 * of a distance head over the encoder's latents, `--distance distance.onnx` from
 * train/distance_head.py), pixels (MSE of frames; no encoder needed), true (the task's true distance).
 * --preset: fast (the agent's CEM: 64 samples x 4 iterations, execute 2; default), served (the served
 * iCEM preset, 32 samples shrinking over 3 iterations, execute 2) or oracle (the oracle's per-task CEM,
 * execution count and, with --cost true, its cost). --execute, --samples, --iterations and --init-std
 * override the preset's.
 * --size: the frame size the encoder reads (pusht's own encoder reads 96 px).
 */
import * as ort from "onnxruntime-node";
import { cem, type CemOptions } from "../../agent/planners/cem.ts";
import { icem, type IcemOptions } from "../../agent/planners/icem.ts";
import { shiftPlan } from "../../agent/planners/sampling.ts";
import { PRESETS } from "../../model/planner_options.ts";
import { CliError, parseFlags, runCli } from "../../lib/cli.ts";
import { evaluate, type Planner } from "../../tasks/evaluation.ts";
import { ORACLE_PRESETS, oraclePlanner } from "../../agent/planners/oracle.ts";
import { getTask } from "../../tasks/registry.ts";
import { type Task, tiledActionBounds } from "../../tasks/task.ts";

type Embed = (images: Uint8Array, n: number) => Promise<Float32Array[]>;

function encoderEmbed(session: ort.InferenceSession, which: "global" | "tokens", size: number): Embed {
  return async (images, n) => {
    const out = await session.run({ image: new ort.Tensor("uint8", images, [n, size, size, 3]) });
    const data = out[which].data as Float32Array, w = data.length / n;
    return Array.from({ length: n }, (_, i) => data.subarray(i * w, (i + 1) * w));
  };
}

/** phi of the encoder's latents through a distance head (tokens, global -> phi). */
function learnedEmbed(encoder: ort.InferenceSession, head: ort.InferenceSession, size: number): Embed {
  return async (images, n) => {
    const z = await encoder.run({ image: new ort.Tensor("uint8", images, [n, size, size, 3]) });
    const out = await head.run(Object.fromEntries(head.inputNames.map((n) => [n, z[n]])));
    const data = out.phi.data as Float32Array, w = data.length / n;
    return Array.from({ length: n }, (_, i) => data.subarray(i * w, (i + 1) * w));
  };
}

function studyPlanner(
  task: Task,
  embed: Embed | null,
  metric: "l2" | "mse",
  opts: CemOptions | IcemOptions,
  execute: number,
  S: number,
): Planner {
  const A = task.actionDim, F = task.frameskip, D = F * A, H = opts.horizon;
  let goalKey: Uint8Array | null = null, goalVec: Float32Array | null = null;
  return {
    async plan(obs, goal, warm, rng) {
      if (goalKey !== goal.image()) {
        goalKey = goal.image();
        goalVec = embed ? (await embed(goalKey, 1))[0] : Float32Array.from(goalKey);
      }
      const cost = async (batch: Float32Array, n: number) => {
        const J = new Float64Array(n);
        if (!embed && !goalVec) return J;
        const finals = new Uint8Array(n * S * S * 3);
        const states: Float64Array[] = [];
        for (let i = 0; i < n; i++) {
          const sim = task.create(obs.state);
          for (let k = 0; k < H * F; k++) sim.step(batch.subarray(i * H * D + k * A, i * H * D + (k + 1) * A));
          states.push(sim.state());
          finals.set(task.render(sim.state(), S), i * S * S * 3);
        }
        const vecs = embed
          ? await embed(finals, n)
          : states.map((_, i) => finals.subarray(i * S * S * 3, (i + 1) * S * S * 3));
        for (let i = 0; i < n; i++) {
          let d = 0;
          for (let j = 0; j < goalVec!.length; j++) d += (vecs[i][j] - goalVec![j]) ** 2;
          J[i] = metric === "l2" ? Math.sqrt(d) : d / goalVec!.length;
        }
        return J;
      };
      const r = "beta" in opts ? await icem(cost, D, opts, rng, warm) : await cem(cost, D, opts, rng, warm);
      return { actions: r.plan, warm: shiftPlan(r.plan, D, execute) };
    },
  };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(
      Deno.args,
      {
        task: { type: "string", required: true },
        encoder: { type: "string", help: "encoder.onnx (for the patch and global costs)" },
        cost: { type: "enum", values: ["global", "patch", "learned", "pixels", "true"], default: "global" },
        distance: { type: "string", help: "distance.onnx (for the learned cost)" },
        episodes: { type: "int", default: 20, min: 1 },
        budget: { type: "int", default: 50, min: 1 },
        seed: { type: "int", default: 0, min: 0 },
        label: { type: "string", help: "name of the encoder in the output line" },
        preset: { type: "enum", values: ["fast", "served", "oracle"], default: "fast" },
        execute: { type: "int", min: 1, help: "actions executed per replan (default: the preset's)" },
        size: { type: "int", default: 64, min: 8, help: "frame size the encoder reads" },
        samples: { type: "int", min: 2, help: "samples per iteration (default: the preset's)" },
        iterations: { type: "int", min: 1, help: "iterations per replan (default: the preset's)" },
        "init-std": { type: "number", min: 0, help: "initial sampling std (default: the preset's)" },
      },
      "study/experiments/encoder_planning.ts --task T --cost C: CEM on the true simulator with an encoder's latent cost",
    );
    const task = getTask(f.task);
    const cost = f.cost;
    const D = task.frameskip * task.actionDim;
    const bounds = tiledActionBounds(task, D);
    const preset = f.preset;
    const oracle = ORACLE_PRESETS[task.name];
    const base: CemOptions | IcemOptions = preset === "oracle"
      ? { ...oracle.cem, ...bounds }
      : preset === "served"
      ? { ...PRESETS.icem.sampler, ...PRESETS.icem.icem, ...bounds, substeps: task.frameskip }
      : { ...PRESETS.fast.sampler, ...bounds };
    const opts = {
      ...base,
      samples: f.samples ?? base.samples,
      iterations: f.iterations ?? base.iterations,
      initStd: f["init-std"] ?? base.initStd,
    };
    const execute = f.execute ?? (preset === "oracle" ? oracle.execute : 2);
    let planner: Planner;
    if (cost === "true") {
      // The oracle preset keeps the oracle's own cost; the fast one scores the true distance.
      const distance = (st: Float64Array, g: Float64Array) => task.distance(st, g);
      planner = oraclePlanner(task, { cem: opts, execute, cost: preset === "oracle" ? undefined : distance });
    } else if (cost === "pixels") {
      planner = studyPlanner(task, null, "mse", opts, execute, f.size);
    } else {
      if (!f.encoder) throw new CliError(`--cost ${cost} needs --encoder`);
      const session = await ort.InferenceSession.create(f.encoder, { intraOpNumThreads: 2 });
      if (cost === "learned") {
        if (!f.distance) throw new CliError("--cost learned needs --distance");
        const head = await ort.InferenceSession.create(f.distance, { intraOpNumThreads: 2 });
        planner = studyPlanner(task, learnedEmbed(session, head, f.size), "l2", opts, execute, f.size);
      } else {
        const which = cost === "patch" ? "tokens" : "global";
        const embed = encoderEmbed(session, which, f.size);
        planner = studyPlanner(task, embed, cost === "patch" ? "mse" : "l2", opts, execute, f.size);
      }
    }
    const t0 = performance.now();
    const r = await evaluate(task, planner, {
      episodes: f.episodes,
      seed: f.seed,
      budget: f.budget,
      execute,
      imageSize: f.size,
    });
    console.log(JSON.stringify({
      study: "encoder_planning",
      task: task.name,
      encoder: f.label ?? f.encoder ?? cost,
      cost,
      preset,
      search: { samples: opts.samples, iterations: opts.iterations, init_std: opts.initStd, execute },
      episodes: r.episodes,
      budget: r.budget,
      success_rate: r.success_rate,
      success_at: r.success_at,
      seconds: +((performance.now() - t0) / 1000).toFixed(0),
      size: f.size,
    }));
  });
}
