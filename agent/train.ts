/**
 * `deno task train --data DIR --out models/T/fp32 [...]`: from a dataset in the data contract to a model
 * folder the server loads, by the Python pipeline (train/pipeline.py: encoder pre-training or a given
 * frozen encoder, predictor, optional distance head, export and hashes). This finds a Python with
 * PyTorch (the project's .venv first) and hands every flag to the pipeline; `--help` shows them.
 *
 *   deno task train --data data/myrobot --out models/myrobot/fp32 --minutes 60
 */
import { CliError, runCli } from "../lib/cli.ts";
import { projectPython } from "../lib/python.ts";

if (import.meta.main) {
  await runCli(async () => {
    const python = projectPython();
    const probe = await new Deno.Command(python, { args: ["-c", "import torch, numpy, onnx"], stderr: "null" })
      .output().catch(() => ({ code: 127 }));
    if (probe.code !== 0) {
      throw new CliError(
        `${python} cannot import torch, numpy and onnx: python3 -m venv .venv && ` +
          ".venv/bin/pip install -r train/requirements.txt (a CPU wheel of torch 2.13.0)",
      );
    }
    const p = await new Deno.Command(python, {
      args: ["-m", "train.pipeline", ...Deno.args],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    Deno.exit(p.code);
  });
}
