/** The Python the project's scripts run with: its virtual environment (.venv) where it exists, else python3. */
export function projectPython(): string {
  try {
    if (Deno.statSync(".venv/bin/python").isFile) return ".venv/bin/python";
  } catch { /* no venv */ }
  return "python3";
}
