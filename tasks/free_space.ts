/**
 * Motion of a point through a 2-D region with solid obstacles, and shortest
 * (geodesic) distances inside it. Wall and pointmaze both use it: their
 * obstacles are axis-aligned, so a visibility graph over the obstacles'
 * (inflated) corners gives exact shortest paths.
 */
export type SolidFn = (x: number, y: number) => boolean;

/**
 * Move from (x, y) by (dx, dy) in `substeps` pieces; a piece that would end
 * inside a solid tries its x part alone, then its y part alone (sliding along
 * walls), else is dropped. Returns the new position and which axes were blocked.
 */
export function slide(
  solid: SolidFn,
  x: number,
  y: number,
  dx: number,
  dy: number,
  substeps: number,
): { x: number; y: number; blockedX: boolean; blockedY: boolean } {
  let blockedX = false, blockedY = false;
  const sx = dx / substeps, sy = dy / substeps;
  for (let i = 0; i < substeps; i++) {
    if (!solid(x + sx, y + sy)) {
      x += sx;
      y += sy;
    } else if (!solid(x + sx, y)) {
      x += sx;
      blockedY ||= sy !== 0;
    } else if (!solid(x, y + sy)) {
      y += sy;
      blockedX ||= sx !== 0;
    } else {
      blockedX ||= sx !== 0;
      blockedY ||= sy !== 0;
    }
  }
  return { x, y, blockedX, blockedY };
}

/** True when the straight segment a -> b stays out of solids (sampled every `step`). */
export function visible(solid: SolidFn, ax: number, ay: number, bx: number, by: number, step: number): boolean {
  const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / step));
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    if (solid(ax + (bx - ax) * t, ay + (by - ay) * t)) return false;
  }
  return true;
}

/**
 * Shortest path length from a to b avoiding solids, through the given
 * waypoints (corners of obstacles, nudged into free space). Dijkstra on the
 * visibility graph; Infinity if b is unreachable.
 */
export function geodesic(
  solid: SolidFn,
  corners: readonly (readonly [number, number])[],
  a: readonly [number, number],
  b: readonly [number, number],
  step: number,
): number {
  if (visible(solid, a[0], a[1], b[0], b[1], step)) return Math.hypot(b[0] - a[0], b[1] - a[1]);
  const nodes = [a, b, ...corners];
  const dist = nodes.map(() => Infinity);
  const done = nodes.map(() => false);
  dist[0] = 0;
  for (;;) {
    let u = -1;
    for (let i = 0; i < nodes.length; i++) if (!done[i] && (u < 0 || dist[i] < dist[u])) u = i;
    if (u < 0 || dist[u] === Infinity) return Infinity;
    if (u === 1) return dist[1];
    done[u] = true;
    for (let v = 0; v < nodes.length; v++) {
      if (done[v]) continue;
      const d = Math.hypot(nodes[v][0] - nodes[u][0], nodes[v][1] - nodes[u][1]);
      if (dist[u] + d < dist[v] && visible(solid, nodes[u][0], nodes[u][1], nodes[v][0], nodes[v][1], step)) {
        dist[v] = dist[u] + d;
      }
    }
  }
}
