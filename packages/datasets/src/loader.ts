/**
 * Batched, shuffled, augmented loading. The order of epoch `e` is a permutation seeded by (seed, e); the augmentation
 * of sample i in epoch e uses an RNG seeded by (seed, e, i) only, so results do not depend on the number of workers
 * or their scheduling, and a resumed run (same seed, epoch, `startBatch`) reproduces its batches exactly.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SmnError, createRng } from '@smn/core';
import { mixSeed, presetSpec, PRESET_NAMES } from './presets.js';
import { runSample, transformFor, type TaskItem, type TaskResult } from './sample-task.js';
import type { Batch, DatasetWarning, ImageDataset, PresetSpec, TransformFn, TransformOutput } from './types.js';
import { warn } from './_warn.js';
import { DatasetErrorCode } from './errors.js';

/** Options of `createLoader`. */
export interface LoaderOptions {
  batchSize: number;
  /** Shuffle each epoch with a permutation seeded by (seed, epoch). Default true. */
  shuffle?: boolean;
  /** Default 0. */
  seed?: number;
  /** Epoch number (changes order and augmentations). Default 0. */
  epoch?: number;
  /** Subset of dataset indices to iterate (e.g. from `subsetIndices`). Default all. */
  indices?: Int32Array;
  /** A preset (name or spec, serialisable: runs in workers) or a function (in-process only, `workers: 0`). */
  transform: PresetSpec | (typeof PRESET_NAMES)[number] | TransformFn;
  /**
   * Worker threads for decode + augment; 0 = in-process. Default 0 (or the pool's size when `pool` is given). At most
   * {@link maxWorkers} (one per core) start; asking for more starts that many and reports `SMN_DATA_WORKERS_CAPPED`.
   */
  workers?: number;
  /** Reuse these threads (started once, e.g. for every epoch) instead of starting `workers` threads per iteration. */
  pool?: WorkerPool;
  /** Drop a last batch smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /** Skip the first `startBatch` batches of the epoch (resume mid-epoch). Default 0. */
  startBatch?: number;
  /** Batches prepared ahead of the consumer (with workers). Default 2. */
  prefetch?: number;
  signal?: AbortSignal;
  /**
   * Called for a sample that cannot be read or transformed; the sample is skipped (the batch is shorter). Without it,
   * the first bad sample throws.
   */
  onBadSample?: (err: SmnError) => void;
  /** Called for a problem that does not stop loading (the worker count capped); else a process warning, once. */
  onWarning?: (w: DatasetWarning) => void;
}

/** An async iterable of batches for one epoch, with counters. */
export interface DataLoader extends AsyncIterable<Batch> {
  /** Batches this epoch yields (before skipping bad samples). */
  readonly numBatches: number;
  /** Samples skipped so far because `onBadSample` was given. */
  readonly badSamples: number;
  /** Worker threads that serve this loader (0 = in-process): the request, capped at {@link maxWorkers}. */
  readonly workers: number;
}

function usage(msg: string): SmnError {
  return new SmnError(DatasetErrorCode.Usage, msg, { kind: 'usage' });
}

/** The epoch's visiting order of dataset indices. */
export function epochOrder(length: number, opts: { indices?: Int32Array; shuffle?: boolean; seed?: number; epoch?: number }): Int32Array {
  const order = opts.indices ? Int32Array.from(opts.indices) : Int32Array.from({ length }, (_, i) => i);
  if (opts.shuffle ?? true) createRng(mixSeed(opts.seed ?? 0, opts.epoch ?? 0, 0x0dd5)).shuffle(order);
  return order;
}

