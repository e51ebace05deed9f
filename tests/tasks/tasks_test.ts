import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { getTask } from "../../tasks/registry.ts";
import { Rng } from "../../lib/rng.ts";
import { TASK_NAMES, TaskError } from "../../tasks/task.ts";
import { WALL, wallSolid } from "../../tasks/wall.ts";
import { mazeSolid } from "../../tasks/pointmaze.ts";
import { PUSHT, tPolygons } from "../../tasks/pusht.ts";
import { REACHER, reacherAccel } from "../../tasks/reacher.ts";
import { evaluationEpisode } from "../../tasks/evaluation.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Run the behaviour policy from a sampled state; returns every state. */
function trajectory(name: string, seed: number, steps: number): Float64Array[] {
  const task = getTask(name), rng = new Rng(seed);
  const sim = task.create(task.sampleState(rng));
  const policy = task.behaviour(rng);
  const out = [sim.state()];
  for (let t = 0; t < steps; t++) {
    sim.step(policy(sim.state()));
    out.push(sim.state());
  }
  return out;
}

for (const name of TASK_NAMES) {
  Deno.test(`${name}: the same seed gives identical states and images`, () => {
    const a = trajectory(name, 11, 60), b = trajectory(name, 11, 60), c = trajectory(name, 12, 60);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const task = getTask(name);
    assert.equal(sha(task.render(a[60])), sha(task.render(b[60])));
  });

  Deno.test(`${name}: evaluation episodes are fixed by the seed and start away from the goal`, () => {
    const task = getTask(name);
    for (let i = 0; i < 5; i++) {
      const e1 = evaluationEpisode(task, 3, i), e2 = evaluationEpisode(task, 3, i);
      assert.deepEqual(e1, e2);
      assert.ok(!task.success(e1.start, e1.goal), `episode ${i} starts solved`);
      assert.ok(task.distance(e1.start, e1.goal) > 1);
    }
  });

  Deno.test(`${name}: images differ where states differ and have the right shape`, () => {
    const task = getTask(name), rng = new Rng(4);
    const s1 = task.sampleState(rng), s2 = task.sampleState(rng);
    const i1 = task.render(s1), i2 = task.render(s2);
    assert.equal(i1.length, 64 * 64 * 3);
    assert.equal(task.render(s1, 32).length, 32 * 32 * 3);
    let diff = 0;
    for (let i = 0; i < i1.length; i++) diff += Math.abs(i1[i] - i2[i]);
    assert.ok(diff > 1000, `images of different states differ by only ${diff}`);
  });

  Deno.test(`${name}: NaN actions throw a TaskError; out-of-range actions are clipped`, () => {
    const task = getTask(name), rng = new Rng(1);
    const s = task.sampleState(rng);
    assert.throws(() => task.create(s).step([NaN, 0]), TaskError);
    assert.throws(() => task.create(s).step([Infinity, 0]), /must be finite/);
    assert.throws(() => task.create(s).step([0]), /action must have 2 numbers/);
    const a = task.create(s), b = task.create(s);
    a.step([5, -7]);
    b.step([1, -1]);
    assert.deepEqual(a.state(), b.state());
  });

  Deno.test(`${name}: malformed states are refused`, () => {
    const task = getTask(name);
    assert.throws(() => task.create([1]), /state must have/);
    assert.throws(() => task.create(new Array(task.stateDim).fill(NaN)), TaskError);
  });
}

Deno.test("getTask() names the known tasks when the name is unknown", () => {
  assert.throws(() => getTask("walll"), /unknown task "walll"; known tasks: wall, pointmaze, pusht, reacher/);
});

Deno.test("renderer output is pinned for fixed states", () => {
  // Any change to geometry, colours or anti-aliasing shows up here; update deliberately.
  const pinned: Record<string, [number[], string]> = {
    wall: [[12.5, 40.25], "d526e0d988937c670b6658528c6d87c364b4a9f4b96ae783f739b37a119b5b99"],
    pointmaze: [[1.2, 3.1, 0.5, -0.5], "5380c0198e04ec2c546884295ace5e79e0ddd3b492c36d2c71a64d6c7c327e0a"],
    pusht: [[100, 120, 300, 280, 0.7, 0, 0], "ec1c1ae629dbda28d6057350e0f5d7d15a43670edd07ffb7b9de95d7620567f1"],
    reacher: [[0.8, -1.3, 0, 0], "f7de979ff7ee07b87e2fc41fa2936e3708833d51f2be68abee3660f0764692d2"],
  };
  for (const [name, [state, hash]] of Object.entries(pinned)) {
    assert.equal(sha(getTask(name).render(Float64Array.from(state))), hash, name);
  }
});

