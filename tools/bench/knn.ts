// Bench area `knn`: @smn/knn's knnPredict on a memory bank of N × D random features (full: 50,000 × 2048, the
// CIFAR train set through a ResNet-50) against Q = 10,000 queries, k = 200, T = 0.1, 100 classes, default chunks;
// and the same chunked algorithm in PyTorch (tools/bench/knn_ref.py, 2 threads) for the ratio. Seconds and peak
// memory. Runnable alone: `pnpm tsx tools/bench/knn.ts [--quick] [--backend cpu] [--n N --d D --q Q] [--max-min M]`.
//
// Time is linear in Q (every query chunk visits the whole bank). When a calibration chunk predicts more than
// `maxMinutes` (default 20; env SMN_BENCH_KNN_MAX_MIN) for all Q queries, only the first Q' queries are timed and the
// result is scaled to Q, marked `extra.extrapolated` with `measuredQueries` (the bank is always the full N × D).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createRng } from '../../packages/core/src/index.js';
import { useBackend, tf, type BackendName } from '../../packages/backend/src/index.js';
import { knnPredict, KNN_DEFAULTS, type HostMatrix } from '../../packages/knn/src/index.js';
import { median, runPython, type BenchOptions, type BenchResult } from './_harness.js';

interface Sizes {
  n: number;
  d: number;
  q: number;
}

export interface KnnBenchOptions extends BenchOptions {
  sizes?: Partial<Sizes>;
  maxMinutes?: number;
}

interface TorchOut {
  seconds: number[];
  peak_rss_mb: number;
  data_mb: number;
}

const K = 200;
const CLASSES = 100;
const mib = (b: number): number => b / 2 ** 20;

function uniformMatrix(rows: number, dim: number, seed: number): HostMatrix {
  const rng = createRng(seed);
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() - 0.5;
  return { data, shape: [rows, dim] };
}

