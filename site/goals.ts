/**
 * Goals set by hand on the canvas, as states of the task: wall and pointmaze by the position clicked; reacher
 * by the fingertip target clicked, solved to an arm pose (two-link inverse kinematics, the elbow on the side
 * whose wrist angle is within its limit); pusht by a drag: the T's goal at the press, turned towards the
 * release, the agent's goal just beyond its stem. A goal the simulator refuses (inside a wall) is null.
 */
import { REACHER } from "../tasks/reacher.ts";
import { type Task, wrapAngle } from "../tasks/task.ts";

/** An arm pose (q1, q2) whose fingertip is at (x, y), or the nearest reachable one; null if none in the limit. */
export function reacherPose(x: number, y: number): [number, number] | null {
  const { l1, l2, wristLimit } = REACHER;
  const r = Math.min(Math.hypot(x, y), l1 + l2 - 1e-6);
  const c2 = (r * r - l1 * l1 - l2 * l2) / (2 * l1 * l2);
  for (const sign of [1, -1]) {
    const q2 = sign * Math.acos(Math.max(-1, Math.min(1, c2)));
    if (Math.abs(q2) > wristLimit) continue;
    const q1 = Math.atan2(y, x) - Math.atan2(l2 * Math.sin(q2), l1 + l2 * Math.cos(q2));
    return [wrapAngle(q1), q2];
  }
  return null;
}

/** The goal state a click (or a drag from `at` to `to`) in world coordinates asks for, or null. */
export function goalFrom(task: Task, at: [number, number], to: [number, number] = at): Float64Array | null {
  let s: number[] | null = null;
  if (task.name === "wall") s = [at[0], at[1]];
  else if (task.name === "pointmaze") s = [at[0], at[1], 0, 0];
  else if (task.name === "reacher") {
    const q = reacherPose(at[0], at[1]);
    s = q && [q[0], q[1], 0, 0];
  } else if (task.name === "pusht") {
    // The T's angle points its stem along the drag (the stem is +y in the block's frame).
    const drag = Math.hypot(to[0] - at[0], to[1] - at[1]);
    const angle = drag < 5 ? Math.PI / 4 : wrapAngle(Math.atan2(to[1] - at[1], to[0] - at[0]) - Math.PI / 2);
    const ax = at[0] - Math.sin(angle) * 150, ay = at[1] + Math.cos(angle) * 150;
    s = [Math.min(480, Math.max(30, ax)), Math.min(480, Math.max(30, ay)), at[0], at[1], angle, 0, 0];
  }
  if (!s) return null;
  try {
    return task.create(s).state();
  } catch {
    return null;
  }
}
