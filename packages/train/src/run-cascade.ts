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

/** One expert or embedding run of a cascade, laid out ahead by {@link planCascade}: what `smn train` would run. */
export interface CascadeRun {
  /** `expert-k` or `embed-k` (CASCADE_FILES). */
  name: string;
  k: number;
  runDir: string;
  config: SmnConfig;
  overrides: string[];
  /** Continue from the folder's last.ckpt (an expert stopped before). */
  resume: boolean;
  /** Finished before (summary.json): nothing to run. */
  reused: boolean;
}

/** An expert run, with the numbers of its epoch formula. */
export interface CascadeExpertRun extends CascadeRun {
  images: number;
  epochs: number;
  queueStart: number;
}

/** Step 1 done, steps 2 and 3 laid out: what a launcher runs in parallel before {@link runCascade} ends the cascade. */
export interface CascadePlan {
  out: string;
  clusters: ClusteringInfo;
  /** Expert k trains on cluster k, from the dispatcher's checkpoint. */
  experts: CascadeExpertRun[];
  /** Embedding run k reads expert k's checkpoint: it starts once expert k has finished. */
  embeds: CascadeRun[];
}

function cascadeSettings(options: CascadeOptions): Settings {
  const s: Settings = { clusters: 5, method: 'gmm', epochsScale: 1, base: 50000, probe: true, overrides: [], workers: 1, ...definedOnly(options), dispatcher: options.dispatcher, out: options.out ?? join(options.dispatcher, 'cascade'), events: options.events ?? {} };
  if (!Number.isInteger(s.clusters) || s.clusters < 1) throw new SmnError(CascadeErrorCode.Option, `runCascade: clusters must be an integer ≥ 1, got ${s.clusters}`, { kind: 'usage' });
  return s;
}

/** Runs `work` holding the cascade folder's lock (one cascade process per folder; released on return or error). */
async function inCascadeFolder<T>(s: Settings, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // A second process on the folder is refused with SMN_LOCK_HELD before it writes anything.
  const folder = await openOwnedFolder(s.out, { create: true, lockName: CASCADE_FILES.lock, label: `cascade of ${s.dispatcher}`, tempDirs: [CASCADE_FILES.clusters], what: 'cascade folder' });
  let finished = false;
  try {
    const signal = s.signal ? AbortSignal.any([s.signal, folder.lost]) : folder.lost;
    const r = await work(signal);
    if (folder.lost.aborted) throw folder.lost.reason;
    finished = true;
    return r;
  } finally {
    await folder.close({ discard: !finished });
  }
}

/**
 * Step 1 of a cascade (the clustering, reused when saved) and the layout of steps 2 and 3: every expert and embedding
 * run with its resolved config, for a launcher that runs them in parallel (`@smn/launch`'s launchCascade). Holds the
 * cascade folder's lock only while it works; {@link runCascade} with the same options then finds every finished run
 * and only evaluates the ensembles (step 4).
 */
export async function planCascade(options: CascadeOptions): Promise<CascadePlan> {
  const s = cascadeSettings(options);
  const dcfg = await readDispatcherConfig(s.dispatcher);
  return inCascadeFolder(s, async (signal) => {
    const st = { ...s, signal };
    const clustering = await clusterStep(st, dcfg);
    const clustersFile = await clustersByDatasetIndex(st, dcfg, clustering);
    const experts: CascadeExpertRun[] = [];
    const embeds: CascadeRun[] = [];
    for (let k = 0; k < s.clusters; k++) {
      experts.push(await expertRun(st, dcfg, k, clustering.info.sizes, clustersFile));
      embeds.push(await embedRun(st, dcfg, k));
    }
    return { out: s.out, clusters: clustering.info, experts, embeds };
  });
}

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
  const s = cascadeSettings(options);
  const dcfg = await readDispatcherConfig(s.dispatcher);
  const maskedWeights = (await readRunSummary(s.dispatcher)).maskedWeights;
  return inCascadeFolder(s, (signal) => cascadeSteps({ ...s, signal }, dcfg, maskedWeights, t0));
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

/** Expert k's run: its folder, its config (its own config.yaml when resuming) and the overrides that make it. */
async function expertRun(s: Settings, dcfg: SmnConfig, k: number, sizes: number[], clustersFile: string): Promise<CascadeExpertRun> {
  const { epochs, queueStart } = expertEpochs(sizes[k]!, { base: s.base, epochs: dcfg.dl.epochs, scale: s.epochsScale });
  const runDir = join(s.out, CASCADE_FILES.expert(k));
  const reused = isRunComplete(runDir);
  const resume = !reused && hasCheckpoint(runDir);
  const overrides = [
    `main.dataset_subset_clusters_file=${clustersFile}`,
    `main.dataset_subset_cluster=${k}`,
    "main.dataset_subset=''",
    `dl.epochs=${epochs}`,
    `swav.epoch_queue_starts=${queueStart}`,
    `main.load_checkpoint=${runPaths(s.dispatcher).checkpoint}`,
    'main.strict_load_checkpoint=0',
    'main.probe=0',
    ...s.overrides,
  ];
  const config = resume ? await readRunConfig(runDir, { code: TrainErrorCode.CascadeRun, doing: 'resume the expert' }) : await applyOverrides(dcfg, overrides, s.out);
  return { name: CASCADE_FILES.expert(k), k, runDir, config, overrides, resume, reused, images: sizes[k]!, epochs, queueStart };
}

/** Embedding run k: the full train and test sets through expert k's checkpoint (main.train=0). */
async function embedRun(s: Settings, dcfg: SmnConfig, k: number): Promise<CascadeRun> {
  const runDir = join(s.out, CASCADE_FILES.embed(k));
  const overrides = ['main.train=0', 'main.probe=0', "main.dataset_subset_clusters_file=''", `main.load_checkpoint=${runPaths(join(s.out, CASCADE_FILES.expert(k))).checkpoint}`, 'main.strict_load_checkpoint=1'];
  return { name: CASCADE_FILES.embed(k), k, runDir, config: await applyOverrides(dcfg, overrides, s.out), overrides, resume: false, reused: isRunComplete(runDir) };
}

const runOptions = (r: CascadeRun) => ({ config: r.config, runDir: r.runDir, overrides: r.overrides, resume: r.resume });

/** Steps 2 and 3: train each cluster's expert, then embed the full sets with it. */
async function expertSteps(s: Settings, dcfg: SmnConfig, sizes: number[], clustersFile: string): Promise<{ completed: boolean; experts: string[]; embeds: string[] }> {
  const experts: string[] = [];
  const embeds: string[] = [];
  for (let k = 0; k < s.clusters; k++) {
    const ex = await expertRun(s, dcfg, k, sizes, clustersFile);
    experts.push(ex.runDir);
    s.events.onProgress?.({ step: 'expert', k, dir: ex.runDir, reused: ex.reused, resuming: ex.resume, images: ex.images, epochs: ex.epochs, queueStart: ex.queueStart });
    if (!ex.reused && !(await runOne(s, ex.name, runOptions(ex)))) return { completed: false, experts, embeds };
    const em = await embedRun(s, dcfg, k);
    embeds.push(em.runDir);
    s.events.onProgress?.({ step: 'embed', k, dir: em.runDir, reused: em.reused });
    if (!em.reused && !(await runOne(s, em.name, runOptions(em)))) return { completed: false, experts, embeds };
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
