import { runBasic } from './basic.js';
import { runLocal } from './local.js';
import { newSweepId } from './point-data.js';
import { enqueueSweep, readSweepStatus, sweepEnded } from './queue.js';
import { connectRedis } from './redis.js';
import type { LaunchOptions, LaunchResult, SweepPoint, SweepStatus } from './types.js';

/**
 * Runs the points of a sweep (`smn train --multirun`) with a launcher: `basic` one after the other in this process,
 * `local` in `jobs` child processes, `queue` as BullMQ jobs for `smn worker`s on any machine (run folders on a
 * shared filesystem). With `queue`, unless `detach`, it follows the points until every one ended (or `signal`
 * aborts: the jobs go on). `ok` is true when every point finished.
 *
 * @example
 * const runs = resolveRuns({ configName: 'submask', overrides: ['dl.lr=0.1,0.2'], multirun: true });
 * const points = runs.map((r, k) => ({ config: r.config, runDir: `runs/lr-${k}`, overrides: r.overrides, resume: false }));
 * const res = await launchSweep(points, { launcher: 'local', jobs: 2 });
 */
export async function launchSweep(points: readonly SweepPoint[], opts: LaunchOptions): Promise<LaunchResult> {
  const sweepId = opts.sweepId ?? newSweepId();
  if (opts.launcher === 'basic') return runBasic(sweepId, points, opts);
  if (opts.launcher === 'local') return runLocal(sweepId, points, opts);
  const connection = await connectRedis(opts.redis);
  try {
    await enqueueSweep(connection, sweepId, points);
    opts.onLog?.(`sweep ${sweepId}: ${points.length} points queued`);
    let status = await readSweepStatus(connection, sweepId);
    opts.onStatus?.(status);
    if (opts.detach) return { sweepId, status, ok: false, interrupted: false };
    status = await followSweep(connection, sweepId, opts);
    return { sweepId, status, ok: status.points.every((p) => p.state === 'done'), interrupted: !sweepEnded(status) };
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** Reads the sweep's status every `pollMs` (reporting changes) until every point ended or `signal` aborts. */
export async function followSweep(connection: Awaited<ReturnType<typeof connectRedis>>, sweepId: string, opts: Pick<LaunchOptions, 'onStatus' | 'signal' | 'pollMs'>): Promise<SweepStatus> {
  let last = '';
  for (;;) {
    const status = await readSweepStatus(connection, sweepId);
    const text = JSON.stringify(status);
    if (text !== last) opts.onStatus?.(status);
    last = text;
    if (sweepEnded(status) || opts.signal?.aborted) return status;
    await new Promise<void>((res) => {
      const t = setTimeout(res, opts.pollMs ?? 1000);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
    });
  }
}

/** The status of a queued sweep, read from Redis (`smn sweep status ID`, from any machine). */
export async function sweepStatus(sweepId: string, opts: { redis?: string } = {}): Promise<SweepStatus> {
  const connection = await connectRedis(opts.redis);
  try {
    return await readSweepStatus(connection, sweepId);
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}
