/**
 * The host under the server: Deno, Node, or a Workers runtime (workerd). The few calls that differ
 * (environment, file reads, resident memory, exit, signals, serving HTTP, planning workers) live
 * here; everything else the server runs is web-standard and the same on all of them. Node-only
 * modules are imported dynamically, so a Deno run never loads them. A Workers runtime has no file
 * system: its files (the models) arrive as modules and are handed in with `provideFiles`.
 */

import { UserError } from "./errors.ts";

/** The Deno namespace where it exists (typed by Deno's own declarations), else undefined. */
const deno: typeof Deno | undefined = (globalThis as { Deno?: typeof Deno }).Deno;

/** What Node puts on globalThis; only read when Deno is absent. */
interface NodeProcess {
  env: Record<string, string | undefined>;
  memoryUsage(): { rss: number };
  exit(code: number): never;
  on(signal: string, fn: () => void): void;
}
const nodeProcess = () => (globalThis as unknown as { process: NodeProcess }).process;

const userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? "";

const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;

/** Where this runs: a browser (the playground's planning worker) has no file system, as a Workers runtime has not. */
export const host: "deno" | "node" | "workers" | "browser" = deno
  ? "deno"
  : userAgent.startsWith("Cloudflare-Workers")
  ? "workers"
  : nodeVersion
  ? "node"
  : "browser";

// Node's fs and os, loaded once before first use (top-level await only on Node).
const fs: { readFileSync(path: string): Uint8Array } | undefined = host === "node"
  ? await import("node:fs")
  : undefined;
const os: { availableParallelism(): number } | undefined = host === "node" ? await import("node:os") : undefined;

const provided = new Map<string, Uint8Array>();

/** Files by path for hosts without a file system; a provided path is read from here on any host. */
export function provideFiles(files: Record<string, Uint8Array>): void {
  for (const [path, bytes] of Object.entries(files)) provided.set(path, bytes);
}

export function readBytes(path: string): Uint8Array {
  const mem = provided.get(path);
  if (mem) return mem;
  if (deno) return deno.readFileSync(path);
  if (!fs) throw new Error(`${path}: no such file (this host has no file system; provide it with provideFiles)`);
  const b = fs.readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function readText(path: string): string {
  return new TextDecoder().decode(readBytes(path));
}

export function envVar(name: string): string | undefined {
  return deno ? deno.env.get(name) : nodeProcess().env[name];
}

/** CPU cores this process may use (Node 20 has no navigator). */
export function cores(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? os?.availableParallelism() ?? 1;
}

/** Resident memory of this process; undefined where the host does not tell (a Workers isolate). */
export function residentBytes(): number | undefined {
  if (deno) return deno.memoryUsage().rss;
  return host === "node" ? nodeProcess().memoryUsage().rss : undefined;
}

export function exit(code: number): never {
  return deno ? deno.exit(code) : nodeProcess().exit(code);
}

export function onSignal(signal: "SIGTERM" | "SIGINT", fn: () => void): void {
  if (deno) deno.addSignalListener(signal, fn);
  else nodeProcess().on(signal, fn);
}

export interface HttpServer {
  /** Stop accepting; resolves when in-flight requests have been answered. */
  shutdown(): Promise<void>;
}

/** Limits on a connection's requests, against clients that send slowly or not at all. */
export const HTTP_TIMEOUTS = {
  /** All of a request's headers must arrive within this (slowloris). */
  headersMs: 10_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: 5_000,
};

/**
 * Serve `fetch` on hostname:port through node:http and Hono's adapter, on Node and on Deno alike. Not
 * Deno.serve: it reports a client that goes away only once the answer is written for a POST whose body was
 * read (measured on Deno 2.9: a 3 s handler saw a GET's abort at 0.3 s, a POST's at 3 s), so a plan whose
 * client left would run to its end; node:http reports the socket's close at once (0.5 s after a client
 * closed at 0.5 s, the same run), and the adapter aborts the request's signal, which cancels the plan.
 * `requestMs` bounds a whole request (headers, body and answer).
 */
export async function serveHttp(
  o: {
    port: number;
    hostname: string;
    onListen: (addr: { hostname: string; port: number }) => void;
    requestMs?: number;
  },
  fetch: (req: Request) => Response | Promise<Response>,
): Promise<HttpServer> {
  const where = `${o.hostname}:${o.port}`;
  const { serve } = await import("@hono/node-server");
  let s;
  try {
    s = serve(
      {
        fetch,
        port: o.port,
        hostname: o.hostname,
        // Timeouts are enforced by a sweep every `connectionsCheckingInterval` (30 s by default): check often.
        serverOptions: {
          headersTimeout: HTTP_TIMEOUTS.headersMs,
          keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
          requestTimeout: o.requestMs ?? 300_000,
          connectionsCheckingInterval: 1_000,
        },
      },
      (info) => o.onListen({ ...info, hostname: o.hostname }),
    );
  } catch (e) {
    throw listenError(e, where);
  }
  // Node reports a failed bind as an event after serve() returns: wait for one or the other.
  await new Promise<void>((resolve, reject) => {
    const server = s as unknown as { once(ev: string, fn: (e?: unknown) => void): void; listening?: boolean };
    if (server.listening) return resolve();
    server.once("listening", () => resolve());
    server.once("error", (e) => reject(listenError(e, where)));
  });
  return {
    shutdown: () =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Keep-alive connections with no request in flight would hold close() open until they time out.
        (s as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }),
  };
}

