import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError, atomicWriteFile, writeNpy } from '@smn/core';
import { loadDataset } from '@smn/datasets';
import {
  CLUSTERING_FILES,
  cascadeStorage,
  CascadeErrorCode,
  clusterEmbeddings,
  ensembleFeatures,
  evaluateFeatures,
  expertEpochs,
  loadClustering,
  readRunEmbeddings,
  saveClustering,
  type CascadeStorage,
  type Clustering,
  type ClusteringInfo,
  type EnsembleMethod,
} from '@smn/cascade';
import { configToYaml, resolveConfig, type SmnConfig } from './config/index.js';
import { renderReport } from './report.js';
import { definedOnly } from './_options.js';
import { openOwnedFolder } from './owned-folder.js';
import { runExperiment } from './experiment/run.js';
import type { RunEvents } from './experiment/types.js';
import { hasCheckpoint, isRunComplete, readRunClasses, readRunConfig, readRunSummary, readRunTrainIndices, runPaths } from './run-folder.js';
import { TrainErrorCode } from './errors.js';

/** The cascade folder, defined once (docs/cascade.md): the clustering, one run folder per expert and per embedding run. */
export const CASCADE_FILES = {
  /** Results: clusters, every method's accuracies, storage (written last). */
  summary: 'cascade.json',
  report: 'report.html',
  /** The clustering (@smn/cascade's CLUSTERING_FILES) and the cluster of every train image by dataset index. */
  clusters: 'clusters',
  clustersByIndex: 'clusters_by_dataset_index.npy',
  /** The dispatcher's config, the base of every expert's and embedding run's config. */
  dispatcherConfig: 'dispatcher_config.yaml',
  expert: (k: number) => `expert-${k}`,
  embed: (k: number) => `embed-${k}`,
  /** While a cascade runs: its process (@smn/core acquireLock); each expert and embedding run locks its own folder. */
  lock: 'cascade.lock',
} as const;

/** Methods of step 4, in the order of the paper's Table 3. */
export const CASCADE_METHODS: readonly EnsembleMethod[] = ['baseline', 'pca_unconditional', 'pca_conditional', 'unconditional', 'conditional', 'replace'];

/** What happens during {@link runCascade}, step by step (the CLI prints these). */
export type CascadeProgress =
  | { step: 'cluster'; reused: boolean; dir: string; method: 'gmm' | 'kmeans'; clusters: number }
  | { step: 'clustered'; info: ClusteringInfo }
  | { step: 'expert'; k: number; dir: string; reused: boolean; resuming: boolean; images: number; epochs: number; queueStart: number }
  | { step: 'embed'; k: number; dir: string; reused: boolean }
  | { step: 'ensembles' }
  | { step: 'method'; method: EnsembleMethod; dims: number; knn: number; probe?: number };

export interface CascadeEvents {
  onProgress?(p: CascadeProgress): void;
  /** Events for the expert or embedding run in `dir` (named `expert-k` / `embed-k`); `done` is called after it. */
  runEvents?(name: string): RunEvents & { done?(): void };
}

export interface CascadeOptions {
  /** A finished self-supervised masking run (model.pret.module=swav) with its embeddings. */
  dispatcher: string;
  /** The cascade folder (default `<dispatcher>/cascade`). */
  out?: string;
  /** Clusters = experts (default 5). */
  clusters?: number;
  /** 'gmm' (the reference code, default) or 'kmeans' (the paper's text). */
  method?: 'gmm' | 'kmeans';
  /** Multiplies every expert's epochs (default 1). */
  epochsScale?: number;
  /** The 50,000 of the expert epoch formula (default 50000, as the reference even for iNat). */
  base?: number;
  /** Linear probes in step 4 (default true). */
  probe?: boolean;
  /** Hydra overrides applied to the expert runs (e.g. dl.batch_size=32). */
  overrides?: string[];
  /** Data-loading worker threads (default 1). */
  workers?: number;
  signal?: AbortSignal;
  events?: CascadeEvents;
}

export interface CascadeResult {
  /** False when the signal stopped it (a later call continues from the files). */
  completed: boolean;
  out: string;
  clusters?: ClusteringInfo;
  experts: string[];
  embeds: string[];
  /** kNN (and probe) accuracy and width of every method of step 4 (empty when not completed). */
  results: Partial<Record<EnsembleMethod, { knn: number; probe?: number; dims: number }>>;
  /** Masked weights of one model (from the dispatcher's summary.json). */
  maskedWeights: number;
  storage?: CascadeStorage;
  seconds: number;
}

