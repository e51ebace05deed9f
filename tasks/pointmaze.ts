/**
 * pointmaze: a point mass in D4RL's U-maze. Constants after D4RL maze2d:
 * physics dt 0.01 with 5 sub-steps per environment step, motor gear 100,
 * joint damping 1, a ball of radius 0.1 (density 1000 -> mass 4.19),
 * action in [-1, 1]^2, velocity clipped to +-5 after each environment step.
 * Contacts are inelastic: the blocked velocity component is zeroed.
 *
 * Coordinates: cell (row r, column c) is centred at (x = c, y = r); '#' cells
 * are solid. State = proprio = (x, y, vx, vy). Success: ||xy - goal|| < 0.5.
 */
import { TASK_SPECS } from "./specs.ts";
import { Canvas } from "./raster.ts";
import type { Rng } from "../lib/rng.ts";
import { smoothRandom } from "./policies.ts";
import { geodesic, slide } from "./free_space.ts";
import { checkState, clipAction, type Sim, type Task, TaskError } from "./task.ts";

export const MAZE = {
  layout: ["#####", "#GOO#", "###O#", "#OOO#", "#####"],
  dt: 0.01,
  substeps: 5,
  gear: 100,
  damping: 1,
  radius: 0.1,
  mass: (4 / 3) * Math.PI * 0.1 ** 3 * 1000,
  maxSpeed: 5,
  successDist: 0.5,
} as const;

const rows = MAZE.layout.length, cols = MAZE.layout[0].length;
const FREE_CELLS: [number, number][] = [];
for (let r = 0; r < rows; r++) {
  for (let c = 0; c < cols; c++) if (MAZE.layout[r][c] !== "#") FREE_CELLS.push([c, r]);
}

function cellSolid(c: number, r: number): boolean {
  return r < 0 || r >= rows || c < 0 || c >= cols || MAZE.layout[r][c] === "#";
}

/** True where the ball's centre may not be (walls inflated by the radius). */
export function mazeSolid(x: number, y: number): boolean {
  const R = MAZE.radius;
  for (const dy of [-R, 0, R]) {
    for (const dx of [-R, 0, R]) {
      if (cellSolid(Math.round(x + dx), Math.round(y + dy))) return true;
    }
  }
  return false;
}

// Inflated convex corners of the walls that shortest paths bend around.
const E = 1e-3;
const CORNERS: [number, number][] = [];
for (let r = 0; r <= rows; r++) {
  for (let c = 0; c <= cols; c++) {
    const gx = c - 0.5, gy = r - 0.5;
    for (const [sx, sy] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
      const p: [number, number] = [gx + sx * (MAZE.radius + E), gy + sy * (MAZE.radius + E)];
      if (!mazeSolid(p[0], p[1])) CORNERS.push(p);
    }
  }
}

const BACKGROUNDS = new Map<number, Float32Array>();

class MazeSim implements Sim {
  #s: Float64Array;
  constructor(s: Float64Array) {
    this.#s = s;
  }
  step(action: ArrayLike<number>): void {
    const a = clipAction(pointmaze, action);
    let [x, y, vx, vy] = this.#s;
    for (let k = 0; k < MAZE.substeps; k++) {
      vx += ((MAZE.gear * a[0] - MAZE.damping * vx) / MAZE.mass) * MAZE.dt;
      vy += ((MAZE.gear * a[1] - MAZE.damping * vy) / MAZE.mass) * MAZE.dt;
      const r = slide(mazeSolid, x, y, vx * MAZE.dt, vy * MAZE.dt, 2);
      x = r.x;
      y = r.y;
      if (r.blockedX) vx = 0;
      if (r.blockedY) vy = 0;
    }
    const m = MAZE.maxSpeed;
    this.#s = Float64Array.of(x, y, Math.max(-m, Math.min(m, vx)), Math.max(-m, Math.min(m, vy)));
  }
  state(): Float64Array {
    return this.#s.slice();
  }
}

function samplePoint(rng: Rng): [number, number] {
  const [c, r] = FREE_CELLS[rng.int(FREE_CELLS.length)];
  const h = 0.5 - MAZE.radius - 0.02;
  return [c + rng.uniform(-h, h), r + rng.uniform(-h, h)];
}

export const pointmaze: Task = {
  ...TASK_SPECS.pointmaze,
  successRule: `||xy - goal_xy|| < ${MAZE.successDist}`,
  behaviourName: "smooth random (AR(1))",
  angleDims: [],

  create(state) {
    const s = checkState(pointmaze, state);
    if (mazeSolid(s[0], s[1])) throw new TaskError(`pointmaze: position (${s[0]}, ${s[1]}) is inside a wall`);
    return new MazeSim(s);
  },
  sampleState(rng) {
    const [x, y] = samplePoint(rng);
    return Float64Array.of(x, y, rng.uniform(-1, 1), rng.uniform(-1, 1));
  },
  behaviour(rng) {
    return smoothRandom(rng, 2, 0.8, 0.9);
  },
  sampleEpisode(rng) {
    for (;;) {
      const [sx, sy] = samplePoint(rng);
      const [gx, gy] = samplePoint(rng);
      const start = Float64Array.of(sx, sy, 0, 0), goal = Float64Array.of(gx, gy, 0, 0);
      if (pointmaze.distance(start, goal) * MAZE.successDist >= 1.5) return { start, goal };
    }
  },
  proprio(state) {
    return Float64Array.from(state as ArrayLike<number>);
  },
  render(state, size = 64) {
    const { window, colours } = TASK_SPECS.pointmaze.image;
    const c = new Canvas(size, window);
    let bg = BACKGROUNDS.get(size);
    if (!bg) { // the maze is static: rasterise it once per image size
      c.clear(colours.background);
      c.region((x, y) => cellSolid(Math.round(x), Math.round(y)), colours.walls);
      BACKGROUNDS.set(size, bg = c.snapshot());
    }
    c.restore(bg);
    // Drawn at 1.5x the physical radius so the ball spans a few pixels at 64x64.
    c.circle(state[0], state[1], MAZE.radius * 1.5, colours.point);
    return c.pixels();
  },
  success(state, goal) {
    return Math.hypot(state[0] - goal[0], state[1] - goal[1]) < MAZE.successDist;
  },
  distance(state, goal) {
    return geodesic(mazeSolid, CORNERS, [state[0], state[1]], [goal[0], goal[1]], 0.02) / MAZE.successDist;
  },
};
