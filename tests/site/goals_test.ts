import assert from "node:assert/strict";
import { REACHER } from "../../tasks/reacher.ts";
import { getTask } from "../../tasks/registry.ts";
import { goalFrom, reacherPose } from "../../site/goals.ts";
import { toWorld } from "../../tasks/image_points.ts";

const fingertip = ([q1, q2]: [number, number]) => [
  REACHER.l1 * Math.cos(q1) + REACHER.l2 * Math.cos(q1 + q2),
  REACHER.l1 * Math.sin(q1) + REACHER.l2 * Math.sin(q1 + q2),
];

Deno.test("reacherPose puts the fingertip on a reachable target, within the wrist's limit", () => {
  const reach = REACHER.l1 + REACHER.l2;
  for (const [x, y] of [[0.5, 0.3], [-0.2, 0.6], [0.1, -0.7], [0.9 * reach, 0]]) {
    const q = reacherPose(x * reach, y * reach)!;
    assert.ok(q, `a pose for (${x}, ${y})`);
    assert.ok(Math.abs(q[1]) <= REACHER.wristLimit);
    const [fx, fy] = fingertip(q);
    assert.ok(Math.hypot(fx - x * reach, fy - y * reach) < 1e-9, `fingertip at the target (${x}, ${y})`);
  }
  // Out of reach: the nearest pose along the same direction (the arm stretched out).
  const [fx, fy] = fingertip(reacherPose(3 * reach, 0)!);
  assert.ok(Math.abs(fx - reach) < 1e-5 && Math.abs(fy) < 1e-5);
});

Deno.test("goalFrom: a click is a valid goal state of the task; one the simulator refuses is null", () => {
  const wall = getTask("wall");
  const free = goalFrom(wall, toWorld(wall, 256, [64, 128]))!;
  assert.ok(free && free.length === 2);
  assert.deepEqual(Array.from(goalFrom(wall, toWorld(wall, 256, [128, 128]))!), [32, 32], "the door's middle");
  assert.equal(goalFrom(wall, toWorld(wall, 256, [128, 20])), null, "inside the dividing wall");
  assert.equal(goalFrom(wall, toWorld(wall, 256, [2, 2])), null, "inside the border");
  const maze = getTask("pointmaze");
  assert.equal(goalFrom(maze, toWorld(maze, 256, [128, 128])), null, "inside a maze wall");
  assert.equal(goalFrom(maze, toWorld(maze, 256, [60, 60]))?.length, 4);
  const reacher = getTask("reacher");
  assert.equal(goalFrom(reacher, [0.05, 0.05])?.length, 4);
  const pusht = getTask("pusht");
  const g = goalFrom(pusht, [256, 256], [256, 356])!;
  // Dragging straight down (+y) leaves the T unturned: its stem already points along +y.
  assert.ok(Math.abs(g[4]) < 1e-9, `angle ${g[4]}`);
  const turned = goalFrom(pusht, [256, 256], [356, 256])!;
  assert.ok(Math.abs(Math.abs(turned[4]) - Math.PI / 2) < 1e-9, `a quarter turn: ${turned[4]}`);
});
