// Helpers of the browser tests and the web benchmark (tools/bench/web.ts): Debian's chromium driven by
// playwright-core, as tools/packaging/test/browser.test.ts does.
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

/** `which chromium`, or undefined when there is none (the tests then skip, saying why). */
export function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const NO_CHROMIUM = '`which chromium` found no Chromium (apt-get install chromium; .ci/run installs it)';

/** Headless flags; WebGL runs on SwiftShader (software) when `webgl` is set, as no GPU is assumed. */
export function chromiumArgs(webgl = false): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    ...(webgl ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'] : ['--disable-gpu']),
  ];
}

export async function launch(webgl = false): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true, args: chromiumArgs(webgl), timeout: 120_000 });
}

/** What the page exposes as window.smn (tools/web-demo/src/main.js). */
export interface PageSmn {
  ready: boolean;
  error?: string;
  firstPredictionMs?: number;
  demo: { backend: { name: string; skipped: string[] }; active: { id: string; classes: string[] } | null; loadMs: number };
  pick(id: string): Promise<{ ok: boolean; error?: string; loadMs?: number; applyMs?: number }>;
  classifyAll(): Promise<{ predictions: number[]; logits: Float32Array; ms: number }>;
}

/** Opens the page and waits until it has picked its first task (or failed); page errors are collected in `problems`. */
export async function openDemo(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  await page.goto(url);
  // (globalThis is the page's window; this file is type-checked without the DOM library.)
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { smn?: PageSmn }).smn;
    return Boolean(s && (s.firstPredictionMs !== undefined || s.error));
  }, undefined, { timeout: 180_000 });
  const error = await page.evaluate(() => (globalThis as unknown as { smn: PageSmn }).smn.error);
  if (error) throw new Error(`the page failed to start: ${error}\n${problems.join('\n')}`);
  return { page, problems };
}
