// pointmaze through the HTTP app, planning with the proprio term (alpha = 1). Measured (20 episodes,
// budget 20, seed 0): 0.95 with the distance head (`deno task eval`; 0.75 through this suite before it).
// The study measured its served default, gptq-w4g16-whole-encg128, at 0.96 vs fp32's 1.00 over 50 x 50.
import { fp32Suite, servedDefaultSuite } from "./_suite.ts";

fp32Suite("pointmaze", "fast", 0.8);
fp32Suite("pointmaze", "served", 0.8);
servedDefaultSuite("pointmaze", 0.8);
