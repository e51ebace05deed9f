/**
 * Protocol-buffer wire format, just enough to read and write ONNX files.
 *
 * A message is read as a flat list of fields in file order. Typed decoders
 * (see `onnx.ts`) pick the fields they know and keep the rest as raw fields,
 * so a parse -> write round trip loses nothing.
 */

export class ProtobufError extends Error {
  override name = "ProtobufError";
}

export const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5;

export interface Field {
  num: number;
  wire: number;
  /** varint: the unsigned 64-bit value; i64/i32/len: the raw bytes. */
  varint?: bigint;
  bytes?: Uint8Array;
}

/** Split one message's bytes into its fields. */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new ProtobufError(`field runs past the end (${pos}+${n} > ${buf.length})`);
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = varint();
    const num = Number(key >> 3n), wire = Number(key & 7n);
    if (num === 0) throw new ProtobufError(`field number 0 at byte ${pos}`);
    if (wire === WIRE_VARINT) fields.push({ num, wire, varint: varint() });
    else if (wire === WIRE_I64) fields.push({ num, wire, bytes: take(8) });
    else if (wire === WIRE_I32) fields.push({ num, wire, bytes: take(4) });
    else if (wire === WIRE_LEN) fields.push({ num, wire, bytes: take(Number(varint())) });
    else throw new ProtobufError(`unsupported wire type ${wire} (field ${num})`);
  }
  return fields;
}

/** Signed int64 from a varint field. */
export function int64(f: Field): number {
  return Number(BigInt.asIntN(64, f.varint!));
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
export function str(f: Field): string {
  return utf8.decode(f.bytes!);
}

export function float32(f: Field): number {
  return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 4).getFloat32(0, true);
}

/** Repeated int64 field values, packed or not, in order. */
export function int64s(fields: Field[], num: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.num !== num) continue;
    if (f.wire === WIRE_VARINT) out.push(int64(f));
    else if (f.wire === WIRE_LEN) {
      for (const g of readPackedVarints(f.bytes!)) out.push(Number(BigInt.asIntN(64, g)));
    }
  }
  return out;
}

/** Repeated float field values, packed or not, in order. */
export function floats(fields: Field[], num: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.num !== num) continue;
    if (f.wire === WIRE_I32) out.push(float32(f));
    else if (f.wire === WIRE_LEN) {
      const dv = new DataView(f.bytes!.buffer, f.bytes!.byteOffset, f.bytes!.length);
      for (let i = 0; i + 4 <= f.bytes!.length; i += 4) out.push(dv.getFloat32(i, true));
    }
  }
  return out;
}

function readPackedVarints(buf: Uint8Array): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let v = 0n, shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new ProtobufError("truncated packed varint");
      const b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    out.push(v);
  }
  return out;
}

/** Builds one message. Fields are written in the order they are added. */
export class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array) {
    this.chunks.push(b);
    this.size += b.length;
  }

  private rawVarint(v: bigint) {
    v = BigInt.asUintN(64, v);
    const tmp: number[] = [];
    while (v >= 0x80n) {
      tmp.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    tmp.push(Number(v));
    this.push(Uint8Array.from(tmp));
  }

  private key(num: number, wire: number) {
    this.rawVarint(BigInt(num) << 3n | BigInt(wire));
  }

  varint(num: number, v: number | bigint): this {
    this.key(num, WIRE_VARINT);
    this.rawVarint(typeof v === "bigint" ? v : BigInt(Math.trunc(v)));
    return this;
  }

  bytes(num: number, b: Uint8Array): this {
    this.key(num, WIRE_LEN);
    this.rawVarint(BigInt(b.length));
    this.push(b);
    return this;
  }

  string(num: number, s: string): this {
    return this.bytes(num, new TextEncoder().encode(s));
  }

  float(num: number, x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.key(num, WIRE_I32);
    this.push(b);
    return this;
  }

  packedFloats(num: number, xs: ArrayLike<number>): this {
    const b = new Uint8Array(xs.length * 4), dv = new DataView(b.buffer);
    for (let i = 0; i < xs.length; i++) dv.setFloat32(i * 4, xs[i], true);
    return this.bytes(num, b);
  }

  packedVarints(num: number, xs: ArrayLike<number>): this {
    const w = new Writer();
    for (let i = 0; i < xs.length; i++) w.rawVarint(BigInt(xs[i]));
    return this.bytes(num, w.finish());
  }

  /** Copy a field read by `readFields` unchanged. */
  field(f: Field): this {
    if (f.wire === WIRE_VARINT) return this.varint(f.num, f.varint!);
    if (f.wire === WIRE_LEN) return this.bytes(f.num, f.bytes!);
    this.key(f.num, f.wire);
    this.push(f.bytes!);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
