// wall through the HTTP app. Measured (20 episodes, budget 20, seed 0): with the distance head
// (models/README.md) 1.00 with CEM and with MPPI (before the head, through this suite: 0.80). The
// study measured its served default, gptq-w4g16-whole-encg128, at 0.98 vs fp32's 0.98 over 50 x 50
// (study/results/study/paper/REPORT.md); through this suite 0.85 vs 1.00 by replan 20 and 1.00 vs 1.00 by 30.
import { fp32Suite, servedDefaultSuite } from "./_suite.ts";

fp32Suite("wall", "fast", 0.85);
fp32Suite("wall", "served", 0.85);
fp32Suite("wall", "mppi", 0.85);
servedDefaultSuite("wall", 0.85);
