import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { KnnErrorCode } from './errors.js';
import { readLabels, viewMatrix, type MatrixView } from './_matrix.js';
import type { KnnOptions, KnnResult, LabelsInput, MatrixInput } from './types.js';

/** Defaults of {@link knnPredict} (the reference's `knn_predict`: k = 200, T = 0.1). */
export const KNN_DEFAULTS = {
  k: 200,
  temperature: 0.1,
  queryChunk: 1024,
  bankChunk: 8192,
  normalize: true,
} as const;

/**
 * `1 / max(‖row‖, 1e-12)` as a `[rows, 1]` column (`torch.nn.functional.normalize`'s clamp), written as
 * `rsqrt(max(Σx², 1e-24))`: the same value, and about twice as fast as `tf.norm` (abs + pow) on the torch backend.
 */
function invRowNorms(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.rsqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-24)) as tf.Tensor2D);
}

/** Row-wise L2 normalisation as `torch.nn.functional.normalize`. */
function l2Rows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, invRowNorms(x)) as tf.Tensor2D);
}

// Gathers use 1-D indices only: tfjs-backend-wasm 4.22's GatherV2 fails on 2-D indices / batchDims
// ("memory access out of bounds", found by running this on wasm).

/** `table[indices + offset]` for a 1-D table and `[r, c]` int32 indices → `[r, c]`. */
function gatherRows1d(table: tf.Tensor1D, indices: tf.Tensor2D, offset: number): tf.Tensor2D {
  const [r, c] = indices.shape;
  const flat = tf.reshape(tf.add(indices, tf.scalar(offset, 'int32')), [r * c]);
  return tf.reshape(tf.gather(table, flat), [r, c]);
}

/** `x[i, indices[i, j]]` for `[r, w]` x and `[r, c]` int32 indices → `[r, c]` (gather with batchDims 1). */
function gatherPerRow(x: tf.Tensor2D, indices: tf.Tensor2D): tf.Tensor2D {
  const [r, w] = x.shape;
  const c = indices.shape[1];
  const rowBase = tf.reshape(tf.mul(tf.range(0, r, 1, 'int32'), tf.scalar(w, 'int32')), [r, 1]);
  const flat = tf.reshape(tf.add(indices, rowBase), [r * c]);
  return tf.reshape(tf.gather(tf.reshape(x, [r * w]), flat), [r, c]);
}

function checkPositiveInt(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new SmnError(KnnErrorCode.Option, `knn option ${name} must be a positive integer; found ${v}.`, {
      kind: 'usage',
      details: { option: name, found: v },
    });
  }
}

/**
 * Weighted k-nearest-neighbour classification (volt/modules/classifier.py, `knn_predict`, as InstDisc/DINO's; docs/method.md#knn).
 *
 * For each query: cosine similarity to every bank row (rows L2-normalised unless `normalize: false`), the top-k
 * neighbours, weights `exp(sim / T)`, a per-class sum of the weights, and the argmax.
 *
 * Memory is bounded on any backend: the bank is visited in chunks of `bankChunk` rows (uploaded once each) and the
 * queries in chunks of `queryChunk`; each query keeps a running top-k (values and labels) merged with every bank
 * chunk's top-k, so at most `queryChunk × bankChunk` similarities, one bank chunk and `Q × k` running values live
 * on the backend at once.
 *
 * Ties: among neighbours of equal similarity the one with the lower bank index is taken first (tfjs `topk` sorts
 * ties by index on the cpu, wasm and torch backends, checked in the tests, and earlier chunks come first in each
 * merge; PyTorch's own `topk` leaves tie order unspecified). Between classes of equal vote the lowest class index
 * wins.
 *
 * Scores are summed in float64 from weights shifted by the query's best similarity and scaled back, so predictions
 * stay finite for unnormalised inputs; `scores` then equal `Σ exp(sim / T)` (may be `Infinity` where that
 * overflows float32, which cannot happen with `normalize: true` and T ≥ 0.0114).
 *
 * @param queries `[Q, D]` tensor or `{ data, shape }` (not disposed).
 * @param bank `[N, D]` memory bank, tensor or `{ data, shape }` (not disposed).
 * @param bankLabels `[N]` integer labels.
 * @returns predictions `[Q]` and scores `[Q, C]` in JS memory (no tensors to dispose).
 *
 * ```ts
 * const { predictions } = await knnPredict(testFeats, trainFeats, trainLabels, { k: 200, numClasses: 10 });
 * ```
 */
