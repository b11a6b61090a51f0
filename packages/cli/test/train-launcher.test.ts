// smn train --multirun through @smn/launch's launchers, and the sweep-size bound, as a user types them.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { readRunSummary } from '@smn/train';
import { runCli, runCliProcess } from './_cli.js';
import { writeTinyBackbone } from './_spawn.js';

let root = '';
let weights = '';

beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'smn-launcher-'));
  weights = join(root, 'tiny.safetensors');
  await writeTinyBackbone(weights);
});

const sweep = (runDir: string) => [
  'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`,
  'main.dataset_subset=96', 'dl.batch_size=16', 'dl.epochs=1', 'dl.scheduler=cosine', 'main.seed=1,2', '--multirun',
  '--backend', 'wasm', '--run-dir', runDir,
];

describe('smn train --multirun --launcher', () => {
  it('local: two processes run the two points; each run equals the same point run by the basic launcher', { timeout: 600_000 }, async () => {
    const local = await runCliProcess([...sweep(join(root, 'local')), '--launcher', 'local', '--jobs', '2']);
    expect(local.code, local.err).toBe(0);
    expect(local.out).toMatch(/^sweep \S+/m);
    const basic = await runCliProcess(sweep(join(root, 'basic')));
    expect(basic.code, basic.err).toBe(0);
    for (const k of [0, 1]) {
      const a = await readRunSummary(join(root, `local-${k}`));
      const b = await readRunSummary(join(root, `basic-${k}`));
      expect(a.metrics).toEqual(b.metrics);
      expect(a.maskBytes).toBe(b.maskBytes);
    }
  });

  it('--max-runs bounds the sweep before anything runs (exit 2, naming the count and the flag)', async () => {
    const r = await runCli([...sweep(join(root, 'bounded')), '--max-runs', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('SMN_CONFIG_TOO_MANY_RUNS');
    expect(r.err).toContain('--max-runs 2');
  });

  it('hydra/launcher=NAME is --launcher NAME; an unknown name or a contradiction is a usage error', async () => {
    const env = process.env.SMN_REDIS_URL;
    delete process.env.SMN_REDIS_URL;
    try {
      // queue without Redis refuses before anything runs: the override chose the queue launcher.
      const q = await runCli([...sweep(join(root, 'hq')), 'hydra/launcher=queue']);
      expect(q.code).toBe(2);
      expect(q.err).toContain('SMN_LAUNCH_REDIS_URL');
    } finally {
      if (env !== undefined) process.env.SMN_REDIS_URL = env;
    }
    const bad = await runCli([...sweep(join(root, 'hb')), 'hydra/launcher=joblib']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/hydra\/launcher=joblib: smn has no launcher 'joblib'; expected one of basic, local, queue.*that is local/);
    const both = await runCli([...sweep(join(root, 'hc')), 'hydra/launcher=local', '--launcher', 'queue']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('name two launchers');
  });

  it('--launcher takes only the launchers there are', async () => {
    const r = await runCli([...sweep(join(root, 'bad')), '--launcher', 'slurm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--launcher.*basic.*local.*queue.*slurm/s);
  });
});
