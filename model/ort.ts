/**
 * onnxruntime for our graphs: which package a backend loads (web = wasm, portable; node = native
 * kernels, the fast server backend) and the encoder graph as a session on that backend gets it.
 */
import { decodeModel, encodeModel } from "../lib/onnx.ts";
import { patchConvsToMatMul } from "./patchify.ts";
import { unpackLowBit } from "./unpack_low_bit.ts";

export type OrtModule = typeof import("onnxruntime-web");
export type Session = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

export type BackendName = "web" | "node";

/**
 * How a backend runs low-bit weights: "native" runs the file's MatMulNBits kernels as they are; "unpack"
 * rewrites them at load as fp32 MatMuls (model/unpack_low_bit.ts: the file, its bytes on disk and its hash
 * stay as they are). onnxruntime-web has no low-bit GEMM and dequantizes on every call, so it unpacks.
 */
export type LowBitMode = "native" | "unpack";

/** The mode each backend runs low-bit weights in unless told otherwise (agent/bench.ts measures both). */
export const DEFAULT_LOW_BIT: Record<BackendName, LowBitMode> = { web: "unpack", node: "native" };

/** A graph as a session on `backend` gets it: the file's bytes, or its low-bit layers unpacked. */
export function graphFor(bytes: Uint8Array, lowBit: LowBitMode): Uint8Array {
  if (lowBit === "native") return bytes;
  const model = decodeModel(bytes);
  return unpackLowBit(model) ? encodeModel(model) : bytes;
}

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
