/**
 * Goal-directed demonstrations: dataset episodes driven by the oracle (CEM on the true simulator)
 * towards a chain of goals, with action noise, mixed with the task's behaviour policy. The
 * benchmarks' world models learn from such data (stable-worldmodel: random-policy data plans
 * PushT at 0.30-0.40, expert data at ~0.90); the behaviour policy alone rarely shows a push
 * that ends where it should.
 *
 *   deno task demos --task pusht --episodes 1000 --size 96 --noise 0.2 --out data/pusht_demo96
 *
 * Goals are made as the evaluation makes them (the behaviour policy run `goalSteps` steps from
 * the current state, in a copy of the simulator), so demonstrations and evaluation goals share a
 * distribution; evaluation episodes themselves come from a stream no dataset uses. A goal is
 * dropped for a fresh one once reached or after `patience` replans. Episode i depends only on
 * (seed, i), so a dataset resumes and reproduces byte for byte (`writeDataset`).
 */
import { parseFlags, runCli } from "../lib/cli.ts";
import { Rng } from "../lib/rng.ts";
import {
  behaviourSource,
  DATASET_FLAGS,
  type EpisodeArrays,
  type EpisodeSource,
  generateEpisode,
  writeDatasetCli,
} from "../tasks/dataset.ts";
import { getTask } from "../tasks/registry.ts";
import type { Task } from "../tasks/task.ts";
import { ORACLE_PRESETS, oraclePlanner } from "./planners/oracle.ts";

export interface DemonstrationOptions {
  /** Standard deviation of Gaussian noise added to every executed env action (then clipped). */
  noise: number;
  /** Fraction of episodes (drawn per episode) left to the behaviour policy instead. */
  behaviourFraction: number;
  /** Behaviour steps from the current state that make the next goal. */
  goalSteps: number;
  /** Replans spent on one goal before a fresh one is drawn. */
  patience: number;
}

export const DEMONSTRATION_DEFAULTS: DemonstrationOptions = {
  noise: 0.2,
  behaviourFraction: 0.25,
  goalSteps: 25,
  patience: 6,
};

/** A goal as the evaluation draws one: where the behaviour policy takes the scene from `state`. */
export function goalFrom(task: Task, state: Float64Array, steps: number, rng: Rng): Float64Array {
  const sim = task.create(state), policy = task.behaviour(rng);
  for (let t = 0; t < steps; t++) sim.step(policy(sim.state()));
  return sim.state();
}

/** Goals drawn and reached by the demonstrations generated so far (in this process). */
export interface GoalCount {
  drawn: number;
  reached: number;
}

/** The episode source `writeDataset` draws demonstrations from; `goals` counts how often the oracle got there. */
export function demonstrationSource(options: Partial<DemonstrationOptions> = {}): EpisodeSource & { goals: GoalCount } {
  const o = { ...DEMONSTRATION_DEFAULTS, ...options };
  const goals: GoalCount = { drawn: 0, reached: 0 };
  return {
    name: "oracle demonstrations",
    settings: { ...o },
    goals,
    async episode(task, seed, index, steps, size) {
      // A stream of its own per episode; the first draw decides who drives it.
      const rng = Rng.derive(seed, 0xde30, index);
      if (rng.random() < o.behaviourFraction) return generateEpisode(task, seed, index, steps, size);
      return await _demonstrate(task, rng, steps, size, o, goals);
    },
  };
}

async function _demonstrate(
  task: Task,
  rng: Rng,
  steps: number,
  size: number,
  o: DemonstrationOptions,
  goals: GoalCount,
): Promise<EpisodeArrays> {
  const preset = ORACLE_PRESETS[task.name], planner = oraclePlanner(task, preset);
  const A = task.actionDim, P = task.proprioDim, S = task.stateDim, F = size * size * 3, fs = task.frameskip;
  const out: EpisodeArrays = {
    obs: new Uint8Array((steps + 1) * F),
    actions: new Float32Array(steps * A),
    proprio: new Float32Array((steps + 1) * P),
    states: new Float32Array((steps + 1) * S),
  };
  const sim = task.create(task.sampleState(rng));
  const record = (t: number) => {
    const s = sim.state();
    out.obs.set(task.render(s, size), t * F);
    out.proprio.set(task.proprio(s), t * P);
    out.states.set(s, t * S);
  };
  record(0);
  let t = 0, goal = goalFrom(task, sim.state(), o.goalSteps, rng), tries = 0;
  goals.drawn++;
  let warm: Float32Array | undefined;
  const observe = (state: Float64Array) => ({
    state,
    proprio: task.proprio(state),
    image: () => task.render(state, size),
  });
  while (t < steps) {
    const reached = task.success(sim.state(), goal);
    if (reached || tries >= o.patience) {
      if (reached) goals.reached++;
      goal = goalFrom(task, sim.state(), o.goalSteps, rng);
      goals.drawn++;
      tries = 0;
      warm = undefined;
    }
    const plan = await planner.plan(observe(sim.state()), observe(goal), warm, rng);
    warm = plan.warm;
    tries++;
    for (let k = 0; k < preset.execute * fs && t < steps; k++, t++) {
      const a = Float64Array.from(plan.actions.subarray(k * A, (k + 1) * A), (v, d) => {
        const noisy = v + o.noise * rng.normal();
        return Math.min(task.actionHigh[d], Math.max(task.actionLow[d], noisy));
      });
      out.actions.set(a, t * A);
      sim.step(a);
      record(t + 1);
    }
  }
  return out;
}

if (import.meta.main) {
  await runCli(async () => {
    const d = DEMONSTRATION_DEFAULTS;
    const f = parseFlags(Deno.args, {
      ...DATASET_FLAGS,
      noise: { type: "number", default: d.noise, min: 0, max: 2, help: "std of noise on executed env actions" },
      "behaviour-fraction": {
        type: "number",
        default: d.behaviourFraction,
        min: 0,
        max: 1,
        help: "share of episodes left to the behaviour policy",
      },
      "goal-steps": { type: "int", default: d.goalSteps, min: 1, max: 1000, help: "behaviour steps to a goal" },
      patience: { type: "int", default: d.patience, min: 1, max: 1000, help: "replans per goal" },
    }, "deno task demos --task T --episodes N --out DIR: oracle-driven demonstrations in the data contract");
    getTask(f.task); // a bad name fails before any file is touched
    const source = f["behaviour-fraction"] >= 1 ? behaviourSource : demonstrationSource({
      noise: f.noise,
      behaviourFraction: f["behaviour-fraction"],
      goalSteps: f["goal-steps"],
      patience: f.patience,
    });
    await writeDatasetCli({ ...f, source });
    if ("goals" in source) {
      const { drawn, reached } = source.goals as GoalCount;
      console.error(
        `demos: the oracle reached ${reached} of ${drawn} goals drawn (the last of each episode is cut short)`,
      );
    }
  });
}
