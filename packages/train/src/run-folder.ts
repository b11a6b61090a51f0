import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { z } from 'zod';
import { SmnError, atomicWriteFile, readNpy, writeNpy } from '@smn/core';
import { RUN_EMBEDDING_FILES, runEmbeddingPath, type RunEmbeddingName } from '@smn/cascade';
import { configFromYaml, configToYaml, type SmnConfig } from './config/index.js';
import { fillAbsentKeys } from './config-defaults.js';
import { readMetrics, type MetricRecord } from './metrics.js';
import { openOwnedFolder, type OwnedFolder } from './owned-folder.js';
import { TrainErrorCode } from './errors.js';

/**
 * The run folder, defined once: every file a run writes, by role. Whoever reads or writes a run (the experiment, the
 * cascade, the CLI) goes through {@link runPaths} and the readers below, never through literal names.
 *
 * ```
 * config.yaml       the resolved config (resume reads it back)
 * overrides.yaml    the command-line overrides, as a YAML list
 * metrics.jsonl     one JSON record per epoch end and one for the final test (appended)
 * last.ckpt         the checkpoint: weights, scores, BatchNorm statistics, optimizer, position (checkpoint.ts)
 * masks.smnmask     1 bit per masked backbone weight (@smn/subnetworks)
 * embeddings/       train/test features and labels (.npy, @smn/cascade's RUN_EMBEDDING_FILES), classes.json,
 *                   train_indices.npy (the dataset index of every train row)
 * probe_W.npy, probe_b.npy   the linear probe (main.probe=1)
 * report.html       curves and final metrics
 * summary.json      counts, bytes and final metrics; written last, so its presence marks a complete run
 * run.lock          while a process runs it: its pid, host and heartbeat (@smn/core acquireLock; {@link openRunFolder})
 * ```
 */
export const RUN_FILES = {
  config: 'config.yaml',
  overrides: 'overrides.yaml',
  metrics: 'metrics.jsonl',
  checkpoint: 'last.ckpt',
  masks: 'masks.smnmask',
  probeWeights: 'probe_W.npy',
  probeBias: 'probe_b.npy',
  report: 'report.html',
  summary: 'summary.json',
  lock: 'run.lock',
} as const;

/** Files of `embeddings/` besides the matrices and labels of @smn/cascade's `RUN_EMBEDDING_FILES`. */
export const RUN_EMBEDDING_EXTRA_FILES = {
  classes: 'classes.json',
  trainIndices: 'train_indices.npy',
} as const;

/** Absolute or relative paths of every file of one run folder. */
export type RunPaths = { dir: string } & { [K in keyof typeof RUN_FILES]: string } & {
  embeddings: { dir: string } & { [K in RunEmbeddingName | keyof typeof RUN_EMBEDDING_EXTRA_FILES]: string };
};

/** The paths of the run folder `dir`. */
export function runPaths(dir: string): RunPaths {
  const files = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, join(dir, f)])) as { [K in keyof typeof RUN_FILES]: string };
  const matrices = Object.fromEntries(Object.keys(RUN_EMBEDDING_FILES).map((k) => [k, runEmbeddingPath(dir, k as RunEmbeddingName)])) as {
    [K in RunEmbeddingName]: string;
  };
  const embDir = dirname(matrices.trainRaw);
  return {
    dir,
    ...files,
    embeddings: {
      dir: embDir,
      ...matrices,
      classes: join(embDir, RUN_EMBEDDING_EXTRA_FILES.classes),
      trainIndices: join(embDir, RUN_EMBEDDING_EXTRA_FILES.trainIndices),
    },
  };
}

/** The run folder a path names: the folder itself, or the folder of its `last.ckpt` (as `--resume` and `main.resume_checkpoint` accept). */
export function runFolderOf(path: string): string {
  const p = path.replace(/[/\\]+$/, '');
  return basename(p) === RUN_FILES.checkpoint ? dirname(p) : p;
}

