/**
 * reacher: a planar two-link arm (after DeepMind Control's reacher: links of
 * 0.12, an unlimited shoulder, a wrist limited to +-160 degrees, motors of
 * gear 0.05 with controls in [-1, 1]). Rigid-body dynamics of two uniform
 * rods, M(q) q'' + c(q, q') + b q' = tau, integrated semi-implicitly at
 * 0.01 s, 2 sub-steps per environment step.
 *
 * Instead of DMC's target sphere, the goal is a whole arm pose: success when
 * both joint angles are within 0.2 rad (11.5 deg) of the goal pose.
 * State = (q1, q2, dq1, dq2); proprio = (cos q1, sin q1, q2, dq1, dq2): the shoulder turns freely, so it
 * is read on the circle, but the wrist stops at its limits, so it is read as the angle itself. On the
 * circle, a wrist at +160 deg looks 78 deg from a goal at -145 deg, though the arm must swing 305 deg
 * through 0 to get there: a proprio cost would then cut through the joint limit, as a latent cut
 * through wall's wall.
 */
import { TASK_SPECS } from "./specs.ts";
import { Canvas } from "./raster.ts";
import { smoothRandom } from "./policies.ts";
import { checkState, clipAction, type Sim, type Task, TaskError, wrapAngle } from "./task.ts";

export const REACHER = {
  l1: 0.12,
  l2: 0.12,
  m1: 0.05,
  m2: 0.05,
  damping: 0.005,
  gear: 0.05,
  dt: 0.01,
  substeps: 2,
  wristLimit: (160 / 180) * Math.PI,
  maxSpeed: 20,
  tolerance: 0.2,
} as const;

const { l1, l2, m1, m2 } = REACHER;
const lc1 = l1 / 2, lc2 = l2 / 2, I1 = (m1 * l1 * l1) / 12, I2 = (m2 * l2 * l2) / 12;

/** Joint accelerations for torques tau at (q, dq). */
export function reacherAccel(q2: number, dq1: number, dq2: number, t1: number, t2: number): [number, number] {
  const c = Math.cos(q2), s = Math.sin(q2);
  const M11 = m1 * lc1 * lc1 + I1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * c) + I2;
  const M12 = m2 * (lc2 * lc2 + l1 * lc2 * c) + I2;
  const M22 = m2 * lc2 * lc2 + I2;
  const h = -m2 * l1 * lc2 * s;
  const r1 = t1 - h * dq2 * (2 * dq1 + dq2) - REACHER.damping * dq1;
  const r2 = t2 + h * dq1 * dq1 - REACHER.damping * dq2;
  const det = M11 * M22 - M12 * M12;
  return [(M22 * r1 - M12 * r2) / det, (M11 * r2 - M12 * r1) / det];
}

class ReacherSim implements Sim {
  #s: Float64Array;
  constructor(s: Float64Array) {
    this.#s = s;
  }
  step(action: ArrayLike<number>): void {
    const a = clipAction(reacher, action);
    let [q1, q2, d1, d2] = this.#s;
    const { dt, gear, wristLimit: lim, maxSpeed: vmax } = REACHER;
    for (let k = 0; k < REACHER.substeps; k++) {
      const [a1, a2] = reacherAccel(q2, d1, d2, gear * a[0], gear * a[1]);
      d1 = Math.max(-vmax, Math.min(vmax, d1 + a1 * dt));
      d2 = Math.max(-vmax, Math.min(vmax, d2 + a2 * dt));
      q1 = wrapAngle(q1 + d1 * dt);
      q2 += d2 * dt;
      // Joint limit: an inelastic stop.
      if (q2 > lim) [q2, d2] = [lim, Math.min(0, d2)];
      if (q2 < -lim) [q2, d2] = [-lim, Math.max(0, d2)];
    }
    this.#s = Float64Array.of(q1, q2, d1, d2);
  }
  state(): Float64Array {
    return this.#s.slice();
  }
}

/** Elbow and fingertip positions of a pose. */
export function reacherJoints(q1: number, q2: number): { elbow: [number, number]; tip: [number, number] } {
  const elbow: [number, number] = [l1 * Math.cos(q1), l1 * Math.sin(q1)];
  return { elbow, tip: [elbow[0] + l2 * Math.cos(q1 + q2), elbow[1] + l2 * Math.sin(q1 + q2)] };
}

export const reacher: Task = {
  ...TASK_SPECS.reacher,
  successRule: `|q1 - g1| < ${REACHER.tolerance} and |q2 - g2| < ${REACHER.tolerance} rad`,
  behaviourName: "smooth random (AR(1))",
  angleDims: [0],

  create(state) {
    const s = checkState(reacher, state);
    if (Math.abs(s[1]) > REACHER.wristLimit + 1e-9) {
      throw new TaskError(`reacher: wrist angle ${s[1]} is beyond the joint limit +-${REACHER.wristLimit.toFixed(3)}`);
    }
    s[0] = wrapAngle(s[0]);
    return new ReacherSim(s);
  },
  sampleState(rng) {
    const lim = REACHER.wristLimit;
    return Float64Array.of(
      rng.uniform(-Math.PI, Math.PI),
      rng.uniform(-lim, lim),
      rng.uniform(-2, 2),
      rng.uniform(-4, 4),
    );
  },
  behaviour(rng) {
    return smoothRandom(rng, 2, 0.9, 1.0, 0.03);
  },
  sampleEpisode(rng) {
    const lim = REACHER.wristLimit - 0.1;
    for (;;) {
      const start = Float64Array.of(rng.uniform(-Math.PI, Math.PI), rng.uniform(-lim, lim), 0, 0);
      const goal = Float64Array.of(rng.uniform(-Math.PI, Math.PI), rng.uniform(-lim, lim), 0, 0);
      if (!reacher.success(start, goal)) return { start, goal };
    }
  },
  proprio(s) {
    return Float64Array.of(Math.cos(s[0]), Math.sin(s[0]), s[1], s[2], s[3]);
  },
  render(state, size = 64) {
    const { window, colours } = TASK_SPECS.reacher.image;
    const c = new Canvas(size, window);
    c.clear(colours.background);
    c.circle(0, 0, 0.27, colours.arena);
    const { elbow, tip } = reacherJoints(state[0], state[1]);
    c.line([0, 0], elbow, 0.036, colours.upper_arm);
    c.line(elbow, tip, 0.03, colours.forearm);
    c.circle(0, 0, 0.024, colours.shoulder);
    c.circle(tip[0], tip[1], 0.02, colours.fingertip);
    return c.pixels();
  },
  success(state, goal) {
    return Math.abs(wrapAngle(state[0] - goal[0])) < REACHER.tolerance &&
      Math.abs(state[1] - goal[1]) < REACHER.tolerance;
  },
  distance(state, goal) {
    return Math.hypot(wrapAngle(state[0] - goal[0]), state[1] - goal[1]) / REACHER.tolerance;
  },
};
