/**
 * Low-bit weights unpacked once at load, for runtimes without a low-bit GEMM. onnxruntime's wasm build
 * runs com.microsoft MatMulNBits in "unpacked compute mode": it dequantizes the weights to fp32 on every
 * call (MLAS has 4-bit kernels for AVX2, AVX-512, NEON, LASX and RVV, never wasm), so a low-bit graph
 * replans slower than fp32 there. Rewriting each MatMulNBits as the fp32 MatMul it computes, in memory,
 * keeps the small file (its download, its hash) and costs a replan what fp32 costs.
 *
 * MatMulNBits (contrib op): Y = A W, W [K, N] stored as B [N, k_blocks, block_size * bits / 8] (codes
 * packed LSB first), scales [N * k_blocks], optional zero points [N, ceil(k_blocks * bits / 8)] packed the
 * same way (default 2^(bits - 1)), optional bias [N]; w[k, n] = (code - zero) * scale of k's block.
 */
import { DataType, type Model, OnnxError, type Tensor } from "../lib/onnx.ts";
import { getAttr, makeNode, makeTensor, tensorFloats } from "../lib/onnx_graph.ts";

/** The fp32 weight [K, N] (row-major) a MatMulNBits node's initializers hold. */
export function dequantizeNBits(
  B: Uint8Array,
  scales: Float32Array,
  zeros: Uint8Array | null,
  o: { K: number; N: number; bits: number; blockSize: number },
): Float32Array {
  const { K, N, bits, blockSize } = o;
  const kBlocks = Math.ceil(K / blockSize), perBlock = blockSize * bits / 8, mask = (1 << bits) - 1;
  const zeroRow = Math.ceil(kBlocks * bits / 8);
  if (B.length !== N * kBlocks * perBlock) {
    throw new OnnxError(
      `MatMulNBits: B holds ${B.length} bytes, not N x k_blocks x ${perBlock} = ${N * kBlocks * perBlock}`,
    );
  }
  if (scales.length !== N * kBlocks) {
    throw new OnnxError(`MatMulNBits: ${scales.length} scales for ${N * kBlocks} blocks`);
  }
  if (zeros && zeros.length !== N * zeroRow) throw new OnnxError(`MatMulNBits: ${zeros.length} zero-point bytes`);
  // A value of `bits` bits at index i of a packed byte row (LSB first; 2, 4 and 8 bits never straddle bytes).
  const code = (bytes: Uint8Array, offset: number, i: number) =>
    (bytes[offset + ((i * bits) >> 3)] >> ((i * bits) & 7)) & mask;
  const W = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let kb = 0; kb < kBlocks; kb++) {
      const s = scales[n * kBlocks + kb];
      const z = zeros ? code(zeros, n * zeroRow, kb) : 1 << (bits - 1);
      const row = (n * kBlocks + kb) * perBlock;
      for (let j = 0; j < blockSize; j++) {
        const k = kb * blockSize + j;
        if (k >= K) break; // padding of the last block
        W[k * N + n] = (code(B, row, j) - z) * s;
      }
    }
  }
  return W;
}

/**
 * Rewrite every MatMulNBits node of `model` as MatMul over its dequantized fp32 weight (+ Add for a bias).
 * Returns how many were rewritten; outputs keep their names, so the rest of the graph is untouched.
 */
export function unpackLowBit(model: Model): number {
  const inits = new Map(model.graph.initializers.map((t) => [t.name ?? "", t]));
  const bytes = (name: string | undefined): Uint8Array | null => {
    if (!name) return null;
    const t = inits.get(name);
    if (!t || t.dataType !== DataType.UINT8 || !t.raw) {
      throw new OnnxError(`MatMulNBits input ${name} is not uint8 data`);
    }
    return t.raw;
  };
  let n = 0;
  const used = new Set<string>();
  model.graph.nodes = model.graph.nodes.flatMap((node) => {
    if (node.opType !== "MatMulNBits" || node.domain !== "com.microsoft") return [node];
    const attr = (k: string) => Number(getAttr(node, k)?.i ?? NaN);
    const o = { K: attr("K"), N: attr("N"), bits: attr("bits"), blockSize: attr("block_size") };
    const [a, b, s, z, gIdx, bias] = node.inputs;
    if (gIdx) throw new OnnxError(`MatMulNBits ${node.name}: g_idx (act-order) layouts are not unpacked`);
    const scaleTensor = inits.get(s);
    if (!scaleTensor) throw new OnnxError(`MatMulNBits ${node.name}: scales ${s} is not an initializer`);
    const w = dequantizeNBits(bytes(b)!, tensorFloats(scaleTensor), bytes(z), o);
    const wName = `${b}/unpacked`;
    model.graph.initializers.push(makeTensor(wName, [o.K, o.N], w));
    for (const x of [b, s, z]) if (x) used.add(x);
    n++;
    const out = node.outputs[0];
    if (!bias) return [makeNode("MatMul", [a, wName], [out], node.name ?? "")];
    return [
      makeNode("MatMul", [a, wName], [`${out}/matmul`], node.name ?? ""),
      makeNode("Add", [`${out}/matmul`, bias], [out], node.name ? `${node.name}/bias` : ""),
    ];
  });
  // The packed tensors are dropped where nothing else reads them.
  const stillRead = new Set(model.graph.nodes.flatMap((x) => x.inputs));
  model.graph.initializers = model.graph.initializers.filter((t: Tensor) =>
    !used.has(t.name ?? "") || stillRead.has(t.name ?? "")
  );
  return n;
}
