import { existsSync } from 'node:fs';
import { describe, expect, it, beforeAll } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { loadDataset } from '@smn/datasets';
import { createResNet } from '@smn/models';
import { EMBEDDED_BACKBONES, EMBEDDED_SWAV_BACKBONE, loadBackbone, resolveConfig, SWAV_PRETRAIN_DEFAULTS } from '../src/index.js';
import { trainSwav } from '../src/pretrain-swav.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** A width-4 ResNet-18 trained with SwAV for 2 epochs of 2 batches of 16 embedded images (2×28 + 2×14 px crops); its parameters on the host. */
async function pretrainTiny(seed: number): Promise<{ before: Record<string, number[]>; after: Record<string, number[]> }> {
  const train = await loadDataset('embedded', { split: 'train' });
  const model = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed });
  model.output = 'features';
  const host = () => Object.fromEntries([...model.params].map(([k, v]) => [k, Array.from(v.dataSync())]));
  const before = host();
  await trainSwav({
    model,
    train,
    trainIdx: Int32Array.from({ length: 32 }, (_, i) => i),
    size: 28,
    epochs: 2,
    batchSize: 16,
    lr: 0.1,
    weightDecay: 1e-6,
    seed,
    workers: 0,
    swav: { ...SWAV_PRETRAIN_DEFAULTS, crops: [SWAV_PRETRAIN_DEFAULTS.crops[0]!, { ...SWAV_PRETRAIN_DEFAULTS.crops[1]!, count: 2 }], nmbPrototypes: 8, queueLength: 32, freezePrototypesNiters: 1 },
  });
  const after = host();
  model.dispose();
  return { before, after };
}

describe('SwAV pretraining (smn pretrain --method swav)', () => {
  it('trains every backbone parameter without labels, the same way for the same seed', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const a = await pretrainTiny(5);
    const b = await pretrainTiny(5);
    expect(Object.keys(a.after).sort()).toEqual(Object.keys(a.before).sort());
    // Conv and BatchNorm weights moved; the run repeats exactly.
    expect(a.after['conv1.weight']).not.toEqual(a.before['conv1.weight']);
    expect(a.after['layer4.1.bn2.weight']).not.toEqual(a.before['layer4.1.bn2.weight']);
    expect(b.after).toEqual(a.after);
    for (const v of Object.values(a.after)) expect(v.every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  }, 300_000);

  it('the shipped SwAV backbone is model.pret.name=embedded_swav: a 28 px ResNet-18 of width 16', async () => {
    expect(EMBEDDED_BACKBONES['embedded_swav']).toBe(EMBEDDED_SWAV_BACKBONE);
    expect(existsSync(EMBEDDED_SWAV_BACKBONE)).toBe(true);
    const cfg = resolveConfig({ configName: 'submask_lin', overrides: ['model.pret.module=swav', 'main.dataset=multicrop_embedded', 'model.pret.name=embedded_swav'] }).config;
    const bb = await loadBackbone(cfg);
    expect(bb.source).toBe(EMBEDDED_SWAV_BACKBONE);
    expect(bb.inputSize).toBe(28);
    expect(bb.featureDim).toBe(128);
    bb.model.dispose();
  }, 60_000);
});
