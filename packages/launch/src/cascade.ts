import { resolve } from 'node:path';
import { FlowProducer, Job, Queue, type FlowJobNode } from 'bullmq';
import { z } from 'zod';
import { SmnError } from '@smn/core';
import { planCascade, readDispatcherConfig, runCascade, type CascadeOptions, type CascadePlan, type CascadeResult, type CascadeRun } from '@smn/train';
import { LaunchErrorCode } from './errors.js';
import { followSweep } from './launch.js';
import { runLocal } from './local.js';
import { newSweepId, pointJobData } from './point-data.js';
import { jobIdOf, sweepEnded } from './queue.js';
import { connectRedis, QUEUE_NAME, SWEEP_KEY_PREFIX } from './redis.js';
import { backendFor } from './run-point.js';
import { SweepState } from './sweep-state.js';
import type { CascadeJobData, LaunchOptions, PointResult, SweepPoint, SweepStatus } from './types.js';

/** BullMQ job name of a cascade's last step (ensembles); its children are the embedding runs, theirs the experts. */
export const CASCADE_JOB = 'cascade';

/** What {@link launchCascade} returns. */
export interface CascadeLaunchResult {
  /** The id of the cascade's points in Redis (`smn sweep status ID`), or of its in-memory status (`local`). */
  sweepId: string;
  /** Experts 0..K-1, embedding runs K..2K-1, the ensembles 2K (undefined for `basic`). */
  status?: SweepStatus;
  /** The cascade ended: its cascade.json is written. */
  ok: boolean;
  /** A signal stopped it (`basic`, `local`) or stopped following it (`queue`: the jobs go on). */
  interrupted: boolean;
  /** Step 4's results (when ok and not detached). */
  cascade?: CascadeResult;
}

/**
 * A self-masking cascade (`smn cascade`, @smn/train's runCascade) with a launcher: `basic` runs it in this process,
 * one run after the other; `local` and `queue` cluster here (step 1, planCascade), then run the K experts in
 * parallel (`jobs` child processes, or `smn worker`s on any machine), each expert's embedding run once it has
 * finished, and the ensembles (step 4) once every embedding run has. With `queue` it is one BullMQ flow: the
 * ensemble job is the parent of the K embedding jobs, each the parent of its expert's job; a failed run fails its
 * parents. Resumable as runCascade: finished runs are reused, a stopped expert resumes from its checkpoint.
 * Paths are made absolute (workers run elsewhere; the cascade folder must be on storage they all see).
 *
 * @example
 * const r = await launchCascade({ dispatcher: 'runs/smn', clusters: 5 }, { launcher: 'local', jobs: 2 });
 * console.log(r.cascade?.results.conditional);
 */
export async function launchCascade(cascade: CascadeOptions, opts: Omit<LaunchOptions, 'runEvents'>): Promise<CascadeLaunchResult> {
  const sweepId = opts.sweepId ?? newSweepId();
  const options: CascadeOptions = { ...cascade, dispatcher: resolve(cascade.dispatcher), out: resolve(cascade.out ?? `${cascade.dispatcher}/cascade`), ...(opts.signal ? { signal: opts.signal } : {}) };
  if (opts.launcher === 'basic') {
    const r = await runCascade(options);
    return { sweepId, ok: r.completed, interrupted: !r.completed, cascade: r };
  }
  if (opts.launcher === 'queue') {
    // Fail before clustering when Redis is not there.
    const connection = await connectRedis(opts.redis);
    try {
      const plan = await planCascade(options);
      await enqueueCascade(connection, sweepId, plan, options);
      opts.onLog?.(`cascade ${sweepId}: ${plan.experts.length} experts, ${plan.embeds.length} embedding runs and the ensembles queued`);
      if (opts.detach) return { sweepId, ok: false, interrupted: false };
      const status = await followSweep(connection, sweepId, opts);
      const res = await cascadeResultOf(connection, sweepId, 2 * plan.experts.length);
      return { sweepId, status, ok: res !== undefined, interrupted: !sweepEnded(status), ...(res ? { cascade: res } : {}) };
    } finally {
      await connection.quit().catch(() => connection.disconnect());
    }
  }
  return runCascadeLocal(sweepId, options, opts);
}

const toPoint = (r: CascadeRun): SweepPoint => ({ config: r.config, runDir: r.runDir, overrides: r.overrides, resume: r.resume });

/** The metrics a cascade's last point shows: `cascade/<method>/knn` and `cascade/<method>/probe`. */
function cascadeMetrics(r: CascadeResult): Record<string, number> {
  const m: Record<string, number> = {};
  for (const [method, v] of Object.entries(r.results)) {
    m[`cascade/${method}/knn`] = v.knn;
    if (v.probe !== undefined) m[`cascade/${method}/probe`] = v.probe;
  }
  return m;
}

