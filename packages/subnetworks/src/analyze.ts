import * as tf from '@tensorflow/tfjs-core';
import type { MaskAnalysis } from './types.js';

/** One masked tensor to analyse. */
export interface AnalyzeEntry {
  mask: tf.Tensor;
  scores: tf.Tensor;
  slot: string;
}

interface Part {
  n: number;
  sumM: number;
  m2M: number;
  sumS: number;
  m2S: number;
  maxS: number;
  minS: number;
}

const STATS = ['mean_mask', 'std_mask', 'total_on', 'total_off', 'mean_score', 'std_score', 'max_score', 'min_score'] as const;

/**
 * The reference's `SubmaskedModel.analyze` (docs/method.md#masked-model): `prune_k`, then over all masks concatenated `mean_mask`
 * (fraction of active weights), `std_mask`, `total_on` (Σ mask), `total_off` (numel − Σ mask), over all scores
 * `mean_score`, `std_score`, `max_score`, `min_score`, then the same 8 per slot as `<stat>_<slot>`.
 * Standard deviations are unbiased (N − 1), as `torch.std`; NaN when N = 1. For flip (±1) masks the reference's
 * formulas are kept: `total_on` = Σ M = (#(+1) − #(−1)).
 *
 * Per-tensor sums and centred sums of squares are computed on the backend and read back once; they are merged in
 * float64 (Chan et al.), so counts stay exact beyond 2^24 entries. Returns `{}` for no entries.
 */
export function analyzeMasks(entries: readonly AnalyzeEntry[], k: number): MaskAnalysis {
  if (entries.length === 0) return {};
  const rows = tf.tidy(() => {
    const per = entries.map(({ mask, scores }) => {
      const mm = tf.mean(mask);
      const ms = tf.mean(scores);
      return tf.stack([
        tf.sum(mask),
        tf.sum(tf.square(tf.sub(mask, mm))),
        tf.sum(scores),
        tf.sum(tf.square(tf.sub(scores, ms))),
        tf.max(scores),
        tf.min(scores),
      ]);
    });
    return tf.stack(per);
  });
  const data = rows.dataSync();
  rows.dispose();
  const parts: Part[] = entries.map((e, i) => ({
    n: e.mask.size,
    sumM: data[i * 6]!,
    m2M: data[i * 6 + 1]!,
    sumS: data[i * 6 + 2]!,
    m2S: data[i * 6 + 3]!,
    maxS: data[i * 6 + 4]!,
    minS: data[i * 6 + 5]!,
  }));
  const out: MaskAnalysis = { prune_k: k };
  const overall = summarize(parts);
  for (const s of STATS) out[s] = overall[s];
  const slots = [...new Set(entries.map((e) => e.slot))];
  for (const slot of slots) {
    const stats = summarize(parts.filter((_, i) => entries[i]!.slot === slot));
    for (const s of STATS) out[`${s}_${slot}`] = stats[s];
  }
  return out;
}

function merge(parts: readonly Part[], sum: (p: Part) => number, m2: (p: Part) => number): { mean: number; std: number; total: number } {
  let n = 0;
  let total = 0;
  for (const p of parts) {
    n += p.n;
    total += sum(p);
  }
  const mean = total / n;
  let acc = 0;
  for (const p of parts) {
    const d = sum(p) / p.n - mean;
    acc += m2(p) + p.n * d * d;
  }
  return { mean, std: Math.sqrt(Math.max(acc, 0) / (n - 1)), total };
}

function summarize(parts: readonly Part[]): Record<(typeof STATS)[number], number> {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const m = merge(parts, (p) => p.sumM, (p) => p.m2M);
  const s = merge(parts, (p) => p.sumS, (p) => p.m2S);
  return {
    mean_mask: m.mean,
    std_mask: m.std,
    total_on: m.total,
    total_off: n - m.total,
    mean_score: s.mean,
    std_score: s.std,
    max_score: Math.max(...parts.map((p) => p.maxS)),
    min_score: Math.min(...parts.map((p) => p.minS)),
  };
}
