/// <reference lib="dom" />
/**
 * The playground: pick a task and a variant, draw or click a goal, and watch the agent plan its way there
 * in a closed loop, planning in this page (the server's plan code on onnxruntime-web, in a Web Worker) or on
 * the server (POST /v1/plan): the same request gives the same plan either way. Two variants can run side by
 * side on the same episode (fp32 against the served low-bit default), with their bytes and latencies.
 *
 * URL parameters (also for tests): task, variant, compare (a second variant), mode (page | server),
 * seed and episode (the evaluation episode drawn at load), threads (wasm threads in the page), autoplay.
 */
import { encodeBase64 } from "../lib/base64.ts";
import { evaluationEpisode, replanSeed } from "../tasks/evaluation.ts";
import { getTask } from "../tasks/registry.ts";
import { type Task, TASK_NAMES } from "../tasks/task.ts";
import { goalFrom } from "./goals.ts";
import { toWorld } from "../tasks/image_points.ts";
import { drawCosts, drawScene } from "./view.ts";

import type { SiteModel as ModelEntry } from "../agent/http/site_routes.ts";
import { Planning } from "./planning.ts";

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SIZE = 256;

/** Where the page finds the server's routes and its models: beside itself. */
const base = new URL(".", location.href).href;
const models: ModelEntry[] = await (await fetch(`${base}models.json`)).json();
/** Whether a server is behind the page (a static site's manifest marks nothing as served). */
const served = !params.has("static") && models.some((m) => m.served);

const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
// Threads need cross-origin isolation, and cores to spare beside the page's own: on 2 cores, 2 wasm threads
// planned 1.5x slower than 1 (study/results/page_latency/wall.md).
const cores = navigator.hardwareConcurrency || 1;
const threads = Number(params.get("threads") ?? (isolated && cores >= 4 ? Math.min(4, Math.floor(cores / 2)) : 1));
const planner = new Planning(base, threads);

// ---------------------------------------------------------------- one lane: a variant in a closed loop

interface Lane {
  variant: string;
  /** Whether the server plans with this variant (else the lane plans in the page in either mode). */
  servedHere: boolean;
  /** The frame size its model reads (pusht's is 96 px, the others' 64). */
  size: number;
  canvas: HTMLCanvasElement;
  costs: HTMLCanvasElement;
  info: HTMLElement;
  state: Float64Array;
  trail: Float64Array[];
  path: Float64Array[];
  warm?: { actions: number[]; shifted_by: number };
  replans: number;
  successAt: number | null;
  costHistory: number[];
  lastCosts: number[];
  latencies: number[];
  /** Every plan's model actions, in order (the browser test compares the two modes on them). */
  plans: number[][][];
}

const state = {
  task: getTask(params.get("task") ?? "wall") as Task,
  seed: Number(params.get("seed") ?? 0),
  episode: Number(params.get("episode") ?? 0),
  goal: new Float64Array() as Float64Array<ArrayBufferLike>,
  start: new Float64Array() as Float64Array<ArrayBufferLike>,
  lanes: [] as Lane[],
  running: false,
  budget: 50,
  errors: [] as string[],
  /** Milliseconds from the page's navigation to its first plan's answer (a cold load's time to first plan). */
  firstPlanMs: null as number | null,
};
(globalThis as unknown as { playground: typeof state }).playground = state;

const rawImage = (s: ArrayLike<number>, size: number) => ({ raw: encodeBase64(state.task.render(s, size)) });

function variantsOf(task: string): ModelEntry[] {
  return models.filter((m) => m.task === task);
}

