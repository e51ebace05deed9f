// reacher through the HTTP app, planning with alpha = 3 over every predicted step. Measured: 1.00 over
// 50 episodes by replan 20 on seeds 0 and 2, 0.98 on seed 1, since its proprio reads the wrist as its
// angle (models/README.md; 0.85 here before). The study measured its served default, gptq-w4g32-whole,
// at 1.00 vs fp32's 1.00 over 50 x 50.
import { fp32Suite, servedDefaultSuite } from "./_suite.ts";

fp32Suite("reacher", "fast", 0.9);
fp32Suite("reacher", "served", 0.9);
servedDefaultSuite("reacher", 0.85);
