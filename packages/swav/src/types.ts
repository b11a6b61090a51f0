import type * as tf from '@tensorflow/tfjs-core';
import type { SwavQueue } from './swav-queue.js';

/** Options of {@link sinkhorn}. */
export interface SinkhornOptions {
  /** Entropy regularisation ε (SWAVConfig: 0.05). */
  epsilon?: number;
  /** Sinkhorn-Knopp iterations (SWAVConfig: 3). */
  iterations?: number;
  /** `exp`: the reference's steps with the max subtracted; `log`: the same steps in log space; `auto`: `exp` unless
   * the score spread would underflow (one scalar download). Default `auto`. */
  domain?: 'auto' | 'exp' | 'log';
}

/** Prototype scores of embeddings: a `[K, feat]` weight (p = e·Wᵀ) or a function `[n, feat] → [n, K]`. */
export type PrototypesInput = tf.Tensor2D | ((embeddings: tf.Tensor2D) => tf.Tensor2D);

/** Options of {@link swavLoss}. */
export interface SwavLossOptions extends SinkhornOptions {
  /** `[Σ nmbCrops · B, feat]` L2-normalised projections, crop-major (crop 0's B rows, then crop 1's, ...). */
  embeddings: tf.Tensor2D;
  /** The prototypes, applied to `embeddings` (unless `scores` is given) and to the queue. */
  prototypes: PrototypesInput;
  /** Optional precomputed `prototypes(embeddings)`, `[Σ nmbCrops · B, K]`. */
  scores?: tf.Tensor2D;
  /** B, the batch size of one crop. */
  batchSize: number;
  /** Crops per group (SWAVConfig: [2, 6]); only their sum matters here. */
  nmbCrops?: readonly number[];
  /** Crops whose codes are computed (SWAVConfig: [0, 1]). */
  cropsForAssign?: readonly number[];
  /** Softmax temperature of the predictions (SWAVConfig: 0.1). */
  temperature?: number;
  /** The queue; used and filled only while `queue.filling` is true (docs/method.md#swav, step 3). */
  queue?: SwavQueue | null;
}

/** Result of {@link swavLoss}. */
export interface SwavLossResult {
  /** The scalar loss; the caller disposes it (or returns it from `optimizer.minimize`). */
  loss: tf.Scalar;
  /** Whether queue embeddings were prepended to the Sinkhorn input this step. */
  queueUsed: boolean;
  /** Whether this step's assignment-crop embeddings were pushed into the queue. */
  queuePushed: boolean;
}

/** Options of {@link createSwavHead}. */
export interface SwavHeadOptions {
  /** Backbone feature size (2048 for ResNet-50). */
  inFeatures: number;
  /** Projection size (SWAVConfig: 128). */
  featDim?: number;
  /** Number of prototypes K (SWAVConfig: 3000; the paper's runs 500). */
  nmbPrototypes?: number;
  /** Projection head: `linear` (trained Linear with bias) or `masked` (frozen random Linear with a learned mask). */
  fc?: 'linear' | 'masked';
  /** Prototypes: `linear` (trained, row-normalised each step) or `masked` (frozen row-normalised W, learned mask). */
  prototypes?: 'linear' | 'masked';
  /** Seed of the initial weights. */
  seed?: number;
}

/** One saved array of a head or queue state. */
export interface SavedArray {
  data: Float32Array;
  shape: number[];
}

/** Serialisable state of a {@link SwavQueue} (kept in checkpoints; the reference loses its queue on resume). */
export interface SwavQueueState {
  /** Trimmed queue length L. */
  length: number;
  featDim: number;
  /** One `[L, featDim]` array per assignment crop. */
  data: Float32Array[];
  /** `use_the_queue`. */
  use: boolean;
  /** `fill_the_queue`. */
  filling: boolean;
}
