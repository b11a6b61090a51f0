import { SmnError, fmtShape } from '@smn/core';
import { knnPredict } from '@smn/knn';
import { checkLength, checkMatrix } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import { fitLinearProbe } from './linear-probe.js';
import { pcaWhiten } from './pca-whiten.js';
import type {
  DenseMatrix,
  EnsembleFeatures,
  EnsembleInputs,
  EnsembleMethod,
  EnsembleOptions,
  LinearProbeOptions,
} from './types.js';

/** Every method of {@link ensembleFeatures}. */
export const ENSEMBLE_METHODS: readonly EnsembleMethod[] = [
  'baseline',
  'replace',
  'conditional',
  'unconditional',
  'pca_conditional',
  'pca_unconditional',
  'add_conditional',
  'add_unconditional',
];

function validate(inp: EnsembleInputs): { N: number; M: number; widths: number[]; clusterIds: number[] } {
  if (inp.train.length === 0 || inp.train.length !== inp.test.length) {
    throw new SmnError(
      CascadeErrorCode.Shape,
      `ensemble: expected the same number (≥ 1) of train and test embeddings, got ${inp.train.length} and ${inp.test.length}`,
    );
  }
  const N = inp.train[0]!.rows;
  const M = inp.test[0]!.rows;
  const widths = inp.train.map((t, i) => {
    checkMatrix(t, `ensemble: train embeddings of model ${i}`);
    checkMatrix(inp.test[i]!, `ensemble: test embeddings of model ${i}`, t.cols);
    if (t.rows !== N || inp.test[i]!.rows !== M) {
      throw new SmnError(
        CascadeErrorCode.Shape,
        `ensemble: model ${i} has train ${fmtShape([t.rows, t.cols])} / test ${fmtShape([inp.test[i]!.rows, t.cols])} but model 0 has ${N} / ${M} rows; all models must embed the same rows in the same order`,
      );
    }
    return t.cols;
  });
  checkLength(inp.trainClusters, N, 'ensemble: trainClusters', 'the train embeddings');
  checkLength(inp.testClusters, M, 'ensemble: testClusters', 'the test embeddings');
  const clusterIds = inp.clusterIds ?? Array.from({ length: inp.train.length - 1 }, (_, i) => i);
  if (clusterIds.length !== inp.train.length - 1) {
    throw new SmnError(
      CascadeErrorCode.Shape,
      `ensemble: clusterIds has ${clusterIds.length} entries but there are ${inp.train.length - 1} experts (models after the dispatcher)`,
      { kind: 'usage' },
    );
  }
  return { N, M, widths, clusterIds };
}

/**
 * Concatenates the models' blocks [N, ΣD_i]; with `conditional`, expert i's block (model i + 1) is zero on every row
 * whose cluster is not `clusterIds[i]`, so each row keeps the dispatcher and its own expert (ensemble.py, `pca_conditional`).
 */
export function concatEmbeddings(
  mats: DenseMatrix[],
  clusters: Int32Array,
  clusterIds: number[],
  conditional: boolean,
): DenseMatrix {
  const rows = mats[0]!.rows;
  const total = mats.reduce((s, m) => s + m.cols, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let off = r * total;
    mats.forEach((m, i) => {
      const keep = !conditional || i === 0 || clusters[r] === clusterIds[i - 1];
      if (keep) out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), off);
      off += m.cols;
    });
  }
  return { rows, cols: total, data: out };
}

function sumEmbeddings(mats: DenseMatrix[], clusters: Int32Array, clusterIds: number[], conditional: boolean): DenseMatrix {
  const { rows, cols } = mats[0]!;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    mats.forEach((m, i) => {
      if (conditional && i > 0 && clusters[r] !== clusterIds[i - 1]) return;
      for (let c = 0; c < cols; c++) out[r * cols + c] = out[r * cols + c]! + m.data[r * cols + c]!;
    });
  }
  return { rows, cols, data: out };
}

function replaceEmbeddings(mats: DenseMatrix[], clusters: Int32Array, clusterIds: number[]): DenseMatrix {
  const { rows, cols } = mats[0]!;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const e = clusterIds.indexOf(clusters[r]!);
    const m = mats[e + 1]!; // e = −1: no expert for this cluster, keep the dispatcher
    out.set(m.data.subarray(r * cols, (r + 1) * cols), r * cols);
  }
  return { rows, cols, data: out };
}

/**
 * Builds train/test features of a cascade ensemble from raw embeddings (dispatcher first, experts in cluster order),
 * as the reference's `ensemble.py` (docs/cascade.md, step 4):
 * - `baseline`: model `baselineIndex` alone; `replace`: each row's dispatcher embedding replaced by its cluster's expert;
 * - `unconditional` / `conditional`: concatenations (conditional zeroes experts outside their cluster);
 * - `pca_unconditional` / `pca_conditional`: the same followed by a whitening PCA to D components fitted on train
 *   (train = U, test = (x − μ)·V·diag(1/S));
 * - `add_unconditional` / `add_conditional`: sums of the blocks.
 * Features are float32; the PCA runs on the active tfjs backend.
 */