/** The checkpoint file a path names: `<path>/last.ckpt` when `path` is a run folder, else `path` (main.load_checkpoint). */
export function checkpointFileOf(path: string): string {
  const inside = join(path, RUN_FILES.checkpoint);
  return existsSync(inside) ? inside : path;
}

/** Whether the run folder holds a checkpoint (the run can be resumed). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(runPaths(dir).checkpoint);
}

/** Writes config.yaml and overrides.yaml, each atomically. */
export async function writeRunConfig(dir: string, config: SmnConfig, overrides: readonly string[] = []): Promise<void> {
  const p = runPaths(dir);
  await atomicWriteFile(p.config, configToYaml(config));
  await atomicWriteFile(p.overrides, overrides.map((o) => `- ${JSON.stringify(o)}`).join('\n') + '\n');
}

/**
 * The config.yaml a run folder was started with. A folder without one is a usage error with `code` (default
 * `SMN_RUN_NOT_FOUND`) that says what could not be done (`doing`, e.g. 'resume'). Keys that smn added after the run
 * was written (an older config.yaml has no main.download) get the default config's value, reported to `onDefaults`.
 */
export async function readRunConfig(dir: string, opts: { code?: string; doing?: string; onDefaults?: (filled: Record<string, unknown>) => void } = {}): Promise<SmnConfig> {
  const p = runPaths(dir).config;
  if (!existsSync(p)) {
    throw new SmnError(opts.code ?? TrainErrorCode.RunNotFound, `cannot ${opts.doing ?? 'read the run'} ${dir}: no ${RUN_FILES.config} there (is it a run folder?)`, {
      kind: 'usage',
      details: { file: p },
    });
  }
  const { text, filled } = fillAbsentKeys(await readFile(p, 'utf8'), p);
  if (Object.keys(filled).length) opts.onDefaults?.(filled);
  return configFromYaml(text, p);
}

/**
 * Takes ownership of a run folder before anything is written there (owned-folder.ts): the path checked, the folder
 * created when `resume` is false, its lock (`run.lock`) taken, a write probed, leftover temporary files of killed
 * writes removed (also in embeddings/). A second process on the folder gets SMN_LOCK_HELD naming this one.
 */
export function openRunFolder(dir: string, opts: { resume: boolean; label: string }): Promise<OwnedFolder> {
  return openOwnedFolder(dir, { create: !opts.resume, lockName: RUN_FILES.lock, label: opts.label, tempDirs: [relative(dir, runPaths(dir).embeddings.dir)] });
}

/** The metric records of a run (metrics.jsonl; a torn last line is skipped), those with epoch ≤ maxEpoch. */
export function readRunMetrics(dir: string, maxEpoch = Infinity): Promise<MetricRecord[]> {
  return readMetrics(runPaths(dir).metrics, maxEpoch);
}

/** Class names of a run's dataset, in label order (embeddings/classes.json). */
export async function readRunClasses(dir: string): Promise<string[]> {
  const p = runPaths(dir).embeddings.classes;
  if (!existsSync(p)) throw new SmnError(TrainErrorCode.RunIncomplete, `run folder ${dir} has no ${join('embeddings', RUN_EMBEDDING_EXTRA_FILES.classes)}; the trainer writes it with the final embeddings`, { details: { file: p } });
  return z.array(z.string()).parse(JSON.parse(await readFile(p, 'utf8')));
}

/** The dataset index of every row of the run's train embeddings (embeddings/train_indices.npy). */
export async function readRunTrainIndices(dir: string): Promise<Int32Array> {
  const p = runPaths(dir).embeddings.trainIndices;
  if (!existsSync(p)) throw new SmnError(TrainErrorCode.RunIncomplete, `run folder ${dir} has no ${join('embeddings', RUN_EMBEDDING_EXTRA_FILES.trainIndices)}; rerun its final test with this version of smn`, { details: { file: p } });
  const a = await readNpy(p);
  if (a.dtype !== 'int32' || a.shape.length !== 1) throw new SmnError(TrainErrorCode.RunIncomplete, `${p}: expected a 1-D int32 array, found ${a.dtype} [${a.shape}]`);
  return a.data as Int32Array;
}

