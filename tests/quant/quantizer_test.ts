import assert from "node:assert/strict";
import { matrix } from "../../quant/matrix.ts";
import { packBits, toMatMulNBits, unpackBits } from "../../quant/pack.ts";
import {
  checkSpec,
  dequantize,
  mse,
  omseClip,
  quantizeWeight,
  roundEven,
  type WeightSpec,
} from "../../quant/quantizer.ts";
import { QuantError } from "../../quant/quant_error.ts";
import { decodeModel } from "../../lib/onnx.ts";
import { findLayers, weightMatrix } from "../../quant/layers.ts";
import { Rng } from "../../lib/rng.ts";
import { assertSameArray } from "../_helpers.ts";
import { randn } from "../_onnx_graphs.ts";

/** Reference fake quantization, written apart from quant/: one group of values at a time. */
function referenceGroup(values: number[], bits: number, symmetric: boolean): number[] {
  const rhe = (v: number) => {
    const f = Math.floor(v), d = v - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
  };
  if (symmetric) {
    const m = Math.max(...values.map(Math.abs));
    const scale = Math.fround(m > 0 ? m / (2 ** (bits - 1) - 1) : 1);
    return values.map((v) => Math.max(-(2 ** (bits - 1)), Math.min(2 ** (bits - 1) - 1, rhe(v / scale))) * scale);
  }
  const lo = Math.min(0, ...values), hi = Math.max(0, ...values);
  const scale = Math.fround(hi > lo ? (hi - lo) / (2 ** bits - 1) : 1);
  const zp = Math.max(0, Math.min(2 ** bits - 1, rhe(-lo / scale)));
  return values.map((v) => (Math.max(0, Math.min(2 ** bits - 1, rhe(v / scale) + zp)) - zp) * scale);
}

function reference(w: Float32Array, K: number, N: number, spec: WeightSpec): Float32Array {
  const out = new Float32Array(K * N);
  if (spec.granularity === "tensor") {
    const r = referenceGroup(Array.from(w), spec.bits, spec.symmetric);
    out.set(r);
    return out;
  }
  const g = spec.granularity === "group" ? spec.group! : K;
  for (let n = 0; n < N; n++) {
    for (let k0 = 0; k0 < K; k0 += g) {
      const idx = Array.from({ length: g }, (_, j) => (k0 + j) * N + n);
      referenceGroup(idx.map((i) => w[i]), spec.bits, spec.symmetric).forEach((v, j) => (out[idx[j]] = v));
    }
  }
  return out;
}

Deno.test("roundEven rounds halves to even, like ONNX", () => {
  assert.deepEqual([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6].map(roundEven), [-2, -2, -0, 0, 2, 2, 2, -3]);
});

Deno.test("quantize: a hand-worked 2-bit asymmetric example", () => {
  const q = quantizeWeight(matrix(Float32Array.of(-1.5, 0, 0.5, 1.5), 4, 1), {
    bits: 2,
    granularity: "tensor",
    symmetric: false,
  });
  // scale 3/3 = 1, zero point round(1.5) = 2 (half to even); codes: -1.5 -> -2 + 2 = 0, 0 -> 2,
  // 0.5 -> 0 + 2 = 2 (half to even), 1.5 -> 2 + 2 = 4, clamped to 3.
  assert.deepEqual(Array.from(q.codes), [0, 2, 2, 3]);
  assert.equal(q.zeros[0], 2);
  assertSameArray(dequantize(q).data, Float32Array.of(-2, 0, 0, 1));
});

Deno.test("quantize/dequantize matches the reference for bits 2..8, every granularity, sym and asym", () => {
  const rng = new Rng(7);
  const K = 64, N = 24;
  const w = randn(rng, K * N, 0.2);
  for (let i = 0; i < 10; i++) w[rng.int(K * N)] *= 8; // outliers
  for (let bits = 2; bits <= 8; bits++) {
    for (const symmetric of [false, true]) {
      for (
        const spec of [
          { bits, symmetric, granularity: "tensor" },
          { bits, symmetric, granularity: "channel" },
          { bits, symmetric, granularity: "group", group: 16 },
          { bits, symmetric, granularity: "group", group: 32 },
        ] as WeightSpec[]
      ) {
        const q = quantizeWeight(matrix(w, K, N), spec);
        const got = dequantize(q).data, want = reference(w, K, N, spec);
        for (let i = 0; i < got.length; i++) {
          assert.ok(
            Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])),
            `${JSON.stringify(spec)} at ${i}: ${got[i]} vs ${want[i]}`,
          );
        }
        assert.ok(Math.max(...q.codes) < 2 ** bits, "codes fit in the bit width");
      }
    }
  }
});