export async function knnPredict(
  queries: MatrixInput,
  bank: MatrixInput,
  bankLabels: LabelsInput,
  options: KnnOptions = {},
): Promise<KnnResult> {
  const opts = resolveKnnOptions(options);
  const q = viewMatrix(queries, 'knn queries');
  const b = viewMatrix(bank, 'knn bank');
  validateKnnInputs(q, b, opts, options);
  const labels = await readLabels(bankLabels, b.rows, 'knn bankLabels', options.numClasses);
  let numClasses = options.numClasses ?? 0;
  if (options.numClasses === undefined) for (const l of labels) numClasses = Math.max(numClasses, l + 1);

  const N = b.rows;
  const Q = q.rows;
  const k = Math.min(opts.k, N);
  const predictions = new Int32Array(Q);
  const scores = new Float32Array(Q * numClasses);
  if (Q === 0) return { predictions, scores, numClasses, k };

  const qStarts: number[] = [];
  for (let s = 0; s < Q; s += opts.queryChunk) qStarts.push(s);
  const state: KnnScan = {
    q,
    b,
    opts,
    N,
    Q,
    k,
    qStarts,
    // Running top-k per query chunk: similarities (descending) and the labels of those neighbours.
    topVals: qStarts.map(() => null),
    topLabs: qStarts.map(() => null),
    qInvNorm: qStarts.map(() => null),
    labelsT: tf.tensor1d(labels, 'int32'),
  };
  try {
    for (let bs = 0; bs < N; bs += opts.bankChunk) await scanBankChunk(state, bs);
    await collectVotes(state, numClasses, opts.temperature, predictions, scores);
  } finally {
    state.labelsT.dispose();
    for (const t of state.topVals) t?.dispose();
    for (const t of state.topLabs) t?.dispose();
    for (const t of state.qInvNorm) t?.dispose();
  }
  return { predictions, scores, numClasses, k };
}

function resolveKnnOptions(options: KnnOptions) {
  return { ...KNN_DEFAULTS, ...options };
}

type ResolvedKnnOptions = ReturnType<typeof resolveKnnOptions>;

/** State of one {@link knnPredict} call: the inputs and, per query chunk, the running top-k. */
interface KnnScan {
  q: MatrixView;
  b: MatrixView;
  opts: ResolvedKnnOptions;
  N: number;
  Q: number;
  k: number;
  qStarts: number[];
  topVals: (tf.Tensor2D | null)[];
  topLabs: (tf.Tensor2D | null)[];
  qInvNorm: (tf.Tensor2D | null)[];
  labelsT: tf.Tensor1D;
}

/** The checks of {@link knnPredict} that need no labels: matching dimensions, a non-empty bank, the options. */
function validateKnnInputs(q: MatrixView, b: MatrixView, opts: ResolvedKnnOptions, options: KnnOptions): void {
  if (q.dim !== b.dim) {
    throw new SmnError(
      KnnErrorCode.Shape,
      `knn queries have dimension ${q.dim} but the bank has dimension ${b.dim}; embed both with the same model.`,
      { kind: 'usage', details: { queryDim: q.dim, bankDim: b.dim } },
    );
  }
  if (b.rows < 1) {
    throw new SmnError(KnnErrorCode.Shape, 'knn bank is empty (0 rows); it needs at least one labelled row.', {
      kind: 'usage',
    });
  }
  checkPositiveInt(opts.k, 'k');
  checkPositiveInt(opts.queryChunk, 'queryChunk');
  checkPositiveInt(opts.bankChunk, 'bankChunk');
  if (!(opts.temperature > 0) || !Number.isFinite(opts.temperature)) {
    throw new SmnError(KnnErrorCode.Option, `knn temperature must be a finite number > 0; found ${opts.temperature}.`, {
      kind: 'usage',
    });
  }
  if (options.numClasses !== undefined) checkPositiveInt(options.numClasses, 'numClasses');
}

