import type { LauncherName, PointResult, PointStatus, SweepPoint, SweepStatus } from './types.js';
import { isSmnError } from '@smn/core';

/** The in-memory status of a sweep run here (basic, local), reported to `onStatus` at every change. */
export class SweepState {
  readonly status: SweepStatus;
  constructor(
    sweepId: string,
    launcher: LauncherName,
    points: readonly Pick<SweepPoint, 'runDir' | 'overrides'>[],
    private readonly onStatus?: (s: SweepStatus) => void,
  ) {
    this.status = { sweepId, launcher, points: points.map((p, index) => ({ index, runDir: p.runDir, overrides: [...p.overrides], state: 'queued' })) };
  }
  update(index: number, change: Partial<PointStatus>): void {
    Object.assign(this.status.points[index]!, change);
    this.onStatus?.(this.status);
  }
  finished(index: number, r: PointResult): void {
    this.update(index, r.completed ? { state: 'done', metrics: r.metrics } : { state: 'queued' });
  }
  failed(index: number, err: unknown): void {
    this.update(index, { state: 'failed', error: errorText(err) });
  }
  get ok(): boolean {
    return this.status.points.every((p) => p.state === 'done');
  }
}

/** `[CODE] message` for an SmnError, the message otherwise: what a failed point shows. */
export function errorText(err: unknown): string {
  if (isSmnError(err)) return `[${err.code}] ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