export function ensembleFeatures(inputs: EnsembleInputs, method: EnsembleMethod, options: EnsembleOptions = {}): EnsembleFeatures {
  const { widths, clusterIds } = validate(inputs);
  const { train, test, trainClusters, testClusters } = inputs;
  const sameWidth = (): void => {
    if (widths.some((w) => w !== widths[0])) {
      throw new SmnError(CascadeErrorCode.Shape, `ensemble: method '${method}' needs every model to have the same embedding width, got ${widths.join(', ')}`);
    }
  };
  switch (method) {
    case 'baseline': {
      const i = options.baselineIndex ?? 0;
      if (!(Number.isInteger(i) && i >= 0 && i < train.length)) {
        throw new SmnError(CascadeErrorCode.Option, `ensemble: baselineIndex ${i} is outside [0, ${train.length})`, { kind: 'usage' });
      }
      return { method, train: train[i]!, test: test[i]! };
    }
    case 'replace':
      sameWidth();
      return { method, train: replaceEmbeddings(train, trainClusters, clusterIds), test: replaceEmbeddings(test, testClusters, clusterIds) };
    case 'add_conditional':
    case 'add_unconditional': {
      sameWidth();
      const cond = method === 'add_conditional';
      return { method, train: sumEmbeddings(train, trainClusters, clusterIds, cond), test: sumEmbeddings(test, testClusters, clusterIds, cond) };
    }
    case 'conditional':
    case 'unconditional':
    case 'pca_conditional':
    case 'pca_unconditional': {
      const cond = method === 'conditional' || method === 'pca_conditional';
      const tr = concatEmbeddings(train, trainClusters, clusterIds, cond);
      const te = concatEmbeddings(test, testClusters, clusterIds, cond);
      if (!method.startsWith('pca_')) return { method, train: tr, test: te };
      const pca = pcaWhiten(tr, {
        components: options.pcaComponents ?? widths[0]!,
        niter: options.pcaNiter ?? 10,
        seed: options.seed ?? 0,
      });
      return { method, train: pca.train, test: pca.transform(te), pca };
    }
    default:
      throw new SmnError(
        CascadeErrorCode.Option,
        `ensemble: unknown method '${String(method)}'; expected one of ${ENSEMBLE_METHODS.join(', ')}`,
        { kind: 'usage' },
      );
  }
}

/**
 * Rows scaled to unit L2 norm, as PyTorch's `F.normalize(x, dim=1)`: `x / max(‖x‖, 1e-12)`, so a zero row stays zero
 * (and a row with norm below 1e-12 is scaled by 1e12, not to unit length). Float32 out; the norm is summed in float64.
 * The one host-side row normalisation of smn: `@smn/train`'s run embeddings and `smn cluster` use it.
 */
export function l2NormalizeRows(X: DenseMatrix): DenseMatrix {
  const { rows, cols, data } = X;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += data[o + c]! * data[o + c]!;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let c = 0; c < cols; c++) out[o + c] = data[o + c]! * inv;
  }
  return { rows, cols, data: out };
}

/** Accuracies of an ensemble's features. */
export interface EnsembleEvaluation {
  method: EnsembleMethod;
  /** Weighted kNN top-1 on L2-normalised features (bank = train, queries = test). */
  knnAccuracy: number;
  /** Linear-probe top-1 on the test rows (un-normalised features), when asked for. */
  probeAccuracy?: number;
  probeTrainAccuracy?: number;
  probeIterations?: number;
  /** Feature width. */
  dims: number;
}

/**
 * Evaluates features as `ensemble.py` does: kNN (k 200, T 0.1) on L2-normalised features, and optionally a
 * linear probe (λ = 0.01/N) on the raw features.
 */
export async function evaluateFeatures(
  feats: EnsembleFeatures,
  trainLabels: ArrayLike<number>,
  testLabels: ArrayLike<number>,
  options: { numClasses: number; k?: number; temperature?: number; linearProbe?: boolean; probe?: Partial<LinearProbeOptions> },
): Promise<EnsembleEvaluation> {
  checkLength(trainLabels, feats.train.rows, 'evaluateFeatures: trainLabels', 'the train features');
  checkLength(testLabels, feats.test.rows, 'evaluateFeatures: testLabels', 'the test features');
  const C = options.numClasses;
  const knnAccuracy = await knnAccuracyOf(feats.test, feats.train, trainLabels, testLabels, C, options.k ?? 200, options.temperature ?? 0.1);
  const res: EnsembleEvaluation = { method: feats.method, knnAccuracy, dims: feats.train.cols };
  if (options.linearProbe) {
    const probe = fitLinearProbe(feats.train, trainLabels, { ...options.probe, numClasses: C });
    const pred = probe.predict(feats.test);
    res.probeAccuracy = accuracy(pred, testLabels);
    res.probeTrainAccuracy = probe.trainAccuracy;
    res.probeIterations = probe.iterations;
  }
  return res;
}

async function knnAccuracyOf(
  queries: DenseMatrix,
  bank: DenseMatrix,
  bankLabels: ArrayLike<number>,
  queryLabels: ArrayLike<number>,
  numClasses: number,
  k: number,
  temperature: number,
): Promise<number> {
  // knnPredict L2-normalises queries and bank rows itself (as ensemble.py normalises before knn_predict).
  const { predictions } = await knnPredict(queries, bank, Int32Array.from(bankLabels), {
    k,
    temperature,
    numClasses,
  });
  return accuracy(predictions, queryLabels);
}

/** Fraction of rows where `pred` equals `labels`. */
export function accuracy(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLength(pred, labels.length, 'accuracy: predictions', 'the labels');
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) c++;
  return labels.length === 0 ? 0 : c / labels.length;
}
