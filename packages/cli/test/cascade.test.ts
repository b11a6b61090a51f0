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

const smn = runCli;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-cascade-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 7 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
}, 60_000);

describe('smn cascade', () => {
  it('clusters a dispatcher, trains and embeds experts, evaluates ensembles, and resumes from its files', async () => {
    const disp = join(root, 'dispatcher');
    const d = await smn([
      '--backend', 'wasm', 'train', '--config-name', 'submask_lin', 'model.pret.module=swav', 'main.dataset=multicrop_embedded',
      'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset_labels=0:1:2', 'dl.epochs=1', 'dl.scheduler=cosine',
      'swav.nmb_crops=[2,2]', 'swav.nmb_prototypes=10', 'swav.queue_length=0', 'swav.freeze_prototypes_niters=1', 'cls.head_lr=0.15',
      '--workers', '0', '--run-dir', disp,
    ]);
    expect(d.code, d.err).toBe(0);
    const args = ['--backend', 'wasm', 'cascade', '--dispatcher', disp, '--clusters', '2', '--base', '300', '--workers', '0'];
    const c = await smn(args);
    expect(c.code, c.err).toBe(0);
    const out = join(disp, 'cascade');
    const summary = JSON.parse(await readFile(join(out, 'cascade.json'), 'utf8'));
    expect(summary.clusters.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(600); // 3 classes x 200 images
    for (const m of ['baseline', 'pca_unconditional', 'pca_conditional', 'unconditional', 'conditional', 'replace']) {
      // The bank holds classes 0-2 only; 300 of the 1,000 test images are of those classes: chance is 0.1 overall.
      expect(summary.results[m].knn, m).toBeGreaterThan(0.12);
      expect(summary.results[m].probe, m).toBeGreaterThan(0);
    }
    expect(summary.results.pca_unconditional.dims).toBe(32); // PCA back to one model's width
    expect(summary.results.unconditional.dims).toBe(96); // dispatcher + 2 experts concatenated
    expect(summary.storage.label).toBe('3β/32');
    for (const k of [0, 1]) expect(existsSync(join(out, `expert-${k}`, 'masks.smnmask'))).toBe(true);
    expect(c.out).toMatch(/clusters: sizes \d+ \/ \d+/);

    // Everything is on disk: a second call reuses every step and reports the same numbers.
    const again = await smn(args);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/reusing/);
    const summary2 = JSON.parse(await readFile(join(out, 'cascade.json'), 'utf8'));
    expect(summary2.results).toEqual(summary.results);

    // --launcher local: the experts in 2 processes, then the embeddings and the ensembles; the same numbers.
    const local = await smn([...args, '--launcher', 'local', '--jobs', '2', '--out', join(root, 'cascade-local')]);
    expect(local.code, local.err).toBe(0);
    expect(local.out).toMatch(/^cascade \S+$/m);
    expect(local.err).toMatch(/sweep \S+ \(local\): 0 queued, 0 running, 5 done, 0 failed/);
    expect(JSON.parse(await readFile(join(root, 'cascade-local', 'cascade.json'), 'utf8')).results).toEqual(summary.results);
  }, 600_000);

  it('hydra/launcher=NAME chooses the launcher as --launcher does; an unknown name exits 2 before anything is read', async () => {
    const c = await smn(['cascade', '--dispatcher', join(root, 'nowhere'), 'hydra/launcher=slurm']);
    expect(c.code).toBe(2);
    expect(c.err).toContain("hydra/launcher=slurm: smn has no launcher 'slurm'");
  });

  it('refuses a dispatcher that is not a self-supervised run', async () => {
    const sup = join(root, 'sup');
    const r = await smn(['--backend', 'wasm', 'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=32', 'dl.epochs=1', 'dl.scheduler=cosine', '--workers', '0', '--run-dir', sup]);
    expect(r.code, r.err).toBe(0);
    const c = await smn(['--backend', 'wasm', 'cascade', '--dispatcher', sup]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/self-supervised masking \(model.pret.module=swav\)/);
  }, 300_000);
});
