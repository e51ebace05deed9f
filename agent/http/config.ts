/**
 * The server's configuration, read from the environment once at start and validated completely:
 * a bad value is one line naming the variable (main.ts exits 2), never a silent default.
 */
import * as z from "zod";
import { UserError } from "../../lib/errors.ts";
import { cores as hostCores } from "../../lib/platform.ts";

export class ConfigError extends UserError {
  override name = "ConfigError";
}

const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, `must be an integer in [${min}, ${max}]`).transform(Number).pipe(
    z.number().int().min(min, `must be an integer in [${min}, ${max}]`).max(
      max,
      `must be an integer in [${min}, ${max}]`,
    ),
  );

/** Every variable the server reads, with its default. */
export const ENV = {
  PORT: int(0, 65535).default(8000),
  HOST: z.string().min(1).default("127.0.0.1"),
  EDGEWM_MODELS: z.string().optional(),
  EDGEWM_DEFAULTS: z.string().optional(),
  EDGEWM_SIMULATORS: z.enum(["0", "1"]).default("1"),
  EDGEWM_SITE: z.string().optional(),
  EDGEWM_BACKEND: z.enum(["web", "node"]).default("web"),
  EDGEWM_THREADS: int(1, 64).default(1),
  EDGEWM_WORKERS: int(0, 64).optional(),
  EDGEWM_MAX_CONCURRENT: int(1, 64).optional(),
  EDGEWM_MAX_QUEUE: int(0, 10000).default(8),
  EDGEWM_DEADLINE_MS: int(10, 3_600_000).default(30_000),
  EDGEWM_DRAIN_MS: int(0, 600_000).default(10_000),
  EDGEWM_MAX_BODY_BYTES: int(1024, 64_000_000).default(1_000_000),
  EDGEWM_MAX_INFLIGHT_BYTES: int(1024, 1_000_000_000).optional(),
  EDGEWM_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  EDGEWM_CORS_ORIGINS: z.string().optional(),
} as const;

export const ENV_NAMES = Object.keys(ENV) as (keyof typeof ENV)[];

export interface ServerConfig {
  port: number;
  host: string;
  /** Model directories (default: models/defaults.json). */
  models?: string[];
  /** Each task's default variant, `task=variant,...` (agent/http/defaults.ts). */
  defaults?: string;
  /** Serve the simulator routes (/v1/tasks). */
  simulators: boolean;
  /** The playground page's folder ("0": none; default: the built one beside the server, if any). */
  site?: string;
  backend: "web" | "node";
  /** wasm threads per planning worker (web) or onnxruntime threads (node). */
  threads: number;
  /** Planning workers; 0 plans on the HTTP thread (the node backend's default: its kernels run off it). */
  workers: number;
  maxQueue: number;
  deadlineMs: number;
  drainMs: number;
  maxBodyBytes: number;
  /** Request bodies held at once (being read, queued or planned); beyond it a request is refused unread. */
  maxInflightBytes: number;
  apiKey?: string;
  corsOrigins: string[];
}

/** Parse the environment; the first bad variable is a `ConfigError` naming it and its value. */
export function readConfig(
  env: (k: string) => string | undefined,
  cores = hostCores(),
): ServerConfig {
  const v: Record<string, unknown> = {};
  for (const name of ENV_NAMES) {
    const raw = env(name);
    const r = (ENV[name] as z.ZodType).safeParse(raw === "" ? undefined : raw);
    if (!r.success) throw new ConfigError(`${name} ${r.error.issues[0].message}, got "${raw}"`);
    v[name] = r.data;
  }
  const backend = v.EDGEWM_BACKEND as "web" | "node";
  // EDGEWM_MAX_CONCURRENT (plans at once) is the older name of the worker count.
  const workers = (v.EDGEWM_WORKERS ?? v.EDGEWM_MAX_CONCURRENT ?? (backend === "web" ? cores : 0)) as number;
  return {
    port: v.PORT as number,
    host: v.HOST as string,
    models: (v.EDGEWM_MODELS as string | undefined)?.split(",").filter(Boolean),
    defaults: v.EDGEWM_DEFAULTS as string | undefined,
    simulators: v.EDGEWM_SIMULATORS === "1",
    site: v.EDGEWM_SITE as string | undefined,
    backend,
    threads: v.EDGEWM_THREADS as number,
    workers,
    maxQueue: v.EDGEWM_MAX_QUEUE as number,
    deadlineMs: v.EDGEWM_DEADLINE_MS as number,
    drainMs: v.EDGEWM_DRAIN_MS as number,
    maxBodyBytes: v.EDGEWM_MAX_BODY_BYTES as number,
    // Two bodies at the size limit by default (dozens of ordinary ones): a burst of large requests costs
    // memory for two of them, not for all.
    maxInflightBytes: (v.EDGEWM_MAX_INFLIGHT_BYTES ?? 2 * (v.EDGEWM_MAX_BODY_BYTES as number)) as number,
    apiKey: v.EDGEWM_API_KEY as string | undefined,
    corsOrigins: ((v.EDGEWM_CORS_ORIGINS as string | undefined) ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  };
}
