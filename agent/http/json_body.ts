/**
 * A JSON request body checked against a zod schema: a wrong content type is a 415, unparsable JSON a 400 on
 * `body`, and the first schema issue a 400 naming its field (an unknown key by its full path). Shared by the
 * plan route's middleware (app.ts) and the simulator routes, so both refuse bad input in the same words.
 */
import type { z } from "zod";
import { PlanRequestError } from "./plan_job.ts";

export async function readJsonBody<S extends z.ZodType>(
  contentType: string | undefined,
  read: () => Promise<unknown>,
  schema: S,
): Promise<z.infer<S>> {
  const type = contentType ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new PlanRequestError("content-type", `send application/json, not "${type || "nothing"}"`, 415);
  }
  let raw: unknown;
  try {
    raw = await read();
  } catch {
    throw new PlanRequestError("body", "body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    const path = i.path.join(".");
    if (i.code === "unrecognized_keys") {
      throw new PlanRequestError([path, i.keys[0]].filter(Boolean).join("."), `unknown key "${i.keys[0]}"`);
    }
    throw new PlanRequestError(path || "body", i.message);
  }
  return parsed.data;
}
