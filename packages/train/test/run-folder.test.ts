import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_EMBEDDING_FILES, readRunEmbeddings } from '@smn/cascade';
import {
  checkpointFileOf,
  hasCheckpoint,
  isRunComplete,
  readRunClasses,
  readRunConfig,
  readRunSummary,
  readRunTrainIndices,
  resolveConfig,
  RUN_FILES,
  runFolderOf,
  runPaths,
  writeRunConfig,
  writeRunEmbeddings,
  writeRunSummary,
  type RunSummary,
} from '../src/index.js';

const summary = (): RunSummary => ({
  format: 'smn-run-summary',
  version: 1,
  maskedWeights: 1000,
  headMaskedWeights: 40,
  trainedFloats: 0,
  probeFloats: 0,
  trainedBits: 1040,
  maskBytes: 180,
  featureDim: 4,
  numClasses: 10,
  badSamples: 0,
  seconds: 1.5,
  metrics: { 'training/test/accuracy': 0.5 },
});

describe('the run folder layout', () => {
  it('names every file once, the embeddings with @smn/cascade names', () => {
    const p = runPaths(join('runs', 'x'));
    expect(p.config).toBe(join('runs', 'x', 'config.yaml'));
    expect(p.checkpoint).toBe(join('runs', 'x', 'last.ckpt'));
    expect(p.summary).toBe(join('runs', 'x', 'summary.json'));
    expect(p.embeddings.dir).toBe(join('runs', 'x', 'embeddings'));
    expect(p.embeddings.trainRaw).toBe(join('runs', 'x', 'embeddings', RUN_EMBEDDING_FILES.trainRaw));
    expect(p.embeddings.trainIndices).toBe(join('runs', 'x', 'embeddings', 'train_indices.npy'));
    expect(Object.keys(RUN_FILES).sort()).toEqual(['checkpoint', 'config', 'lock', 'masks', 'metrics', 'overrides', 'probeBias', 'probeWeights', 'report', 'summary']);
  });

  it('finds the run folder of a checkpoint path and the checkpoint of a run folder', async () => {
    expect(runFolderOf('runs/a/last.ckpt')).toBe('runs/a');
    expect(runFolderOf('runs/a/')).toBe('runs/a');
    expect(runFolderOf('runs/a')).toBe('runs/a');
    const dir = await mkdtemp(join(tmpdir(), 'smn-layout-'));
    expect(checkpointFileOf(dir)).toBe(dir);
    expect(hasCheckpoint(dir)).toBe(false);
    await writeFile(join(dir, RUN_FILES.checkpoint), 'x');
    expect(checkpointFileOf(dir)).toBe(join(dir, 'last.ckpt'));
    expect(hasCheckpoint(dir)).toBe(true);
  });

  it('writes and reads back config.yaml and overrides.yaml; a folder without config is a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-layout-'));
    const { config } = resolveConfig({ configName: 'submask', overrides: ['dl.lr=7'] });
    await writeRunConfig(dir, config, ['dl.lr=7', 'main.info=a b']);
    expect(await readRunConfig(dir)).toEqual(config);
    expect(await readFile(join(dir, 'overrides.yaml'), 'utf8')).toBe('- "dl.lr=7"\n- "main.info=a b"\n');
    const empty = await mkdtemp(join(tmpdir(), 'smn-layout-'));
    await expect(readRunConfig(empty, { code: 'SMN_X', doing: 'resume' })).rejects.toMatchObject({ code: 'SMN_X', kind: 'usage', message: expect.stringMatching(/cannot resume .*: no config\.yaml there/) });
  });

  it('writes embeddings that @smn/cascade reads, with classes and train indices', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-layout-'));
    const split = (rows: number) => ({ rows, dim: 2, features: Float32Array.from({ length: rows * 2 }, (_, i) => i), normalized: new Float32Array(rows * 2).fill(0.5), labels: Int32Array.from({ length: rows }, (_, i) => i % 2) });
    await writeRunEmbeddings(dir, { train: split(3), test: split(2), trainIndices: Int32Array.from([7, 3, 9]), classes: ['a', 'b'] });
    const e = await readRunEmbeddings(dir, ['trainRaw', 'testNorm', 'trainLabels']);
    expect(e.trainRaw.rows).toBe(3);
    expect(Array.from(e.trainRaw.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(e.trainLabels)).toEqual([0, 1, 0]);
    expect(await readRunClasses(dir)).toEqual(['a', 'b']);
    expect(Array.from(await readRunTrainIndices(dir))).toEqual([7, 3, 9]);
  });

  it('summary.json: round trip, its presence marks a complete run, a broken one is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-layout-'));
    expect(isRunComplete(dir)).toBe(false);
    await expect(readRunSummary(dir)).rejects.toMatchObject({ code: 'SMN_RUN_INCOMPLETE' });
    await writeRunSummary(dir, summary());
    expect(isRunComplete(dir)).toBe(true);
    expect(await readRunSummary(dir)).toEqual(summary());
    await writeFile(join(dir, 'summary.json'), JSON.stringify({ ...summary(), maskedWeights: -1 }));
    await expect(readRunSummary(dir)).rejects.toMatchObject({ code: 'SMN_RUN_SUMMARY_INVALID', message: expect.stringContaining('maskedWeights') });
    const sub = join(dir, 'nested', 'run');
    await mkdir(sub, { recursive: true });
    await writeRunSummary(sub, summary());
    expect(existsSync(runPaths(sub).summary)).toBe(true);
  });
});
