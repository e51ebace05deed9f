/**
 * Headless Chromium through playground pages (tests/site_browser_test.ts, study/experiments/page_latency.ts):
 * each page opened in a fresh context (a cold load: nothing cached), played to the end of its episode, and
 * read back: each page's lanes (plans, replans, success, latencies), errors, console errors and warnings,
 * whether it was cross-origin isolated, and its time from navigation to the first plan's answer. The browser
 * runs in a process of its own (playground_driver.ts): playwright reads /proc and the home folder, which the
 * test runner's permissions leave out, and this module imports nothing of it.
 */

export interface LaneResult {
  variant: string;
  replans: number;
  successAt: number | null;
  plans: number[][][];
  latencies: number[];
}
export interface PageResult {
  lanes: LaneResult[];
  errors: string[];
  firstPlanMs: number | null;
  isolated: boolean;
  console: string[];
}

/** Play pages in Chromium, in a process of its own (playground_driver.ts). */
export async function playPages(
  executablePath: string,
  pages: { url: string; shot?: string }[],
): Promise<PageResult[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./playground_driver.ts", import.meta.url).pathname,
      executablePath,
      JSON.stringify(pages),
    ],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`the browser driver failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}
