// A stand-in planning worker for executors_test.ts: it speaks plan_worker.ts's protocol, and what it
// does with a plan is named by the plan's model: "ok" answers with this worker's id, "spin" never
// returns (as onnxruntime-web does once its pthread is gone), "crash" throws outside any handler.
import { parentPort } from "../../../lib/platform.ts";

const id = crypto.randomUUID();
const port = await parentPort();
port.onMessage((data) => {
  const m = data as { kind: string; dirs: string[]; job: { model: string } };
  if (m.kind === "load") {
    if (m.dirs.includes("unloadable")) {
      port.post({ kind: "load-error", error: { name: "ModelLoadError", message: "unloadable: no model.json" } });
    } else port.post({ kind: "loaded" });
    return;
  }
  if (m.job.model === "spin") { for (;;) { /* stuck where no check runs */ } }
  if (m.job.model === "crash") {
    setTimeout(() => {
      throw new Error("worker fell over");
    });
  } else port.post({ kind: "done", out: { worker: id } });
});