Deno.test("quantize: error shrinks with bits and with smaller groups", () => {
  const rng = new Rng(8);
  const w = randn(rng, 128 * 32);
  let last = Infinity;
  for (let bits = 2; bits <= 8; bits++) {
    const e = mse(
      w,
      dequantize(quantizeWeight(matrix(w, 128, 32), { bits, granularity: "channel", symmetric: false })).data,
    );
    assert.ok(e < last, `${bits} bits: ${e} >= ${last}`);
    last = e;
  }
  const e = (group?: number) =>
    mse(
      w,
      dequantize(
        quantizeWeight(matrix(w, 128, 32), {
          bits: 3,
          granularity: group ? "group" : "channel",
          group,
          symmetric: false,
        }),
      ).data,
    );
  assert.ok(e(16) < e(64) && e(64) < e());
});

Deno.test("quantize: bits outside 2..8 and groups that do not divide K are errors", () => {
  const w = new Float32Array(96 * 8);
  for (const bits of [1, 9, 0, 4.5]) {
    assert.throws(
      () => quantizeWeight(matrix(w, 96, 8), { bits, granularity: "channel", symmetric: false }),
      QuantError,
    );
  }
  assert.throws(
    () => quantizeWeight(matrix(w, 96, 8), { bits: 4, granularity: "group", group: 64, symmetric: false }),
    /group size 64 does not divide the 96 inputs/,
  );
  assert.equal(checkSpec({ bits: 4, granularity: "group", group: 32, symmetric: false }, 96), 32);
});

Deno.test("OMSE: its clipping range beats min/max in MSE", () => {
  const rng = new Rng(9);
  // Heavy-tailed weights (Laplace) plus the committed encoder's first MLP layer.
  const lap = Float32Array.from({ length: 96 * 64 }, () => {
    const u = rng.uniform(-0.5, 0.5);
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u)) * 0.1;
  });
  const enc = findLayers(decodeModel(Deno.readFileSync("models/wall/fp32/encoder.onnx")));
  const fc1 = enc.find((l) => l.name.includes("fc1"))!;
  for (const [w, K, N] of [[lap, 96, 64], [weightMatrix(fc1).data, fc1.K, fc1.N]] as const) {
    for (const bits of [2, 3, 4]) {
      for (const granularity of ["channel", "tensor"] as const) {
        const spec: WeightSpec = { bits, granularity, symmetric: false };
        const minmax = mse(w, dequantize(quantizeWeight(matrix(w, K, N), spec)).data);
        const omse = mse(w, dequantize(quantizeWeight(matrix(w, K, N), spec, omseClip(matrix(w, K, N), spec))).data);
        assert.ok(omse <= minmax, `W${bits} ${granularity}: ${omse} > ${minmax}`);
        if (bits <= 3) assert.ok(omse < 0.95 * minmax, `W${bits} ${granularity}: OMSE gains under 5%`);
      }
    }
  }
});

Deno.test("pack/unpack round-trips every bit width, LSB first", () => {
  const rng = new Rng(10);
  for (let bits = 1; bits <= 8; bits++) {
    for (const n of [1, 7, 64, 1001]) {
      const v = Uint8Array.from({ length: n }, () => rng.int(2 ** bits));
      const packed = packBits(v, bits);
      assert.equal(packed.length, Math.ceil(n * bits / 8));
      assertSameArray(unpackBits(packed, bits, n), v, `${bits} bits x ${n}`);
    }
  }
  assert.deepEqual(Array.from(packBits([1, 2, 3, 4], 4)), [0x21, 0x43]);
  assert.deepEqual(Array.from(packBits([1, 2, 3, 0], 2)), [0b00111001]);
  assert.throws(() => packBits([16], 4), QuantError);
});

Deno.test("MatMulNBits layout: codes per output row and block, zero points packed per row", () => {
  const rng = new Rng(11);
  const K = 96, N = 5;
  const w = randn(rng, K * N);
  for (const [bits, container] of [[2, 2], [3, 4], [4, 4], [8, 8]]) {
    const q = quantizeWeight(matrix(w, K, N), { bits, granularity: "group", group: 32, symmetric: false });
    const nb = toMatMulNBits(q);
    assert.equal(nb.bits, container);
    assert.equal(nb.kBlocks, 3);
    const codes = unpackBits(nb.B, container, N * K);
    const zeros = Math.ceil(3 * container / 8);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) assert.equal(codes[n * K + k], q.codes[k * N + n]);
      const z = unpackBits(nb.zeros.subarray(n * zeros, (n + 1) * zeros), container, 3);
      for (let b = 0; b < 3; b++) {
        assert.equal(z[b], q.zeros[b * N + n]);
        assert.equal(nb.scales[n * 3 + b], q.scales[b * N + n]);
      }
    }
  }
  // Per-channel, K = 384: blocks of 256, the last one padded with the zero point.
  const q = quantizeWeight(matrix(randn(rng, 384 * 3), 384, 3), { bits: 4, granularity: "channel", symmetric: true });
  const nb = toMatMulNBits(q);
  assert.equal(nb.blockSize, 256);
  assert.equal(nb.kBlocks, 2);
  assert.equal(unpackBits(nb.B, 4, 3 * 512)[511], q.zeros[0]);
  assert.throws(() => toMatMulNBits({ ...q, bits: 6 }), /use --format sim/);
});
