import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { CoreErrorCode, isSmnError, SmnError } from '@smn/core';
import type { BackendName } from '@smn/backend';
import { isAbortError } from './_abort.js';
import { LaunchErrorCode } from './errors.js';
import { pointFromJobData } from './point-data.js';
import { connectRedis, QUEUE_NAME, redactUrl, redisUrlOf } from './redis.js';
import { runPoint } from './run-point.js';
import { CASCADE_JOB, cascadeFromJobData } from './cascade.js';
import { runChild } from './local.js';
import type { ParentMessage } from './_child-protocol.js';
import type { ChildProcess } from 'node:child_process';
import { errorText } from './sweep-state.js';
import type { CascadeJobData, PointJobData, PointResult } from './types.js';

export interface WorkerOptions {
  /** redis:// or rediss:// URL (default SMN_REDIS_URL). */
  redis?: string;
  /** Points run at once by this process (default 1; on CPU backends, start one worker per machine instead). */
  concurrency?: number;
  /** Stops the worker: its running points save their checkpoints and go back to the queue for another worker. */
  signal?: AbortSignal;
  /** Backend for configs without main.backend. */
  backend?: BackendName;
  /** Data-loading threads per run. */
  workers?: number;
  /**
   * How long a job stays this worker's without a lock renewal (BullMQ `lockDuration`, default 120 s). The lock is
   * renewed every half of it on a timer, and a training step blocks the event loop (8 s for a ResNet-50 step on
   * 2 cores), so it stays well above a step. A worker killed with SIGKILL loses its jobs to others after it.
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (BullMQ `stalledInterval`, default 30 s). */
  stalledIntervalMs?: number;
  /** A job whose workers died this many times fails (default 3). */
  maxStalledCount?: number;
  /** When a run folder is still locked by a worker that has not yet been judged gone: retry after this (default 10 s). */
  lockedRetryMs?: number;
  onLog?(line: string): void;
}

/** What {@link runWorker} did before it stopped. */
export interface WorkerSummary {
  done: number;
  failed: number;
  givenBack: number;
}

/**
 * An `smn worker`: takes points of any sweep from the queue and runs them with the same code as `smn train`, until
 * `signal` aborts. Per job: the config is checked with `smn train`'s schema (a bad point fails alone, its message on
 * the job); the run resumes from the run folder's last.ckpt when there is one (a worker before this one was stopped
 * or died); progress (epoch, step, latest metrics) goes to `job.updateProgress`. On abort, running points save their
 * checkpoint and their jobs are moved back to wait. Two workers never write one run folder: runExperiment holds its
 * lock (@smn/core acquireLock), and a job whose folder is still locked is delayed, not run.
 */
export async function runWorker(opts: WorkerOptions = {}): Promise<WorkerSummary> {
  const url = redisUrlOf(opts.redis);
  const connection = await connectRedis(url);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SmnError(LaunchErrorCode.BadCount, `--concurrency must be a whole number ≥ 1, found ${concurrency}`, { kind: 'usage' });
  const summary: WorkerSummary = { done: 0, failed: 0, givenBack: 0 };
  const active = new Map<string, AbortController>();
  const worker = new Worker<PointJobData | CascadeJobData, PointResult>(QUEUE_NAME, (job, token) => processJob(job, token, active, summary, opts), {
    connection,
    concurrency,
    lockDuration: opts.lockDurationMs ?? 120_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 3,
  });
  worker.on('error', (err) => opts.onLog?.(`queue error: ${err.message}`));
  worker.on('failed', (job, err) => job && opts.onLog?.(`job ${job.id} failed: ${err.message}`));
  opts.onLog?.(`waiting for jobs on ${redactUrl(url)} (queue ${QUEUE_NAME}, concurrency ${concurrency})`);
  await new Promise<void>((res) => {
    if (opts.signal?.aborted) return res();
    opts.signal?.addEventListener('abort', () => res(), { once: true });
  });
  // Stop fetching first, then stop the running points: each saves its checkpoint and gives its job back.
  const closing = worker.close();
  for (const ac of active.values()) ac.abort(opts.signal?.reason);
  await closing;
  await connection.quit().catch(() => connection.disconnect());
  return summary;
}

