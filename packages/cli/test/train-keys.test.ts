import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { runCli } from './_cli.js';

let root = '';
let weights = '';

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-train-keys-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
}, 60_000);

const run = (...extra: string[]) => [
  'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=32',
  'dl.batch_size=16', 'dl.epochs=1', 'dl.scheduler=cosine', '--workers', '0', ...extra,
];
const finalRecord = async (dir: string) => {
  const lines = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  const { time: _t, ...rest } = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  return rest;
};

describe('smn train: the keys main.run_dir, main.backend, main.resume_checkpoint, main.task, main.model', () => {
  it('main.run_dir is the folder without --run-dir; main.backend picks the backend without --backend', async () => {
    const dir = join(root, 'by-key');
    const r = await runCli(run(`main.run_dir=${dir}`, 'main.backend=cpu'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^smn: backend cpu/m);
    expect(existsSync(join(dir, 'summary.json'))).toBe(true);
    expect(r.out).toContain(`${dir}\n`);
    // The flags win.
    const flagged = join(root, 'by-flag');
    const f = await runCli(['--backend', 'wasm', ...run(`main.run_dir=${join(root, 'unused')}`, 'main.backend=cpu', '--run-dir', flagged)]);
    expect(f.code, f.err).toBe(0);
    expect(f.err).toMatch(/^smn: backend wasm/m);
    expect(existsSync(join(flagged, 'summary.json'))).toBe(true);
    expect(existsSync(join(root, 'unused'))).toBe(false);
  }, 300_000);

  it('main.resume_checkpoint resumes that run (the reference command with it appended); another config is refused', async () => {
    const dir = join(root, 'resumable');
    const a = await runCli(['--backend', 'wasm', ...run('--run-dir', dir)]);
    expect(a.code, a.err).toBe(0);
    const before = await finalRecord(dir);
    // A finished run resumes at its end: only the final test runs again, with the same numbers.
    const b = await runCli(['--backend', 'wasm', ...run(`main.resume_checkpoint=${join(dir, 'last.ckpt')}`)]);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toContain(`resumed ${dir} at epoch 1, batch 0`);
    expect(await finalRecord(dir)).toEqual(before);
    const c = await runCli(['--backend', 'wasm', ...run(`main.resume_checkpoint=${dir}`, 'dl.lr=1')]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/SMN_RESUME_CONFIG.*dl\.lr \(1 here, 50 in the run\)/);
  }, 300_000);

  it('main.task=summary runs nothing, as the reference; main.model other than pret is refused', async () => {
    const dir = join(root, 'summary-task');
    const s = await runCli(['--backend', 'wasm', ...run('main.task=summary', '--run-dir', dir)]);
    expect(s.code, s.err).toBe(0);
    expect(s.err).toContain('main.task=summary: nothing to run');
    expect(existsSync(dir)).toBe(false);
    const m = await runCli(['--backend', 'wasm', ...run('main.model=clip', '--run-dir', join(root, 'clip-model'))]);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/SMN_CONFIG_MODEL.*main\.model=clip/);
  }, 120_000);
});
