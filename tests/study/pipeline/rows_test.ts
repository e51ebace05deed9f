// The study's rows on disk: which line of a row counts, what a row rests on, merging shard files.
import assert from "node:assert/strict";
import {
  currentRows,
  mergeRowFiles,
  readRowLines,
  rowBasis,
  STUDY_PLANNER,
  studyPlanner,
} from "../../../study/pipeline/rows.ts";
import { loadModelCard } from "../../../model/model_card.ts";
import { cardPreset } from "../../../model/planner_options.ts";

Deno.test("rowBasis: model rows rest on the task's fp32 model, oracle rows on the oracle's settings", () => {
  const wall = rowBasis("wall", "quant", "models");
  assert.match(wall, /^[0-9a-f]{16}$/);
  assert.equal(rowBasis("wall", "fp32", "models"), wall, "every model row of a task shares its fp32 basis");
  assert.notEqual(rowBasis("pointmaze", "quant", "models"), wall);
  assert.notEqual(rowBasis("wall", "oracle", "models"), wall);
  assert.throws(() => rowBasis("wall", "quant", "no-such-models"), /cannot read model\.json/);
});

Deno.test("currentRows: a row run again counts by its latest line, whichever shard's file holds it", () => {
  const dir = Deno.makeTempDirSync(), basis = rowBasis("wall", "quant", "models");
  const line = (success: number, finished_at?: string, status = "done") =>
    JSON.stringify({
      id: "omse-w8a8",
      task: "wall",
      kind: "quant",
      status,
      basis,
      success: { "50": success },
      finished_at,
    }) +
    "\n";
  // Rerun on another day into rows.jsonl, which sorts before the shard file that holds the first run.
  Deno.writeTextFileSync(`${dir}/rows.shard-0-of-2.jsonl`, line(0.86, "2026-12-02T11:55:10.159Z"));
  Deno.writeTextFileSync(`${dir}/rows.jsonl`, line(0.88, "2026-12-05T14:47:52.366Z"));
  assert.equal(currentRows(dir).rows[0].success!["50"], 0.88);
  // Lines finished together (a line rewritten with refreshed bytes keeps its time): the one read last.
  Deno.writeTextFileSync(`${dir}/rows.jsonl`, line(0.9, "2026-12-05T14:47:52.366Z"), { append: true });
  assert.equal(currentRows(dir).rows[0].success!["50"], 0.9);
  assert.equal(currentRows(dir).rows.length, 1);
});

Deno.test("mergeRowFiles: the shards' files join rows.jsonl with every line kept, and the same line of each row counts", () => {
  const dir = Deno.makeTempDirSync(), basis = rowBasis("wall", "quant", "models");
  const line = (id: string, success: number, finished_at?: string) =>
    JSON.stringify({
      id,
      task: "wall",
      kind: "quant",
      status: "done",
      basis,
      success: { "50": success },
      finished_at,
    }) +
    "\n";
  Deno.writeTextFileSync(`${dir}/rows.jsonl`, line("a", 0.5, "2026-12-05T10:00:00Z") + line("b", 0.1));
  Deno.writeTextFileSync(`${dir}/rows.shard-0-of-2.jsonl`, line("a", 0.7, "2026-12-01T10:00:00Z"));
  Deno.writeTextFileSync(`${dir}/rows.shard-1-of-2.jsonl`, line("b", 0.2) + line("c", 0.3, "2026-12-02T10:00:00Z"));
  Deno.writeTextFileSync(`${dir}/speed.jsonl`, "{}\n");
  const before = currentRows(dir).rows;
  const r = mergeRowFiles(dir);
  assert.equal(r.lines, 5);
  assert.deepEqual(r.files, ["rows.jsonl", "rows.shard-0-of-2.jsonl", "rows.shard-1-of-2.jsonl"]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["rows.jsonl", "speed.jsonl"]);
  assert.equal(readRowLines(dir).length, 5, "superseded lines are kept");
  assert.deepEqual(currentRows(dir).rows, before, "the line that counts for each row is the same");
  assert.equal(currentRows(dir).rows.find((x) => x.id === "b")!.success!["50"], 0.2, "of unfinished ties, the last");
  // Merging a merged folder changes nothing.
  const text = Deno.readTextFileSync(`${dir}/rows.jsonl`);
  mergeRowFiles(dir);
  assert.equal(Deno.readTextFileSync(`${dir}/rows.jsonl`), text);
});

Deno.test("studyPlanner: pusht's rows plan with its card's own planner, the other tasks' with the fixed one", () => {
  const pusht = loadModelCard("models/pusht/fp32"), wall = loadModelCard("models/wall/fp32");
  assert.deepEqual(studyPlanner("pusht", pusht), cardPreset(pusht));
  assert.equal(studyPlanner("pusht", pusht).proposal, "policy");
  assert.deepEqual(studyPlanner("wall", wall), STUDY_PLANNER, "wall's card serves icem; its study rows stay on fast");
  // The committed study's wall, pointmaze and reacher rows still rest on today's basis (nothing of theirs reruns).
  const paper = currentRows("study/results/study/paper");
  for (const task of ["wall", "pointmaze", "reacher"]) {
    assert.ok(paper.rows.some((r) => r.task === task && r.status === "done"), `${task} has current rows`);
  }
});