function assemble(results: TaskResult[], onBad: ((e: SmnError) => void) | undefined, count: { bad: number }): Batch | undefined {
  const good: { index: number; out: TransformOutput }[] = [];
  for (const r of results) {
    if (r.ok) good.push({ index: r.index, out: r.out });
    else {
      const err = new SmnError(r.error.code, r.error.message, { details: r.error.details });
      if (!onBad) throw err;
      count.bad++;
      onBad(err);
    }
  }
  if (good.length === 0) return undefined;
  const indices = Int32Array.from(good, (g) => g.index);
  const B = good.length;
  const first = good[0]!.out;
  if ('view' in first) {
    const [h, w] = first.size;
    const per = h * w * 3;
    const images = new Float32Array(B * per);
    good.forEach((g, k) => {
      const o = g.out as Extract<TransformOutput, { view: Float32Array }>;
      if (o.view.length !== per) {
        throw new SmnError(DatasetErrorCode.Usage, `transform returned views of different sizes in one batch (${o.size.join('x')} vs ${h}x${w}) at index ${g.index}`);
      }
      images.set(o.view, k * per);
    });
    return { indices, labels: new Int32Array(0), images, shape: [B, h, w, 3] };
  }
  const crops = first.crops.map((c, ci) => {
    const [h, w] = c.size;
    const per = h * w * 3;
    const images = new Float32Array(B * per);
    good.forEach((g, k) => images.set((g.out as Extract<TransformOutput, { crops: unknown }>).crops[ci]!.data, k * per));
    return { images, shape: [B, h, w, 3] as [number, number, number, number] };
  });
  return { indices, labels: new Int32Array(0), crops };
}

/**
 * A set of worker threads for decode + augment that can serve many loaders (e.g. every epoch of a run), so threads
 * start once. Create with `createWorkerPool(n)`, pass as `pool` to `createLoader`, `close()` when done.
 */
