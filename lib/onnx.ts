/**
 * ONNX models as plain objects: decode from and encode to the protobuf bytes
 * of onnx.proto (ModelProto and what a graph rewrite touches).
 *
 * Fields this module does not model (subgraphs, sparse tensors, training info,
 * shapes inside value infos, ...) are carried as raw fields, and every message
 * is written in field-number order, as protobuf's C++ serializer does: files
 * written by PyTorch or onnx round-trip byte for byte.
 */
import { UserError } from "./errors.ts";
import { type Field, floats, int64, int64s, ProtobufError, readFields, str, Writer } from "./protobuf.ts";

export class OnnxError extends UserError {
  override name = "OnnxError";
}

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

export interface Tensor {
  name?: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  rest: Field[];
}

export interface Attribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  rest: Field[];
}

export interface Node {
  inputs: string[];
  outputs: string[];
  name?: string;
  opType: string;
  domain?: string;
  attributes: Attribute[];
  rest: Field[];
}

/** A graph input/output/value_info; only the name is modelled, the type stays raw. */
export interface ValueInfo {
  name: string;
  rest: Field[];
}

export interface Graph {
  nodes: Node[];
  name?: string;
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
  rest: Field[];
}

export interface OpsetId {
  domain?: string;
  version: number;
}

export interface Model {
  irVersion?: number;
  opsetImport: OpsetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: Graph;
  metadataProps: { key: string; value: string }[];
  rest: Field[];
}

// ---------------------------------------------------------------- decoding

function decodeTensor(buf: Uint8Array): Tensor {
  const fs = readFields(buf);
  const t: Tensor = { dims: int64s(fs, 1), dataType: 0, rest: [] };
  for (const f of fs) {
    if (f.num === 1) continue;
    else if (f.num === 2) t.dataType = int64(f);
    else if (f.num === 8) t.name = str(f);
    else if (f.num === 9) t.raw = f.bytes!;
    else if (f.num === 4 || f.num === 5 || f.num === 7) continue;
    else if (f.num === 14 && int64(f) === 1) {
      throw new OnnxError(`tensor ${t.name ?? ""} keeps its data in an external file`);
    } else t.rest.push(f);
  }
  if (fs.some((f) => f.num === 4)) t.floatData = floats(fs, 4);
  if (fs.some((f) => f.num === 5)) t.int32Data = int64s(fs, 5);
  if (fs.some((f) => f.num === 7)) t.int64Data = int64s(fs, 7);
  return t;
}

function decodeAttribute(buf: Uint8Array): Attribute {
  const fs = readFields(buf);
  const a: Attribute = { name: "", rest: [] };
  for (const f of fs) {
    if (f.num === 1) a.name = str(f);
    else if (f.num === 20) a.type = int64(f);
    else if (f.num === 2) a.f = floats([f], 2)[0];
    else if (f.num === 3) a.i = int64(f);
    else if (f.num === 4) a.s = f.bytes!;
    else if (f.num === 7 || f.num === 8) continue;
    else a.rest.push(f);
  }
  if (fs.some((f) => f.num === 7)) a.floats = floats(fs, 7);
  if (fs.some((f) => f.num === 8)) a.ints = int64s(fs, 8);
  return a;
}

function decodeNode(buf: Uint8Array): Node {
  const n: Node = { inputs: [], outputs: [], opType: "", attributes: [], rest: [] };
  for (const f of readFields(buf)) {
    if (f.num === 1) n.inputs.push(str(f));
    else if (f.num === 2) n.outputs.push(str(f));
    else if (f.num === 3) n.name = str(f);
    else if (f.num === 4) n.opType = str(f);
    else if (f.num === 5) n.attributes.push(decodeAttribute(f.bytes!));
    else if (f.num === 7) n.domain = str(f);
    else n.rest.push(f);
  }
  return n;
}

function decodeValueInfo(buf: Uint8Array): ValueInfo {
  const v: ValueInfo = { name: "", rest: [] };
  for (const f of readFields(buf)) {
    if (f.num === 1) v.name = str(f);
    else v.rest.push(f);
  }
  return v;
}

function decodeGraph(buf: Uint8Array): Graph {
  const g: Graph = { nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], rest: [] };
  for (const f of readFields(buf)) {
    if (f.num === 1) g.nodes.push(decodeNode(f.bytes!));
    else if (f.num === 2) g.name = str(f);
    else if (f.num === 5) g.initializers.push(decodeTensor(f.bytes!));
    else if (f.num === 11) g.inputs.push(decodeValueInfo(f.bytes!));
    else if (f.num === 12) g.outputs.push(decodeValueInfo(f.bytes!));
    else if (f.num === 13) g.valueInfo.push(decodeValueInfo(f.bytes!));
    else g.rest.push(f);
  }
  return g;
}

/** Parse an ONNX file. Anything that is not a ModelProto with a graph throws `OnnxError`. */
export function decodeModel(buf: Uint8Array): Model {
  try {
    const m: Model = { opsetImport: [], metadataProps: [], rest: [], graph: undefined as unknown as Graph };
    for (const f of readFields(buf)) {
      if (f.num === 1) m.irVersion = int64(f);
      else if (f.num === 2) m.producerName = str(f);
      else if (f.num === 3) m.producerVersion = str(f);
      else if (f.num === 4) m.domain = str(f);
      else if (f.num === 5) m.modelVersion = int64(f);
      else if (f.num === 6) m.docString = str(f);
      else if (f.num === 7) m.graph = decodeGraph(f.bytes!);
      else if (f.num === 8) {
        const op: OpsetId = { version: 0 };
        for (const g of readFields(f.bytes!)) {
          if (g.num === 1) op.domain = str(g);
          else if (g.num === 2) op.version = int64(g);
        }
        m.opsetImport.push(op);
      } else if (f.num === 14) {
        const kv = { key: "", value: "" };
        for (const g of readFields(f.bytes!)) {
          if (g.num === 1) kv.key = str(g);
          else if (g.num === 2) kv.value = str(g);
        }
        m.metadataProps.push(kv);
      } else m.rest.push(f);
    }
    if (!m.graph) throw new OnnxError("no graph");
    if (m.opsetImport.length === 0) throw new OnnxError("no opset_import");
    return m;
  } catch (e) {
    if (e instanceof ProtobufError || e instanceof OnnxError || e instanceof RangeError) {
      throw new OnnxError(`not a valid ONNX model: ${(e as Error).message}`);
    }
    throw e;
  }
}

