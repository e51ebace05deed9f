/**
 * Put quantized layers into a graph, in one of two forms:
 * - "sim": simulated quantization in standard ONNX ops. Weights are stored as
 *   uint8 codes and dequantized by DequantizeLinear (any bit width 2..8);
 *   activations go through a float quantize-dequantize chain
 *   (Div, Round, Add, Clip, Sub, Mul) so 4 and 6-bit activations work too.
 * - "deploy": real low-bit storage. Weight-only layers become com.microsoft
 *   MatMulNBits (2, 4, 8 bits; 3 bits in 4-bit containers); A8 layers become
 *   QuantizeLinear or DynamicQuantizeLinear + MatMulInteger.
 * Each rewritten layer keeps its output name, so the rest of the graph is untouched.
 */
import type { ActSpec } from "./activations.ts";
import { consumers, type Layer, weightMatrix } from "./layers.ts";
import { type Model, type Node } from "../lib/onnx.ts";
import { attrInt, attrInts, makeNode, makeTensor, requireOpset, tensorFloats } from "../lib/onnx_graph.ts";
import { nbitsProblem, toMatMulNBits } from "./pack.ts";
import type { Params, QuantizedWeight, WeightSpec } from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";

export type Format = "sim" | "deploy";

export interface LayerPlan {
  layer: Layer;
  q: QuantizedWeight;
  /** Multiply the input by this per channel first (AWQ, SmoothQuant, OmniQuant). */
  inputScale?: Float32Array;
  /** Subtract this from the input before scaling it (OmniQuant's LET); d W is added to the output. */
  inputShift?: Float32Array;
  act?: { spec: ActSpec; params?: Params };
}

/**
 * Why a layer with `bits`-bit weights in blocks of `block` (K for per-channel
 * and per-tensor) and these activations cannot be deployed, or null when it can.
 */
/**
 * Why a configuration has no real low-bit kernel here (null when it has one), before any layer is seen:
 * weights per channel or in groups, activations as given. The study's grid asks this to decide which of
 * its rows are deployable; layers are checked again one by one (`deployProblem`) when graphs are written.
 */
export function configDeployProblem(
  weight: Pick<WeightSpec, "bits" | "granularity" | "group">,
  act?: ActSpec,
): string | null {
  // Per channel (or tensor), a block is the whole input (K); any K stands for it.
  const K = 1 << 12, block = weight.granularity === "group" ? weight.group! : K;
  return deployProblem(weight.bits, block, K, act);
}

export function deployProblem(bits: number, block: number, K: number, act?: ActSpec): string | null {
  if (!act) return nbitsProblem(bits, block, K);
  if (act.bits !== 8) return `A${act.bits} has no integer kernel here (A8 only)`;
  if (act.mode === "per-token") return "per-token activations have no integer kernel here (per-tensor or dynamic)";
  if (block !== K) return "A8 layers need per-channel or per-tensor weights (MatMulInteger scales per column)";
  return null;
}

class Builder {
  readonly nodes: Node[] = [];
  private n = 0;
  constructor(private model: Model, private prefix: string) {}

  name(what: string): string {
    return `${this.prefix}/${what}_${this.n++}`;
  }

  init(what: string, dims: number[], data: Float32Array | Uint8Array | BigInt64Array): string {
    const name = this.name(what);
    this.model.graph.initializers.push(makeTensor(name, dims, data));
    return name;
  }

  scalar(what: string, v: number): string {
    return this.init(what, [], Float32Array.of(v));
  }

  op(
    opType: string,
    inputs: string[],
    attrs: Parameters<typeof makeNode>[4] = [],
    domain?: string,
    outs = 1,
  ): string[] {
    const outputs = Array.from({ length: outs }, () => this.name(opType));
    this.nodes.push(makeNode(opType, inputs, outputs, this.name(opType + "_node"), attrs, domain));
    return outputs;
  }

  op1(opType: string, inputs: string[], attrs: Parameters<typeof makeNode>[4] = [], domain?: string): string {
    return this.op(opType, inputs, attrs, domain)[0];
  }
}

/**
 * Shift and scale the layer input per channel, (x - d) * scale: folded into a LayerNormalization that feeds
 * only this layer (its gamma and beta), else a Sub and a Mul in the graph.
 */
