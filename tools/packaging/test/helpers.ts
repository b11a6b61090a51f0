import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tools/packaging/test/ → ../../..). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The consumer files copied into the temporary project. */
export const CONSUMER_DIR = fileURLToPath(new URL('../consumer/', import.meta.url));

/** What the global setup hands to every test file (`inject('packaging')`). */
export interface PackagingContext {
  /** Scratch folder of this run (outside the workspace): tarballs, the project, bundles, timings. */
  tmp: string;
  /** The npm project that installed every tarball. */
  project: string;
  /** One entry per package under packages/*, in pack order. */
  tarballs: TarballInfo[];
  /** Whether `npm install` built @smn/backend-torch's libtorch addon, and the install script's own words. */
  addon: { built: boolean; log: string[] };
  /** File the phases append their timings to (JSON lines), printed by the global teardown. */
  timingsFile: string;
  /** File the phases append facts to (JSON lines: bundle size, node versions, skips), printed by the teardown. */
  notesFile: string;
}

export interface TarballInfo {
  name: string;
  version: string;
  /** packages/<dir> */
  dir: string;
  file: string;
  bytes: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    packaging: PackagingContext;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment of a command run as a user outside the workspace would: no `npm_*`/`pnpm_*` variables of the
 * pnpm → turbo → vitest chain that started us, no `NODE_OPTIONS` (vitest's `--conditions=@smn/source`), and no
 * `node_modules/.bin` of the workspace on PATH.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|NODE_OPTIONS$|NODE_PATH$|VITEST|TURBO_|INIT_CWD$|TSX_|FORCE_COLOR$)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p && !p.startsWith(REPO_ROOT) && !p.includes('/node_modules/.bin'))
    .join(delimiter);
  env.NO_COLOR = '1';
  return { ...env, ...extra };
}

/** Runs a command to completion (never throws for a non-zero exit); the caller asserts on the result. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = { cwd: process.cwd() },
): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? userEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A failed command's output for an assertion message. */
export function describeRun(what: string, r: RunResult): string {
  const tail = (s: string): string => (s.length > 6000 ? `…${s.slice(-6000)}` : s);
  return `${what}: exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${(r.ms / 1000).toFixed(1)} s\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;
}

/** Runs `fn` and appends `{ phase, ms }` to the timings file. */
export async function timed<T>(ctx: Pick<PackagingContext, 'timingsFile'>, phase: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    appendFileSync(ctx.timingsFile, `${JSON.stringify({ phase, ms: Math.round(performance.now() - t0) })}\n`);
  }
}

/** Appends a fact for the closing summary. */
export function note(ctx: Pick<PackagingContext, 'notesFile'>, key: string, value: unknown): void {
  appendFileSync(ctx.notesFile, `${JSON.stringify({ key, value })}\n`);
}

export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/** `npx`, `npm` and `node` of the Node that runs the tests (Node 20 in CI). */
export const NODE = process.execPath;

/** Path of a package's installed folder in the project. */
export function installed(ctx: Pick<PackagingContext, 'project'>, name: string): string {
  return join(ctx.project, 'node_modules', ...name.split('/'));
}
