/** Shared command-line plumbing: flag parsing with clear errors, and a runner that prints them without stack traces. */
import { parseArgs } from "node:util";

export class CliError extends Error {
  override name = "CliError";
}

type FlagSpec = Record<string, { type: "string" | "boolean"; default?: string | boolean }>;

/** Parse `--flag value` arguments; unknown flags are a `CliError`. */
export function parseFlags<T extends FlagSpec>(args: string[], spec: T): Record<keyof T, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args, options: spec, strict: true, allowPositionals: false });
    return values as unknown as Record<keyof T, string | boolean | undefined>;
  } catch (e) {
    throw new CliError(`${(e as Error).message}; flags: ${Object.keys(spec).map((k) => `--${k}`).join(" ")}`);
  }
}

/** A flag as an integer within [min, max]. */
export function intFlag(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (v === undefined || v === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new CliError(
      `--${name} must be an integer in [${min}, ${max}], got ${v === undefined ? "nothing" : `"${v}"`}`,
    );
  }
  return n;
}

/** A required string flag. */
export function stringFlag(v: unknown, name: string): string {
  if (typeof v !== "string" || v === "") throw new CliError(`--${name} is required`);
  return v;
}

/**
 * Run a CLI main: errors whose class is expected (bad input) print one line
 * and exit 2; anything else is a bug and keeps its stack trace.
 */
export async function runCli(main: () => void | Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    if (
      [
        "CliError",
        "TaskError",
        "NpyError",
        "PngError",
        "DatasetError",
        "RangeError",
        "QuantError",
        "OnnxError",
        "ModelLoadError",
      ].includes(err.name)
    ) {
      console.error(`error: ${err.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
