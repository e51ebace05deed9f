// pusht through the HTTP app: the 96-px keypoint model (issue 39; models/README.md, "pusht at 96 px"), planned
// with its card's `wide` preset (iCEM 150 x 6, 5 model actions executed per replan) started from its proposal
// policy (policy.onnx, a goal-conditioned policy trained on the demonstrations), its cost's global term measured
// through the metric its latents' one-step changes give (objective.global_metric). Measured with `deno task eval
// --backend node`: 0.90 on these 20 episodes (seed 0), 0.96 / 0.84 / 0.82 over all 50 of seeds 0 / 1 / 2
// (study/results/success_table/pusht96_metric_50x50_seed*.jsonl), where the plain keypoint distance reached 0.90 here
// and 0.78 / 0.84 / 0.66 over 50, the model before the policy 0.80 here, and the 64-px model before that 0.05; the
// oracle reaches >= 0.95. Not yet DINO-WM's 0.90 on two seeds, so not yet a working default. The bar sits 3 episodes
// below the 0.90 so that another backend's rounding (web here) does not flake it. pusht's default is fp32
// (models/defaults.json), so no served-default suite runs.
import { fp32Suite, servedDefaultSuite } from "./_suite.ts";

fp32Suite("pusht", "served", 0.75);
servedDefaultSuite("pusht", 0.35);
