import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng } from '@smn/core';
import { KnnErrorCode } from './errors.js';
import { readLabels, takeRows, viewMatrix } from './_matrix.js';
import { knnPredict } from './knn-predict.js';
import type {
  KnnAccuracyResult,
  KnnOptions,
  KnnSelfAccuracyOptions,
  LabelsInput,
  MatrixInput,
} from './types.js';

/**
 * Top-1 accuracy of {@link knnPredict}: queries `[Q, D]` with labels `[Q]` classified against a bank `[N, D]`.
 * Returns the predictions and scores too (JS memory; no tensors to dispose; inputs are not disposed).
 */
export async function knnAccuracy(
  queries: MatrixInput,
  queryLabels: LabelsInput,
  bank: MatrixInput,
  bankLabels: LabelsInput,
  options: KnnOptions = {},
): Promise<KnnAccuracyResult> {
  const qRows = viewMatrix(queries, 'knn queries').rows;
  const truth = await readLabels(queryLabels, qRows, 'knn queryLabels', undefined);
  const res = await knnPredict(queries, bank, bankLabels, options);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (res.predictions[i] === truth[i]) correct++;
  return { ...res, correct, total: truth.length, accuracy: truth.length === 0 ? 0 : correct / truth.length };
}

/**
 * The reference's `knn_accuracy` (ClassifierModule.analyze; docs/method.md#knn): a random subset of at most `maxSamples` (10,000) test embeddings
 * `[N, D]` is used as both queries and bank, self-matches included (so it is optimistic; the reported metric is
 * {@link knnMemTrainAccuracy}). The subset is drawn with `createRng(seed)` and kept in ascending index order.
 */
export async function knnSelfAccuracy(
  embeddings: MatrixInput,
  labels: LabelsInput,
  options: KnnSelfAccuracyOptions = {},
): Promise<KnnAccuracyResult> {
  const { maxSamples = 10_000, seed = 0, ...knnOptions } = options;
  if (!Number.isInteger(maxSamples) || maxSamples < 1) {
    throw new SmnError(KnnErrorCode.Option, `knnSelfAccuracy maxSamples must be a positive integer; found ${maxSamples}.`, {
      kind: 'usage',
    });
  }
  const n = viewMatrix(embeddings, 'knn embeddings').rows;
  const all = await readLabels(labels, n, 'knn labels', knnOptions.numClasses);
  if (n <= maxSamples) return knnAccuracy(embeddings, all, embeddings, all, knnOptions);
  const idx = createRng(seed).permutation(n).slice(0, maxSamples).sort();
  const sub = takeRows(embeddings, idx);
  const subLabels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) subLabels[i] = all[idx[i]!]!;
  try {
    return await knnAccuracy(sub, subLabels, sub, subLabels, knnOptions);
  } finally {
    if (sub instanceof tf.Tensor) sub.dispose();
  }
}

/**
 * The reference's reported `knn_accuracy_mem_train` (docs/method.md#knn): test embeddings `[Q, D]` as queries against the
 * whole (unaugmented) train set `[N, D]` as the bank, k = 200, T = 0.1 by default.
 */
export async function knnMemTrainAccuracy(
  testEmbeddings: MatrixInput,
  testLabels: LabelsInput,
  trainEmbeddings: MatrixInput,
  trainLabels: LabelsInput,
  options: KnnOptions = {},
): Promise<KnnAccuracyResult> {
  return knnAccuracy(testEmbeddings, testLabels, trainEmbeddings, trainLabels, options);
}
