/**
 * A minimal simulator task in one file (docs/own-task.md): a dot in an open 64 x 64 room, moved by its
 * actions. `tests/docs_examples_test.ts` generates a dataset from it and runs it through the evaluation
 * protocol with the oracle, so this example keeps working.
 */
import { Canvas } from "../../tasks/raster.ts";
import { smoothRandom } from "../../tasks/policies.ts";
import { checkState, clipAction, type Task } from "../../tasks/task.ts";
import type { TaskSpec } from "../../tasks/specs.ts";

/** What a client and a model must agree on (a built-in task keeps this in tasks/specs.ts). */
const spec = {
  name: "dot" as TaskSpec["name"], // a built-in name is one of TASK_NAMES; yours is added there
  actionDim: 2,
  proprioDim: 2,
  stateDim: 2,
  frameskip: 5,
  actionLow: [-1, -1],
  actionHigh: [1, 1],
  stepSeconds: null,
  image: {
    window: { x0: 0, y0: 0, width: 64 },
    colours: { background: [255, 255, 255], dot: [255, 0, 0] },
    drawing: "the dot as a Gaussian of sigma 1.5 px at (x, y)",
  },
  actionNames: [{ name: "dx", unit: "x 2 px per step" }, { name: "dy", unit: "x 2 px per step" }],
  proprioNames: [{ name: "x", unit: "px" }, { name: "y", unit: "px" }],
  stateNames: [{ name: "x", unit: "px" }, { name: "y", unit: "px" }],
} satisfies TaskSpec;

export const dot: Task = {
  ...spec,
  successRule: "distance(dot, goal) < 4 px",
  behaviourName: "smooth random (AR(1))",
  angleDims: [],
  create(state) {
    let [x, y] = checkState(dot, state);
    return {
      step(action) {
        const a = clipAction(dot, action);
        x = Math.min(60, Math.max(4, x + 2 * a[0]));
        y = Math.min(60, Math.max(4, y + 2 * a[1]));
      },
      state: () => Float64Array.of(x, y),
    };
  },
  sampleState: (rng) => Float64Array.of(rng.uniform(4, 60), rng.uniform(4, 60)),
  behaviour: (rng) => smoothRandom(rng, 2),
  sampleEpisode: (rng) => ({ start: dot.sampleState(rng), goal: dot.sampleState(rng) }),
  proprio: (s) => Float64Array.from(s),
  render(s, size = 64) {
    const c = new Canvas(size, spec.image.window).clear(spec.image.colours.background);
    c.gaussian(s[0], s[1], 1.5, spec.image.colours.dot);
    return c.pixels();
  },
  success: (s, g) => Math.hypot(s[0] - g[0], s[1] - g[1]) < 4,
  distance: (s, g) => Math.hypot(s[0] - g[0], s[1] - g[1]) / 4,
};
