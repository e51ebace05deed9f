/**
 * What a client and a model must agree on for each built-in task, without its simulator: action,
 * proprio and state layouts (names and units), action bounds, frameskip and the control period.
 * The server and the edge bundle read these (a model card is checked against them), so that no
 * simulator, and no physics engine, rides along where none is served. Each simulator spreads its
 * spec into its `Task` (tasks/<name>.ts).
 */

/** One named dimension of a vector, with its unit. */
export interface Dim {
  name: string;
  unit: string;
}

export interface TaskSpec {
  readonly name: TaskName;
  /** Environment action size (one env step). */
  readonly actionDim: number;
  readonly proprioDim: number;
  readonly stateDim: number;
  /** Environment steps per world-model action. */
  readonly frameskip: number;
  /** Per-dimension action bounds; actions are clipped into them. */
  readonly actionLow: readonly number[];
  readonly actionHigh: readonly number[];
  /** Seconds one environment step lasts (null for kinematic tasks without time, like wall). */
  readonly stepSeconds: number | null;
  /** What each number of an env action, a proprio vector and a state means. */
  readonly actionNames: readonly Dim[];
  readonly proprioNames: readonly Dim[];
  readonly stateNames: readonly Dim[];
}

export type TaskName = "wall" | "pointmaze" | "pusht" | "reacher";
export const TASK_NAMES: readonly TaskName[] = ["wall", "pointmaze", "pusht", "reacher"];

const unit = (unit: string, ...names: string[]): Dim[] => names.map((name) => ({ name, unit }));
const BOUNDS2 = { actionLow: [-1, -1], actionHigh: [1, 1] } as const;

export const TASK_SPECS: Record<TaskName, TaskSpec> = {
  wall: {
    name: "wall",
    actionDim: 2,
    proprioDim: 2,
    stateDim: 2,
    frameskip: 5,
    ...BOUNDS2,
    stepSeconds: null,
    actionNames: unit("x 2 px per step (the dot moves 2 * action px)", "dx", "dy"),
    proprioNames: unit("px of the 64x64 world, y down", "x", "y"),
    stateNames: unit("px of the 64x64 world, y down", "x", "y"),
  },
  pointmaze: {
    name: "pointmaze",
    actionDim: 2,
    proprioDim: 4,
    stateDim: 4,
    frameskip: 5,
    ...BOUNDS2,
    stepSeconds: 0.05, // dt 0.01 x 5 sub-steps (tasks/pointmaze.ts)
    actionNames: unit("motor control (gear 100)", "fx", "fy"),
    proprioNames: [
      ...unit("maze cells (cell (r, c) centred at x = c, y = r)", "x", "y"),
      ...unit("cells/s", "vx", "vy"),
    ],
    stateNames: [...unit("maze cells (cell (r, c) centred at x = c, y = r)", "x", "y"), ...unit("cells/s", "vx", "vy")],
  },
  pusht: {
    name: "pusht",
    actionDim: 2,
    proprioDim: 4,
    stateDim: 7,
    frameskip: 5,
    ...BOUNDS2,
    stepSeconds: 0.1, // 10 Hz control over 100 Hz physics (tasks/pusht.ts)
    actionNames: unit("PD target offset / 100 px (target = agent + 100 * action)", "dx", "dy"),
    proprioNames: [
      ...unit("px of the 512x512 world, y down", "agent_x", "agent_y"),
      ...unit("px/s", "agent_vx", "agent_vy"),
    ],
    stateNames: [
      ...unit("px of the 512x512 world, y down", "agent_x", "agent_y", "block_x", "block_y"),
      ...unit("rad, clockwise on screen (y down)", "block_angle"),
      ...unit("px/s", "agent_vx", "agent_vy"),
    ],
  },
  reacher: {
    name: "reacher",
    actionDim: 2,
    proprioDim: 5,
    stateDim: 4,
    frameskip: 5,
    ...BOUNDS2,
    stepSeconds: 0.02, // dt 0.01 x 2 sub-steps (tasks/reacher.ts)
    actionNames: unit("motor control (torque = 0.05 * action, N m)", "shoulder", "wrist"),
    proprioNames: [
      ...unit("1", "cos_q1", "sin_q1"),
      ...unit("rad (wrist, limited to +-160 deg)", "q2"),
      ...unit("rad/s", "dq1", "dq2"),
    ],
    stateNames: [...unit("rad", "q1", "q2"), ...unit("rad/s", "dq1", "dq2")],
  },
};

/** The spec of a built-in task, or undefined for any other name (a user's own task, served from its card). */
export function taskSpec(name: string): TaskSpec | undefined {
  return (TASK_NAMES as readonly string[]).includes(name) ? TASK_SPECS[name as TaskName] : undefined;
}
