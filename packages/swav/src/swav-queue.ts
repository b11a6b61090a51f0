import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape } from '@smn/core';
import { SwavErrorCode } from './errors.js';
import type { SwavQueueState } from './types.js';

/** Options of {@link SwavQueue}. */
export interface SwavQueueOptions {
  /** Requested queue length per assignment crop (SWAVConfig: 3840; the paper's runs 512). */
  length: number;
  /** Embedding size (128). */
  featDim: number;
  /** Batch size; the length is trimmed down to a multiple of it (0 disables the queue). */
  batchSize: number;
  /** Number of assignment crops (`cropsForAssign.length`, 2). */
  nmbAssign?: number;
}

/**
 * The SwAV embedding queue (SWAVModule.training_step; docs/method.md#swav): per assignment crop, the last L normalised embeddings, newest first.
 *
 * Lifecycle: `startEpoch(epoch, epochQueueStarts)` sets `filling` (the reference's `fill_the_queue`, epochs are
 * 0-based); while filling, {@link swavLoss} calls `shouldUse(i)` (sets the sticky `use` flag, `use_the_queue`, once
 * queue i's last row is non-zero, i.e. the queue has been filled once) and then `push(i, embeddings)`.
 *
 * Differences from the reference, on purpose: the queue is allocated with the trimmed length (the reference
 * allocates the untrimmed one, so its trim has no effect unless the length already divides), and `state()`/`load()`
 * let checkpoints keep it (the reference's queue is not a buffer and is lost on resume).
 * The queue tensors are non-trainable variables; call `dispose()` when done.
 */
export class SwavQueue {
  /** Trimmed queue length L per assignment crop (a multiple of the batch size). */
  readonly length: number;
  readonly featDim: number;
  readonly nmbAssign: number;
  /** `fill_the_queue`: the loss uses and fills the queue only while this is true. */
  filling = false;
  /** `use_the_queue`: sticky, set once a full queue has been prepended to the Sinkhorn input. */
  use = false;
  private readonly queues: tf.Variable<tf.Rank.R2>[];
  private readonly rowsPushed: number[];
  private disposed = false;

  /** The trimmed length the reference computes: `length − length % batchSize`. */
  static trimmedLength(length: number, batchSize: number): number {
    return length - (length % batchSize);
  }