function scaleInput(model: Model, b: Builder, plan: LayerPlan, readers: Map<string, Node[]>): string {
  const { layer, inputScale, inputShift } = plan;
  if (!inputScale && !inputShift) return layer.input;
  const scale = inputScale ?? new Float32Array(layer.K).fill(1);
  const producer = model.graph.nodes.find((n) => n.outputs[0] === layer.input);
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  if (
    producer?.opType === "LayerNormalization" && (readers.get(layer.input)?.length ?? 0) === 1 &&
    producer.outputs.length === 1
  ) {
    const gamma = inits.get(producer.inputs[1]), beta = inits.get(producer.inputs[2]);
    const private_ = (t: typeof gamma) => t && t.dims.length === 1 && readers.get(t.name!)?.length === 1;
    // A shift needs a beta to fold into.
    if (private_(gamma) && (inputShift ? private_(beta) : !producer.inputs[2] || private_(beta))) {
      const g = tensorFloats(gamma!);
      for (let k = 0; k < g.length; k++) g[k] *= scale[k];
      Object.assign(gamma!, makeTensor(gamma!.name!, gamma!.dims, g));
      if (beta) {
        const v = tensorFloats(beta);
        for (let k = 0; k < v.length; k++) v[k] = (v[k] - (inputShift ? inputShift[k] : 0)) * scale[k];
        Object.assign(beta, makeTensor(beta.name!, beta.dims, v));
      }
      return layer.input;
    }
  }
  const shifted = inputShift ? b.op1("Sub", [layer.input, b.init("input_shift", [layer.K], inputShift)]) : layer.input;
  return inputScale ? b.op1("Mul", [shifted, b.init("input_scale", [layer.K], inputScale)]) : shifted;
}

/** d W [N]: what a layer whose input was shifted by d adds back to its output (the float weight's). */
function shiftOutput(plan: LayerPlan): Float32Array {
  const w = weightMatrix(plan.layer), d = plan.inputShift!, N = plan.layer.N, out = new Float32Array(N);
  for (let k = 0; k < plan.layer.K; k++) for (let n = 0; n < N; n++) out[n] += d[k] * w.data[k * N + n];
  return out;
}

function reduceAttrs(
  model: Model,
  axes: number[] | null,
): { attrs: ReturnType<typeof attrInt>[]; axesInput?: number[] } {
  const opset = model.opsetImport.find((o) => (o.domain ?? "") === "")!.version;
  const keep = attrInt("keepdims", axes ? 1 : 0);
  if (!axes) return { attrs: [keep] };
  return opset >= 18 ? { attrs: [keep], axesInput: axes } : { attrs: [keep, attrInts("axes", axes)] };
}

/** x -> dequantize(quantize(x)) with unsigned asymmetric codes. */
function fakeQuant(model: Model, b: Builder, x: string, act: NonNullable<LayerPlan["act"]>): string {
  const qmax = 2 ** act.spec.bits - 1;
  const zero = b.scalar("zero", 0), top = b.scalar("qmax", qmax);
  let s: string, z: string;
  if (act.spec.mode === "per-tensor") {
    if (!act.params) throw new QuantError("per-tensor activations need calibrated params");
    s = b.scalar("act_scale", act.params.scale);
    z = b.scalar("act_zero", act.params.zero);
  } else {
    const { attrs, axesInput } = reduceAttrs(model, act.spec.mode === "per-token" ? [-1] : null);
    const extra = axesInput ? [b.init("axes", [1], BigInt64Array.from(axesInput, BigInt))] : [];
    const lo = b.op1("Min", [b.op1("ReduceMin", [x, ...extra], attrs), zero]);
    const hi = b.op1("Max", [b.op1("ReduceMax", [x, ...extra], attrs), zero]);
    s = b.op1("Max", [b.op1("Div", [b.op1("Sub", [hi, lo]), top]), b.scalar("tiny", 1e-30)]);
    z = b.op1("Clip", [b.op1("Round", [b.op1("Div", [b.op1("Neg", [lo]), s])]), zero, top]);
  }
  const q = b.op1("Clip", [b.op1("Add", [b.op1("Round", [b.op1("Div", [x, s])]), z]), zero, top]);
  return b.op1("Mul", [b.op1("Sub", [q, z]), s]);
}

