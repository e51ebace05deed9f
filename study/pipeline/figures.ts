/**
 * Plots for the study report: vega-lite specifications rendered to SVG headless by vega (no browser,
 * no canvas: the SVG renderer needs neither).
 */
import * as vega from "vega";
import * as vl from "vega-lite";

/** A vega-lite spec (its `data.values` filled in by the caller) as an SVG document. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  return await view.toSVG();
}

type Row = Record<string, unknown>;

const base = (title: string, values: Row[]) => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title,
  data: { values },
  config: { font: "sans-serif", view: { stroke: "#ddd" } },
});

/** Success at the final replan against weight bits, a line per method, a panel per task x granularity. */
export function successVsBits(values: Row[]) {
  return {
    ...base("Weight-only: success after 50 replans vs weight bits", values),
    facet: { row: { field: "task" }, column: { field: "granularity", sort: ["g16", "g32", "g64", "g128", "channel"] } },
    spec: {
      width: 140,
      height: 110,
      layer: [
        { mark: { type: "line", point: true }, encoding: enc("bits", "success", "method") },
        {
          mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
          encoding: { y: { field: "fp32", type: "quantitative" } },
        },
      ],
    },
  };
}

function enc(x: string, y: string, color: string) {
  return {
    x: { field: x, type: "quantitative", scale: { domain: [2, 8] }, axis: { values: [2, 3, 4, 6, 8] } },
    y: { field: y, type: "quantitative", scale: { domain: [0, 1] }, title: "success (dashed: fp32)" },
    color: { field: color, type: "nominal" },
  };
}

/** Encoder-only vs predictor-only quantization: success per setting, a panel per task. */
export function moduleSensitivity(values: Row[]) {
  return {
    ...base("Module asymmetry: one module at the setting, the other at W8A8 (or fp32)", values),
    facet: { column: { field: "task" } },
    spec: {
      width: 150,
      height: 140,
      mark: "bar",
      encoding: {
        x: { field: "setting", type: "nominal", title: null },
        xOffset: { field: "module" },
        y: { field: "success", type: "quantitative", scale: { domain: [0, 1] } },
        color: { field: "module", type: "nominal" },
      },
    },
  };
}

/** Planner objective against success: does a lower objective still mean success once quantized? */
export function alignment(values: Row[]) {
  return {
    ...base("Alignment: the planner's final objective (mean over replans) vs success", values),
    facet: { column: { field: "task" } },
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 170,
      height: 150,
      mark: { type: "point", filled: true, opacity: 0.7 },
      encoding: {
        x: { field: "objective", type: "quantitative", scale: { type: "log" }, title: "final objective" },
        y: { field: "success", type: "quantitative", scale: { domain: [0, 1] } },
        color: { field: "bits", type: "ordinal", title: "weight bits" },
        shape: { field: "acts", type: "nominal", title: "activations" },
      },
    },
  };
}

/** A scatter of success against `x`, a panel per task. */
function successScatter(title: string, values: Row[], x: Record<string, unknown>, color: string) {
  return {
    ...base(title, values),
    facet: { column: { field: "task" } },
    spec: {
      width: 170,
      height: 150,
      mark: { type: "point", filled: true },
      encoding: {
        x,
        y: { field: "success", type: "quantitative", scale: { domain: [0, 1] } },
        color: { field: color, type: "nominal" },
        ...(color === "family" ? { shape: { field: "deployable", type: "nominal" } } : {}),
        tooltip: [{ field: "id" }],
      },
    },
  };
}

/** Success against deployable bytes (log scale): the size Pareto front. */
export function successVsBytes(values: Row[]) {
  const x = { field: "kb", type: "quantitative", scale: { type: "log" }, title: "KB" };
  return successScatter("Success vs bytes on disk (encoder + predictor)", values, x, "family");
}

/** Success against replan latency relative to fp32 (web, 2 threads), for the measured variants. */
export function successVsLatency(values: Row[]) {
  const x = { field: "ratio", type: "quantitative", title: "p50 / fp32 p50" };
  return successScatter("Success vs replan p50 relative to fp32 (onnxruntime-web, 2 threads)", values, x, "id");
}
