import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SmnError } from '@smn/core';
import { LaunchErrorCode } from './errors.js';
import { pointJobData } from './point-data.js';
import { QUEUE_NAME, SWEEP_KEY_PREFIX } from './redis.js';
import type { PointJobData, PointProgress, PointResult, PointState, PointStatus, SweepPoint, SweepStatus } from './types.js';

/** BullMQ job id of point `index` (custom ids may not hold ':'). */
export const jobIdOf = (sweepId: string, index: number): string => `${sweepId}-${index}`;

/**
 * Puts every point on the queue as a job carrying its data (config YAML, absolute run folder, overrides), and
 * records the sweep (`smn:sweep:<id>`: its points' count) so that its status can be read from any machine.
 * Jobs are kept after they end (their result or error is the sweep's record); a failed point is not retried: a
 * config error would fail again, and an interrupted or lost worker gives its job back or has it recovered instead.
 */
export async function enqueueSweep(connection: Redis, sweepId: string, points: readonly SweepPoint[]): Promise<void> {
  const queue = new Queue<PointJobData>(QUEUE_NAME, { connection });
  try {
    await connection.hset(`${SWEEP_KEY_PREFIX}${sweepId}`, { count: String(points.length), created: new Date().toISOString() });
    await queue.addBulk(
      points.map((p, k) => ({
        name: 'point',
        data: pointJobData(sweepId, k, p),
        opts: { jobId: jobIdOf(sweepId, k), attempts: 1, removeOnComplete: false, removeOnFail: false },
      })),
    );
  } finally {
    await queue.close();
  }
}

const STATES: Record<string, PointState> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'done',
  failed: 'failed',
};

/** The status of every point of sweep `sweepId` (queued / running / done / failed, progress, metrics, errors). */
export async function readSweepStatus(connection: Redis, sweepId: string): Promise<SweepStatus> {
  const count = await connection.hget(`${SWEEP_KEY_PREFIX}${sweepId}`, 'count');
  if (count === null) {
    throw new SmnError(LaunchErrorCode.UnknownSweep, `no sweep ${sweepId} in this Redis; the id is the one smn train --launcher queue printed (is --redis the same server?)`, { kind: 'usage' });
  }
  const queue = new Queue<PointJobData>(QUEUE_NAME, { connection });
  try {
    const points: PointStatus[] = [];
    for (let k = 0; k < Number(count); k++) points.push(await pointStatus(queue, sweepId, k));
    return { sweepId, launcher: 'queue', points };
  } finally {
    await queue.close();
  }
}

async function pointStatus(queue: Queue<PointJobData>, sweepId: string, k: number): Promise<PointStatus> {
  const job = (await Job.fromId(queue, jobIdOf(sweepId, k))) as Job<PointJobData, PointResult> | undefined;
  if (!job) return { index: k, runDir: '', overrides: [], state: 'failed', error: 'the job is gone from the queue (removed by hand?)' };
  const state = STATES[await job.getState()] ?? 'failed';
  const s: PointStatus = { index: k, runDir: job.data.runDir, overrides: job.data.overrides, state };
  if (job.progress && typeof job.progress === 'object') s.progress = job.progress as unknown as PointProgress;
  if (state === 'done' && job.returnvalue) s.metrics = job.returnvalue.metrics;
  if (state === 'failed') s.error = job.failedReason || 'failed';
  return s;
}

/** Whether every point ended (done or failed). */
export const sweepEnded = (s: SweepStatus): boolean => s.points.every((p) => p.state === 'done' || p.state === 'failed');