/** `local`: experts in `jobs` children, then the embedding runs, then the ensembles here. */
async function runCascadeLocal(sweepId: string, options: CascadeOptions, opts: Omit<LaunchOptions, 'runEvents'>): Promise<CascadeLaunchResult> {
  const plan = await planCascade(options);
  const K = plan.experts.length;
  const state = new SweepState(sweepId, 'local', [...plan.experts, ...plan.embeds, { runDir: plan.out, overrides: [] }], opts.onStatus);
  const phase = async (runs: CascadeRun[], offset: number) => {
    const r = await runLocal(sweepId, runs.map(toPoint), {
      ...opts,
      onStatus: (s) => {
        for (const p of s.points) Object.assign(state.status.points[offset + p.index]!, { ...p, index: offset + p.index });
        opts.onStatus?.(state.status);
      },
      onLog: (line) => opts.onLog?.(line.replace(/^\[(\d+)\]/, (_, k: string) => `[${runs[Number(k)]!.name}]`)),
    });
    return r;
  };
  for (const [runs, offset] of [[plan.experts, 0], [plan.embeds, K]] as const) {
    const r = await phase(runs, offset);
    if (r.interrupted) return { sweepId, status: state.status, ok: false, interrupted: true };
    if (!r.ok) {
      state.failed(2 * K, new Error(`not run: ${failedNames(r.status, runs)} failed`));
      return { sweepId, status: state.status, ok: false, interrupted: false };
    }
  }
  state.update(2 * K, { state: 'running' });
  try {
    await backendFor(await readDispatcherConfig(options.dispatcher), opts.backend, opts.onLog);
    const res = await runCascade(options);
    if (!res.completed) return { sweepId, status: state.status, ok: false, interrupted: true };
    state.update(2 * K, { state: 'done', metrics: cascadeMetrics(res) });
    return { sweepId, status: state.status, ok: true, interrupted: false, cascade: res };
  } catch (err) {
    state.failed(2 * K, err);
    return { sweepId, status: state.status, ok: false, interrupted: false };
  }
}

const failedNames = (s: SweepStatus, runs: CascadeRun[]) =>
  s.points
    .filter((p) => p.state === 'failed')
    .map((p) => runs[p.index]!.name)
    .join(', ');

/**
 * The cascade as one BullMQ flow (job ids `<id>-<i>`: experts 0..K-1, embedding runs K..2K-1, ensembles 2K), and its
 * record `smn:sweep:<id>` so that `smn sweep status ID` reads it from any machine.
 */
export async function enqueueCascade(connection: Awaited<ReturnType<typeof connectRedis>>, sweepId: string, plan: CascadePlan, options: CascadeOptions): Promise<void> {
  const K = plan.experts.length;
  const keep = { attempts: 1, removeOnComplete: false, removeOnFail: false } as const;
  const child = (r: CascadeRun, index: number, children?: FlowJobNode[]) => ({
    name: 'point',
    queueName: QUEUE_NAME,
    data: pointJobData(sweepId, index, toPoint(r)),
    opts: { jobId: jobIdOf(sweepId, index), failParentOnFailure: true, ...keep },
    ...(children ? { children } : {}),
  });
  const data: CascadeJobData = {
    sweepId,
    index: 2 * K,
    runDir: plan.out,
    overrides: [],
    cascade: {
      dispatcher: options.dispatcher,
      out: plan.out,
      clusters: K,
      method: options.method ?? 'gmm',
      epochsScale: options.epochsScale ?? 1,
      base: options.base ?? 50000,
      probe: options.probe ?? true,
      overrides: options.overrides ?? [],
    },
  };
  await connection.hset(`${SWEEP_KEY_PREFIX}${sweepId}`, { count: String(2 * K + 1), created: new Date().toISOString(), kind: 'cascade' });
  const flow = new FlowProducer({ connection });
  try {
    await flow.add({
      name: CASCADE_JOB,
      queueName: QUEUE_NAME,
      data,
      opts: { jobId: jobIdOf(sweepId, 2 * K), ...keep },
      children: plan.embeds.map((em, k) => child(em, K + k, [child(plan.experts[k]!, k) as FlowJobNode])) as FlowJobNode[],
    });
  } finally {
    await flow.close();
  }
}

/** The CascadeResult the ensemble job returned, or undefined while it has not finished. */
async function cascadeResultOf(connection: Awaited<ReturnType<typeof connectRedis>>, sweepId: string, index: number): Promise<CascadeResult | undefined> {
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    const job = (await Job.fromId(queue, jobIdOf(sweepId, index))) as Job<CascadeJobData, PointResult> | undefined;
    return job?.returnvalue?.cascade;
  } finally {
    await queue.close();
  }
}

const cascadeJobSchema = z.strictObject({
  sweepId: z.string().min(1),
  index: z.number().int().min(0),
  runDir: z.string().min(1),
  overrides: z.array(z.string()),
  cascade: z.strictObject({
    dispatcher: z.string().min(1),
    out: z.string().min(1),
    clusters: z.number().int().min(1),
    method: z.enum(['gmm', 'kmeans']),
    epochsScale: z.number().positive(),
    base: z.number().positive(),
    probe: z.boolean(),
    overrides: z.array(z.string()),
  }),
});

/** Checks the data of a cascade's ensemble job that came from elsewhere (SMN_LAUNCH_BAD_JOB otherwise). */
export function cascadeFromJobData(data: unknown): CascadeJobData {
  const parsed = cascadeJobSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new SmnError(LaunchErrorCode.BadJob, `the job is not the ensemble step of an smn cascade (${problems}); was it enqueued by launchCascade of this version of smn?`, { kind: 'usage' });
}

/**
 * A worker's run of a cascade's last step: runCascade over the finished expert and embedding runs (it reuses them)
 * evaluates the ensembles and writes cascade.json; on the dispatcher's backend, as `smn cascade` does.
 */
export async function runCascadeJob(data: CascadeJobData, opts: { signal?: AbortSignal; backend?: LaunchOptions['backend']; workers?: number; onLog?(line: string): void }): Promise<PointResult> {
  const t0 = Date.now();
  await backendFor(await readDispatcherConfig(data.cascade.dispatcher), opts.backend, opts.onLog);
  const r = await runCascade({
    ...data.cascade,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    events: { onProgress: (p) => p.step === 'method' && opts.onLog?.(`${p.method}: kNN ${(100 * p.knn).toFixed(2)}%`) },
  });
  return { runDir: r.out, completed: r.completed, metrics: r.completed ? cascadeMetrics(r) : {}, seconds: (Date.now() - t0) / 1000, cascade: r };
}
