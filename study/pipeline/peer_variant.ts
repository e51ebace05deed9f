/**
 * The study's peer rows: onnxruntime's own MatMulNBitsQuantizer (Python) on the same fp32 graphs,
 * written as a model folder with a card of ours. Where Python has no onnxruntime the row is skipped
 * with the reason, and runs again on the next sweep.
 */
import { graphFiles, loadModelCard, type ModelCard, sha256 } from "../../model/model_card.ts";
import type { RowSpec } from "./grid.ts";
import { projectPython } from "../../lib/python.ts";

/** A model directory for onnxruntime's MatMulNBitsQuantizer's output (Python), with a card of ours. */
export async function ortVariant(
  spec: RowSpec,
  fp32Dir: string,
  dir: string,
  python: string | undefined,
): Promise<string> {
  const py = python ?? projectPython();
  const probe = await new Deno.Command(py, {
    args: ["-c", "import onnxruntime.quantization.matmul_nbits_quantizer"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: 127 }));
  if (probe.code !== 0) {
    throw new SkipRow(`${py} cannot import onnxruntime.quantization (pip install -r study/requirements.txt)`);
  }
  Deno.mkdirSync(dir, { recursive: true });
  for (const m of ["encoder", "predictor"]) {
    const p = await new Deno.Command(py, {
      args: [
        "study/pipeline/ort_quantize.py",
        "--in",
        `${fp32Dir}/${m}.onnx`,
        "--out",
        `${dir}/${m}.onnx`,
        "--algo",
        spec.ort!.algo,
        "--group",
        String(spec.ort!.group),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (p.code !== 0) throw new Error(`study/pipeline/ort_quantize.py failed on ${m} (exit ${p.code})`);
  }
  const card = loadModelCard(fp32Dir);
  const files: ModelCard["files"] = {};
  for (const m of ["encoder", "predictor"]) {
    const b = Deno.readFileSync(`${dir}/${m}.onnx`);
    files[`${m}.onnx`] = { sha256: sha256(b), bytes: b.length };
  }
  for (const name of graphFiles(card).filter((f) => !(f in files))) { // the distance head, unchanged
    Deno.copyFileSync(`${fp32Dir}/${name}`, `${dir}/${name}`);
    files[name] = card.files[name];
  }
  const out = {
    ...card,
    variant: spec.id,
    files,
    quantization: {
      peer: "onnxruntime MatMulNBitsQuantizer",
      algo: spec.ort!.algo,
      bits: 4,
      group: spec.ort!.group,
      from: { dir: fp32Dir, variant: card.variant, files: card.files },
    },
  };
  Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(out, null, 2) + "\n");
  return dir;
}

/** A row that cannot run here (e.g. no onnxruntime for Python): recorded as skipped with the reason. */
export class SkipRow extends Error {
  override name = "SkipRow";
}