/** What a job runs: a point of a sweep (or an expert / embedding run of a cascade), or a cascade's ensemble step. */
type Task = { label: string; run(signal: AbortSignal): Promise<PointResult> };

function taskOf(job: Job<PointJobData | CascadeJobData, PointResult>, opts: WorkerOptions): Task {
  const common = { ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}), onLog: (line: string) => opts.onLog?.(`job ${job.id}: ${line}`) };
  if (job.name === CASCADE_JOB) {
    const data = cascadeFromJobData(job.data);
    // In a child process: the ensembles (kNN, probes over the full sets) hold an event loop for long stretches, and
    // this one must stay free to renew the job's lock (a job whose lock lapses looks stalled to other workers).
    return { label: `ensembles of the cascade ${data.cascade.out}`, run: (signal) => inChild({ cascade: data, ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}) }, signal, common.onLog) };
  }
  const point = pointFromJobData(job.data);
  return {
    label: `${point.job.runDir}${point.job.overrides.length ? ` (${point.job.overrides.join(' ')})` : ''}`,
    run: (signal) => runPoint(point.job, point.config, { signal, ...common, onProgress: (p) => void job.updateProgress(p as unknown as object).catch(() => {}) }),
  };
}

/**
 * Runs `msg` in a child process (point-child.ts); `signal` stops it with SIGTERM, and a child that ends after a stop
 * reads as a stopped run (its job is given back), whatever it says.
 */
async function inChild(msg: ParentMessage, signal: AbortSignal, onLog: (line: string) => void): Promise<PointResult> {
  const running = new Set<ChildProcess>();
  const stop = () => running.forEach((c) => c.kill('SIGTERM'));
  signal.addEventListener('abort', stop, { once: true });
  try {
    return await runChild(msg, running, { onProgress: () => {}, onLog });
  } catch (err) {
    if (signal.aborted) return { runDir: msg.cascade?.runDir ?? msg.job?.runDir ?? '', completed: false, metrics: {}, seconds: 0 };
    // The child sends errors as text ('[CODE] message'); a held lock must stay one, for processJob to wait on it.
    const held = `[${CoreErrorCode.LockHeld}] `;
    const text = (err as Error).message;
    if (text.startsWith(held)) throw new SmnError(CoreErrorCode.LockHeld, text.slice(held.length));
    throw err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** One job: validate, run (resuming when the folder holds a checkpoint), report; give back on abort. */
async function processJob(job: Job<PointJobData | CascadeJobData, PointResult>, token: string | undefined, active: Map<string, AbortController>, summary: WorkerSummary, opts: WorkerOptions): Promise<PointResult> {
  let task: Task;
  try {
    task = taskOf(job, opts);
  } catch (err) {
    summary.failed++;
    // Unrecoverable: a config that fails the schema fails again anywhere.
    throw new UnrecoverableError(errorText(err));
  }
  const ac = new AbortController();
  active.set(job.id!, ac);
  const giveBack = async () => {
    summary.givenBack++;
    await job.moveToWait(token);
    opts.onLog?.(`job ${job.id}: stopped with a checkpoint; back in the queue`);
    throw new WaitingError();
  };
  opts.onLog?.(`job ${job.id}: ${task.label}`);
  try {
    const result = await task.run(ac.signal);
    if (!result.completed) return await giveBack();
    summary.done++;
    return result;
  } catch (err) {
    if (err instanceof WaitingError) throw err;
    if (ac.signal.aborted && isAbortError(err, ac.signal)) return await giveBack();
    if (isSmnError(err) && err.code === CoreErrorCode.LockHeld) {
      // The folder's last holder is not yet judged gone (another host, heartbeat younger than staleMs): wait.
      opts.onLog?.(`job ${job.id}: its folder is still locked; retrying later`);
      await job.moveToDelayed(Date.now() + (opts.lockedRetryMs ?? 10_000), token);
      throw new DelayedError();
    }
    summary.failed++;
    throw new UnrecoverableError(errorText(err));
  } finally {
    active.delete(job.id!);
  }
}