/** Why a server could not listen, in one line (a busy port, no permission to bind), or the error itself. */
function listenError(e: unknown, where: string): unknown {
  const name = (e as Error)?.name, code = (e as { code?: string })?.code;
  if (name === "AddrInUse" || code === "EADDRINUSE") {
    return new UserError(`cannot listen on ${where}: the address is in use (another server? set PORT)`);
  }
  if (name === "NotCapable" || name === "PermissionDenied" || code === "EACCES" || code === "ERR_ACCESS_DENIED") {
    return new UserError(
      `cannot listen on ${where}: not permitted (${(e as Error).message.split("\n")[0]}); ` +
        `allow it (Deno: --allow-net=${where}) or choose another HOST/PORT`,
    );
  }
  if (name === "AddrNotAvailable" || code === "EADDRNOTAVAIL") {
    return new UserError(`cannot listen on ${where}: no such address on this host (HOST)`);
  }
  return e;
}

/** The main thread's handle on a worker: a web Worker on Deno, a worker_threads Worker on Node. */
export interface WorkerHandle {
  post(message: unknown): void;
  onMessage(fn: (data: unknown) => void): void;
  /** A failure inside the worker (uncaught error, failed start). */
  onError(fn: (message: string) => void): void;
  terminate(): void;
}

export async function startWorker(url: URL): Promise<WorkerHandle> {
  if (deno) {
    const w = new Worker(url.href, { type: "module" });
    return {
      post: (m) => w.postMessage(m),
      onMessage: (fn) => (w.onmessage = (e) => fn(e.data)),
      onError: (fn) => (w.onerror = (e) => {
        e.preventDefault();
        fn(e.message);
      }),
      terminate: () => w.terminate(),
    };
  }
  const { Worker: NodeWorker } = await import("node:worker_threads");
  const w = new NodeWorker(url);
  let onMessage: (data: unknown) => void = () => {}, onError: (message: string) => void = () => {};
  w.on("message", (m) => onMessage(m));
  w.on("error", (e) => onError((e as Error).message));
  return {
    post: (m) => w.postMessage(m),
    onMessage: (fn) => (onMessage = fn),
    onError: (fn) => (onError = fn),
    terminate: () => void w.terminate(),
  };
}

/** The worker's side of the channel to the thread that started it. */
export interface ParentPort {
  post(message: unknown): void;
  onMessage(fn: (data: unknown) => void): void;
}

export async function parentPort(): Promise<ParentPort> {
  if (deno) {
    const self = globalThis as unknown as {
      postMessage(m: unknown): void;
      onmessage: ((e: MessageEvent) => void) | null;
    };
    return { post: (m) => self.postMessage(m), onMessage: (fn) => (self.onmessage = (e) => fn(e.data)) };
  }
  const port = (await import("node:worker_threads")).parentPort!;
  return { post: (m) => port.postMessage(m), onMessage: (fn) => port.on("message", fn) };
}
