/**
 * Building and editing ONNX graphs in memory (lib/onnx.ts decodes and encodes them): float tensors in and
 * out, attributes, nodes, value infos, opset checks and deep copies. The quantizer's rewrites and the
 * patch-embedding rewrite are written with these.
 */
import {
  type Attribute,
  DataType,
  decodeModel,
  encodeModel,
  type Model,
  type Node,
  OnnxError,
  type Tensor,
  type ValueInfo,
} from "./onnx.ts";
import { Writer } from "./protobuf.ts";

/** A float32 tensor's values, from raw_data or float_data. */
export function tensorFloats(t: Tensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new OnnxError(`tensor ${t.name}: data type ${t.dataType} is not float32`);
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.raw) {
    if (t.raw.length !== n * 4) throw new OnnxError(`tensor ${t.name}: ${t.raw.length} raw bytes for ${n} floats`);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(t.raw);
    return out;
  }
  if (t.floatData?.length === n) return Float32Array.from(t.floatData);
  throw new OnnxError(`tensor ${t.name}: no data for ${n} floats`);
}

/** An initializer from typed data; the bytes are stored little-endian in raw_data. */
export function makeTensor(
  name: string,
  dims: number[],
  data: Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array,
): Tensor {
  const dataType = data instanceof Float32Array
    ? DataType.FLOAT
    : data instanceof Uint8Array
    ? DataType.UINT8
    : data instanceof Int8Array
    ? DataType.INT8
    : data instanceof Int32Array
    ? DataType.INT32
    : DataType.INT64;
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new OnnxError(`tensor ${name}: dims ${dims} hold ${n} values, got ${data.length}`);
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims: [...dims], dataType, raw, rest: [] };
}

export function attrInt(name: string, i: number): Attribute {
  return { name, i, type: 2, rest: [] };
}

export function attrInts(name: string, ints: number[]): Attribute {
  return { name, ints, type: 7, rest: [] };
}

export function attrFloat(name: string, f: number): Attribute {
  return { name, f, type: 1, rest: [] };
}

export function getAttr(n: Node, name: string): Attribute | undefined {
  return n.attributes.find((a) => a.name === name);
}

/** A value info naming a tensor of the given element type and unknown shape. */
export function makeValueInfo(name: string, elemType: number = DataType.FLOAT): ValueInfo {
  const tensorType = new Writer().varint(1, elemType).finish();
  const typeProto = new Writer().bytes(1, tensorType).finish();
  return { name, rest: [{ num: 2, wire: 2, bytes: typeProto }] };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: Attribute[] = [],
  domain?: string,
): Node {
  return { opType, inputs, outputs, name, attributes, domain, rest: [] };
}

/** Make sure the model imports `domain` (e.g. com.microsoft) at `version` or later. */
export function requireOpset(m: Model, domain: string, version: number): void {
  const op = m.opsetImport.find((o) => (o.domain ?? "") === domain);
  if (!op) m.opsetImport.push({ domain, version });
  else if (op.version < version) op.version = version;
}

/** A deep copy (the model is plain data plus byte arrays shared read-only). */
export function cloneModel(m: Model): Model {
  return decodeModel(encodeModel(m));
}
