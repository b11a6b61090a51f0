import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmnError } from '@smn/core';
import { CliErrorCode } from './errors.js';

/**
 * The built page of `smn web` (tools/web-demo, built by Vite into packages/cli/web-page/): shipped in the published
 * @smn/cli (built at prepack, listed in `files`), and built on demand from the sources in this repository when
 * missing or older than them (docs/decisions.md, "The web page ships built inside @smn/cli").
 */
export const WEB_PAGE_DIR = fileURLToPath(new URL('../web-page/', import.meta.url));
/** The page's sources, present in a checkout of the repository only. */
const DEMO_DIR = fileURLToPath(new URL('../../../tools/web-demo/', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether the built page is missing or older than its sources (index.html, src/, vite.config.mjs). */
function stale(): boolean {
  const built = join(WEB_PAGE_DIR, 'index.html');
  if (!existsSync(built)) return true;
  if (!existsSync(join(DEMO_DIR, 'src'))) return false;
  const sources = Math.max(newest(join(DEMO_DIR, 'src')), statSync(join(DEMO_DIR, 'index.html')).mtimeMs, statSync(join(DEMO_DIR, 'vite.config.mjs')).mtimeMs);
  return sources > statSync(built).mtimeMs;
}

/** Builds the page with tools/web-demo's Vite when it is stale; returns its folder. */
export function ensureWebPage(log: (line: string) => void = () => {}): string {
  if (!stale()) return WEB_PAGE_DIR;
  if (!existsSync(join(DEMO_DIR, 'package.json'))) {
    throw new SmnError(CliErrorCode.WebPageMissing, `the built web page is missing from ${WEB_PAGE_DIR}: this @smn/cli was packed without it; reinstall @smn/cli`);
  }
  log(`building the web page (tools/web-demo, vite build) into ${WEB_PAGE_DIR}`);
  let vite: string;
  try {
    // vite's exports map does not list its bin: resolve its package.json and take the bin it declares.
    const pkg = createRequire(join(DEMO_DIR, 'package.json')).resolve('vite/package.json');
    const { bin } = JSON.parse(readFileSync(pkg, 'utf8')) as { bin: string | Record<string, string> };
    vite = join(dirname(pkg), typeof bin === 'string' ? bin : bin.vite!);
  } catch (err) {
    throw new SmnError(CliErrorCode.WebPageMissing, `cannot build the web page: vite is not installed in ${DEMO_DIR}; run pnpm install at the repository root`, { cause: err });
  }
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: DEMO_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  return WEB_PAGE_DIR;
}

/** Copies the built page (index.html, assets/) into `out`; returns the bytes copied. */
export async function copyWebPage(out: string, log?: (line: string) => void): Promise<number> {
  const dir = ensureWebPage(log);
  // The page's assets have content-hashed names: those of an earlier export into `out` would pile up.
  await rm(join(out, 'assets'), { recursive: true, force: true });
  await cp(dir, out, { recursive: true, force: true });
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else bytes += statSync(p).size;
    }
  };
  walk(dir);
  return bytes;
}
