import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SmnError } from '@smn/core';
import { LaunchErrorCode } from './errors.js';
import { pointJobData } from './point-data.js';
import { SweepState } from './sweep-state.js';
import type { ChildMessage, ParentMessage } from './_child-protocol.js';
import type { LaunchOptions, LaunchResult, PointResult, SweepPoint } from './types.js';

// From src/ (in the repository) the child needs tsx's loader; from dist/ it is plain JavaScript.
const CHILD = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './point-child-entry.mjs' : './point-child.js', import.meta.url));

/**
 * The `local` launcher: the points in child processes on this machine, `jobs` at a time (Hydra's joblib launcher).
 * Each child runs one point with the same code as `smn train` and exits; a signal is passed on to the children,
 * which save their checkpoints.
 */
export async function runLocal(sweepId: string, points: readonly SweepPoint[], opts: Omit<LaunchOptions, 'launcher'>): Promise<LaunchResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new SmnError(LaunchErrorCode.BadCount, `--jobs must be a whole number ≥ 1, found ${jobs}`, { kind: 'usage' });
  const state = new SweepState(sweepId, 'local', points, opts.onStatus);
  const running = new Set<ChildProcess>();
  const onAbort = () => running.forEach((c) => c.kill('SIGTERM'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let interrupted = false;
  const lane = async () => {
    while (next < points.length && !opts.signal?.aborted) {
      const k = next++;
      state.update(k, { state: 'running' });
      try {
        const r = await runChild({ job: pointJobData(sweepId, k, points[k]!), ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}) }, running, {
          onProgress: (progress) => state.update(k, { progress }),
          onLog: (line) => opts.onLog?.(`[${k}] ${line}`),
        });
        state.finished(k, r);
        if (!r.completed) interrupted = true;
      } catch (err) {
        state.failed(k, err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, points.length) }, lane));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  interrupted ||= Boolean(opts.signal?.aborted);
  return { sweepId, status: state.status, ok: state.ok && !interrupted, interrupted };
}

/** One point (or a cascade's ensemble step) in a child; resolves with its result, rejects with its error (or its death). */
export function runChild(msg: ParentMessage, running: Set<ChildProcess>, on: { onProgress(p: NonNullable<ChildMessage & { type: 'progress' }>['progress']): void; onLog(line: string): void }): Promise<PointResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    running.add(child);
    let outcome: { result: PointResult } | { error: string } | undefined;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout!.on('data', () => {});
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') on.onProgress(m.progress);
      else if (m.type === 'log') on.onLog(m.line);
      else if (m.type === 'result') outcome = { result: m.result };
      else outcome = { error: m.error };
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      if (outcome && 'result' in outcome) resolve(outcome.result);
      else if (outcome) reject(new Error(outcome.error));
      else reject(new SmnError(LaunchErrorCode.ChildDied, `the child running ${msg.job?.runDir ?? `the ensembles of ${msg.cascade?.cascade.out}`} exited (${signal ?? `code ${code}`}) without a result; its stderr ends with:\n${stderr.trim()}`));
    });
    child.send(msg);
  });
}