/** Uploads bank rows `[bs, bs + bankChunk)` once and merges their top-k into every query chunk's running top-k. */
async function scanBankChunk(s: KnnScan, bs: number): Promise<void> {
  const { opts, N } = s;
  if (opts.signal?.aborted) {
    throw new SmnError(KnnErrorCode.Aborted, 'knnPredict was aborted.', { cause: opts.signal.reason });
  }
  const be = Math.min(N, bs + opts.bankChunk);
  const bankBlock = tf.tidy(() => {
    const raw = s.b.block(bs, be);
    return opts.normalize ? l2Rows(raw) : raw;
  });
  try {
    for (let ci = 0; ci < s.qStarts.length; ci++) mergeQueryChunk(s, ci, bankBlock, bs, be);
    // Wait for the backend to finish this bank chunk before the next upload (bounds queued work on GPUs).
    await s.topVals[s.qStarts.length - 1]!.data();
  } finally {
    bankBlock.dispose();
  }
  opts.onProgress?.(be, N);
}

/** Query chunk `ci` against bank rows `[bs, be)`: its top-k there, merged with its running top-k. */
function mergeQueryChunk(s: KnnScan, ci: number, bankBlock: tf.Tensor2D, bs: number, be: number): void {
  const { opts, qInvNorm, k } = s;
  const qs = s.qStarts[ci]!;
  const qe = Math.min(s.Q, qs + opts.queryChunk);
  const prevV = s.topVals[ci] ?? null;
  const prevL = s.topLabs[ci] ?? null;
  const [nv, nl] = tf.tidy(() => {
    const rawQ = s.q.block(qs, qe);
    // Cosine similarity as (q · b̂) / ‖q‖: dividing a query's row by its positive norm does not change the
    // order of its neighbours, so only the k kept values are scaled (the norms are computed once per chunk).
    if (opts.normalize && qInvNorm[ci] === null) {
      qInvNorm[ci] = tf.keep(invRowNorms(rawQ));
    }
    const sim = tf.matMul(rawQ, bankBlock, false, true); // [qc, nc]
    const chunkTop = tf.topk(sim, Math.min(k, be - bs), true);
    const chunkVals = opts.normalize ? (tf.mul(chunkTop.values, qInvNorm[ci]!) as tf.Tensor2D) : (chunkTop.values as tf.Tensor2D);
    const chunkLabs = gatherRows1d(s.labelsT, chunkTop.indices as tf.Tensor2D, bs);
    if (prevV === null || prevL === null) return [chunkVals, chunkLabs];
    // Earlier (lower-index) neighbours first, so equal similarities keep the lower bank index.
    const v = tf.concat([prevV, chunkVals], 1);
    const l = tf.concat([prevL, chunkLabs], 1);
    const merged = tf.topk(v, Math.min(k, v.shape[1]), true);
    return [merged.values as tf.Tensor2D, gatherPerRow(l, merged.indices as tf.Tensor2D)];
  });
  prevV?.dispose();
  prevL?.dispose();
  s.topVals[ci] = nv;
  s.topLabs[ci] = nl;
}

/** The weighted vote of every query's final top-k: fills `scores` `[Q, C]` and `predictions` `[Q]`. */
async function collectVotes(
  s: KnnScan,
  numClasses: number,
  T: number,
  predictions: Int32Array,
  scores: Float32Array,
): Promise<void> {
  const acc = new Float64Array(numClasses);
  for (let ci = 0; ci < s.qStarts.length; ci++) {
    const qs = s.qStarts[ci]!;
    const vals = await s.topVals[ci]!.data();
    const labs = await s.topLabs[ci]!.data();
    const kk = s.topVals[ci]!.shape[1];
    const rows = vals.length / kk;
    for (let r = 0; r < rows; r++) {
      acc.fill(0);
      const best = vals[r * kk]!; // topk is sorted: the first is the largest similarity
      for (let j = 0; j < kk; j++) acc[labs[r * kk + j]!]! += Math.exp((vals[r * kk + j]! - best) / T);
      const scale = Math.exp(best / T);
      let arg = 0;
      for (let c = 0; c < numClasses; c++) {
        scores[(qs + r) * numClasses + c] = acc[c]! * scale;
        if (acc[c]! > acc[arg]!) arg = c;
      }
      predictions[qs + r] = arg;
    }
  }
}
