/**
 * onnxruntime for our graphs: which package a backend loads (web = wasm, portable; node = native
 * kernels, the fast server backend) and the encoder graph as a session on that backend gets it.
 */
import { decodeModel, encodeModel } from "../lib/onnx.ts";
import { patchConvsToMatMul } from "./patchify.ts";

export type OrtModule = typeof import("onnxruntime-web");
export type Session = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

export type BackendName = "web" | "node";

/**
 * The encoder graph as a session gets it. onnxruntime-web with 2 threads now and then hangs at a process's first
 * plans when the encoder's patch embedding is a Conv (fp32's graphs: 13 of 78 starts on a quiet machine), and has not
 * once with that Conv written as the MatMul it computes (model/patchify.ts, the same latents within 1e-4): 0 of 32
 * starts of the same fp32 model so rewritten, 0 of 36 of the `-whole` low-bit graphs, which are written so
 * (models/README.md). So on the threaded wasm backend the encoder runs the MatMul; elsewhere, the file as it is.
 */
export function encoderGraphFor(
  bytes: Uint8Array,
  imageSize: number,
  backend: BackendName,
  threads: number,
): Uint8Array {
  if (backend !== "web" || threads < 2) return bytes;
  const model = decodeModel(bytes);
  return patchConvsToMatMul(model, [imageSize, imageSize]).length ? encodeModel(model) : bytes;
}

export async function ortFor(backend: BackendName, threads: number): Promise<OrtModule> {
  if (backend === "node") {
    // Same API surface; native CPU kernels. Needs --allow-ffi.
    return (await import("onnxruntime-node")) as unknown as OrtModule;
  }
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = threads;
  return ort;
}