function makeLane(variant: string): Lane {
  const box = document.createElement("div");
  box.className = "lane";
  const canvas = Object.assign(document.createElement("canvas"), { width: SIZE, height: SIZE });
  const costs = Object.assign(document.createElement("canvas"), { width: SIZE, height: 70, className: "costs" });
  const info = document.createElement("div");
  info.className = "info";
  const entry = models.find((m) => m.task === state.task.name && m.variant === variant);
  const title = document.createElement("div");
  title.className = "title";
  title.textContent = `${variant}${entry ? ` (${(entry.bytes / 1024).toFixed(0)} KB)` : ""}` +
    (served && entry && !entry.served ? ", in the page only" : "");
  box.append(title, canvas, costs, info);
  $("lanes").append(box);
  canvas.onpointerdown = (e) => goalDrag(e, canvas);
  return {
    variant,
    servedHere: served && !!entry?.served,
    size: entry?.image_size ?? 64,
    canvas,
    costs,
    info,
    state: state.start,
    trail: [state.start],
    path: [],
    replans: 0,
    successAt: null,
    costHistory: [],
    lastCosts: [],
    latencies: [],
    plans: [],
  };
}

function drawLane(l: Lane): void {
  drawScene(l.canvas, { task: state.task, state: l.state, goal: state.goal, path: l.path, trail: l.trail });
  drawCosts(l.costs, l.lastCosts, l.costHistory);
  const d = state.task.distance(l.state, state.goal);
  const p50 = [...l.latencies].sort((a, b) => a - b)[Math.floor(l.latencies.length / 2)];
  l.info.textContent = `replans ${l.replans}  ${l.successAt ? `reached at replan ${l.successAt}` : "not there yet"}` +
    `  distance ${d.toFixed(2)}  replan p50 ${p50 === undefined ? "-" : p50.toFixed(0) + " ms"}`;
}

/** One replan of one lane: plan from its state, run `execute` model actions on the true simulator. */
async function replan(l: Lane): Promise<void> {
  if (l.successAt !== null || l.replans >= state.budget) return;
  const t = state.task;
  const mode = l.servedHere ? ($("mode") as HTMLSelectElement).value : "page";
  const request = {
    task: t.name,
    variant: l.variant,
    observation: { image: rawImage(l.state, l.size), proprio: Array.from(t.proprio(l.state)) },
    goal: { image: rawImage(state.goal, l.size), proprio: Array.from(t.proprio(state.goal)) },
    warm_start: l.warm,
    seed: replanSeed(state.seed, state.episode, l.replans + 1),
  };
  const { answer, ms } = await planner.plan(mode, request);
  state.firstPlanMs ??= performance.now();
  l.replans++;
  l.latencies.push(ms);
  l.plans.push(answer.actions);
  l.lastCosts = answer.cost_per_iteration;
  l.costHistory.push(answer.cost);
  // The ghost: where the whole plan would take the true simulator from here.
  const ghost = t.create(l.state), fs = answer.control.env_steps_per_action;
  l.path = [l.state];
  answer.env_actions.forEach((a, k) => {
    ghost.step(a);
    if ((k + 1) % fs === 0) l.path.push(ghost.state());
  });
  // Execute the first `execute` model actions; success counts after each (the evaluation protocol's rule).
  const sim = t.create(l.state);
  for (let h = 0; h < answer.control.execute; h++) {
    for (let f = 0; f < fs; f++) sim.step(answer.env_actions[h * fs + f]);
    l.trail.push(sim.state());
    if (t.success(sim.state(), state.goal)) l.successAt ??= l.replans;
  }
  l.state = sim.state();
  l.warm = answer.warm_start;
  drawLane(l);
}

async function stepAll(): Promise<void> {
  for (const l of state.lanes) await replan(l);
  if (state.lanes.every((l) => l.successAt !== null || l.replans >= state.budget)) state.running = false;
}

/** An error shown on the page (and kept for the browser test, which requires none). */
function report(e: unknown): void {
  state.errors.push(String((e as Error).message ?? e));
  $("status").textContent = `error: ${(e as Error).message ?? e}`;
}

