import * as tf from '@tensorflow/tfjs-core';
import { writeNpy } from '@smn/core';
import { saveMasks } from '@smn/subnetworks';
import type { MetricRecord } from '../metrics.js';
import { writeRunEmbeddings, writeRunSummary, type RunPaths, type RunSummary } from '../run-folder.js';
import { l2normalizeRows } from './data.js';
import type { ProbeResult, TestResult } from './evaluate.js';
import { writeRunReport } from './run-report.js';
import type { Experiment, ModelPosition } from './setup.js';

/** Writes embeddings/: raw and L2-normalised features of the train bank and the test set, labels, indices, classes. */
export async function writeEmbeddings(exp: Experiment, paths: RunPaths, { train: tr, test: te }: Pick<TestResult, 'train' | 'test'>): Promise<void> {
  await writeRunEmbeddings(paths.dir, {
    train: { rows: tr.rows, dim: tr.dim, features: tr.features, normalized: l2normalizeRows(tr.features, tr.dim), labels: tr.labels },
    test: { rows: te.rows, dim: te.dim, features: te.features, normalized: l2normalizeRows(te.features, te.dim), labels: te.labels },
    trainIndices: exp.data.bankIndices,
    classes: exp.data.train.classes,
  });
}

/** Writes probe_W.npy [D, C] and probe_b.npy [C]. */
export async function writeProbe(exp: Experiment, paths: RunPaths, probe: ProbeResult): Promise<void> {
  const C = exp.data.numClasses;
  await writeNpy(paths.probeWeights, { shape: [probe.W.length / C, C], dtype: 'float32', data: probe.W });
  await writeNpy(paths.probeBias, { shape: [C], dtype: 'float32', data: probe.b });
}

/** Writes masks.smnmask (1 bit per masked backbone weight, gzip, tied to the base weights); returns its bytes (0: nothing masked). */
export async function writeMasks(exp: Experiment, paths: RunPaths, pos: ModelPosition): Promise<number> {
  if (exp.masked.scores.size === 0) return 0;
  const ctx = { epoch: pos.epoch, step: pos.step };
  const ms = exp.masked.masks(ctx);
  try {
    const base = new Map<string, tf.Tensor>([...ms.keys()].map((n) => [n, exp.backbone.model.params.get(n)!]));
    return (await saveMasks(paths.masks, ms, { baseParams: base, compress: 'gzip', mode: exp.cfg.model.pret.prune_criterion, k: exp.masked.k(ctx) })).bytes;
  } finally {
    for (const t of ms.values()) t.dispose();
  }
}

/** The last value of every metric of the records. */
export function lastMetrics(records: readonly MetricRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'epoch' && k !== 'step') out[k] = v;
  return out;
}

/** The summary of a finished run (see {@link RunSummary} for how bits are counted). */
export function runSummary(exp: Experiment, r: { maskBytes: number; badSamples: number; seconds: number; records: readonly MetricRecord[]; probeDim?: number }): RunSummary {
  const { maskedWeights, headMaskedWeights, trainedFloats } = exp.counts;
  const trained = exp.cfg.main.train;
  const probeFloats = r.probeDim === undefined ? 0 : (r.probeDim + 1) * exp.data.numClasses;
  return {
    format: 'smn-run-summary',
    version: 1,
    maskedWeights,
    headMaskedWeights,
    trainedFloats,
    probeFloats,
    trainedBits: (trained ? maskedWeights + headMaskedWeights + 32 * trainedFloats : 0) + 32 * probeFloats,
    maskBytes: r.maskBytes,
    featureDim: exp.backbone.featureDim,
    numClasses: exp.data.numClasses,
    badSamples: r.badSamples,
    seconds: r.seconds,
    metrics: lastMetrics(r.records),
  };
}

/** report.html, then summary.json (last: it marks the run complete). */
export async function writeReportAndSummary(exp: Experiment, paths: RunPaths, records: MetricRecord[], summary: RunSummary): Promise<void> {
  await writeRunReport(paths.dir, exp.cfg, records);
  await writeRunSummary(paths.dir, summary);
}
