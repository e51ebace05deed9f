/**
 * A tiny anti-aliased rasteriser for top-down task images.
 *
 * Shapes are given in world coordinates; the canvas maps the world rectangle
 * [x0, x0+width] x [y0, y0+height] onto size x size pixels (y grows downwards,
 * like image rows). Coverage is estimated with SS x SS sub-samples per pixel,
 * so edges are smooth and images change continuously with the state, which
 * matters for learning from them.
 */
import { TaskError } from "./task.ts";
export type Rgb = readonly [number, number, number];
export type Point = readonly [number, number];

const SS = 4;

export class Canvas {
  readonly size: number;
  readonly #buf: Float32Array;
  readonly #scale: number;
  readonly #x0: number;
  readonly #y0: number;

  constructor(size: number, world: { x0: number; y0: number; width: number }) {
    if (!Number.isInteger(size) || size < 8 || size > 1024) {
      throw new TaskError(`image size must be an integer in [8, 1024], got ${size}`);
    }
    this.size = size;
    this.#buf = new Float32Array(size * size * 3);
    this.#scale = size / world.width;
    this.#x0 = world.x0;
    this.#y0 = world.y0;
  }

  /** Fill the whole image with one colour. */
  clear(c: Rgb): this {
    for (let i = 0; i < this.#buf.length; i += 3) {
      this.#buf[i] = c[0];
      this.#buf[i + 1] = c[1];
      this.#buf[i + 2] = c[2];
    }
    return this;
  }

  /** Axis-aligned rectangle [x0,x1] x [y0,y1]. */
  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): this {
    return this.polygon([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], c);
  }

  /** Convex polygon (either winding). */
  polygon(pts: readonly Point[], c: Rgb): this {
    const px = pts.map(([x, y]) => this.#toPixel(x, y));
    // Normalise to counter-clockwise in pixel space so one half-plane test works.
    let area = 0;
    for (let i = 0; i < px.length; i++) {
      const [ax, ay] = px[i];
      const [bx, by] = px[(i + 1) % px.length];
      area += ax * by - bx * ay;
    }
    if (area < 0) px.reverse();
    const xs = px.map((p) => p[0]);
    const ys = px.map((p) => p[1]);
    const inside = (x: number, y: number): boolean => {
      for (let i = 0; i < px.length; i++) {
        const [ax, ay] = px[i];
        const [bx, by] = px[(i + 1) % px.length];
        if ((bx - ax) * (y - ay) - (by - ay) * (x - ax) < 0) return false;
      }
      return true;
    };
    return this.#cover(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), inside, c);
  }

  /** Filled disc. */
  circle(cx: number, cy: number, r: number, c: Rgb): this {
    const [px, py] = this.#toPixel(cx, cy);
    const pr = r * this.#scale;
    const r2 = pr * pr;
    const inside = (x: number, y: number) => (x - px) ** 2 + (y - py) ** 2 <= r2;
    return this.#cover(px - pr, py - pr, px + pr, py + pr, inside, c);
  }

  /** Segment of given width with round caps. */
  line(a: Point, b: Point, width: number, c: Rgb): this {
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const nx = (-dy / len) * width / 2, ny = (dx / len) * width / 2;
    this.polygon([
      [a[0] + nx, a[1] + ny],
      [b[0] + nx, b[1] + ny],
      [b[0] - nx, b[1] - ny],
      [a[0] - nx, a[1] - ny],
    ], c);
    this.circle(a[0], a[1], width / 2, c);
    return this.circle(b[0], b[1], width / 2, c);
  }

  /** Every point where `inside(x, y)` (world coordinates) holds; seamless for unions of shapes. */
  region(inside: (x: number, y: number) => boolean, c: Rgb): this {
    const inv = 1 / this.#scale;
    const test = (px: number, py: number) => inside(this.#x0 + px * inv, this.#y0 + py * inv);
    return this.#cover(0, 0, this.size, this.size, test, c);
  }

  /** Gaussian blob: colour blended in with weight exp(-d^2 / 2 sigma^2). */
  gaussian(cx: number, cy: number, sigma: number, c: Rgb): this {
    const [px, py] = this.#toPixel(cx, cy);
    const s = sigma * this.#scale;
    const reach = Math.ceil(3.5 * s);
    const n = this.size;
    for (let y = Math.max(0, Math.floor(py) - reach); y <= Math.min(n - 1, Math.ceil(py) + reach); y++) {
      for (let x = Math.max(0, Math.floor(px) - reach); x <= Math.min(n - 1, Math.ceil(px) + reach); x++) {
        const d2 = (x + 0.5 - px) ** 2 + (y + 0.5 - py) ** 2;
        this.#blend((y * n + x) * 3, Math.exp(-d2 / (2 * s * s)), c);
      }
    }
    return this;
  }

  /** A copy of the canvas contents, e.g. a static background to reuse across frames. */
  snapshot(): Float32Array {
    return this.#buf.slice();
  }

  /** Restore contents saved by `snapshot()` on a canvas of the same size. */
  restore(saved: Float32Array): this {
    if (saved.length !== this.#buf.length) throw new RangeError("snapshot is for another canvas size");
    this.#buf.set(saved);
    return this;
  }

  /** The image as uint8 RGB, row-major [size, size, 3]. */
  pixels(): Uint8Array {
    const out = new Uint8Array(this.#buf.length);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.max(0, Math.min(255, Math.round(this.#buf[i])));
    }
    return out;
  }

  #toPixel(x: number, y: number): [number, number] {
    return [(x - this.#x0) * this.#scale, (y - this.#y0) * this.#scale];
  }

  #blend(i: number, w: number, c: Rgb): void {
    if (w <= 0) return;
    const b = this.#buf;
    b[i] += (c[0] - b[i]) * w;
    b[i + 1] += (c[1] - b[i + 1]) * w;
    b[i + 2] += (c[2] - b[i + 2]) * w;
  }

  #cover(
    minX: number,
    minY: number,
    maxX: number,
    maxY: number,
    inside: (x: number, y: number) => boolean,
    c: Rgb,
  ): this {
    const n = this.size;
    const x0 = Math.max(0, Math.floor(minX)), x1 = Math.min(n - 1, Math.ceil(maxX));
    const y0 = Math.max(0, Math.floor(minY)), y1 = Math.min(n - 1, Math.ceil(maxY));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let hits = 0;
        for (let sy = 0; sy < SS; sy++) {
          for (let sx = 0; sx < SS; sx++) {
            if (inside(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS)) hits++;
          }
        }
        this.#blend((y * n + x) * 3, hits / (SS * SS), c);
      }
    }
    return this;
  }
}
