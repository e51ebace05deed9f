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

/** An RGB colour, 0-255 per channel. */
export type Colour = readonly [number, number, number];

/**
 * How the simulator draws a state: the world rectangle the image shows (scaled to any size; x to the
 * right, y down the image rows, in the state's units), the colours, and what is drawn.
 */
export interface ImageSpec {
  window: { x0: number; y0: number; width: number };
  colours: Readonly<Record<string, Colour>>;
  /** What the image shows, in a sentence: shapes, sizes, anti-aliasing. */
  drawing: string;
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
  /** The rendered image: window, colours, what is drawn. */
  readonly image: ImageSpec;
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
    image: {
      window: { x0: 0, y0: 0, width: 64 },
      colours: { background: [255, 255, 255], walls: [0, 0, 0], dot: [255, 0, 0] },
      drawing: "border walls 2 px thick, the wall at x 29..35 except the door at y 28..36, the dot as a Gaussian " +
        "of sigma 1.5 px at (x, y); anti-aliased with 4 x 4 sub-samples per pixel",
    },
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
    image: {
      window: { x0: -0.5, y0: -0.5, width: 5 },
      colours: { background: [222, 226, 232], walls: [58, 66, 92], point: [30, 170, 60] },
      drawing: "the 5 x 5 cell U-maze (rows #####, #GOO#, ###O#, #OOO#, #####; '#' solid), cell (r, c) centred " +
        "at (c, r); the point as a disc of radius 0.15 (1.5x its physical radius); anti-aliased",
    },
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
    image: {
      window: { x0: 0, y0: 0, width: 512 },
      colours: {
        background: [255, 255, 255],
        walls: [60, 60, 60],
        goal: [144, 238, 144],
        block: [119, 136, 153],
        agent: [65, 105, 225],
      },
      drawing: "walls 5 px thick; the goal T fixed at (256, 256, pi/4) in every frame (the original's anchor, not " +
        "the episode's goal); the block's T (a 120 x 30 bar over a 30 x 90 stem, rotated by its angle); the " +
        "agent as a disc of radius 15; anti-aliased",
    },
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
    image: {
      window: { x0: -0.3, y0: -0.3, width: 0.6 },
      colours: {
        background: [38, 58, 92],
        arena: [52, 78, 118],
        upper_arm: [236, 190, 128],
        forearm: [214, 150, 96],
        shoulder: [250, 230, 200],
        fingertip: [224, 60, 60],
      },
      drawing: "a disc of radius 0.27 m around the shoulder at (0, 0); the links (0.12 m each) as lines 0.036 " +
        "and 0.03 m wide at angles q1 and q1 + q2 (counter-clockwise from +x, y down: clockwise on screen); " +
        "the shoulder and the fingertip as discs of 0.024 and 0.02 m; anti-aliased",
    },
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
