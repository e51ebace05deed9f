// Each simulator's step against numbers worked out by hand (or in closed form) from its stated dynamics,
// independently of the simulator's own loop: a regression in the physics changes these.
import assert from "node:assert/strict";
import { getTask } from "../../tasks/registry.ts";

const close = (got: ArrayLike<number>, want: number[], tol: number, what: string) => {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
};

Deno.test("wall: next = pos + 2 * action; at the wall the dot stops 1 px from its face and slides along it", () => {
  const wall = getTask("wall");
  const sim = wall.create([10, 10]);
  sim.step([0.5, -0.25]);
  close(sim.state(), [11, 9.5], 1e-12, "free space");
  // The wall's face is x = 29 and the dot's centre keeps 1 px from it: from x 27 a step of +2 ends at 28.
  const stop = wall.create([27, 10]);
  stop.step([1, 0]);
  close(stop.state(), [28, 10], 1e-12, "stopped");
  // Diagonally into the wall: x stops at 28, y keeps its full 2 px (sliding).
  const slide = wall.create([27, 10]);
  slide.step([1, 1]);
  close(slide.state(), [28, 12], 1e-12, "slid");
});

Deno.test("pointmaze: from rest, a constant push follows the closed form of m dv/dt = gear a - damping v", () => {
  // dt 0.01, 5 sub-steps, gear 100, damping 1, mass 4/3 pi 0.1^3 1000: semi-implicit Euler gives
  // v_k = (gear a / damping)(1 - r^k), r = 1 - damping dt / m, and x = x0 + dt sum_k v_k.
  const maze = getTask("pointmaze");
  const mass = (4 / 3) * Math.PI * 0.1 ** 3 * 1000, r = 1 - 0.01 / mass;
  const v = [1, 2, 3, 4, 5].map((k) => 100 * (1 - r ** k));
  const sim = maze.create([1, 1, 0, 0]);
  sim.step([1, 0]);
  close(sim.state(), [1 + 0.01 * v.reduce((a, b) => a + b), 1, v[4], 0], 1e-12, "state");
  // Worked by hand: 1.0357 after one env step, at 1.188 cells/s.
  close(sim.state(), [1.0356960797610044, 1, 1.18797634649207, 0], 1e-12, "numbers");
});

Deno.test("reacher: one env step from rest under a shoulder torque matches the two-link equations", () => {
  // M(q) q'' + c(q, q') + b q' = tau for two uniform rods (m 0.05, l 0.12, I = m l^2 / 12), b 0.005,
  // tau = gear (0.05) x action; 2 sub-steps of 0.01 s, semi-implicit Euler. At q = 0, M = [[1.92e-3, 6e-4],
  // [6e-4, 2.4e-4]], so the first sub-step's accelerations are M^-1 (0.05, 0) = (119.05, -297.62) rad/s^2.
  const reacher = getTask("reacher");
  const sim = reacher.create([0, 0, 0, 0]);
  sim.step([1, 0]);
  close(
    sim.state(),
    [0.025426301962613314, -0.05735795808750355, 1.3521540057851404, -2.7596053325598766],
    1e-12,
    "state",
  );
});

Deno.test("pusht: with the block out of reach, the agent follows the PD law (kp 100, kv 20) to agent + 100 * action", () => {
  // Ten 100 Hz physics steps per 10 Hz control step: v += (kp (target - p) - kv v) dt, then p += v dt
  // (Box2D's semi-implicit Euler), target = 100 + 100 * 1 px. By hand: 129.567 px at 374.15 px/s.
  const pusht = getTask("pusht");
  const sim = pusht.create([100, 100, 350, 300, 0, 0, 0]);
  sim.step([1, 0]);
  const s = sim.state();
  close([s[0], s[1], s[5], s[6]], [129.56717859134417, 100, 374.14765583207867, 0], 1e-6, "agent");
  close([s[2], s[3], s[4]], [350, 300, 0], 1e-9, "the block does not move");
});
