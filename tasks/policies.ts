/** Task-independent behaviour policies for dataset generation. */
import type { Rng } from "../lib/rng.ts";
import type { Policy } from "./task.ts";

/**
 * Temporally correlated random actions in [-1, 1]^dim: an AR(1) process
 * a_t = rho a_{t-1} + sqrt(1 - rho^2) sigma eps, clipped, with a fresh
 * uniform draw with probability `resample` per step. Persistence makes the
 * agent travel (and cross doors) instead of jittering in place.
 */
export function smoothRandom(rng: Rng, dim: number, rho = 0.8, sigma = 0.8, resample = 0.05): Policy {
  let a = Array.from({ length: dim }, () => rng.uniform(-1, 1));
  const k = Math.sqrt(1 - rho * rho) * sigma;
  return () => {
    if (rng.random() < resample) {
      a = a.map(() => rng.uniform(-1, 1));
    } else {
      a = a.map((v) => Math.max(-1, Math.min(1, rho * v + k * rng.normal())));
    }
    return Float64Array.from(a);
  };
}
