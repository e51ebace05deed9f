/**
 * The OpenAPI 3.1 document of the served routes, generated from the zod shapes the server validates with
 * (schemas.ts): every named shape is a component, referenced where it is used; every operation has an id, its
 * responses and their shapes; `required` is what the server requires. `tests/agent/http/openapi_test.ts`
 * checks it against the server, and CI lints it (openapi-spec-validator).
 */
import * as z from "zod";
import { API } from "./schemas.ts";

type Json = Record<string, unknown>;

/** The components: each named shape's JSON Schema, with references between them. */
export function componentSchemas(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(API, {
    uri: (id) => `#/components/schemas/${id}`,
    io: "input",
    unrepresentable: "any",
  }) as { schemas: Record<string, Json> };
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  // The image forms are strict and disjoint: exactly one applies.
  const img = schemas.ImageInput;
  if (img.anyOf) {
    img.oneOf = img.anyOf;
    delete img.anyOf;
  }
  return schemas;
}

export interface DocumentOptions {
  /** A plan request the server answers with 200 (shown by /docs). */
  example?: unknown;
  /** Whether the simulator routes (/v1/tasks) are served. */
  simulators?: boolean;
  /** The server's address, for `servers` (default: a relative one). */
  server?: string;
}

export function openApiDocument(o: DocumentOptions = {}): Json {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string, example?: unknown) => ({
    content: { "application/json": { schema: ref(name), ...(example ? { example } : {}) } },
  });
  const err = (description: string) => ({ description, ...json("Error") });
  const secured = { security: [{}, { bearer: [] }, { apiKey: [] }] };
  const auth = { 401: err("missing or wrong API key") };
  const bad = {
    400: err("invalid request (the field is named)"),
    413: err("body too large (the connection is closed)"),
    415: err("not application/json"),
  };
  const taskParam = {
    name: "task",
    in: "path",
    required: true,
    description: "a built-in task (GET /v1/tasks)",
    schema: { type: "string" },
  };
  const simulatorPost = (operationId: string, summary: string, request: string, response: string) => ({
    post: {
      operationId,
      summary,
      tags: ["simulators"],
      ...secured,
      parameters: [taskParam],
      requestBody: { required: true, ...json(request) },
      responses: {
        200: { description: summary, ...json(response) },
        ...bad,
        ...auth,
        404: err("no simulator for this task"),
      },
    },
  });
  const simulators = o.simulators
    ? {
      "/v1/tasks": {
        get: {
          operationId: "listTasks",
          summary: "The built-in tasks' observation contracts: layouts, bounds, image window and colours",
          tags: ["simulators"],
          ...secured,
          responses: { 200: { description: "task list", ...json("TaskList") }, ...auth },
        },
      },
      "/v1/tasks/{task}/episode": simulatorPost(
        "drawEpisode",
        "Evaluation episode `index` of `seed`: its start and goal, and the protocol's replan seeds",
        "EpisodeRequest",
        "EpisodeResponse",
      ),
      "/v1/tasks/{task}/render": simulatorPost("renderState", "Render a state", "RenderRequest", "SimFrame"),
      "/v1/tasks/{task}/step": simulatorPost(
        "stepState",
        "Run env actions from a state: the states, proprio, images, success and distance after each",
        "StepRequest",
        "StepResponse",
      ),
    }
    : {};
  return {
    openapi: "3.1.0",
    info: {
      title: "edgewm",
      version: "0.3.0",
      description: "Plan actions through a low-bit world model" +
        (o.simulators ? ", and drive the simulators it was trained and measured on." : "."),
    },
    servers: [{ url: o.server ?? "/", description: "this server" }],
    tags: [{ name: "planning" }, { name: "simulators" }, { name: "operations" }],
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "when the server sets EDGEWM_API_KEY" },
        apiKey: { type: "apiKey", in: "header", name: "x-api-key", description: "the same key, as a header" },
      },
    },
    paths: {
      "/v1/plan": {
        post: {
          operationId: "plan",
          summary: "Plan an action sequence from an observation to a goal",
          tags: ["planning"],
          ...secured,
          requestBody: { required: true, ...json("PlanRequest", o.example) },
          responses: {
            200: { description: "a plan", ...json("PlanResponse") },
            ...bad,
            ...auth,
            404: err("no model for the task, or no such variant"),
            422: err("the model's outputs are not finite for these inputs"),
            499: err("the client went away (logged, never sent)"),
            503: err("busy or not ready (Retry-After)"),
            504: err("deadline exceeded (queueing included)"),
          },
        },
      },
      "/v1/models": {
        get: {
          operationId: "listModels",
          summary: "Loaded models, their contracts and the served defaults",
          tags: ["planning"],
          ...secured,
          responses: { 200: { description: "model list", ...json("ModelList") }, ...auth },
        },
      },
      ...simulators,
      "/health": {
        get: {
          operationId: "health",
          summary: "Liveness",
          tags: ["operations"],
          responses: { 200: { description: "alive", ...json("Status") } },
        },
      },
      "/ready": {
        get: {
          operationId: "ready",
          summary: "Readiness: 503 until models are loaded",
          tags: ["operations"],
          responses: { 200: { description: "ready", ...json("Status") }, 503: err("loading") },
        },
      },
      "/metrics": {
        get: {
          operationId: "metrics",
          summary: "Prometheus metrics",
          tags: ["operations"],
          responses: {
            200: { description: "text exposition", content: { "text/plain": { schema: { type: "string" } } } },
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          summary: "This document",
          tags: ["operations"],
          responses: {
            200: { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } },
          },
        },
      },
      "/docs": {
        get: {
          operationId: "docs",
          summary: "This document, browsable (HTML)",
          tags: ["operations"],
          responses: { 200: { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
        },
      },
    },
  };
}

if (import.meta.main) {
  // `deno task openapi > openapi.json`: the document a server with the simulator routes serves.
  console.log(JSON.stringify(openApiDocument({ simulators: true }), null, 2));
}
