/**
 * Low-bit storage: LSB-first bit packing, and the weight layout of
 * onnxruntime's com.microsoft MatMulNBits (B [N, k_blocks, block*bits/8],
 * scales [N, k_blocks], packed zero points [N, ceil(k_blocks*bits/8)]).
 */
import { type QuantizedWeight } from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";

/** Pack values < 2^bits, the first value in the lowest bits of the first byte. */
export function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new QuantError(`cannot pack ${bits}-bit values`);
  const out = new Uint8Array(Math.ceil(values.length * bits / 8));
  const max = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= max && Number.isInteger(v))) throw new QuantError(`value ${v} does not fit in ${bits} bits`);
    const bit = i * bits, byte = bit >> 3, shift = bit & 7;
    out[byte] |= (v << shift) & 0xff;
    if (shift + bits > 8) out[byte + 1] |= v >> (8 - shift);
  }
  return out;
}

export function unpackBits(bytes: Uint8Array, bits: number, count: number): Uint8Array {
  if (Math.ceil(count * bits / 8) > bytes.length) {
    throw new QuantError(`${bytes.length} bytes hold fewer than ${count} values`);
  }
  const out = new Uint8Array(count);
  const max = (1 << bits) - 1;
  for (let i = 0; i < count; i++) {
    const bit = i * bits, byte = bit >> 3, shift = bit & 7;
    let v = bytes[byte] >> shift;
    if (shift + bits > 8) v |= bytes[byte + 1] << (8 - shift);
    out[i] = v & max;
  }
  return out;
}

/** Why MatMulNBits cannot hold `bits`-bit weights in blocks of `block` of K inputs, or null when it can. */
export function nbitsProblem(bits: number, block: number, K: number): string | null {
  if (![2, 3, 4, 8].includes(bits)) return `MatMulNBits stores 2, 3 (as 4), 4 and 8-bit weights, not ${bits}`;
  if (block !== K && (block < 16 || block > 256 || (block & (block - 1)) !== 0)) {
    return `MatMulNBits needs groups of 16, 32, 64, 128 or 256, not ${block}`;
  }
  return null;
}

/** Storage width MatMulNBits uses for a bit width: 3 bits travel in 4-bit containers. */
function containerBits(bits: number): 2 | 4 | 8 {
  return bits === 2 ? 2 : bits === 8 ? 8 : 4;
}

export interface NBitsWeight {
  K: number;
  N: number;
  bits: 2 | 4 | 8;
  blockSize: number;
  kBlocks: number;
  /** [N * kBlocks * blockSize * bits / 8] */
  B: Uint8Array;
  /** [N * kBlocks] */
  scales: Float32Array;
  /** [N * ceil(kBlocks * bits / 8)] */
  zeros: Uint8Array;
}

/**
 * Lay a quantized weight out for MatMulNBits. Its blocks must be a power of
 * two in 16..256; per-channel and per-tensor weights repeat their one range
 * over blocks of up to 256, the last padded (padding codes equal the zero
 * point, so they dequantize to 0).
 */
export function toMatMulNBits(q: QuantizedWeight): NBitsWeight {
  const why = nbitsProblem(q.bits, q.block, q.K);
  if (why) throw new QuantError(`${why}; use --format sim`);
  const bits = containerBits(q.bits);
  const { K, N } = q;
  const blockSize = q.block === K ? Math.min(256, Math.max(16, 2 ** Math.ceil(Math.log2(K)))) : q.block;
  const kBlocks = Math.ceil(K / blockSize), nb = K / q.block;
  const codes = new Uint8Array(N * kBlocks * blockSize);
  const scales = new Float32Array(N * kBlocks), zeroCodes = new Uint8Array(N * kBlocks);
  for (let n = 0; n < N; n++) {
    for (let kb = 0; kb < kBlocks; kb++) {
      const src = Math.min(kb, nb - 1) * N + n;
      scales[n * kBlocks + kb] = q.scales[src];
      zeroCodes[n * kBlocks + kb] = q.zeros[src];
      for (let j = 0; j < blockSize; j++) {
        const k = kb * blockSize + j;
        codes[(n * kBlocks + kb) * blockSize + j] = k < K ? q.codes[k * N + n] : q.zeros[src];
      }
    }
  }
  const zeroRow = Math.ceil(kBlocks * bits / 8);
  const zeros = new Uint8Array(N * zeroRow);
  for (let n = 0; n < N; n++) {
    zeros.set(packBits(zeroCodes.subarray(n * kBlocks, (n + 1) * kBlocks), bits), n * zeroRow);
  }
  return { K, N, bits, blockSize, kBlocks, B: packBits(codes, bits), scales, zeros };
}
