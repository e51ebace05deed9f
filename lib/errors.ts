/**
 * The one base class of errors a user can cause (bad flags, bad files, bad model directories, bad
 * states or actions). Commands print their message in one line and exit 2; anything else is a bug
 * and keeps its stack trace.
 */
export class UserError extends Error {
  override name = "UserError";
}
