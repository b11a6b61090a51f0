import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import {
  clusterSubset,
  createLoader,
  groupLabels,
  labelSubset,
  loadDataset,
  subsetIndices,
  type DatasetWarning,
  type ImageDataset,
  type PresetSpec,
} from '@smn/datasets';
import { l2NormalizeRows } from '@smn/cascade';
import type { SmnConfig } from '../config/index.js';
import { TrainErrorCode } from '../errors.js';

/** The datasets of one run: train/test splits, the indices used for training and for probes, presets. */
export interface RunData {
  /** Base dataset name (without `multicrop_`). */
  name: string;
  multicrop: boolean;
  train: ImageDataset;
  test: ImageDataset;
  numClasses: number;
  /** Train indices the optimisation visits (all, or a subset for supervised runs). */
  trainIndices: Int32Array;
  /** Train indices whose unaugmented features form the kNN bank and the probe's training set. */
  bankIndices: Int32Array;
  trainPreset: PresetSpec;
  evalPreset: PresetSpec;
}

/**
 * The subset of the train split named by `main.dataset_subset*` (docs/method.md#subsets), or undefined for all. The reference
 * applies only the first of them that is set; smn intersects every one that is set (the same when one is set), so
 * a cascade expert of a dispatcher trained on a label subset keeps that subset.
 */
function subsetOf(cfg: SmnConfig, train: ImageDataset): Int32Array | undefined {
  const m = cfg.main;
  const parts: Int32Array[] = [];
  if (m.dataset_subset) parts.push(subsetIndices(train, String(m.dataset_subset), 42));
  if (m.dataset_subset_labels) parts.push(labelSubset(train, m.dataset_subset_labels));
  if (m.dataset_subset_clusters_file) parts.push(clusterSubset(m.dataset_subset_clusters_file, m.dataset_subset_cluster, train.length));
  if (parts.length === 0) return undefined;
  const [first, ...rest] = parts;
  const keep = rest.map((p) => new Set(p));
  return first!.filter((i) => keep.every((k) => k.has(i)));
}

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

export async function loadRunData(cfg: SmnConfig, inputSize: number, swav: boolean, opts: { onWarning?: (w: DatasetWarning) => void } = {}): Promise<RunData> {
  const full = cfg.main.dataset;
  const multicrop = full.startsWith('multicrop_');
  const name = multicrop ? full.slice('multicrop_'.length) : full;
  if (swav && !multicrop && cfg.main.train) {
    throw new SmnError(
      TrainErrorCode.ConfigDataset,
      `model.pret.module=swav trains on multi-crop views: use main.dataset=multicrop_${name} (or main.train=0 to only embed/probe)`,
      { kind: 'usage', details: { key: 'main.dataset' } },
    );
  }
  const dataRoot = cfg.main.data_root;
  const warn = opts.onWarning ? { onWarning: opts.onWarning } : {};
  // main.dataset_labels: a coarser task on the same images (@smn/datasets, label-groups.ts), before any subset, so
  // main.dataset_subset_labels counts in groups and classes.json names them.
  const read = async (split: 'train' | 'test') => groupLabels(await loadDataset(name, { dataRoot, split, ...warn }), cfg.main.dataset_labels);
  const [train, test] = await Promise.all([read('train'), read('test')]);
  const subset = subsetOf(cfg, train);
  // SMN+LP (Figure 3): the SwAV mask learns from every train image; only the probe sees the labelled subset.
  // Cascade experts (clusters file) are the exception: they train on their cluster.
  const clusterRun = Boolean(cfg.main.dataset_subset_clusters_file);
  const trainIndices = subset && (!swav || clusterRun) ? subset : all(train.length);
  const bankIndices = subset ?? all(train.length);
  const small = inputSize < 64;
  // Multi-crop views from swav.* (volt/modules/ssl.py, SWAVConfig); for small images the crop sizes scale with the input (224 → inputSize).
  const cropSize = (s: number) => (small ? Math.max(8, Math.round((s * inputSize) / 224)) : s);
  const trainPreset: PresetSpec = swav
    ? {
        preset: 'multicrop',
        crops: cfg.swav.nmb_crops.map((count, i) => ({
          count,
          size: cropSize(cfg.swav.size_crops[i]!),
          scale: [cfg.swav.min_scale_crops[i]!, cfg.swav.max_scale_crops[i]!] as [number, number],
        })),
        resample: cfg.data.resize,
      }
    : { preset: 'supervised', size: inputSize, resample: cfg.data.resize };
  const evalPreset: PresetSpec = { preset: 'eval', size: inputSize, resample: cfg.data.resize };
  return { name, multicrop, train, test, numClasses: train.classes.length, trainIndices, bankIndices, trainPreset, evalPreset };
}