/** The dequantized weight [K, N] as a DequantizeLinear subgraph over uint8 codes. */
function dequantizedWeight(b: Builder, q: QuantizedWeight): string {
  const { K, N, block } = q;
  const nb = K / block;
  // Codes laid out [block, nb * N], so that one scale per column is one scale per group
  // (per-channel: nb = 1; per-tensor: equal scales). The reshape chain back to [K, N] also
  // keeps onnxruntime-node from fusing DequantizeLinear into the MatMul, which it gets
  // wrong for per-axis weights (measured: errors of 1e-2 against ort-web and the twin).
  const codes = new Uint8Array(K * N);
  for (let g = 0; g < nb; g++) {
    for (let j = 0; j < block; j++) {
      for (let n = 0; n < N; n++) codes[j * nb * N + g * N + n] = q.codes[(g * block + j) * N + n];
    }
  }
  const dq = b.op1("DequantizeLinear", [
    b.init("codes", [block, nb * N], codes),
    b.init("scale", [nb * N], q.scales),
    b.init("zero", [nb * N], q.zeros),
  ], [attrInt("axis", 1)]);
  const shape = (dims: number[]) => b.init("shape", [dims.length], BigInt64Array.from(dims, BigInt));
  const t = b.op1("Transpose", [b.op1("Reshape", [dq, shape([block, nb, N])])], [attrInts("perm", [1, 0, 2])]);
  return b.op1("Reshape", [t, shape([K, N])]);
}

/** Quantize the planned layers of `model` in place. */
export function rewriteLayers(model: Model, plans: LayerPlan[], format: Format): void {
  const readers = consumers(model);
  for (const plan of plans) {
    if (format === "deploy") {
      const why = deployProblem(plan.q.bits, plan.q.block, plan.q.K, plan.act?.spec);
      if (why) throw new QuantError(`${plan.layer.name}: cannot deploy: ${why}; use --format sim`);
    }
    const { layer, q } = plan;
    const b = new Builder(model, `${layer.name}/quant`);
    let x = scaleInput(model, b, plan, readers);
    let y: string;
    if (format === "sim") {
      if (plan.act) x = fakeQuant(model, b, x, plan.act);
      y = b.op1("MatMul", [x, dequantizedWeight(b, q)]);
    } else if (plan.act) {
      // Integer GEMM: (xq - xz)(wq - wz) summed in int32, then one float rescale per column.
      const wq = b.init("codes", [q.K, q.N], q.codes), wz = b.init("zero", [q.N], q.zeros);
      let acc: string, colScale: string;
      if (plan.act.spec.mode === "dynamic") {
        const [xq, xs, xz] = b.op("DynamicQuantizeLinear", [x], [], undefined, 3);
        acc = b.op1("Mul", [b.op1("Cast", [b.op1("MatMulInteger", [xq, wq, xz, wz])], [attrInt("to", 1)]), xs]);
        colScale = b.init("scale", [q.N], q.scales);
      } else {
        const p = plan.act.params!;
        const xz = b.init("act_zero", [], Uint8Array.of(p.zero));
        const xq = b.op1("QuantizeLinear", [x, b.scalar("act_scale", p.scale), xz]);
        acc = b.op1("Cast", [b.op1("MatMulInteger", [xq, wq, xz, wz])], [attrInt("to", 1)]);
        colScale = b.init("scale", [q.N], q.scales.map((s) => s * p.scale));
      }
      y = b.op1("Mul", [acc, colScale]);
    } else {
      const w = toMatMulNBits(q);
      requireOpset(model, "com.microsoft", 1);
      y = b.op1(
        "MatMulNBits",
        [
          x,
          b.init("B", [w.N, w.kBlocks, w.blockSize * w.bits / 8], w.B),
          b.init("scales", [w.N * w.kBlocks], w.scales),
          b.init("zero_points", [w.zeros.length], w.zeros),
        ],
        [attrInt("K", w.K), attrInt("N", w.N), attrInt("bits", w.bits), attrInt("block_size", w.blockSize)],
        "com.microsoft",
      );
    }
    if (plan.inputShift) y = b.op1("Add", [y, b.init("shift_out", [layer.N], shiftOutput(plan))]);
    if (layer.bias) y = b.op1("Add", [y, layer.bias]);
    // The last node writes the original output name.
    const last = b.nodes[b.nodes.length - 1];
    last.outputs[0] = layer.node.outputs[0];
    const at = model.graph.nodes.indexOf(layer.node);
    model.graph.nodes.splice(at, 1, ...b.nodes);
    const stillUsed = model.graph.nodes.some((n) => n.inputs.includes(layer.weight.name!));
    if (!stillUsed) model.graph.initializers = model.graph.initializers.filter((t) => t !== layer.weight);
  }
}