type Settings = Required<Omit<CascadeOptions, 'signal' | 'events' | 'out'>> & { out: string; signal?: AbortSignal; events: CascadeEvents };

/**
 * A self-masking cascade (paper §3.4, Table 3; docs/method.md#cascades) from a finished self-supervised dispatcher run: 1. cluster its
 * normalised train embeddings (PCA-20 whitening + GMM or k-means), 2. train one expert per cluster from the
 * dispatcher's checkpoint for E_k = round(base / D_k × epochs × epochsScale) epochs, 3. embed the full sets with each
 * expert, 4. evaluate every ensemble method (kNN, linear probe) and the masks' storage; writes cascade.json and
 * report.html in `out`. Each step's output is reused when present, so a stopped cascade continues where it stopped
 * (an interrupted expert resumes from its checkpoint).
 */
export async function runCascade(options: CascadeOptions): Promise<CascadeResult> {
  const t0 = Date.now();
  const s: Settings = { clusters: 5, method: 'gmm', epochsScale: 1, base: 50000, probe: true, overrides: [], workers: 1, ...definedOnly(options), dispatcher: options.dispatcher, out: options.out ?? join(options.dispatcher, 'cascade'), events: options.events ?? {} };
  if (!Number.isInteger(s.clusters) || s.clusters < 1) throw new SmnError(CascadeErrorCode.Option, `runCascade: clusters must be an integer ≥ 1, got ${s.clusters}`, { kind: 'usage' });
  const dcfg = await readDispatcherConfig(s.dispatcher);
  const maskedWeights = (await readRunSummary(s.dispatcher)).maskedWeights;
  // One cascade per folder: a second one on it is refused with SMN_LOCK_HELD before it writes anything.
  const folder = await openOwnedFolder(s.out, { create: true, lockName: CASCADE_FILES.lock, label: `cascade of ${s.dispatcher}`, tempDirs: [CASCADE_FILES.clusters], what: 'cascade folder' });
  let finished = false;
  try {
    const signal = s.signal ? AbortSignal.any([s.signal, folder.lost]) : folder.lost;
    const r = await cascadeSteps({ ...s, signal }, dcfg, maskedWeights, t0);
    if (folder.lost.aborted) throw folder.lost.reason;
    finished = true;
    return r;
  } finally {
    await folder.close({ discard: !finished });
  }
}

/** Steps 1 to 4 in the locked cascade folder. */
async function cascadeSteps(s: Settings, dcfg: SmnConfig, maskedWeights: number, t0: number): Promise<CascadeResult> {
  const clustering = await clusterStep(s, dcfg);
  const clustersFile = await clustersByDatasetIndex(s, dcfg, clustering);
  const runs = await expertSteps(s, dcfg, clustering.info.sizes, clustersFile);
  const base = { out: s.out, clusters: clustering.info, maskedWeights, experts: runs.experts, embeds: runs.embeds };
  if (!runs.completed) return { ...base, completed: false, results: {}, seconds: (Date.now() - t0) / 1000 };
  const { results, storage } = await ensembleStep(s, dcfg, clustering, runs, maskedWeights, t0);
  return { ...base, completed: true, results, storage, seconds: (Date.now() - t0) / 1000 };
}

/** The config of a dispatcher run, after checking that it can start a cascade: a finished self-supervised run (usage errors otherwise). */
export async function readDispatcherConfig(dir: string): Promise<SmnConfig> {
  const cfg = await readRunConfig(dir, { code: TrainErrorCode.CascadeRun, doing: 'start a cascade from' });
  if (cfg.model.pret.module !== 'swav') {
    throw new SmnError(TrainErrorCode.CascadeRun, `the dispatcher ${dir} is a '${cfg.model.pret.module}' run; a cascade starts from self-supervised masking (model.pret.module=swav)`, { kind: 'usage' });
  }
  if (!isRunComplete(dir)) throw new SmnError(TrainErrorCode.CascadeRun, `the dispatcher ${dir} has not finished (no ${runPaths(dir).summary}); finish it with smn train --resume ${dir}`, { kind: 'usage' });
  return cfg;
}

