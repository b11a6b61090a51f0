import type * as tf from '@tensorflow/tfjs-core';
import type { DenseMatrix } from '@smn/core';

export type { DenseMatrix };

/**
 * @deprecated The `{ data, shape }` form of 0.1, still accepted; pass `@smn/core`'s {@link DenseMatrix}
 * `{ rows, cols, data }`, the host matrix every smn package shares.
 */
export interface HostMatrix {
  data: Float32Array;
  shape: readonly [number, number];
}

/** A `[rows, dim]` matrix: a tfjs tensor (any backend) or a host `DenseMatrix` (float32 or float64 data). */
export type MatrixInput = tf.Tensor2D | DenseMatrix | HostMatrix;

/** Integer class labels, one per row. */
export type LabelsInput = readonly number[] | Int32Array | tf.Tensor1D;

/** Options of {@link knnPredict}. */
export interface KnnOptions {
  /** Neighbours per query (the reference: 200). Clipped to the bank size. */
  k?: number;
  /** Temperature of the neighbour weights `exp(sim / T)` (the reference: 0.1). */
  temperature?: number;
  /** Number of classes C; default `max(bankLabels) + 1`. */
  numClasses?: number;
  /** Queries per chunk (bounds memory: `queryChunk × bankChunk` similarities live at once). Default 1024. */
  queryChunk?: number;
  /** Bank rows per chunk (bounds memory: `bankChunk × D` bank values on the backend at once). Default 8192. */
  bankChunk?: number;
  /** L2-normalise queries and bank rows (cosine similarity). Default true; pass false for pre-normalised inputs. */
  normalize?: boolean;
  /** Called after each bank chunk with (bank rows done, bank rows total). */
  onProgress?: (done: number, total: number) => void;
  /** Aborts between chunks with the signal's reason. */
  signal?: AbortSignal;
}

/** Result of {@link knnPredict}. */
export interface KnnResult {
  /** Predicted class per query, `[Q]`. */
  predictions: Int32Array;
  /** Per-class vote `Σ_{top-k neighbours of class c} exp(sim / T)`, row-major `[Q, C]`. */
  scores: Float32Array;
  /** C, the number of columns of `scores`. */
  numClasses: number;
  /** The k actually used (`min(k, N)`). */
  k: number;
}

/** Result of the accuracy functions. */
export interface KnnAccuracyResult extends KnnResult {
  /** Top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Number of correctly classified queries. */
  correct: number;
  /** Number of queries. */
  total: number;
}

/** Options of {@link knnSelfAccuracy}. */
export interface KnnSelfAccuracyOptions extends KnnOptions {
  /** Largest random subset used as both queries and bank (the reference: 10,000). */
  maxSamples?: number;
  /** Seed of the subset draw. Default 0. */
  seed?: number;
}
