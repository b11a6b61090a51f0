import { SmnError } from '@smn/core';
import { SubnetErrorCode } from './errors.js';
import type { KSchedule, MaskContext, MaskMode } from './types.js';

/** Options of {@link progressiveK}: the reference's `model.pret.prune_*` keys. */
export interface ProgressiveKOptions {
  mode: MaskMode;
  /** Final k (`prune_k`). */
  k: number;
  /** Number of epochs of the run (`dl.epochs`). */
  epochs: number;
  /** First k of a topk run (`prune_k_start`, default 0.9; 1.0 in the paper's progressive runs). */
  kStart?: number;
}

/**
 * The reference's progressive k schedules (main.py, train(); docs/method.md#k-schedules), per 0-based epoch:
 * topk: k(e) = kStart − (e/epochs)·(kStart − k); threshold: k(e) = (e/epochs)·k; flip: the constant k
 * (the reference only has progressive rules for topk and threshold).
 */
export function progressiveK(opts: ProgressiveKOptions): (ctx: { epoch: number; step: number }) => number {
  const { mode, k, epochs } = opts;
  const kStart = opts.kStart ?? 0.9;
  if (!(epochs > 0) || !Number.isFinite(epochs)) {
    throw new SmnError(SubnetErrorCode.BadOption, `progressiveK: epochs must be > 0, found ${epochs}`, { kind: 'usage' });
  }
  if (mode === 'topk') return ({ epoch }) => kStart - (epoch / epochs) * (kStart - k);
  if (mode === 'threshold') return ({ epoch }) => (epoch / epochs) * k;
  return () => k;
}

/** Evaluates a k schedule at a position (epoch and step default to 0). */
export function resolveK(k: KSchedule, ctx: MaskContext = {}): number {
  return typeof k === 'function' ? k({ epoch: ctx.epoch ?? 0, step: ctx.step ?? 0 }) : k;
}
