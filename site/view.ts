/// <reference lib="dom" />
/**
 * The playground's canvas view: a state drawn by the task's own renderer (scaled), the goal over it as a
 * ghost, the plan as the path its actions would take the true simulator along, and a small plot of the
 * sampler's best cost per iteration.
 */
import { toPixels as toCanvas, tracePoints } from "../tasks/image_points.ts";
import type { Task } from "../tasks/task.ts";

/** RGB bytes [size, size, 3] as canvas image data. */
function imageData(ctx: CanvasRenderingContext2D, rgb: Uint8Array, size: number): ImageData {
  const d = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    d.data[4 * i] = rgb[3 * i];
    d.data[4 * i + 1] = rgb[3 * i + 1];
    d.data[4 * i + 2] = rgb[3 * i + 2];
    d.data[4 * i + 3] = 255;
  }
  return d;
}

export interface Scene {
  task: Task;
  state: ArrayLike<number>;
  goal: ArrayLike<number>;
  /** States along the latest plan, from where it was made (the ghost path). */
  path: ArrayLike<number>[];
  /** States visited so far. */
  trail: ArrayLike<number>[];
}

/** Draw a scene on a square canvas. */
export function drawScene(canvas: HTMLCanvasElement, scene: Scene): void {
  const size = canvas.width, ctx = canvas.getContext("2d")!;
  const { task } = scene;
  ctx.putImageData(imageData(ctx, task.render(scene.state, size), size), 0, 0);
  // The goal as a ghost: its own rendering at a third over the state's.
  const ghost = document.createElement("canvas");
  ghost.width = ghost.height = size;
  ghost.getContext("2d")!.putImageData(imageData(ctx, task.render(scene.goal, size), size), 0, 0);
  ctx.globalAlpha = 0.33;
  ctx.drawImage(ghost, 0, 0);
  ctx.globalAlpha = 1;
  const line = (states: ArrayLike<number>[], colour: string, dash: number[]) => {
    const n = tracePoints(task, states[0] ?? scene.state).length;
    for (let k = 0; k < n; k++) {
      ctx.beginPath();
      ctx.setLineDash(dash);
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      states.forEach((s, i) => {
        const [x, y] = toCanvas(task, size, tracePoints(task, s)[k]);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
  };
  if (scene.trail.length > 1) line(scene.trail, "rgba(40, 40, 40, 0.55)", []);
  if (scene.path.length > 1) line(scene.path, "rgba(230, 120, 0, 0.95)", [5, 4]);
  // The goal's marker: a ring where its agent should end.
  for (const p of tracePoints(task, scene.goal)) {
    const [x, y] = toCanvas(task, size, p);
    ctx.beginPath();
    ctx.strokeStyle = "rgba(0, 150, 60, 0.9)";
    ctx.lineWidth = 2;
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

/** A small line plot of `values` (the sampler's best cost after each iteration), newest replan on top. */
export function drawCosts(canvas: HTMLCanvasElement, values: number[], history: number[]): void {
  const ctx = canvas.getContext("2d")!, w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const plot = (ys: number[], colour: string, x0: number, x1: number) => {
    if (ys.length < 1) return;
    const lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
    ctx.beginPath();
    ctx.strokeStyle = colour;
    ys.forEach((v, i) => {
      const x = x0 + (ys.length === 1 ? 0 : i / (ys.length - 1)) * (x1 - x0), y = h - 6 - (v - lo) / span * (h - 12);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  };
  ctx.fillStyle = "#555";
  ctx.font = "10px sans-serif";
  ctx.fillText("cost per iteration", 4, 10);
  plot(values, "#d35400", 4, w / 2 - 8);
  ctx.fillText("cost per replan", w / 2 + 4, 10);
  plot(history, "#2c6db2", w / 2 + 4, w - 4);
}