/** Step 1: the clustering of the dispatcher's train embeddings (reused when saved). */
async function clusterStep(s: Settings, dcfg: SmnConfig): Promise<Clustering> {
  const dir = join(s.out, CASCADE_FILES.clusters);
  const reused = existsSync(join(dir, CLUSTERING_FILES.info));
  s.events.onProgress?.({ step: 'cluster', reused, dir, method: s.method, clusters: s.clusters });
  let clustering: Clustering;
  if (reused) {
    clustering = await loadClustering(dir);
  } else {
    const e = await readRunEmbeddings(s.dispatcher, ['trainNorm', 'testNorm', 'trainLabels', 'testLabels']);
    const signal = s.signal ? { signal: s.signal } : {};
    clustering = clusterEmbeddings(e.trainNorm, { clusters: s.clusters, method: s.method, components: 20, seed: dcfg.main.seed, labels: e.trainLabels, test: e.testNorm, testLabels: e.testLabels, ...signal });
    await saveClustering(dir, clustering);
  }
  s.events.onProgress?.({ step: 'clustered', info: clustering.info });
  return clustering;
}

/**
 * The cluster of every train image by dataset index (what main.dataset_subset_clusters_file reads): experts select
 * their images by dataset index, so the dispatcher's bank order is mapped back; images outside the bank get -1.
 */
async function clustersByDatasetIndex(s: Settings, dcfg: SmnConfig, clustering: Clustering): Promise<string> {
  const file = join(s.out, CASCADE_FILES.clusters, CASCADE_FILES.clustersByIndex);
  if (existsSync(file)) return file;
  const bankIdx = await readRunTrainIndices(s.dispatcher);
  const dsName = dcfg.main.dataset.replace(/^multicrop_/, '');
  const n = (await loadDataset(dsName, { dataRoot: dcfg.main.data_root, split: 'train' })).length;
  const byIndex = new Int32Array(n).fill(-1);
  bankIdx.forEach((d, j) => (byIndex[d] = clustering.trainClusters[j]!));
  await writeNpy(file, { shape: [n], dtype: 'int32', data: byIndex });
  return file;
}

/** Runs one expert or embedding run with the caller's run events; false when interrupted. */
async function runOne(s: Settings, name: string, opts: { config: SmnConfig; runDir: string; overrides: string[]; resume?: boolean }): Promise<boolean> {
  const ev = s.events.runEvents?.(name);
  const r = await runExperiment({ ...opts, workers: s.workers, ...(s.signal ? { signal: s.signal } : {}), ...(ev ? { events: ev } : {}) });
  ev?.done?.();
  return r.completed;
}

/** Steps 2 and 3: train each cluster's expert, then embed the full sets with it. */
async function expertSteps(s: Settings, dcfg: SmnConfig, sizes: number[], clustersFile: string): Promise<{ completed: boolean; experts: string[]; embeds: string[] }> {
  const experts: string[] = [];
  const embeds: string[] = [];
  const dispCkpt = runPaths(s.dispatcher).checkpoint;
  for (let k = 0; k < s.clusters; k++) {
    const { epochs, queueStart } = expertEpochs(sizes[k]!, { base: s.base, epochs: dcfg.dl.epochs, scale: s.epochsScale });
    const expertDir = join(s.out, CASCADE_FILES.expert(k));
    experts.push(expertDir);
    const reused = isRunComplete(expertDir);
    const resume = !reused && hasCheckpoint(expertDir);
    s.events.onProgress?.({ step: 'expert', k, dir: expertDir, reused, resuming: resume, images: sizes[k]!, epochs, queueStart });
    if (!reused) {
      const over = [
        `main.dataset_subset_clusters_file=${clustersFile}`,
        `main.dataset_subset_cluster=${k}`,
        "main.dataset_subset=''",
        `dl.epochs=${epochs}`,
        `swav.epoch_queue_starts=${queueStart}`,
        `main.load_checkpoint=${dispCkpt}`,
        'main.strict_load_checkpoint=0',
        'main.probe=0',
        ...s.overrides,
      ];
      const config = resume ? await readRunConfig(expertDir, { code: TrainErrorCode.CascadeRun, doing: 'resume the expert' }) : await applyOverrides(dcfg, over, s.out);
      if (!(await runOne(s, CASCADE_FILES.expert(k), { config, runDir: expertDir, overrides: over, resume }))) return { completed: false, experts, embeds };
    }
    const embedDir = join(s.out, CASCADE_FILES.embed(k));
    embeds.push(embedDir);
    const embedded = isRunComplete(embedDir);
    s.events.onProgress?.({ step: 'embed', k, dir: embedDir, reused: embedded });
    if (!embedded) {
      const over = ['main.train=0', 'main.probe=0', "main.dataset_subset_clusters_file=''", `main.load_checkpoint=${runPaths(expertDir).checkpoint}`, 'main.strict_load_checkpoint=1'];
      if (!(await runOne(s, CASCADE_FILES.embed(k), { config: await applyOverrides(dcfg, over, s.out), runDir: embedDir, overrides: over }))) return { completed: false, experts, embeds };
    }
  }
  return { completed: true, experts, embeds };
}

