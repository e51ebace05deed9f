/**
 * wall: a dot in a 64x64 room with border walls and a vertical wall
 * (x 29..35) pierced by a door (+-4 px around y 32). After DINO-WM's wall
 * task: next = pos + 2 * action, with collisions clamping the motion (the dot
 * slides along walls). Start and goal lie in opposite rooms; success is a
 * final distance under 4.5 px.
 *
 * State = proprio = (x, y) in pixels of the 64x64 world.
 */
import { TASK_SPECS } from "./specs.ts";
import { Canvas } from "./raster.ts";
import type { Rng } from "../lib/rng.ts";
import { smoothRandom } from "./policies.ts";
import { geodesic, slide } from "./free_space.ts";
import { checkState, clipAction, type Sim, type Task, TaskError } from "./task.ts";

export const WALL = {
  world: 64,
  border: 2,
  wallX0: 29,
  wallX1: 35,
  doorY: 32,
  doorHalf: 4,
  /** The dot's centre keeps this far from any wall face. */
  margin: 1,
  stepScale: 2,
  successPx: 4.5,
} as const;

const { world, border, wallX0, wallX1, doorY, doorHalf, margin } = WALL;

/** True where the dot's centre may not be. */
export function wallSolid(x: number, y: number): boolean {
  const lo = border + margin, hi = world - border - margin;
  if (x < lo || x > hi || y < lo || y > hi) return true;
  return x > wallX0 - margin && x < wallX1 + margin && Math.abs(y - doorY) > doorHalf - margin;
}

const E = 1e-3;
const CORNERS: [number, number][] = [
  [wallX0 - margin - E, doorY - doorHalf + margin + E],
  [wallX0 - margin - E, doorY + doorHalf - margin - E],
  [wallX1 + margin + E, doorY - doorHalf + margin + E],
  [wallX1 + margin + E, doorY + doorHalf - margin - E],
];

const BACKGROUNDS = new Map<number, Float32Array>();

class WallSim implements Sim {
  #x: number;
  #y: number;
  constructor(s: Float64Array) {
    this.#x = s[0];
    this.#y = s[1];
  }
  step(action: ArrayLike<number>): void {
    const a = clipAction(wall, action);
    const r = slide(wallSolid, this.#x, this.#y, WALL.stepScale * a[0], WALL.stepScale * a[1], 8);
    this.#x = r.x;
    this.#y = r.y;
  }
  state(): Float64Array {
    return Float64Array.of(this.#x, this.#y);
  }
}

function sampleSide(rng: Rng, left: boolean): Float64Array {
  const lo = border + margin + 2, hi = world - border - margin - 2;
  const x = left ? rng.uniform(lo, wallX0 - margin - 2) : rng.uniform(wallX1 + margin + 2, hi);
  return Float64Array.of(x, rng.uniform(lo, hi));
}

export const wall: Task = {
  ...TASK_SPECS.wall,
  successRule: `distance(dot, goal) < ${WALL.successPx} px`,
  behaviourName: "smooth random (AR(1))",
  angleDims: [],

  create(state) {
    const s = checkState(wall, state);
    if (wallSolid(s[0], s[1])) throw new TaskError(`wall: state (${s[0]}, ${s[1]}) is inside a wall`);
    return new WallSim(s);
  },
  sampleState(rng) {
    // Either room or the doorway, so datasets cover door crossings.
    if (rng.random() < 0.1) {
      return Float64Array.of(rng.uniform(wallX0 - 2, wallX1 + 2), doorY + rng.uniform(-2.5, 2.5));
    }
    return sampleSide(rng, rng.random() < 0.5);
  },
  behaviour(rng) {
    return smoothRandom(rng, 2, 0.85, 0.9);
  },
  sampleEpisode(rng) {
    const left = rng.random() < 0.5;
    return { start: sampleSide(rng, left), goal: sampleSide(rng, !left) };
  },
  proprio(state) {
    return Float64Array.of(state[0], state[1]);
  },
  render(state, size = 64) {
    const { window, colours } = TASK_SPECS.wall.image;
    const c = new Canvas(size, window);
    let bg = BACKGROUNDS.get(size);
    if (!bg) { // the room is static: rasterise it once per image size
      const black = colours.walls;
      c.clear(colours.background);
      c.rect(0, 0, world, border, black).rect(0, world - border, world, world, black);
      c.rect(0, 0, border, world, black).rect(world - border, 0, world, world, black);
      c.rect(wallX0, 0, wallX1, doorY - doorHalf, black).rect(wallX0, doorY + doorHalf, wallX1, world, black);
      BACKGROUNDS.set(size, bg = c.snapshot());
    }
    c.restore(bg);
    c.gaussian(state[0], state[1], 1.5, colours.dot);
    return c.pixels();
  },
  success(state, goal) {
    return Math.hypot(state[0] - goal[0], state[1] - goal[1]) < WALL.successPx;
  },
  distance(state, goal) {
    return geodesic(wallSolid, CORNERS, [state[0], state[1]], [goal[0], goal[1]], 0.25) / WALL.successPx;
  },
  clearLine(a, b) {
    // The segment is clear exactly when the shortest path is the straight line.
    return Math.abs(wall.distance(a, b) - Math.hypot(b[0] - a[0], b[1] - a[1]) / WALL.successPx) <= 1e-6;
  },
};