/** Features (and optionally logits) of a split in eval mode, read back to the host. */
export interface Embedded {
  rows: number;
  dim: number;
  features: Float32Array;
  labels: Int32Array;
  logits?: { cols: number; data: Float32Array };
}

/**
 * Runs `features` (and `logits` on those features) over `indices` of `ds` with the eval preset, in batches.
 * Every tensor made here is disposed; the result lives on the host.
 */
export async function embedSplit(
  ds: ImageDataset,
  indices: Int32Array,
  preset: PresetSpec,
  fns: { features: (x: tf.Tensor4D) => tf.Tensor2D; logits?: (f: tf.Tensor2D) => tf.Tensor2D },
  opts: { batchSize: number; workers: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void; onBadSample?: (e: SmnError) => void; onWarning?: (w: DatasetWarning) => void },
): Promise<Embedded> {
  const loader = createLoader(ds, {
    batchSize: opts.batchSize,
    shuffle: false,
    indices,
    transform: preset,
    workers: opts.workers,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onBadSample ? { onBadSample: opts.onBadSample } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  const featChunks: Float32Array[] = [];
  const logitChunks: Float32Array[] = [];
  const labelChunks: Int32Array[] = [];
  let dim = 0;
  let cols = 0;
  let done = 0;
  for await (const b of loader) {
    if (!('images' in b)) throw new SmnError(TrainErrorCode.TrainInternal, 'embedSplit needs a single-view preset');
    const x = tf.tensor4d(b.images, b.shape);
    const f = tf.tidy(() => fns.features(x));
    x.dispose();
    const l = fns.logits ? tf.tidy(() => fns.logits!(f)) : null;
    dim = f.shape[1];
    featChunks.push((await f.data()) as Float32Array);
    f.dispose();
    if (l) {
      cols = l.shape[1];
      logitChunks.push((await l.data()) as Float32Array);
      l.dispose();
    }
    labelChunks.push(b.labels);
    done += b.labels.length;
    opts.onProgress?.(done, indices.length);
    // One turn of the event loop per batch: an in-process loader resolves in microtasks only, and a SIGINT/SIGTERM
    // handler (which aborts `signal`) runs only on a turn, so a whole pass would otherwise run deaf to interrupts.
    if (opts.signal) await new Promise<void>((r) => setImmediate(r));
    if (opts.signal?.aborted) break;
  }
  const cat = <T extends Float32Array | Int32Array>(parts: T[], make: (n: number) => T): T => {
    const out = make(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const labels = cat(labelChunks, (n) => new Int32Array(n));
  const out: Embedded = { rows: labels.length, dim, features: cat(featChunks, (n) => new Float32Array(n)), labels };
  if (logitChunks.length) out.logits = { cols, data: cat(logitChunks, (n) => new Float32Array(n)) };
  return out;
}

/** Accuracy and mean cross-entropy of logits [N, C] against labels. */
export function classificationMetrics(logits: Float32Array, cols: number, labels: Int32Array): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * cols, (i + 1) * cols);
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) {
      if (row[c]! > max) {
        max = row[c]!;
        best = c;
      }
    }
    let z = 0;
    for (let c = 0; c < cols; c++) z += Math.exp(row[c]! - max);
    loss += Math.log(z) + max - row[labels[i]!]!;
    if (best === labels[i]) correct++;
  }
  return { accuracy: n ? correct / n : 0, loss: n ? loss / n : 0 };
}

/** Row-wise L2 normalisation of [N, D] (copy): `@smn/cascade`'s `l2NormalizeRows` (`F.normalize`: a zero row stays zero) on a flat array. */
export function l2normalizeRows(x: Float32Array, dim: number): Float32Array {
  return l2NormalizeRows({ rows: dim ? x.length / dim : 0, cols: dim, data: x }).data as Float32Array;
}
