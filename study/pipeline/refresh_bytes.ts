/**
 * `deno task study bytes --in study/results/study/NAME`: bring finished rows' bytes up to date with the graphs the
 * quantizer writes today, keeping their results.
 *
 * A row's success does not depend on what its graph calls its tensors, but its bytes do: rows swept before
 * deployable graphs dropped the exporter's long tensor names (quant/compact.ts) recorded ~40 KB per graph
 * more than the same variant takes now, so two methods of one configuration could differ by 7% in the
 * report for no reason of their own. Each deployable row's variant is built again (or reused from
 * <in>/variants); where its bytes differ from the row's, its open-loop latent error is measured again and
 * must equal the recorded one (the same computation, only stored differently). Then a line with the new
 * bytes is appended to the file holding the row's line that counts (`currentRows`), which it then replaces. A row whose
 * graph now computes something else is left as it is and named, to be rerun (exit code 2).
 */
import { loadModelCard } from "../../model/model_card.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { CliError, listFlag, parseFlags } from "../../lib/cli.ts";
import { TASK_NAMES, type TaskName } from "../../tasks/task.ts";
import { buildGrid, hasDistanceHead } from "./grid.ts";
import { latentError } from "./latent_error.ts";
import { bytesOf, variantDir } from "./sweep.ts";
import { currentRows, rowKey, type RowResult } from "./rows.ts";

/** Latent errors are recorded to 4 significant digits: equal within rounding means the same computation. */
const SAME_LATENT_ERROR = 1e-3;

function sameLatentError(a: RowResult["latent_error"], b: RowResult["latent_error"]): boolean {
  if (!a || !b) return false;
  return (["encoder", "step1", "step5"] as const).every((k) =>
    Math.abs(a[k] - b[k]) <= SAME_LATENT_ERROR * Math.max(Math.abs(a[k]), Math.abs(b[k])) + 1e-12
  );
}

export async function refreshBytes(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    in: { type: "string", required: true, help: "the sweep's run folder" },
    tasks: { type: "string", default: TASK_NAMES.join(","), help: "comma-separated tasks" },
    models: { type: "string", default: "models", help: "folder of <task>/fp32 models" },
  }, "deno task study bytes --in DIR: rows' bytes as today's quantizer writes their graphs (results kept)");
  const tasks = listFlag(f.tasks, "tasks", TASK_NAMES);
  const grid = buildGrid("paper", tasks, (t) => hasDistanceHead(t, f.models));
  const { rows, fileOf } = currentRows(f.in, f.models);
  // onnxruntime's graphs (peer rows) are its own quantizer's output, and simulated graphs are not deployed.
  const todo = rows.filter((r) =>
    tasks.includes(r.task as TaskName) && r.status === "done" && r.kind === "quant" && r.deployable
  );
  const refs = new Map<string, WorldModel>();
  let same = 0, refreshed = 0;
  const rerun: string[] = [];
  console.error(`bytes: ${todo.length} deployable rows to check in ${f.in}`);
  for (const [i, r] of todo.entries()) {
    const spec = grid.find((s) => s.task === r.task && s.id === r.id);
    if (!spec) throw new CliError(`bytes: ${rowKey(r)} is not a row of the paper grid`);
    const fp32Dir = `${f.models}/${r.task}/fp32`;
    const dir = await variantDir(spec, fp32Dir, { out: f.in });
    const bytes = bytesOf(loadModelCard(dir));
    if (bytes.total === r.bytes?.total) {
      same++;
      continue;
    }
    if (!refs.has(r.task)) refs.set(r.task, await WorldModel.load(fp32Dir, { backend: "node", threads: 1 }));
    const m = await WorldModel.load(dir, { backend: "node", threads: 1 });
    const le = await latentError(refs.get(r.task)!, m);
    const what = `${rowKey(r)}: ${r.bytes?.total ?? "no"} -> ${bytes.total} B`;
    if (!sameLatentError(le, r.latent_error)) {
      rerun.push(rowKey(r));
      console.error(
        `bytes: [${i + 1}/${todo.length}] ${what}, but its latent error is ${JSON.stringify(le)}, recorded ${
          JSON.stringify(r.latent_error)
        }: the graph computes something else now; left as it is (rerun the row)`,
      );
      continue;
    }
    Deno.writeTextFileSync(`${f.in}/${fileOf.get(rowKey(r))}`, JSON.stringify({ ...r, bytes }) + "\n", {
      append: true,
    });
    refreshed++;
    console.error(`bytes: [${i + 1}/${todo.length}] ${what} (latent error unchanged)`);
  }
  console.error(`bytes: ${refreshed} rows refreshed, ${same} already right, ${rerun.length} to rerun`);
  if (rerun.length) throw new CliError(`bytes: rows whose graphs changed, to rerun: ${rerun.join(", ")}`);
}
