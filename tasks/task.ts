/**
 * The one interface every simulator task implements, and the registry that
 * turns a task name into a task.
 *
 * Units: a task's `step` is one *environment* step. A world-model action is
 * `frameskip` environment actions concatenated (DINO-WM's convention), so a
 * model action has `frameskip * actionDim` numbers.
 */
import { UserError } from "../lib/errors.ts";
import type { Rng } from "../lib/rng.ts";

import type { TaskSpec } from "./specs.ts";
export { TASK_NAMES, type TaskName } from "./specs.ts";

/** A running simulation; `Task.create(state)` starts one from any valid state. */
export interface Sim {
  /** Advance one environment step. Actions outside the bounds are clipped; NaN throws. */
  step(action: ArrayLike<number>): void;
  /** A copy of the full state vector. */
  state(): Float64Array;
}

/** A behaviour policy: state in, one environment action out. Stateful (it may keep a plan). */
export type Policy = (state: Float64Array) => Float64Array;

/** A start state and the goal state an episode must reach. */
export interface Episode {
  start: Float64Array;
  goal: Float64Array;
}

/** A simulator: its spec (tasks/specs.ts: layouts, bounds, control period) and the behaviour behind it. */
export interface Task extends TaskSpec {
  /** Human-readable success criterion (also written to dataset meta). */
  readonly successRule: string;
  /** What the behaviour policy does, in a few words (written to dataset meta). */
  readonly behaviourName: string;
  /** State dimensions that are angles (interpolated the short way round, e.g. by probe paths). */
  readonly angleDims: readonly number[];
  /** Start a simulation from a state (validated: wrong size, NaN or infeasible states throw). */
  create(state: ArrayLike<number>): Sim;
  /** A random valid state, used for dataset episode starts. */
  sampleState(rng: Rng): Float64Array;
  /** The exploration policy that generates this task's training data. */
  behaviour(rng: Rng): Policy;
  /** A start/goal pair for evaluation. */
  sampleEpisode(rng: Rng): Episode;
  /** Proprioceptive observation of a state. */
  proprio(state: ArrayLike<number>): Float64Array;
  /** Top-down RGB image, uint8 [size, size, 3] row-major. */
  render(state: ArrayLike<number>, size?: number): Uint8Array;
  /** Ground-truth success test. */
  success(state: ArrayLike<number>, goal: ArrayLike<number>): boolean;
  /**
   * Ground-truth distance to the goal in units of the success threshold
   * (success roughly when < 1); used by the oracle planner and for metrics.
   */
  distance(state: ArrayLike<number>, goal: ArrayLike<number>): number;
  /** The terms `distance` combines, each in units of its own tolerance, where it has several (pusht). */
  distanceParts?(state: ArrayLike<number>, goal: ArrayLike<number>): Record<string, number>;
  /**
   * The final-state cost a planner over the true simulator minimises (the oracle), when it should
   * differ from `distance` (pusht: fix the block before the agent).
   */
  oracleCost?(state: Float64Array, goal: Float64Array): number;
  /** Whether the straight segment between two states crosses no obstacle (default: it never does). */
  clearLine?(a: Float64Array, b: Float64Array): boolean;
}

/** Thrown for invalid task names, states and actions: the message says what was wrong. */
export class TaskError extends UserError {
  override name = "TaskError";
}

/** Clip an env action into bounds; NaN or Infinity throws a `TaskError`. */
export function clipAction(task: Task, action: ArrayLike<number>): Float64Array {
  if (action.length !== task.actionDim) {
    throw new TaskError(
      `${task.name}: action must have ${task.actionDim} numbers, got ${action.length}`,
    );
  }
  const out = new Float64Array(task.actionDim);
  for (let i = 0; i < task.actionDim; i++) {
    const a = action[i];
    if (!Number.isFinite(a)) {
      throw new TaskError(`${task.name}: action[${i}] is ${a}; actions must be finite numbers`);
    }
    out[i] = Math.min(task.actionHigh[i], Math.max(task.actionLow[i], a));
  }
  return out;
}

/** Env action bounds repeated over `n` numbers (n = a multiple of actionDim), for samplers
 * that search several env actions at once (frameskip-concatenated model actions). */
export function tiledActionBounds(task: Task, n: number): { low: number[]; high: number[] } {
  const A = task.actionDim;
  return {
    low: Array.from({ length: n }, (_, j) => task.actionLow[j % A]),
    high: Array.from({ length: n }, (_, j) => task.actionHigh[j % A]),
  };
}

/** Check a state vector's size and finiteness. */
export function checkState(task: Task, state: ArrayLike<number>): Float64Array {
  if (state.length !== task.stateDim) {
    throw new TaskError(
      `${task.name}: state must have ${task.stateDim} numbers, got ${state.length}`,
    );
  }
  const s = Float64Array.from(state);
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i])) throw new TaskError(`${task.name}: state[${i}] is ${s[i]}`);
  }
  return s;
}

/** Wrap an angle to (-pi, pi]. */
export function wrapAngle(a: number): number {
  const t = (a + Math.PI) % (2 * Math.PI);
  return (t < 0 ? t + 2 * Math.PI : t) - Math.PI;
}
