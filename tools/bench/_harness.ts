// Helpers shared by the benchmark areas (tools/bench/<area>.ts). Files starting with `_` are not areas.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem, platform, release } from 'node:os';
import { join } from 'node:path';

/** One timed measurement. Times are in `unit` (usually `ms`). */
export interface BenchResult {
  name: string;
  backend: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  n: number;
  extra?: Record<string, unknown>;
}

/** What `pnpm bench` passes to each area's `run`. */
export interface BenchOptions {
  /** Small sizes and few repetitions (a smoke run, seconds). */
  quick: boolean;
  /** `--backend NAME`, else `$SMN_BACKEND`, else `auto`. Areas comparing backends read `auto` as "every one present". */
  backend: string;
}

/** An area module: `tools/bench/<area>.ts`. */
export interface BenchArea {
  run(opts: BenchOptions): Promise<BenchResult[]>;
}

export interface TimingStats {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
  /** Largest RSS seen after any timed iteration (MiB). */
  peakRssMiB: number;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const rssMiB = (): number => process.memoryUsage.rss() / 2 ** 20;

/**
 * Times `fn` (which must finish its work before returning, e.g. by awaiting `.data()`): `warmup` untimed calls, then
 * `iters` timed ones, stopping early after `maxMs` of timed work once at least `minIters` ran. Milliseconds.
 */
export async function timeIt(
  fn: () => unknown,
  opts: { warmup?: number; iters?: number; minIters?: number; maxMs?: number } = {},
): Promise<TimingStats> {
  const { warmup = 1, iters = 5, minIters = 3, maxMs = Infinity } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  let peak = rssMiB();
  let spent = 0;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    samples.push(dt);
    peak = Math.max(peak, rssMiB());
    spent += dt;
    if (spent > maxMs && samples.length >= minIters) break;
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), n: samples.length, samples, peakRssMiB: peak };
}

/**
 * The process's peak resident set so far (MiB): VmHWM, as the Python references read it (getrusage's maxRSS carries the
 * parent's peak across fork+exec, so a child workload could report the bench runner's memory); getrusage elsewhere.
 */
export function maxRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** The Python that has Debian's torch (a `python3` earlier on PATH may not). */
export const PYTHON = '/usr/bin/python3';

export type PythonResult<T> = { ok: true; value: T } | { ok: false; reason: string };

let torchCheck: PythonResult<string> | null = null;

/** Whether `/usr/bin/python3` can import torch; the version, or why not. Cached. */
export function pythonTorch(): PythonResult<string> {
  if (torchCheck !== null) return torchCheck;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) torchCheck = { ok: false, reason: `${PYTHON} could not run: ${r.error.message}` };
  else if (r.status !== 0) torchCheck = { ok: false, reason: `torch is not importable from ${PYTHON}: ${r.stderr.trim().split('\n').pop()}` };
  else torchCheck = { ok: true, value: r.stdout.trim() };
  return torchCheck;
}

/**
 * Runs `tools/bench/<script>` with `/usr/bin/python3`, passing `config` as one JSON argument, and parses the JSON
 * object it prints last on stdout. Returns `{ ok: false, reason }` when torch is missing or the script fails.
 */
export function runPython<T>(script: string, config: unknown, opts: { timeoutMs?: number } = {}): PythonResult<T> {
  const torch = pythonTorch();
  if (!torch.ok) return torch;
  const path = join(import.meta.dirname, script);
  const r = spawnSync(PYTHON, [path, JSON.stringify(config)], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.error !== undefined) return { ok: false, reason: `${script}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${script} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ok: true, value: JSON.parse(line) as T };
  } catch {
    return { ok: false, reason: `${script} printed no JSON on its last line: '${line.slice(0, 200)}'` };
  }
}

function pkgVersion(name: string): string | null {
  try {
    const req = createRequire(join(import.meta.dirname, '../../packages/backend/package.json'));
    return (req(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** CPU model, cores, memory, OS, Node, tfjs versions: stored beside every result file. */
export function machineInfo(): Record<string, unknown> {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    tfjs: Object.fromEntries(
      ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'webgpu'].map((p) => [p, pkgVersion(p)]),
    ),
    torch: pythonTorch().ok ? (pythonTorch() as { value: string }).value : null,
  };
}