async function timedPredict(
  queries: HostMatrix,
  bank: HostMatrix,
  labels: Int32Array,
): Promise<{ seconds: number; peakRssMiB: number; peakTfMiB: number }> {
  let peakRss = process.memoryUsage.rss();
  // Sampled between bank chunks (after each chunk is freed): the running top-k and caches that persist.
  let peakTf = tf.memory().numBytes;
  const t0 = performance.now();
  await knnPredict(queries, bank, labels, {
    k: K,
    numClasses: CLASSES,
    onProgress: () => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      peakTf = Math.max(peakTf, tf.memory().numBytes);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return { seconds, peakRssMiB: mib(peakRss), peakTfMiB: mib(peakTf) };
}

export async function run(opts: KnnBenchOptions): Promise<BenchResult[]> {
  const backendReq = opts.backend === 'auto' || opts.backend === '' ? 'auto' : opts.backend;
  const choice = await useBackend(backendReq as BackendName);
  const backend = choice.name;
  const sizes: Sizes = { ...(opts.quick ? { n: 5000, d: 256, q: 1000 } : { n: 50_000, d: 2048, q: 10_000 }), ...opts.sizes };
  const reps = opts.quick ? 3 : 1;
  const maxMinutes = opts.maxMinutes ?? Number(process.env['SMN_BENCH_KNN_MAX_MIN'] ?? 20);

  const bank = uniformMatrix(sizes.n, sizes.d, 1);
  const queriesAll = uniformMatrix(sizes.q, sizes.d, 2);
  const lrng = createRng(3);
  const labels = Int32Array.from({ length: sizes.n }, () => lrng.int(CLASSES));
  const inputMiB = mib((bank.data.length + queriesAll.data.length) * 4);

  // Calibration: one query chunk (≤ 1024 queries) against the whole bank; time is linear in the number of queries.
  const calQ = Math.min(sizes.q, KNN_DEFAULTS.queryChunk, opts.quick ? sizes.q : 256);
  const cal = await timedPredict({ data: queriesAll.data.subarray(0, calQ * sizes.d), shape: [calQ, sizes.d] }, bank, labels);
  const predictedS = (cal.seconds / calQ) * sizes.q;
  let qMeasured = sizes.q;
  if (predictedS > maxMinutes * 60) {
    qMeasured = Math.max(calQ, Math.floor(((maxMinutes * 60) / predictedS) * sizes.q / reps));
    qMeasured = Math.min(sizes.q, qMeasured);
  }
  const queries: HostMatrix = { data: queriesAll.data.subarray(0, qMeasured * sizes.d), shape: [qMeasured, sizes.d] };
  const scale = sizes.q / qMeasured;

  const tsSecs: number[] = [];
  const torchSecs: number[] = [];
  let peakRss = 0;
  let peakTf = 0;
  let torchPeak = NaN;
  let torchNote: string | undefined;
  // Alternate the two sides so load swings on a shared machine hit both.
  for (let r = 0; r < reps; r++) {
    const m = await timedPredict(queries, bank, labels);
    tsSecs.push(m.seconds * scale);
    peakRss = Math.max(peakRss, m.peakRssMiB);
    peakTf = Math.max(peakTf, m.peakTfMiB);
    const py = runPython<TorchOut>('knn_ref.py', { n: sizes.n, d: sizes.d, q: sizes.q, k: K, classes: CLASSES, reps: 1 }, { timeoutMs: 3_600_000 });
    if (py.ok) {
      torchSecs.push(...py.value.seconds);
      torchPeak = py.value.peak_rss_mb;
    } else torchNote = py.reason;
  }
  const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });
  const label = `${sizes.n}x${sizes.d} bank, ${sizes.q} queries, k=${K}`;
  const ts = stats(tsSecs);
  const results: BenchResult[] = [
    {
      name: `knnPredict ${label}`,
      backend,
      unit: 's',
      ...ts,
      extra: {
        peakRssMiB: Math.round(peakRss),
        persistentTfMiB: Math.round(peakTf),
        // Upper bound of what knnPredict holds on the backend at once: raw + normalised bank chunk, query chunk,
        // similarity block, running top-k values + labels (2 × Q × k) and query norms.
        backendBoundMiB: Math.round(
          mib(
            4 *
              (2 * KNN_DEFAULTS.bankChunk * sizes.d +
                KNN_DEFAULTS.queryChunk * (sizes.d + KNN_DEFAULTS.bankChunk) +
                2 * sizes.q * K * 2 +
                sizes.q),
          ),
        ),
        inputMiB: Math.round(inputMiB),
        queryChunk: KNN_DEFAULTS.queryChunk,
        bankChunk: KNN_DEFAULTS.bankChunk,
        ...(qMeasured < sizes.q ? { extrapolated: true, measuredQueries: qMeasured } : {}),
        ...(torchSecs.length > 0 ? { ratioToTorch: ts.median / median(torchSecs) } : {}),
      },
    },
  ];
  if (torchSecs.length > 0) {
    results.push({
      name: `torch knn_ref ${label}`,
      backend: 'torch-cpu-2threads',
      unit: 's',
      ...stats(torchSecs),
      extra: { peakRssMiB: Math.round(torchPeak) },
    });
  } else {
    results.push({ name: `torch knn_ref ${label}`, backend: 'torch-cpu', unit: 's', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: torchNote ?? 'not run' } });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      backend: { type: 'string', default: process.env['SMN_BACKEND'] ?? 'auto' },
      n: { type: 'string' },
      d: { type: 'string' },
      q: { type: 'string' },
      'max-min': { type: 'string' },
    },
  });
  const sizes: Partial<Sizes> = {};
  for (const k of ['n', 'd', 'q'] as const) if (values[k] !== undefined) sizes[k] = Number(values[k]);
  const res = await run({
    quick: values.quick,
    backend: values.backend,
    sizes,
    ...(values['max-min'] !== undefined ? { maxMinutes: Number(values['max-min']) } : {}),
  });
  console.log(JSON.stringify(res, null, 2));
}