async function play(): Promise<void> {
  state.running = true;
  $("status").textContent = "playing";
  while (state.running) {
    try {
      await stepAll();
    } catch (e) {
      return void (report(e), state.running = false);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  $("status").textContent = state.lanes.map((l) =>
    `${l.variant}: ${l.successAt ? `reached the goal at replan ${l.successAt}` : `${l.replans} replans so far`}`
  ).join("; ");
}

// ---------------------------------------------------------------- episodes and goals

function reset(start: Float64Array, goal: Float64Array): void {
  state.running = false;
  state.start = start;
  state.goal = goal;
  $("lanes").textContent = "";
  const first = ($("variant") as HTMLSelectElement).value;
  const second = ($("compare") as HTMLSelectElement).value;
  state.lanes = [first, ...(second && second !== first ? [second] : [])].map(makeLane);
  state.lanes.forEach(drawLane);
}

function drawEpisode(): void {
  state.seed = Number(($("seed") as HTMLInputElement).value);
  state.episode = Number(($("episode") as HTMLInputElement).value);
  const ep = evaluationEpisode(state.task, state.seed, state.episode);
  reset(ep.start, ep.goal);
}

function goalDrag(e: PointerEvent, canvas: HTMLCanvasElement): void {
  const at = (ev: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return toWorld(state.task, SIZE, [(ev.clientX - r.left) / r.width * SIZE, (ev.clientY - r.top) / r.height * SIZE]);
  };
  const from = at(e);
  canvas.onpointerup = (up) => {
    canvas.onpointerup = null;
    const goal = goalFrom(state.task, from, at(up));
    if (!goal) {
      $("status").textContent = "that goal is not a valid state (inside a wall, or out of reach)";
      return;
    }
    // A new goal from wherever the first lane is now.
    reset(state.lanes[0]?.state ?? state.start, goal);
    $("status").textContent = "goal set: press play";
  };
}

// ---------------------------------------------------------------- controls

function fillVariants(): void {
  const v = $("variant") as HTMLSelectElement, c = $("compare") as HTMLSelectElement;
  const list = variantsOf(state.task.name);
  const option = (m: ModelEntry) =>
    `<option value="${m.variant}">${m.variant}${m.default ? " (default)" : ""}</option>`;
  v.innerHTML = list.map(option).join("");
  c.innerHTML = `<option value="">none</option>` + list.map(option).join("");
  v.value = params.get("variant") ?? list.find((m) => m.default)?.variant ?? list[0]?.variant ?? "";
  c.value = params.get("compare") ?? "";
}

const taskSelect = $("task") as HTMLSelectElement;
taskSelect.innerHTML = TASK_NAMES.filter((t) => variantsOf(t).length).map((t) => `<option>${t}</option>`).join("");
taskSelect.value = state.task.name;
taskSelect.onchange = () => {
  state.task = getTask(taskSelect.value);
  fillVariants();
  drawEpisode();
};
($("mode") as HTMLSelectElement).value = served ? params.get("mode") ?? "page" : "page";
($("mode") as HTMLSelectElement).disabled = !served;
($("seed") as HTMLInputElement).value = String(state.seed);
($("episode") as HTMLInputElement).value = String(state.episode);
$("draw").onclick = drawEpisode;
$("random").onclick = () => {
  ($("episode") as HTMLInputElement).value = String(Math.floor(Math.random() * 1000));
  drawEpisode();
};
$("play").onclick = () => void play();
$("pause").onclick = () => void (state.running = false);
$("step").onclick = () => void stepAll().catch(report);
($("variant") as HTMLSelectElement).onchange = drawEpisode;
($("compare") as HTMLSelectElement).onchange = drawEpisode;
$("threads").textContent = `planning in the page: onnxruntime-web, ${threads} wasm thread${threads === 1 ? "" : "s"}` +
  (isolated ? " (cross-origin isolated)" : "") + (served ? "" : "; static site: no server");

fillVariants();
drawEpisode();
$("status").textContent = "ready: play, step, or click a goal";
// Planning in the page: fetch and compile the runtime and the models now, not on the first press of play.
if (($("mode") as HTMLSelectElement).value === "page") {
  for (const l of state.lanes) planner.load(state.task.name, l.variant).catch(report);
}
if (params.has("autoplay")) await play();
(globalThis as unknown as { playgroundDone: boolean }).playgroundDone = true;
