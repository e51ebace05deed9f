/**
 * The browser side of study/experiments/playground_pages.ts, run as a process of its own (playwright reads
 * /proc and the home folder, which the test runner's permissions leave out):
 *
 *   deno run -A study/experiments/playground_driver.ts /usr/bin/chromium '[{"url": "http://...", "shot": "a.png"}]'
 *
 * prints one JSON line: a PageResult per page.
 */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import type { PageResult } from "./playground_pages.ts";

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