/** What {@link writeRunEmbeddings} writes: features [rows, dim] of the train bank and the test set, their labels. */
export interface RunEmbeddings {
  train: { rows: number; dim: number; features: Float32Array; normalized: Float32Array; labels: Int32Array };
  test: { rows: number; dim: number; features: Float32Array; normalized: Float32Array; labels: Int32Array };
  /** Dataset index of every train row. */
  trainIndices: Int32Array;
  classes: readonly string[];
}

/** Writes embeddings/ (every file atomically). */
export async function writeRunEmbeddings(dir: string, e: RunEmbeddings): Promise<void> {
  const p = runPaths(dir).embeddings;
  const { train: tr, test: te } = e;
  await writeNpy(p.trainRaw, { shape: [tr.rows, tr.dim], dtype: 'float32', data: tr.features });
  await writeNpy(p.trainNorm, { shape: [tr.rows, tr.dim], dtype: 'float32', data: tr.normalized });
  await writeNpy(p.testRaw, { shape: [te.rows, te.dim], dtype: 'float32', data: te.features });
  await writeNpy(p.testNorm, { shape: [te.rows, te.dim], dtype: 'float32', data: te.normalized });
  await writeNpy(p.trainLabels, { shape: [tr.rows], dtype: 'int32', data: tr.labels });
  await writeNpy(p.testLabels, { shape: [te.rows], dtype: 'int32', data: te.labels });
  await writeNpy(p.trainIndices, { shape: [e.trainIndices.length], dtype: 'int32', data: e.trainIndices });
  await atomicWriteFile(p.classes, JSON.stringify(e.classes) + '\n');
}

const count = z.number().int().nonnegative();
const summarySchema = z.object({
  format: z.literal('smn-run-summary'),
  version: z.literal(1),
  maskedWeights: count,
  headMaskedWeights: count,
  trainedFloats: count,
  probeFloats: count,
  trainedBits: count,
  maskBytes: count,
  featureDim: count,
  numClasses: count,
  badSamples: count,
  seconds: z.number(),
  metrics: z.record(z.string(), z.number()),
});

/**
 * summary.json: what a finished run learnt, stores and scored. Counts are entries of the tensors, so `trainedBits`
 * prices an adaptation as the paper does: 1 bit per mask entry, 32 per float (`maskedWeights + headMaskedWeights +
 * 32 × (trainedFloats + probeFloats)`, without trainedFloats and head masks when main.train=0).
 */
export type RunSummary = z.infer<typeof summarySchema>;

/** Writes summary.json atomically. Call it last: its presence marks a complete run ({@link isRunComplete}). */
export async function writeRunSummary(dir: string, summary: RunSummary): Promise<void> {
  await atomicWriteFile(runPaths(dir).summary, JSON.stringify(summarySchema.parse(summary), null, 2) + '\n');
}

/** Reads and checks summary.json; a run without one has not finished (or was written by smn before 0.2). */
export async function readRunSummary(dir: string): Promise<RunSummary> {
  const p = runPaths(dir).summary;
  if (!existsSync(p)) {
    throw new SmnError(TrainErrorCode.RunIncomplete, `run folder ${dir} has no ${RUN_FILES.summary}: the run has not finished (or an older smn wrote it); finish it with smn train --resume ${dir}`, {
      kind: 'usage',
      details: { file: p },
    });
  }
  const r = summarySchema.safeParse(JSON.parse(await readFile(p, 'utf8')));
  if (!r.success) throw new SmnError(TrainErrorCode.RunSummaryInvalid, `${p} is not an smn run summary: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { details: { file: p } });
  return r.data;
}

/** Whether `dir` holds a complete run (its summary.json is there). */
export function isRunComplete(dir: string): boolean {
  return existsSync(runPaths(dir).summary);
}
