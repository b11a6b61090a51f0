// (d) The browser-safe packages from the installed project, bundled by esbuild for the browser, run in headless
// Chromium; the numbers must equal Node's (same bytes for the encodings, same kNN predictions, Sinkhorn within 1e-6).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runNodeCheck } from './consumer.js';
import { checkComputeResult, type ComputeResult } from './expected.js';
import { NODE, note, timed } from './helpers.js';

const ctx = inject('packaging');

function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const CHROMIUM = findChromium();
const BROWSER_PACKAGES = ['@smn/core', '@smn/subnetworks', '@smn/models', '@smn/knn', '@smn/swav', '@smn/datasets'];
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: Server | undefined;
afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('(d) browser bundle', () => {
  if (!CHROMIUM) {
    const reason = '`which chromium` found no Chromium (apt-get install chromium; .ci/run installs it)';
    console.log(`browser test skipped: ${reason}`);
    it.skip(`runs in headless Chromium (skipped: ${reason})`, () => {});
    return;
  }

  it('bundles @smn/{core,subnetworks,models,knn,swav,datasets} with tfjs-core and the cpu backend for the browser', async () => {
    const out = join(ctx.tmp, 'browser');
    mkdirSync(out, { recursive: true });
    const result = await timed(ctx, 'd. esbuild bundle (platform browser)', () =>
      build({
        absWorkingDir: ctx.project,
        entryPoints: [join(ctx.project, 'browser-entry.mjs')],
        outfile: join(out, 'bundle.js'),
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        minify: true,
        metafile: true,
        logLevel: 'silent',
      }).catch((err: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
        const errors = (err.errors ?? []).map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
        throw new Error(`esbuild could not bundle the browser entry (${errors.length} errors):\n${errors.join('\n') || String(err)}`);
      }),
    );
    const inputs = Object.keys(result.metafile.inputs);
    // Every browser package comes from the installed project, through its `browser` export where it has one.
    for (const name of BROWSER_PACKAGES) expect(inputs.some((i) => i.startsWith(`node_modules/${name}/dist/`)), `${name} in the bundle`).toBe(true);
    for (const name of ['@smn/core', '@smn/subnetworks', '@smn/models', '@smn/datasets']) {
      expect(inputs, `${name} bundled through its browser entry`).toContain(`node_modules/${name}/dist/browser.js`);
    }
    expect(inputs.filter((i) => i.startsWith('node_modules/@smn/backend'))).toEqual([]);
    const bytes = readFileSync(join(out, 'bundle.js'));
    const gzip = gzipSync(bytes, { level: 9 }).length;
    note(ctx, 'browser bundle (esbuild, minified)', `${bytes.length} B (${(bytes.length / 1024).toFixed(1)} KiB), gzip ${gzip} B (${(gzip / 1024).toFixed(1)} KiB)`);
    note(ctx, 'browser bundle, largest inputs', largest(result.metafile));
    console.log(`browser bundle: ${bytes.length} B, gzip ${gzip} B`);
  });

  it('computes in headless Chromium what Node computes, and what the formulas say', async () => {
    const out = join(ctx.tmp, 'browser');
    writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>smn</title><script type="module" src="/bundle.js"></script>\n');
    const files: Record<string, [string, string]> = {
      '/': ['index.html', 'text/html; charset=utf-8'],
      '/index.html': ['index.html', 'text/html; charset=utf-8'],
      '/bundle.js': ['bundle.js', 'text/javascript; charset=utf-8'],
    };
    server = createServer((req, res) => {
      const f = files[new URL(req.url ?? '/', 'http://127.0.0.1').pathname];
      if (!f) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f[1], 'cache-control': 'no-store' }).end(readFileSync(join(out, f[0])));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const fromBrowser = await timed(ctx, 'd. headless Chromium run', async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
        });
        await page.goto(url);
        // (globalThis is the page's window; this file is type-checked without the DOM library.)
        await page.waitForFunction(() => '__smnResult' in globalThis || '__smnError' in globalThis, undefined, { timeout: 120_000 });
        const got = await page.evaluate(() => {
          const w = globalThis as unknown as { __smnResult?: ComputeResult; __smnError?: string };
          return { result: w.__smnResult, error: w.__smnError };
        });
        return { ...got, problems, version: browser.version() };
      } finally {
        await browser.close();
      }
    });
    expect(fromBrowser.error, 'the bundle threw in the browser').toBeUndefined();
    expect(fromBrowser.problems).toEqual([]);
    note(ctx, 'browser', `Chromium ${fromBrowser.version} (${CHROMIUM})`);
    const b = fromBrowser.result!;
    checkComputeResult(b);

    const n = (await timed(ctx, 'd. node reference run', () => runNodeCheck(ctx, NODE, 'browser-reference'))).results;
    expect(b.smnmask.binary.hex).toBe(n.smnmask.binary.hex);
    expect(b.smnmask.sign.hex).toBe(n.smnmask.sign.hex);
    expect(b.smnmask.gzip.back).toEqual(n.smnmask.gzip.back);
    expect(b.safetensors.hex).toBe(n.safetensors.hex);
    expect(JSON.parse(JSON.stringify(b.safetensors.back))).toEqual(n.safetensors.back); // as Node's: through JSON (no −0)
    expect(b.knn.predictions).toEqual(n.knn.predictions);
    b.knn.scores.forEach((v, i) => expect(Math.abs(v - n.knn.scores[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(n.knn.scores[i]!))));
    for (const key of ['iterations3', 'iterations200'] as const) {
      expect(b.sinkhorn[key]).toHaveLength(n.sinkhorn[key].length);
      b.sinkhorn[key].forEach((v, i) => expect(Math.abs(v - n.sinkhorn[key][i]!)).toBeLessThanOrEqual(1e-6));
    }
    expect(b.rng).toEqual(n.rng);
    expect(b.datasets).toEqual(n.datasets); // WebAssembly kernels in Chromium: the same bytes and floats as in Node
  });
});

/** The five largest inputs of the bundle (bytes of output each contributes), to say where its size comes from. */
function largest(meta: Metafile): string {
  const output = Object.values(meta.outputs)[0]!;
  const byPackage = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = m ? m[1]! : relative('.', file);
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(1)} KiB`)
    .join(', ');
}