// ---------------------------------------------------------------- encoding

type Entry = [num: number, write: (w: Writer) => void];

/** Write entries in field-number order (stable, so repeated fields keep theirs). */
function emit(entries: Entry[], rest: Field[]): Uint8Array {
  const all: Entry[] = [...entries, ...rest.map((f): Entry => [f.num, (w) => w.field(f)])];
  all.sort((a, b) => a[0] - b[0]);
  const w = new Writer();
  for (const [, write] of all) write(w);
  return w.finish();
}

function encodeTensor(t: Tensor): Uint8Array {
  const e: Entry[] = [];
  for (const d of t.dims) e.push([1, (w) => w.varint(1, d)]);
  e.push([2, (w) => w.varint(2, t.dataType)]);
  if (t.floatData) e.push([4, (w) => w.packedFloats(4, t.floatData!)]);
  if (t.int32Data) e.push([5, (w) => w.packedVarints(5, t.int32Data!)]);
  if (t.int64Data) e.push([7, (w) => w.packedVarints(7, t.int64Data!)]);
  if (t.name !== undefined) e.push([8, (w) => w.string(8, t.name!)]);
  if (t.raw) e.push([9, (w) => w.bytes(9, t.raw!)]);
  return emit(e, t.rest);
}

function encodeAttribute(a: Attribute): Uint8Array {
  const e: Entry[] = [[1, (w) => w.string(1, a.name)]];
  if (a.f !== undefined) e.push([2, (w) => w.float(2, a.f!)]);
  if (a.i !== undefined) e.push([3, (w) => w.varint(3, a.i!)]);
  if (a.s !== undefined) e.push([4, (w) => w.bytes(4, a.s!)]);
  for (const x of a.floats ?? []) e.push([7, (w) => w.float(7, x)]);
  for (const x of a.ints ?? []) e.push([8, (w) => w.varint(8, x)]);
  if (a.type !== undefined) e.push([20, (w) => w.varint(20, a.type!)]);
  return emit(e, a.rest);
}

function encodeNode(n: Node): Uint8Array {
  const e: Entry[] = [];
  for (const x of n.inputs) e.push([1, (w) => w.string(1, x)]);
  for (const x of n.outputs) e.push([2, (w) => w.string(2, x)]);
  if (n.name !== undefined) e.push([3, (w) => w.string(3, n.name!)]);
  e.push([4, (w) => w.string(4, n.opType)]);
  for (const a of n.attributes) e.push([5, (w) => w.bytes(5, encodeAttribute(a))]);
  if (n.domain !== undefined) e.push([7, (w) => w.string(7, n.domain!)]);
  return emit(e, n.rest);
}

function encodeValueInfo(v: ValueInfo): Uint8Array {
  return emit([[1, (w) => w.string(1, v.name)]], v.rest);
}

function encodeGraph(g: Graph): Uint8Array {
  const e: Entry[] = [];
  for (const n of g.nodes) e.push([1, (w) => w.bytes(1, encodeNode(n))]);
  if (g.name !== undefined) e.push([2, (w) => w.string(2, g.name!)]);
  for (const t of g.initializers) e.push([5, (w) => w.bytes(5, encodeTensor(t))]);
  for (const v of g.inputs) e.push([11, (w) => w.bytes(11, encodeValueInfo(v))]);
  for (const v of g.outputs) e.push([12, (w) => w.bytes(12, encodeValueInfo(v))]);
  for (const v of g.valueInfo) e.push([13, (w) => w.bytes(13, encodeValueInfo(v))]);
  return emit(e, g.rest);
}

export function encodeModel(m: Model): Uint8Array {
  const e: Entry[] = [];
  if (m.irVersion !== undefined) e.push([1, (w) => w.varint(1, m.irVersion!)]);
  if (m.producerName !== undefined) e.push([2, (w) => w.string(2, m.producerName!)]);
  if (m.producerVersion !== undefined) e.push([3, (w) => w.string(3, m.producerVersion!)]);
  if (m.domain !== undefined) e.push([4, (w) => w.string(4, m.domain!)]);
  if (m.modelVersion !== undefined) e.push([5, (w) => w.varint(5, m.modelVersion!)]);
  if (m.docString !== undefined) e.push([6, (w) => w.string(6, m.docString!)]);
  e.push([7, (w) => w.bytes(7, encodeGraph(m.graph))]);
  for (const op of m.opsetImport) {
    const sub = new Writer();
    if (op.domain !== undefined) sub.string(1, op.domain);
    sub.varint(2, op.version);
    const b = sub.finish();
    e.push([8, (w) => w.bytes(8, b)]);
  }
  for (const kv of m.metadataProps) {
    const b = new Writer().string(1, kv.key).string(2, kv.value).finish();
    e.push([14, (w) => w.bytes(14, b)]);
  }
  return emit(e, m.rest);
}
