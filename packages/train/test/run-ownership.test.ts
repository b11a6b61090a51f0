// A run owns its folder and its interrupts are transactions (runExperiment in-process, tiny backbone, real files):
// the signal is aborted from the run's own progress events, so the interrupt lands in the validation or the final
// test every time, without timing.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, readRunConfig, readRunMetrics, resolveConfig, runExperiment, runPaths, type RunEvents } from '../src/index.js';
import { caughtAsync } from '../../core/test/_smn-error.js';

let weights = '';
let root = '';
let reference: Record<string, unknown>[] = [];
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-own-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 3 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
  const r = await runExperiment({ config: cfgOf(), runDir: join(root, 'reference'), workers: 0 });
  expect(r.completed).toBe(true);
  reference = await records(join(root, 'reference'));
}, 300_000);

const cfgOf = (extra: string[] = []) =>
  resolveConfig({
    configName: 'submask',
    overrides: ['main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=64', 'dl.batch_size=32', 'dl.epochs=2', 'dl.scheduler=cosine', ...extra],
  }).config;

/** metrics.jsonl without the wall-clock times. */
async function records(dir: string): Promise<Record<string, unknown>[]> {
  return (await readRunMetrics(dir)).map(({ time: _t, ...rest }) => rest);
}

/** Aborts the run when `phase` has done its first batch, as a SIGTERM there would. */
function interruptIn(phase: string, logs: string[]): { signal: AbortSignal; events: RunEvents } {
  const ac = new AbortController();
  return {
    signal: ac.signal,
    events: {
      onProgress: (p) => {
        if (p === phase) ac.abort();
      },
      onLog: (l) => logs.push(l),
    },
  };
}

describe('interrupts are transactions', { timeout: 300_000 }, () => {
  it('during a validation: no metric of that epoch is written, the checkpoint holds its training steps, the resume validates again', async () => {
    const dir = join(root, 'in-validation');
    const logs: string[] = [];
    const r = await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, ...interruptIn('embed test', logs) });
    expect(r.completed).toBe(false);
    expect(await records(dir)).toEqual([]); // was: val/accuracy of 128 of the 1,000 test images, kept for good
    const meta = (await loadCheckpoint(runPaths(dir).checkpoint)).meta;
    expect([meta.epoch, meta.batch, meta.step]).toEqual([0, 2, 2]); // the end of epoch 0's two batches
    expect(logs.join('\n')).toContain('checkpoint saved after the training steps of epoch 1, before its validation (a resume validates again)');
    expect(existsSync(runPaths(dir).lock)).toBe(false);
    const resumed = await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, resume: true });
    expect(resumed.completed).toBe(true);
    expect(await records(dir)).toEqual(reference);
  });

  it('during the final test: nothing of it is written; the resume evaluates again', async () => {
    const dir = join(root, 'in-test');
    const logs: string[] = [];
    const r = await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, ...interruptIn('embed train', logs) });
    expect(r.completed).toBe(false);
    expect(r.summary).toBeUndefined();
    expect(existsSync(runPaths(dir).summary)).toBe(false);
    expect(existsSync(runPaths(dir).embeddings.trainRaw)).toBe(false);
    expect(await records(dir)).toEqual(reference.slice(0, 2)); // the two epochs, no final record
    expect(logs.join('\n')).toContain('interrupted during the final evaluation: nothing of it was written');
    await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, resume: true });
    expect(await records(dir)).toEqual(reference);
    expect(existsSync(runPaths(dir).summary)).toBe(true);
  });
});

describe('resuming with the config a run was saved with', { timeout: 300_000 }, () => {
  it('a config.yaml and a checkpoint written by an older smn (no main.download) resume with the key default', async () => {
    const dir = join(root, 'older');
    await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, ...interruptIn('embed test', []) });
    const p = runPaths(dir);
    await writeFile(p.config, (await readFile(p.config, 'utf8')).replace(/^ {2}download: .*\n/m, ''));
    const ckpt = decodeCheckpoint(await readFile(p.checkpoint), p.checkpoint);
    delete (ckpt.meta.config as { main: Record<string, unknown> }).main.download;
    await writeFile(p.checkpoint, encodeCheckpoint(ckpt));
    let filled: Record<string, unknown> = {};
    const config = await readRunConfig(dir, { onDefaults: (f) => (filled = f) });
    expect(filled).toEqual({ 'main.download': true });
    expect((await runExperiment({ config, runDir: dir, workers: 0, resume: true })).completed).toBe(true);
    expect(await records(dir)).toEqual(reference);
  });

  it('a config.yaml edited after the checkpoint was saved is refused (SMN_RESUME_CONFIG), and nothing is written', async () => {
    const dir = join(root, 'edited');
    await runExperiment({ config: cfgOf(), runDir: dir, workers: 0, ...interruptIn('embed test', []) });
    const p = runPaths(dir);
    await writeFile(p.config, (await readFile(p.config, 'utf8')).replace(/^ {2}lr: .*$/m, '  lr: 0.5'));
    const before = await readFile(p.checkpoint);
    const e = await caughtAsync(runExperiment({ config: await readRunConfig(dir), runDir: dir, workers: 0, resume: true }));
    expect([e.code, e.kind]).toEqual(['SMN_RESUME_CONFIG', 'usage']);
    expect(e.message).toContain(`its config.yaml no longer matches the config its last.ckpt was saved with: dl.lr (0.5 in config.yaml, ${cfgOf().dl.lr} in last.ckpt)`);
    expect(Buffer.compare(await readFile(p.checkpoint), before)).toBe(0);
    expect(existsSync(p.lock)).toBe(false);
  });
});

describe('one owner per run folder', { timeout: 300_000 }, () => {
  it('two runs started at once on one folder: one is refused (SMN_LOCK_HELD), the other writes each epoch once', async () => {
    const dir = join(root, 'twice');
    const [a, b] = await Promise.allSettled([runExperiment({ config: cfgOf(), runDir: dir, workers: 0 }), runExperiment({ config: cfgOf(['main.seed=1']), runDir: dir, workers: 0 })]);
    const refused = [a, b].filter((x) => x.status === 'rejected');
    expect(refused.length).toBe(1);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'SMN_LOCK_HELD', message: expect.stringContaining(`pid ${process.pid}`) });
    const seed = a.status === 'fulfilled' ? 0 : 1;
    expect((await readRunConfig(dir)).main.seed).toBe(seed);
    expect((await records(dir)).map((r) => r.epoch)).toEqual([0, 1, 2]);
  });

  it('a new run in a folder that holds one is SMN_RUN_EXISTS; a config the set-up rejects leaves no folder', async () => {
    const e = await caughtAsync(runExperiment({ config: cfgOf(), runDir: join(root, 'reference'), workers: 0 }));
    expect([e.code, e.kind]).toEqual(['SMN_RUN_EXISTS', 'usage']);
    expect(await records(join(root, 'reference'))).toEqual(reference);
    const dir = join(root, 'rejected', 'run');
    const bad = await caughtAsync(runExperiment({ config: cfgOf([`model.pret.weights=${join(root, 'missing.safetensors')}`]), runDir: dir, workers: 0 }));
    expect(bad.code).toBe('SMN_WEIGHTS_MISSING');
    expect(existsSync(join(root, 'rejected'))).toBe(false); // was: config.yaml and overrides.yaml in a half-made run folder
  });
});
