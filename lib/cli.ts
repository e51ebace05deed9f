/**
 * Command-line plumbing shared by every command: typed flags with clear errors and `--help`, and a
 * runner that prints user errors in one line (exit 2) instead of a stack trace.
 */
import { parseArgs } from "node:util";
import { environmentProblem, UserError } from "./errors.ts";

export class CliError extends UserError {
  override name = "CliError";
}

/** Asked for `--help`: the runner prints the usage and exits 0. */
class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help");
  }
}

interface Doc {
  /** One line for `--help`. */
  help?: string;
}

export type FlagSpec =
  | Doc & { type: "string"; default?: string; required?: boolean }
  | Doc & { type: "int"; default?: number; required?: boolean; min?: number; max?: number }
  | Doc & { type: "number"; default?: number; required?: boolean; min?: number; max?: number }
  | Doc & { type: "boolean" }
  | Doc & { type: "enum"; values: readonly string[]; default?: string; required?: boolean };

type Value<S> = S extends { type: "int" | "number" } ? number
  : S extends { type: "boolean" } ? boolean
  : S extends { type: "enum"; values: readonly (infer V)[] } ? V
  : string;
type Present<S> = S extends { default: unknown } | { required: true } | { type: "boolean" } ? true : false;
export type Flags<T extends Record<string, FlagSpec>> = {
  [K in keyof T]: Present<T[K]> extends true ? Value<T[K]> : Value<T[K]> | undefined;
};

/** A number as an integer within [min, max]; anything else is a `CliError` naming the flag. */
export function intFlag(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (v === undefined || v === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new CliError(
      `--${name} must be an integer in [${min}, ${max}], got ${v === undefined ? "nothing" : `"${v}"`}`,
    );
  }
  return n;
}

function numberFlag(v: string, name: string, min = -Infinity, max = Infinity): number {
  const n = Number(v);
  if (v === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new CliError(`--${name} must be a number in [${min}, ${max}], got "${v}"`);
  }
  return n;
}

function usage(about: string, spec: Record<string, FlagSpec>): string {
  const lines = [about, "", "flags:"];
  for (const [k, s] of Object.entries(spec)) {
    const kind = s.type === "enum" ? s.values.join("|") : s.type === "boolean" ? "" : s.type;
    const dflt = "default" in s && s.default !== undefined ? ` (default ${s.default})` : "";
    const req = "required" in s && s.required ? " (required)" : "";
    lines.push(`  --${k}${kind ? ` <${kind}>` : ""}${req}${dflt}${s.help ? `  ${s.help}` : ""}`);
  }
  lines.push("  --help  this text");
  return lines.join("\n");
}

/**
 * Parse `--flag value` arguments into typed values; unknown flags, missing required ones and
 * values of the wrong kind are `CliError`s naming the flag. `--help` prints `about` and the flags.
 */
export function parseFlags<const T extends Record<string, FlagSpec>>(args: string[], spec: T, about = ""): Flags<T> {
  if (args.includes("--help") || args.includes("-h")) throw new HelpRequested(usage(about, spec));
  const options = Object.fromEntries(
    Object.entries(spec).map(([k, s]) => [k, { type: s.type === "boolean" ? "boolean" : "string" }] as const),
  ) as Record<string, { type: "string" | "boolean" }>;
  // `--seed -1`: a value that starts with a dash is still the flag's value when it reads as a number.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = /^--([\w-]+)$/.exec(args[i])?.[1];
    if (flag && spec[flag] && spec[flag].type !== "boolean" && /^-\d|^-\.\d|^-Infinity/.test(args[i + 1] ?? "")) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: joined, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    throw new CliError(`${first}; flags: ${Object.keys(spec).map((k) => `--${k}`).join(" ")}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) {
    const v = values[k];
    if (s.type === "boolean") {
      out[k] = v === true;
      continue;
    }
    if (v === undefined) {
      if (s.required) throw new CliError(`--${k} is required`);
      out[k] = s.default;
      continue;
    }
    const str = v as string;
    if (s.type === "int") out[k] = intFlag(str, k, s.min ?? Number.MIN_SAFE_INTEGER, s.max);
    else if (s.type === "number") out[k] = numberFlag(str, k, s.min, s.max);
    else if (s.type === "enum") {
      if (!s.values.includes(str)) throw new CliError(`--${k} must be one of ${s.values.join(", ")}, got "${str}"`);
      out[k] = str;
    } else {
      if (s.required && str === "") throw new CliError(`--${k} is required`);
      out[k] = str;
    }
  }
  return out as Flags<T>;
}

/** A comma-separated list flag, each item checked against `known`. */
export function listFlag<T extends string>(v: string, name: string, known: readonly T[]): T[] {
  const items = v.split(",").filter(Boolean);
  for (const i of items) {
    if (!(known as readonly string[]).includes(i)) throw new CliError(`--${name} takes ${known.join(",")}; got "${i}"`);
  }
  return items as T[];
}

/**
 * Run a CLI main: user errors, and environment failures a user can fix (a missing folder, no permission),
 * print one line and exit 2; `--help` prints the usage and exits 0; anything else is a bug and keeps its
 * stack trace.
 */
export async function runCli(main: () => void | Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof HelpRequested) {
      console.log(e.usage);
      Deno.exit(0);
    }
    if (e instanceof UserError) {
      console.error(`error: ${(e as Error).message}`);
      Deno.exit(2);
    }
    const problem = environmentProblem(e);
    if (problem) {
      console.error(`error: ${problem}`);
      Deno.exit(2);
    }
    throw e;
  }
}
