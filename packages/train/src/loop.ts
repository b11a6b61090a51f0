/**
 * The epoch/batch loop shared by every experiment. It owns ordering, callbacks, interruption and resume
 * positions; what a step does and what happens at epoch end belong to the experiment.
 */
export interface LoopPosition {
  /** 0-based epoch. */
  epoch: number;
  /** Batches already done in this epoch. */
  batch: number;
  /** Optimizer steps done in total (the reference's global_step). */
  step: number;
}

export interface BatchEndInfo extends LoopPosition {
  loss: number;
  batchesInEpoch: number;
  epochs: number;
}

export interface LoopCallbacks {
  onEpochBegin?(epoch: number): void | Promise<void>;
  onBatchEnd?(info: BatchEndInfo): void | Promise<void>;
  onEpochEnd?(epoch: number, metrics: Record<string, number>): void | Promise<void>;
}

export interface LoopOptions<B> extends LoopCallbacks {
  epochs: number;
  start: LoopPosition;
  /** Batches of `epoch`, starting after `skip` batches (the order must depend only on the seed and the epoch). */
  batches(epoch: number, skip: number): AsyncIterable<B>;
  batchesInEpoch(epoch: number): number;
  /** Runs one optimisation step and returns the loss. */
  step(batch: B, pos: LoopPosition): Promise<number>;
  /** Before the first batch of an epoch (set learning rates, queue flags). */
  beginEpoch?(epoch: number): void | Promise<void>;
  /**
   * After the last batch (validation, metrics, checkpoint); returns the epoch's metrics, or null when `signal` cut it
   * short before anything of it was kept (an interrupted validation): the loop then stops at the end of the epoch's
   * batches, so a resume does the epoch end again, whole.
   */
  endEpoch(epoch: number, pos: LoopPosition): Promise<Record<string, number> | null>;
  /**
   * Called when `signal` aborts, with the position to resume from: between batches, the batches done; during an epoch
   * end that returned null, the end of the epoch's batches (`batch` = all of them).
   */
  interrupted?(pos: LoopPosition): Promise<void>;
  signal?: AbortSignal;
}

export interface LoopResult {
  completed: boolean;
  position: LoopPosition;
}

export async function runLoop<B>(opts: LoopOptions<B>): Promise<LoopResult> {
  const pos: LoopPosition = { ...opts.start };
  for (let epoch = pos.epoch; epoch < opts.epochs; epoch++) {
    if (epoch !== pos.epoch) {
      pos.epoch = epoch;
      pos.batch = 0;
    }
    await opts.beginEpoch?.(epoch);
    if (pos.batch === 0) await opts.onEpochBegin?.(epoch);
    const total = opts.batchesInEpoch(epoch);
    for await (const b of opts.batches(epoch, pos.batch)) {
      if (opts.signal?.aborted) break;
      const loss = await opts.step(b, pos);
      pos.batch += 1;
      pos.step += 1;
      await opts.onBatchEnd?.({ ...pos, loss, batchesInEpoch: total, epochs: opts.epochs });
      // A turn of the event loop, so that a signal handler aborting `signal` runs between batches (see embedSplit).
      if (opts.signal) await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) break;
    }
    if (opts.signal?.aborted) {
      await opts.interrupted?.({ ...pos });
      return { completed: false, position: { ...pos } };
    }
    const metrics = await opts.endEpoch(epoch, { ...pos });
    if (metrics === null) {
      await opts.interrupted?.({ ...pos });
      return { completed: false, position: { ...pos } };
    }
    await opts.onEpochEnd?.(epoch, metrics);
    pos.batch = 0;
    pos.epoch = epoch + 1;
    if (opts.signal?.aborted && epoch + 1 < opts.epochs) {
      await opts.interrupted?.({ ...pos });
      return { completed: false, position: { ...pos } };
    }
  }
  return { completed: true, position: { ...pos } };
}
