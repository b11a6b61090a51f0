import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { CASCADE_FILES, CASCADE_METHODS, hasCheckpoint, readRunSummary, resolveConfig, runCascade, runExperiment, runPaths, type CascadeProgress } from '../src/index.js';

let root = '';
let dispatcher = '';

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-cascade-lib-'));
  const weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 7 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
  // A self-supervised dispatcher on three classes (600 images), one epoch.
  const { config } = resolveConfig({
    configName: 'submask_lin',
    overrides: [
      'model.pret.module=swav', 'main.dataset=multicrop_embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset_labels=0:1:2',
      'dl.epochs=1', 'dl.scheduler=cosine', 'swav.nmb_crops=[2,2]', 'swav.nmb_prototypes=10', 'swav.queue_length=0', 'swav.freeze_prototypes_niters=1', 'cls.head_lr=0.15',
    ],
  });
  dispatcher = join(root, 'dispatcher');
  const r = await runExperiment({ config, runDir: dispatcher, workers: 0 });
  expect(r.completed).toBe(true);
}, 300_000);

describe('runCascade', () => {
  it('stops on its signal, continues from its files, and reuses every finished step', async () => {
    const out = join(root, 'cascade');
    const options = { dispatcher, out, clusters: 2, base: 300, workers: 0 };
    // Stop during the first expert's training: the expert keeps a checkpoint. Before that, while this cascade holds
    // its folder (the batch end is awaited), a second cascade on the folder is refused.
    const ac = new AbortController();
    let second: unknown;
    const secondCascade = async () => {
      second ??= await runCascade(options).catch((e: unknown) => e);
      ac.abort();
    };
    const stopped = await runCascade({ ...options, signal: ac.signal, events: { runEvents: (name) => (name === 'expert-0' ? { onBatchEnd: secondCascade } : {}) } });
    expect(second).toMatchObject({ code: 'SMN_LOCK_HELD', message: expect.stringContaining(`(cascade of ${dispatcher})`) });
    expect(stopped.completed).toBe(false);
    expect(stopped.results).toEqual({});
    expect(hasCheckpoint(join(out, CASCADE_FILES.expert(0)))).toBe(true);

    const progress: CascadeProgress[] = [];
    const done: string[] = [];
    const r = await runCascade({ ...options, events: { onProgress: (p) => progress.push(p), runEvents: (name) => ({ done: () => done.push(name) }) } });
    expect(r.completed).toBe(true);
    expect(progress.map((p) => p.step)).toEqual(['cluster', 'clustered', 'expert', 'embed', 'expert', 'embed', 'ensembles', ...CASCADE_METHODS.map(() => 'method')]);
    expect(progress[0]).toMatchObject({ step: 'cluster', reused: true });
    expect(progress[2]).toMatchObject({ step: 'expert', k: 0, resuming: true, reused: false });
    expect(done).toEqual(['expert-0', 'embed-0', 'expert-1', 'embed-1']);
    expect(r.clusters!.sizes.reduce((a, b) => a + b, 0)).toBe(600);
    expect(Object.keys(r.results)).toEqual([...CASCADE_METHODS]);
    expect(r.results.unconditional!.dims).toBe(96); // dispatcher + 2 experts concatenated
    // The masked-weight count comes from the dispatcher's summary.json.
    expect(r.maskedWeights).toBe((await readRunSummary(dispatcher)).maskedWeights);
    expect(r.storage!.label).toBe('3β/32');
    const saved = JSON.parse(await readFile(join(out, CASCADE_FILES.summary), 'utf8'));
    expect(saved.results).toEqual(r.results);
    expect(existsSync(join(out, CASCADE_FILES.report))).toBe(true);
    for (const k of [0, 1]) expect(existsSync(runPaths(join(out, CASCADE_FILES.expert(k))).masks)).toBe(true);

    // Everything is on disk: a third call trains nothing and gives the same numbers.
    const again: CascadeProgress[] = [];
    const r2 = await runCascade({ ...options, events: { onProgress: (p) => again.push(p) } });
    expect(again.filter((p) => 'reused' in p).every((p) => 'reused' in p && p.reused)).toBe(true);
    expect(r2.results).toEqual(r.results);
  }, 600_000);

  it('refuses a dispatcher that is not a finished self-supervised run', async () => {
    await expect(runCascade({ dispatcher: join(root, 'nowhere') })).rejects.toMatchObject({ code: 'SMN_CASCADE_RUN', kind: 'usage' });
    await expect(runCascade({ dispatcher, clusters: 0 })).rejects.toMatchObject({ code: 'SMN_CASCADE_OPTION' });
  });
});
