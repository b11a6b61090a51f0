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

  it('--launcher takes only the launchers there are', async () => {
    const r = await runCli([...sweep(join(root, 'bad')), '--launcher', 'slurm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--launcher.*basic.*local.*queue.*slurm/s);
  });
});
