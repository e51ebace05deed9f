/**
 * Headless Chromium through playground pages (tests/site_browser_test.ts, study/experiments/page_latency.ts):
 * each page opened in a fresh context (a cold load: nothing cached), played to the end of its episode, and
 * read back. It runs as a process of its own: playwright reads /proc and the home folder, which the test
 * runner's permissions leave out.
 *
 *   deno run -A study/experiments/playground_pages.ts /usr/bin/chromium '[{"url": "http://...", "shot": "a.png"}]'
 *
 * prints one JSON line: each page's lanes (plans, replans, success, latencies), errors, console errors and
 * warnings, whether it was cross-origin isolated, and its time from navigation to the first plan's answer.
 */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

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

/** Open the playground at `url`, let it play its episode to the end, and read back what happened. */
async function playEpisode(browser: Browser, url: string, shot?: string): Promise<PageResult> {
  const page: Page = await browser.newPage({ viewport: { width: 1100, height: 600 } });
  const messages: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") messages.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  page.on("worker", (w) => w.on("console", (m) => m.type() === "error" && messages.push(`worker: ${m.text()}`)));
  try {
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { playgroundDone?: boolean }).playgroundDone === true, null, {
      timeout: 180_000,
    });
    if (shot) {
      Deno.mkdirSync(join(shot, ".."), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
    }
    const r = await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const g = (globalThis as any).playground;
      return {
        // deno-lint-ignore no-explicit-any
        lanes: g.lanes.map((l: any) => ({
          variant: l.variant,
          replans: l.replans,
          successAt: l.successAt,
          plans: l.plans,
          latencies: l.latencies,
        })),
        errors: g.errors,
        firstPlanMs: g.firstPlanMs,
        isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      };
    });
    return { ...r, console: messages };
  } finally {
    await page.close();
  }
}

/** Play pages in Chromium in a process of its own (this file run as a script). */
export async function playPages(
  executablePath: string,
  pages: { url: string; shot?: string }[],
): Promise<PageResult[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, executablePath, JSON.stringify(pages)],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`the browser driver failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

if (import.meta.main) {
  const [executablePath, pages] = Deno.args;
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
  try {
    const out: PageResult[] = [];
    for (const { url, shot } of JSON.parse(pages) as { url: string; shot?: string }[]) {
      out.push(await playEpisode(browser, url, shot));
    }
    console.log(JSON.stringify(out));
  } finally {
    await browser.close();
  }
}
