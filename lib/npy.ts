/**
 * NumPy `.npy` (format 1.0) files: a header naming dtype and shape, then
 * C-ordered little-endian data. `NpyWriter` streams rows so datasets larger
 * than memory can be written, and can reopen a partial file to resume.
 */
import { UserError } from "./errors.ts";
export type NpyDtype = "u1" | "f4";
type NpyArray = Uint8Array | Float32Array;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0];

export class NpyError extends UserError {
  override name = "NpyError";
}

/** The header bytes (magic, version, length, dict padded to 64 bytes). */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${dtype === "u1" ? "|u1" : "<f4"}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  dict += " ".repeat(pad % 64) + "\n";
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC);
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), 10);
  return out;
}

function bytesOf(a: NpyArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Write a whole array. */
export function writeNpy(path: string, dtype: NpyDtype, shape: readonly number[], data: NpyArray): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new NpyError(`${path}: shape ${shape} needs ${n} values, got ${data.length}`);
  const h = npyHeader(dtype, shape);
  const out = new Uint8Array(h.length + data.byteLength);
  out.set(h);
  out.set(bytesOf(data), h.length);
  Deno.writeFileSync(path, out);
}

/** Read an array written as u1 or f4 (little-endian, C order). */
export function readNpy(path: string): { dtype: NpyDtype; shape: number[]; data: NpyArray } {
  const bytes = Deno.readFileSync(path);
  for (let i = 0; i < 6; i++) if (bytes[i] !== MAGIC[i]) throw new NpyError(`${path}: not a .npy file`);
  const hlen = new DataView(bytes.buffer).getUint16(8, true);
  const dict = new TextDecoder().decode(bytes.subarray(10, 10 + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(dict)?.[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s)
    .map(Number);
  const body = bytes.slice(10 + hlen);
  if (descr === "|u1") return { dtype: "u1", shape, data: body };
  if (descr === "<f4") return { dtype: "f4", shape, data: new Float32Array(body.buffer, 0, body.byteLength / 4) };
  throw new NpyError(`${path}: unsupported dtype ${descr}`);
}

/**
 * Streams a [rows, ...rowShape] array one row at a time. `resumeRows` keeps
 * that many rows of an existing file (truncating anything after them).
 */
export class NpyWriter {
  readonly #file: Deno.FsFile;
  readonly #rowValues: number;
  readonly #header: number;

  constructor(
    readonly path: string,
    readonly dtype: NpyDtype,
    readonly rows: number,
    readonly rowShape: readonly number[],
    resumeRows = 0,
  ) {
    const h = npyHeader(dtype, [rows, ...rowShape]);
    this.#header = h.length;
    this.#rowValues = rowShape.reduce((a, b) => a * b, 1);
    const bytesPerRow = this.#rowValues * (dtype === "u1" ? 1 : 4);
    this.#file = Deno.openSync(path, { read: true, write: true, create: true });
    this.#file.truncateSync(resumeRows > 0 ? h.length + resumeRows * bytesPerRow : 0);
    this.#file.seekSync(0, Deno.SeekMode.Start);
    this.#file.writeSync(h);
    this.#file.seekSync(0, Deno.SeekMode.End);
  }

  /** Append one row (an episode). */
  write(row: NpyArray): void {
    if (row.length !== this.#rowValues) {
      throw new NpyError(`${this.path}: row needs ${this.#rowValues} values, got ${row.length}`);
    }
    const b = bytesOf(row);
    let o = 0;
    while (o < b.length) o += this.#file.writeSync(b.subarray(o));
  }

  close(): void {
    this.#file.close();
  }

  get headerBytes(): number {
    return this.#header;
  }
}
