import { isAbortError } from './_abort.js';
import { pointJobData } from './point-data.js';
import { runPoint } from './run-point.js';
import { SweepState } from './sweep-state.js';
import type { LaunchOptions, LaunchResult, SweepPoint } from './types.js';

/**
 * The `basic` launcher (Hydra's default, smn's before launchers): the points one after the other in this process.
 * A point that fails is reported and the next one starts; a signal stops the running point (it saves its checkpoint)
 * and the sweep.
 */
export async function runBasic(sweepId: string, points: readonly SweepPoint[], opts: Omit<LaunchOptions, 'launcher'>): Promise<LaunchResult> {
  const state = new SweepState(sweepId, 'basic', points, opts.onStatus);
  for (const [k, point] of points.entries()) {
    if (opts.signal?.aborted) return { sweepId, status: state.status, ok: false, interrupted: true };
    state.update(k, { state: 'running' });
    const events = opts.runEvents?.(k, point);
    try {
      const r = await runPoint(pointJobData(sweepId, k, point), point.config, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        ...(events ? { events } : {}),
        onProgress: (progress) => state.update(k, { progress }),
        ...(opts.onLog ? { onLog: opts.onLog } : {}),
      });
      state.finished(k, r);
      if (!r.completed) return { sweepId, status: state.status, ok: false, interrupted: true };
    } catch (err) {
      if (opts.signal?.aborted && isAbortError(err, opts.signal)) return { sweepId, status: state.status, ok: false, interrupted: true };
      state.failed(k, err);
    } finally {
      events?.done?.();
    }
  }
  return { sweepId, status: state.status, ok: state.ok, interrupted: false };
}