Deno.test("wall: the dot is red on white, walls black, door open", () => {
  const img = getTask("wall").render(Float64Array.of(15, 15));
  const px = (x: number, y: number) => [...img.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
  assert.deepEqual(px(32, 10), [0, 0, 0]); // wall
  assert.deepEqual(px(32, 32), [255, 255, 255]); // door
  assert.deepEqual(px(0, 0), [0, 0, 0]); // border
  const dot = px(14, 14);
  assert.ok(dot[0] > 200 && dot[1] < 150, `dot pixel ${dot}`);
});

Deno.test("wall: the dot never enters walls and crosses only through the door", () => {
  for (let seed = 0; seed < 30; seed++) {
    const traj = trajectory("wall", seed, 300);
    for (let t = 0; t < traj.length; t++) {
      const [x, y] = traj[t];
      assert.ok(!wallSolid(x, y), `seed ${seed} t ${t}: (${x}, ${y}) inside a wall`);
      if (x > WALL.wallX0 - WALL.margin && x < WALL.wallX1 + WALL.margin) {
        assert.ok(Math.abs(y - WALL.doorY) <= WALL.doorHalf, `seed ${seed} t ${t}: in the wall band outside the door`);
      }
    }
  }
  // Pushing straight at the wall away from the door stops at its face.
  const sim = getTask("wall").create([20, 10]);
  for (let i = 0; i < 20; i++) sim.step([1, 0]);
  assert.ok(Math.abs(sim.state()[0] - (WALL.wallX0 - WALL.margin)) < 0.3, `stopped at ${sim.state()[0]}`);
});

Deno.test("wall: next = pos + 2 * action in free space", () => {
  const sim = getTask("wall").create([15, 20]);
  sim.step([0.5, -1]);
  const [x, y] = sim.state();
  assert.ok(Math.abs(x - 16) < 1e-9 && Math.abs(y - 18) < 1e-9, `${x}, ${y}`);
});

Deno.test("pointmaze: the point never enters maze walls and its speed stays clipped", () => {
  for (let seed = 0; seed < 30; seed++) {
    for (const [x, y, vx, vy] of trajectory("pointmaze", seed, 300)) {
      assert.ok(!mazeSolid(x, y), `seed ${seed}: (${x}, ${y}) inside a wall`);
      assert.ok(Math.abs(vx) <= 5 && Math.abs(vy) <= 5);
    }
  }
});

Deno.test("pointmaze: geodesic distance goes round the inner wall", () => {
  const t = getTask("pointmaze");
  // (1,1) and (1,3) are 2 apart in a straight line but the path runs via column 3.
  const d = t.distance([1, 1, 0, 0], [1, 3, 0, 0]) * 0.5;
  assert.ok(d > 4 && d < 6, `geodesic ${d}`);
});

Deno.test("pusht: the T block never leaves the arena and the agent stays inside", () => {
  for (let seed = 0; seed < 12; seed++) {
    for (const s of trajectory("pusht", seed, 200)) {
      for (const poly of tPolygons(s[2], s[3], s[4])) {
        for (const [x, y] of poly) {
          assert.ok(
            x > 0 && x < PUSHT.world && y > 0 && y < PUSHT.world,
            `seed ${seed}: T corner (${x}, ${y}) outside`,
          );
        }
      }
      assert.ok(s[0] > 0 && s[0] < PUSHT.world && s[1] > 0 && s[1] < PUSHT.world);
    }
  }
});

Deno.test("pusht: the scripted pusher moves the block; the block rests when untouched", () => {
  let moved = 0;
  for (let seed = 0; seed < 10; seed++) {
    const tr = trajectory("pusht", seed, 100);
    const a = tr[0], b = tr[100];
    if (Math.hypot(b[2] - a[2], b[3] - a[3]) > 10 || Math.abs(b[4] - a[4]) > 0.1) moved++;
  }
  assert.ok(moved >= 8, `block moved in only ${moved}/10 episodes`);
  const sim = getTask("pusht").create([60, 60, 300, 300, 0.3, 0, 0]);
  for (let i = 0; i < 10; i++) sim.step([0, 0]);
  const s = sim.state();
  assert.deepEqual([s[2], s[3], s[4]].map((v) => +v.toFixed(6)), [300, 300, 0.3]);
});

Deno.test("reacher: the wrist respects its limit and the shoulder angle wraps", () => {
  for (let seed = 0; seed < 20; seed++) {
    for (const [q1, q2, d1, d2] of trajectory("reacher", seed, 300)) {
      assert.ok(Math.abs(q2) <= REACHER.wristLimit + 1e-12, `wrist ${q2}`);
      assert.ok(q1 > -Math.PI - 1e-12 && q1 <= Math.PI + 1e-12, `shoulder ${q1}`);
      assert.ok(Math.abs(d1) <= REACHER.maxSpeed && Math.abs(d2) <= REACHER.maxSpeed);
    }
  }
  assert.throws(() => getTask("reacher").create([0, 3, 0, 0]), /beyond the joint limit/);
});

Deno.test("reacher: the mass matrix is symmetric positive definite (torque does work)", () => {
  // Torque on one joint from rest accelerates that joint in the torque's direction.
  for (const q2 of [-2.5, -1, 0, 1, 2.5]) {
    const [a1] = reacherAccel(q2, 0, 0, 0.05, 0);
    const [, b2] = reacherAccel(q2, 0, 0, 0, 0.05);
    assert.ok(a1 > 0 && b2 > 0, `q2 ${q2}: ${a1}, ${b2}`);
  }
});

Deno.test("pusht: distanceParts are the success rule's terms in tolerances, and distance combines them", () => {
  const t = getTask("pusht");
  const goal = [100, 100, 200, 200, 0.1, 0, 0],
    state = [110, 100, 200, 240, 0.1 + Math.PI / 9 * 0.5 + 2 * Math.PI, 0, 0];
  const p = t.distanceParts!(state, goal);
  assert.ok(Math.abs(p.agent - 0.5) < 1e-12 && Math.abs(p.block - 2) < 1e-12, JSON.stringify(p));
  assert.ok(Math.abs(p.angle - 0.5) < 1e-9, `the angle wraps: ${p.angle}`);
  assert.ok(Math.abs(t.distance(state, goal) - Math.hypot(0.5, 2, 0.5)) < 1e-9);
  assert.equal(getTask("wall").distanceParts, undefined);
});