  constructor(options: SwavQueueOptions) {
    const { length, featDim, batchSize, nmbAssign = 2 } = options;
    for (const [name, v, min] of [
      ['length', length, 0],
      ['featDim', featDim, 1],
      ['batchSize', batchSize, 1],
      ['nmbAssign', nmbAssign, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) {
        throw new SmnError(SwavErrorCode.Option, `SwavQueue ${name} must be an integer >= ${min}; found ${v}.`, {
          kind: 'usage',
          details: { option: name, found: v },
        });
      }
    }
    this.length = SwavQueue.trimmedLength(length, batchSize);
    this.featDim = featDim;
    this.nmbAssign = nmbAssign;
    // tf.tidy disposes the zeros; the variable keeps its own reference to the data.
    this.queues = Array.from({ length: nmbAssign }, () => tf.tidy(() => tf.variable(tf.zeros([this.length, featDim]), false)) as tf.Variable<tf.Rank.R2>);
    this.rowsPushed = new Array<number>(nmbAssign).fill(0);
  }

  private check(i: number): void {
    if (this.disposed) throw new SmnError(SwavErrorCode.Disposed, 'SwavQueue was used after dispose().');
    if (!Number.isInteger(i) || i < 0 || i >= this.nmbAssign) {
      throw new SmnError(SwavErrorCode.Option, `SwavQueue index ${i} is out of range [0, ${this.nmbAssign}).`, {
        kind: 'usage',
      });
    }
  }

  /** Sets `filling` as the reference's `on_train_epoch_start`: length > 0 and epoch (0-based) ≥ epochQueueStarts. */
  startEpoch(epoch: number, epochQueueStarts: number): void {
    this.filling = this.length > 0 && epoch >= epochQueueStarts;
  }

  /** Queue i as a `[L, featDim]` tensor, newest first. Owned by the queue: do not dispose. */
  embeddings(i: number): tf.Tensor2D {
    this.check(i);
    return this.queues[i]!;
  }

  /** Whether queue i's last row has been written (the reference's "last row is non-zero" test). */
  isFull(i: number): boolean {
    this.check(i);
    return this.length > 0 && this.rowsPushed[i]! >= this.length;
  }

  /** The reference's `use_the_queue or queue[i, -1] != 0`: sets the sticky `use` flag and returns it. */
  shouldUse(i: number): boolean {
    if (this.use || this.isFull(i)) this.use = true;
    return this.use;
  }

  /** Shifts queue i down by n rows and writes `embeddings` `[n, featDim]` (n ≤ L) into its first n rows. */
  push(i: number, embeddings: tf.Tensor2D): void {
    this.check(i);
    const n = embeddings.shape[0];
    if (embeddings.rank !== 2 || embeddings.shape[1] !== this.featDim || n > this.length) {
      throw new SmnError(
        SwavErrorCode.Shape,
        `SwavQueue.push(${i}) expects [n <= ${this.length}, ${this.featDim}] embeddings; found ${fmtShape(embeddings.shape)}.`,
        { kind: 'usage' },
      );
    }
    const q = this.queues[i]!;
    tf.tidy(() => {
      const kept = tf.slice(q, [0, 0], [this.length - n, this.featDim]);
      q.assign(tf.concat([tf.cast(embeddings, 'float32'), kept], 0) as tf.Tensor2D);
    });
    this.rowsPushed[i] = Math.min(this.length, this.rowsPushed[i]! + n);
  }

  /** A copy of the queue for checkpoints. */
  async state(): Promise<SwavQueueState> {
    if (this.disposed) throw new SmnError(SwavErrorCode.Disposed, 'SwavQueue was used after dispose().');
    const data = await Promise.all(this.queues.map(async (q) => Float32Array.from(await q.data())));
    return { length: this.length, featDim: this.featDim, data, use: this.use, filling: this.filling };
  }

  /** Restores a state saved by {@link SwavQueue.state}; its length, featDim and crop count must match. */
  load(state: SwavQueueState): void {
    if (this.disposed) throw new SmnError(SwavErrorCode.Disposed, 'SwavQueue was used after dispose().');
    const want = `${this.nmbAssign} × [${this.length}, ${this.featDim}]`;
    const found = `${state.data?.length} × [${state.length}, ${state.featDim}]`;
    if (
      state.length !== this.length ||
      state.featDim !== this.featDim ||
      !Array.isArray(state.data) ||
      state.data.length !== this.nmbAssign ||
      state.data.some((d) => !(d instanceof Float32Array) || d.length !== this.length * this.featDim)
    ) {
      throw new SmnError(
        SwavErrorCode.State,
        `saved SwAV queue is ${found} but this queue is ${want}; was the checkpoint made with another ` +
          'swav.queue_length, batch size or feat_dim?',
        { details: { expected: want, found } },
      );
    }
    state.data.forEach((d, i) => {
      tf.tidy(() => this.queues[i]!.assign(tf.tensor2d(d, [this.length, this.featDim])));
      // Rows are written top-down, so the filled count is one past the last non-zero row.
      let filled = 0;
      for (let r = this.length - 1; r >= 0 && filled === 0; r--) {
        for (let c = 0; c < this.featDim; c++) {
          if (d[r * this.featDim + c] !== 0) {
            filled = r + 1;
            break;
          }
        }
      }
      this.rowsPushed[i] = filled;
    });
    this.use = state.use;
    this.filling = state.filling;
  }

  /** Frees the queue tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const q of this.queues) q.dispose();
  }
}
