/**
 * The one base class of errors a user can cause (bad flags, bad files, bad model directories, bad
 * states or actions). Commands print their message in one line and exit 2; anything else is a bug
 * and keeps its stack trace.
 */
export class UserError extends Error {
  override name = "UserError";
}

/**
 * A failure of the environment a user can fix (a missing file or folder, no permission, a busy address), said in
 * one line; null for anything else. Deno's and Node's file errors name the path in their message.
 */
export function environmentProblem(e: unknown): string | null {
  const name = (e as Error)?.name, code = (e as { code?: string })?.code;
  const message = String((e as Error)?.message ?? e).split("\n")[0];
  const known = ["NotFound", "PermissionDenied", "NotCapable", "AlreadyExists", "IsADirectory", "NotADirectory"];
  const codes = ["ENOENT", "EACCES", "EPERM", "EEXIST", "EISDIR", "ENOTDIR", "ERR_ACCESS_DENIED"];
  if (known.includes(name) || (code !== undefined && codes.includes(code))) return message;
  return null;
}