export interface WorkerPool {
  readonly size: number;
  /** Resolves when every thread has loaded its code. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The worker thread's code. Built (dist/loader.js) it is plain JavaScript; run from the sources (tests, `pnpm smn`),
 * worker-entry.mjs first installs tsx's loader so the thread can import the TypeScript.
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./worker-entry.mjs', import.meta.url)
  : new URL('./worker.js', import.meta.url);

class Pool implements WorkerPool {
  private workers: Worker[] = [];
  private started: Promise<void>[] = [];
  private closed = false;
  private pending = new Map<number, { resolve: (r: TaskResult[]) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private rr = 0;
  private failed: unknown;

  constructor(n: number) {
    for (let k = 0; k < n; k++) {
      const w = new Worker(WORKER_URL);
      const started = new Promise<void>((resolve, reject) => {
        const onMsg = (m: { ready?: boolean }) => {
          if (m && m.ready) {
            w.off('message', onMsg);
            resolve();
          }
        };
        w.on('message', onMsg);
        w.once('error', reject);
      });
      // Awaited by run()/ready(); this handler only keeps an unobserved start-up failure from crashing the process.
      started.catch(() => undefined);
      this.started.push(started);
      w.on('message', (m: { id?: number; results?: TaskResult[] }) => {
        if (m.id === undefined || !m.results) return;
        const p = this.pending.get(m.id);
        if (p) {
          this.pending.delete(m.id);
          p.resolve(m.results);
        }
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  private fail(e: unknown): void {
    this.failed ??= e;
    const err = new SmnError(DatasetErrorCode.Worker, `a data loader worker thread failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  get size(): number {
    return this.workers.length;
  }

  async ready(): Promise<void> {
    await Promise.all(this.started);
  }

  async run(items: TaskItem[], spec: PresetSpec, seed: number, epoch: number, source: string): Promise<TaskResult[]> {
    if (this.closed) throw new SmnError(DatasetErrorCode.Usage, 'this worker pool was closed', { kind: 'usage' });
    await Promise.all(this.started);
    if (this.failed) throw new SmnError(DatasetErrorCode.Worker, `a data loader worker thread failed: ${String(this.failed)}`);
    const id = this.nextId++;
    const w = this.workers[this.rr++ % this.workers.length]!;
    return new Promise<TaskResult[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, items, spec, seed, epoch, source });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * The most worker threads a loader or pool starts: the cores this process may use (`os.availableParallelism()`).
 * Decoding and augmenting are CPU-bound, so more threads than cores only add memory (each thread is a V8 isolate
 * of ~4 MB plus its sharp buffers: 100,000 asked for started ~2,000 threads and 8 GB before this cap).
 */
export function maxWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** `n` capped at {@link maxWorkers}, reporting the cap through `onWarning` (or a process warning). */
function capWorkers(n: number, onWarning: ((w: DatasetWarning) => void) | undefined): number {
  const limit = maxWorkers();
  if (n <= limit) return n;
  warn(
    {
      code: DatasetErrorCode.WorkersCapped,
      message: `${n} data-loading worker threads were asked for; using ${limit}, one per CPU core this process may use (more only add memory)`,
      details: { requested: n, used: limit },
    },
    onWarning,
  );
  return limit;
}

/** Starts `n` worker threads for loaders (see `WorkerPool`), at most {@link maxWorkers}. */
export function createWorkerPool(n: number, opts: { onWarning?: (w: DatasetWarning) => void } = {}): WorkerPool {
  if (!Number.isInteger(n) || n < 1) throw usage(`a worker pool needs n ≥ 1 threads, got ${n}`);
  return new Pool(capWorkers(n, opts.onWarning));
}

/** The threads a loader uses (a pool's, or `workers` capped at the cores) and its transform, checked together. */
function loaderThreads(opts: LoaderOptions): { workers: number; spec: PresetSpec | undefined; fn: TransformFn } {
  const asked = opts.pool ? opts.pool.size : opts.workers ?? 0;
  if (!Number.isInteger(asked) || asked < 0) throw usage(`workers must be an integer ≥ 0, got ${asked}`);
  if (opts.pool && opts.workers !== undefined && opts.workers !== opts.pool.size) {
    throw usage(`workers: ${opts.workers} does not match the pool's ${opts.pool.size} threads; leave workers out when passing a pool`);
  }
  const workers = opts.pool ? asked : capWorkers(asked, opts.onWarning);
  if (typeof opts.transform === 'function') {
    if (workers > 0) throw usage('a custom transform function cannot run in worker threads; pass a preset spec or use workers: 0');
    return { workers, spec: undefined, fn: opts.transform };
  }
  const spec = presetSpec(opts.transform);
  return { workers, spec, fn: transformFor(spec) };
}

/**
 * Creates a loader for one epoch of `ds`. Iterate it with `for await`; each batch has the dataset `indices` of its
 * samples, their `labels`, and float32 NHWC normalised `images` `[B,H,W,3]` (or `crops[]` for the multicrop preset).
 * Worker threads (`workers > 0`) are started when iteration starts and stopped when it ends or breaks.
 */
export function createLoader(ds: ImageDataset, opts: LoaderOptions): DataLoader {
  const B = opts.batchSize;
  if (!Number.isInteger(B) || B < 1) throw usage(`batchSize must be a positive integer, got ${B}`);
  const { workers, spec, fn } = loaderThreads(opts);
  if (opts.indices) {
    for (let k = 0; k < opts.indices.length; k++) {
      const i = opts.indices[k]!;
      if (!(i >= 0 && i < ds.length)) throw usage(`indices[${k}] = ${i} is outside the dataset ${ds.source} of ${ds.length} samples`);
    }
  }
  const seed = opts.seed ?? 0;
  const epoch = opts.epoch ?? 0;
  const order = epochOrder(ds.length, { indices: opts.indices, shuffle: opts.shuffle, seed, epoch });
  const full = Math.floor(order.length / B);
  const numBatches = opts.dropLast || order.length % B === 0 ? full : full + 1;
  const startBatch = opts.startBatch ?? 0;
  const prefetch = Math.max(1, opts.prefetch ?? 2);
  const count = { bad: 0 };
  const run: LoaderRun = { ds, opts, B, workers, spec, fn, seed, epoch, order, numBatches, startBatch, prefetch, count };

  return {
    numBatches,
    workers,
    get badSamples() {
      return count.bad;
    },
    [Symbol.asyncIterator]: () => (workers > 0 ? threaded(run) : inProcess(run)),
  };
}

/** One loader's epoch: its dataset, options and sample order, and the count of bad samples skipped. */
interface LoaderRun {
  ds: ImageDataset;
  opts: LoaderOptions;
  B: number;
  workers: number;
  spec: ReturnType<typeof loaderThreads>['spec'];
  fn: ReturnType<typeof loaderThreads>['fn'];
  seed: number;
  epoch: number;
  order: ReturnType<typeof epochOrder>;
  numBatches: number;
  startBatch: number;
  prefetch: number;
  count: { bad: number };
}

/** The samples of batch `b`. */
function batchItems(r: LoaderRun, b: number): TaskItem[] {
  const out: TaskItem[] = [];
  for (let p = b * r.B; p < Math.min(r.order.length, (b + 1) * r.B); p++) {
    const index = r.order[p]!;
    out.push({ index, ref: r.ds.ref(index) });
  }
  return out;
}

function withLabels(r: LoaderRun, batch: Batch): Batch {
  batch.labels = Int32Array.from(batch.indices, (i) => r.ds.labels[i]!);
  return batch;
}

function checkAbort(r: LoaderRun): void {
  if (r.opts.signal?.aborted) {
    throw new SmnError(DatasetErrorCode.Aborted, `data loading of ${r.ds.source} was aborted`, { cause: r.opts.signal.reason });
  }
}

/**
 * The batches decoded and transformed in this thread (`workers: 0`). The samples of a batch run concurrently, and
 * the next batch is started before this one is handed over: sharp's decodes run on libuv's thread pool (4 threads by
 * default) while JavaScript transforms other samples, also across batch boundaries. Each
 * transform uses its own (seed, epoch, index) RNG and the results are assembled in the epoch's order, so the batches
 * are the same as one sample at a time.
 */
async function* inProcess(r: LoaderRun): AsyncGenerator<Batch> {
  const launch = (b: number): Promise<TaskResult[]> | undefined =>
    b < r.numBatches && !r.opts.signal?.aborted ? Promise.all(batchItems(r, b).map((it) => runSample(it, r.fn, r.seed, r.epoch, r.ds.source))) : undefined;
  let pending = launch(r.startBatch);
  try {
    for (let b = r.startBatch; b < r.numBatches; b++) {
      checkAbort(r);
      const results = await pending!;
      pending = launch(b + 1);
      const batch = assemble(results, r.opts.onBadSample, r.count);
      if (batch) yield withLabels(r, batch);
    }
  } finally {
    // A batch started ahead and not consumed (the loop broke or threw): let it finish unobserved.
    pending?.catch(() => undefined);
  }
}

/** The batches made by worker threads, `prefetch` batches ahead; an own pool is closed at the end. */
async function* threaded(r: LoaderRun): AsyncGenerator<Batch> {
  const { opts, workers, numBatches, prefetch } = r;
  const own = !opts.pool;
  const pool = (opts.pool as Pool | undefined) ?? new Pool(workers);
  const chunk = Math.max(1, Math.ceil(r.B / workers));
  const launch = (b: number): Promise<TaskResult[]> => {
    const its = batchItems(r, b);
    const parts: Promise<TaskResult[]>[] = [];
    for (let s = 0; s < its.length; s += chunk) parts.push(pool.run(its.slice(s, s + chunk), r.spec!, r.seed, r.epoch, r.ds.source));
    return Promise.all(parts).then((res) => res.flat());
  };
  const queue: Promise<TaskResult[]>[] = [];
  let next = r.startBatch;
  try {
    while (next < numBatches && queue.length < prefetch) queue.push(launch(next++));
    while (queue.length > 0) {
      checkAbort(r);
      const results = await queue.shift()!;
      if (next < numBatches) queue.push(launch(next++));
      const batch = assemble(results, opts.onBadSample, r.count);
      if (batch) yield withLabels(r, batch);
    }
  } finally {
    for (const q of queue) q.catch(() => undefined);
    if (own) await pool.close();
    else await Promise.allSettled(queue);
  }
}
