/**
 * A filmstrip PNG of an episode's states, so a person can see it: the start frame, the frame after
 * each executed model action (subsampled to at most `maxFrames`), each with the goal's place ringed,
 * then the goal frame, framed green on success and red otherwise. Which planner drove the episode is the caller's business
 * (`deno task render`, agent/filmstrip.ts).
 */
import { encodePng } from "../lib/png.ts";
import { toPixels, tracePoints } from "./image_points.ts";
import type { Task } from "./task.ts";

/** The goal's ring: green, its radius a fifteenth of the frame (at least 3 pixels). */
const RING = [0, 170, 70] as const;

/** Ring the pixels around (cx, cy) at radius r, in place. */
export function ring(img: Uint8Array, size: number, [cx, cy]: [number, number], r: number): void {
  for (let y = Math.floor(cy - r - 1); y <= cy + r + 1; y++) {
    for (let x = Math.floor(cx - r - 1); x <= cx + r + 1; x++) {
      if (x < 0 || y < 0 || x >= size || y >= size) continue;
      if (Math.abs(Math.hypot(x + 0.5 - cx, y + 0.5 - cy) - r) <= 0.6) img.set(RING, (y * size + x) * 3);
    }
  }
}

/** Lay frames side by side with `gap` white columns; returns RGB and width. */
export function tileFrames(frames: Uint8Array[], size: number, gap = 4): { rgb: Uint8Array; width: number } {
  const width = frames.length * size + (frames.length - 1) * gap;
  const rgb = new Uint8Array(width * size * 3).fill(255);
  frames.forEach((f, i) => {
    const x0 = i * (size + gap);
    for (let y = 0; y < size; y++) rgb.set(f.subarray(y * size * 3, (y + 1) * size * 3), (y * width + x0) * 3);
  });
  return { rgb, width };
}

function frame(img: Uint8Array, size: number, color: readonly number[], t: number): Uint8Array {
  const out = img.slice();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (x < t || y < t || x >= size - t || y >= size - t) out.set(color, (y * size + x) * 3);
    }
  }
  return out;
}

/** The filmstrip of `states` (start first) ending at `goal`. */
export function filmstripPng(
  task: Task,
  states: Float64Array[],
  goal: Float64Array,
  success: boolean,
  size = 96,
  maxFrames = 12,
): Uint8Array {
  const pick = states.length <= maxFrames
    ? states
    : Array.from({ length: maxFrames }, (_, i) => states[Math.round((i * (states.length - 1)) / (maxFrames - 1))]);
  const r = Math.max(3, size / 15);
  const frames = pick.map((s) => {
    const img = task.render(s, size);
    for (const p of tracePoints(task, goal)) ring(img, size, toPixels(task, size, p), r);
    return img;
  });
  frames.push(frame(task.render(goal, size), size, success ? [40, 190, 60] : [220, 40, 40], 3));
  const { rgb, width } = tileFrames(frames, size);
  return encodePng(rgb, width, size);
}
