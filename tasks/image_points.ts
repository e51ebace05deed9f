/**
 * Where a state's agent is, in world coordinates and in image pixels (the task's image window): what the
 * playground draws paths and the goal's ring through, and where a filmstrip rings the goal.
 */
import { reacherJoints } from "./reacher.ts";
import type { Task } from "./task.ts";

/** The points a task's path is drawn through: where its agent (and, for pusht, its block) is. */
export function tracePoints(task: Task, s: ArrayLike<number>): [number, number][] {
  if (task.name === "reacher") return [reacherJoints(s[0], s[1]).tip];
  if (task.name === "pusht") return [[s[0], s[1]], [s[2], s[3]]];
  return [[s[0], s[1]]];
}

/** World coordinates to pixels of a `size`-pixel image. */
export function toPixels(task: Task, size: number, [x, y]: [number, number]): [number, number] {
  const w = task.image.window;
  return [(x - w.x0) / w.width * size, (y - w.y0) / w.width * size];
}

/** Pixels of a `size`-pixel image to world coordinates. */
export function toWorld(task: Task, size: number, [px, py]: [number, number]): [number, number] {
  const w = task.image.window;
  return [w.x0 + px / size * w.width, w.y0 + py / size * w.width];
}