/** Step 4: every ensemble method's kNN (and probe) accuracy, the masks' storage; cascade.json and report.html. */
async function ensembleStep(s: Settings, dcfg: SmnConfig, clustering: Clustering, runs: { experts: string[]; embeds: string[] }, maskedWeights: number, t0: number) {
  s.events.onProgress?.({ step: 'ensembles' });
  const embs = await Promise.all([s.dispatcher, ...runs.embeds].map((d) => readRunEmbeddings(d, ['trainRaw', 'testRaw', 'trainLabels', 'testLabels'])));
  const numClasses = (await readRunClasses(s.dispatcher)).length;
  const inputs = {
    train: embs.map((e) => e.trainRaw),
    test: embs.map((e) => e.testRaw),
    trainClusters: clustering.trainClusters,
    testClusters: clustering.testClusters!,
    clusterIds: Array.from({ length: s.clusters }, (_, i) => i),
  };
  const results: CascadeResult['results'] = {};
  for (const method of CASCADE_METHODS) {
    const feats = ensembleFeatures(inputs, method, { seed: dcfg.main.seed });
    const ev = await evaluateFeatures(feats, embs[0]!.trainLabels, embs[0]!.testLabels, { numClasses, linearProbe: s.probe });
    const r = { knn: ev.knnAccuracy, dims: ev.dims, ...(ev.probeAccuracy !== undefined ? { probe: ev.probeAccuracy } : {}) };
    results[method] = r;
    s.events.onProgress?.({ step: 'method', method, ...r });
  }
  const storage = cascadeStorage({ maskedParamsPerModel: maskedWeights, models: s.clusters + 1 });
  const info = clustering.info;
  const summary = { clusters: info, results, storage, seconds: (Date.now() - t0) / 1000, dispatcher: s.dispatcher, experts: runs.experts, embeds: runs.embeds };
  await atomicWriteFile(join(s.out, CASCADE_FILES.report), renderReport(`smn cascade of ${s.dispatcher}`, [
    { title: 'Clusters', table: { columns: ['cluster', 'images'], rows: info.sizes.map((n, i) => [i, n]) }, text: `Mean largest share ${info.meanLargestShare ?? '-'}, AMI ${info.ami ?? '-'}` },
    { title: 'Ensembles', table: { columns: ['method', 'dims', 'kNN accuracy', 'probe accuracy'], rows: CASCADE_METHODS.map((m) => [m, results[m]!.dims, results[m]!.knn, results[m]!.probe ?? NaN]) } },
    { title: 'Storage', text: JSON.stringify(storage) },
  ]));
  await atomicWriteFile(join(s.out, CASCADE_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
  return { results, storage };
}

/**
 * Applies Hydra overrides to an already resolved config (the dispatcher's): it is saved as a config file of the
 * cascade folder and resolved again with the overrides, so every value is validated like a command line.
 */
async function applyOverrides(cfg: SmnConfig, overrides: string[], dir: string): Promise<SmnConfig> {
  const file = join(dir, CASCADE_FILES.dispatcherConfig);
  if (!existsSync(file)) await atomicWriteFile(file, configToYaml(cfg));
  return resolveConfig({ configName: CASCADE_FILES.dispatcherConfig.replace(/\.yaml$/, ''), configDirs: [dir], overrides }).config;
}
