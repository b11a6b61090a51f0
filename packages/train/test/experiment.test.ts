import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors, loadResNet } from '@smn/models';
import { loadMasks } from '@smn/subnetworks';
import { readNpy, writeNpy } from '@smn/core';
import { loadCheckpoint, readMetrics, resolveConfig, runExperiment } from '../src/index.js';

// A tiny random ResNet-18 (width 4) stands in for a backbone so that whole runs take seconds on wasm.
let weights = '';
let root = '';
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-exp-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 3 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
}, 120_000);

const cfgOf = (name: string, extra: string[]) =>
  resolveConfig({
    configName: name,
    overrides: ['main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=64', 'dl.batch_size=32', 'dl.epochs=2', 'dl.scheduler=cosine', ...extra],
  }).config;

describe('supervised masking run', () => {
  it('writes a complete run folder, logs the reference metrics, leaks nothing and repeats exactly', async () => {
    const before = tf.memory().numTensors;
    const dirA = join(root, 'a');
    const a = await runExperiment({ config: cfgOf('submask', []), runDir: dirA, workers: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.completed).toBe(true);
    for (const f of ['config.yaml', 'overrides.yaml', 'metrics.jsonl', 'last.ckpt', 'masks.smnmask', 'report.html', 'embeddings/train_norm.npy', 'embeddings/test_raw.npy']) {
      expect(existsSync(join(dirA, f)), f).toBe(true);
    }
    const recs = await readMetrics(join(dirA, 'metrics.jsonl'));
    expect(recs.length).toBe(3); // two epochs + the final test
    for (const k of ['training/train/loss', 'training/val/accuracy', 'training/val/loss', 'training/val/model_analysis/mean_mask', 'training/lr/backbone', 'training/lr/head']) {
      expect(typeof recs[0]![k], k).toBe('number');
    }
    // cosine over 2 epochs from lr 50: 50, then 25
    expect(recs.map((r) => r['training/lr/backbone'])).toEqual([50, 25, undefined]);
    expect(typeof recs[2]!['training/test/knn_accuracy_mem_train']).toBe('number');
    expect(await readFile(join(dirA, 'report.html'), 'utf8')).toContain('data:image/svg+xml;base64');
    // The saved masks belong to these base weights and cover every masked weight.
    const base = await loadResNet(weights, { numClasses: 0 });
    const masks = await loadMasks(join(dirA, 'masks.smnmask'), { baseParams: base.params });
    const n = [...masks.values()].reduce((s, m) => s + m.size, 0);
    expect(n).toBe(a.maskedEntries);
    for (const m of masks.values()) m.dispose();
    base.dispose();
    const emb = await readNpy(join(dirA, 'embeddings/train_norm.npy'));
    expect(emb.shape).toEqual([64, 32]);
    const row = (emb.data as Float32Array).subarray(0, 32);
    expect(Math.hypot(...row)).toBeCloseTo(1, 4);

    // Same seed, same backend, same numbers.
    const b = await runExperiment({ config: cfgOf('submask', []), runDir: join(root, 'b'), workers: 0 });
    const strip = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('time')));
    expect(strip(b.metrics)).toEqual(strip(a.metrics));
  }, 300_000);

  it('main.update_bn recomputes BatchNorm statistics on the unaugmented bank after training and saves them', async () => {
    const plain = join(root, 'bn-off');
    const upd = join(root, 'bn-on');
    const extra = ['dl.epochs=1'];
    await runExperiment({ config: cfgOf('submask', extra), runDir: plain, workers: 0 });
    const r = await runExperiment({ config: cfgOf('submask', [...extra, 'main.update_bn=1']), runDir: upd, workers: 0 });
    expect(r.completed).toBe(true);
    const a = await loadCheckpoint(join(plain, 'last.ckpt'));
    const b = await loadCheckpoint(join(upd, 'last.ckpt'));
    // 64 images in batches of 32 train for 2 steps, and the epoch-end sample forward (dl.analyze_sample_size=2, the
    // reference's training_epoch_end) is a third training-mode batch; the bank (64 images, one batch of up to 128)
    // adds one more.
    expect(a.tensors.get('buf/bn1.num_batches_tracked')!.data[0]).toBe(3);
    expect(b.tensors.get('buf/bn1.num_batches_tracked')!.data[0]).toBe(4);
    // Same masks (same seed, same steps), different statistics: the recomputed ones replace the momentum average.
    expect(Array.from(b.tensors.get('var/scores.layer1.0.conv1.weight')!.data)).toEqual(Array.from(a.tensors.get('var/scores.layer1.0.conv1.weight')!.data));
    const ma = a.tensors.get('buf/bn1.running_mean')!.data;
    const mb = b.tensors.get('buf/bn1.running_mean')!.data;
    expect(ma.some((v, i) => Math.abs(v - mb[i]!) > 1e-4)).toBe(true);
  });

  it('fine-tunes (baseline) and probes (main.train=0 main.probe=1)', async () => {
    const ft = await runExperiment({ config: cfgOf('baseline', ['dl.lr=0.05', 'dl.epochs=1']), runDir: join(root, 'ft'), workers: 0 });
    expect(ft.trainedEntries).toBeGreaterThan(0);
    expect(ft.maskedEntries).toBe(0);
    expect(existsSync(join(root, 'ft', 'masks.smnmask'))).toBe(false);
    const lp = await runExperiment({ config: cfgOf('baseline', ['main.train=0', 'main.probe=1']), runDir: join(root, 'lp'), workers: 0 });
    const acc = lp.metrics['training/probe/accuracy']!;
    expect(acc).toBeGreaterThan(0.1); // 10 classes: chance is 0.1
    expect(lp.metrics['training/val/accuracy']).toBe(acc);
    expect(existsSync(join(root, 'lp', 'probe_W.npy'))).toBe(true);
  }, 300_000);

  it('refuses a backbone with no weights file and nothing to fetch with a usage error', async () => {
    // torchvision has no dino_resnet50: the reference's loader would fail too, so nothing is fetched.
    const cfg = resolveConfig({ configName: 'submask', overrides: ['main.dataset=embedded', 'model.pret.source=torch', 'model.pret.name=dino_resnet50'] }).config;
    await expect(runExperiment({ config: cfg, runDir: join(root, 'bad') })).rejects.toMatchObject({ code: 'SMN_CONFIG_WEIGHTS_MISSING', kind: 'usage' });
  });
});

describe('self-supervised masking run (SwAV)', () => {
  it('trains on multi-crop views of one cluster (a cascade expert), monitors kNN, saves the queue and probes', async () => {
    // Without labels the mask trains on every image (SMN+LP); a clusters file restricts it to cluster 1 (64 images).
    const clusters = new Int32Array(2000);
    for (let i = 0; i < 2000; i++) clusters[i] = i % 31 === 0 ? 1 : 0;
    const clusterFile = join(root, 'clusters.npy');
    await writeNpy(clusterFile, { shape: [2000], dtype: 'int32', data: clusters });
    const cfg = cfgOf('submask_lin', [
      `main.dataset_subset_clusters_file=${clusterFile}`,
      'main.dataset_subset_cluster=1',
      'main.dataset_subset=\'\'',
      'model.pret.module=swav',
      'main.dataset=multicrop_embedded',
      'swav.nmb_crops=[2,2]',
      'swav.nmb_prototypes=10',
      'swav.queue_length=64',
      'swav.epoch_queue_starts=1',
      'swav.freeze_prototypes_niters=1',
      'cls.head_lr=0.15',
      'main.probe=1',
    ]);
    const before = tf.memory().numTensors;
    const r = await runExperiment({ config: cfg, runDir: join(root, 'ssl'), workers: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const recs = await readMetrics(join(root, 'ssl', 'metrics.jsonl'));
    expect(typeof recs[0]!['training/val/knn_accuracy']).toBe('number');
    expect(r.metrics['training/test/knn_accuracy_mem_train']).toBeGreaterThan(0);
    expect(r.metrics['training/probe/accuracy']).toBeGreaterThan(0);
    expect(Number.isFinite(recs[1]!['training/train/loss'])).toBe(true);
    const ckpt = await loadCheckpoint(join(root, 'ssl', 'last.ckpt'));
    expect(ckpt.tensors.get('queue/0')!.shape).toEqual([64, 128]); // the queue is checkpointed
    const bank = await readNpy(join(root, 'ssl', 'embeddings', 'train_raw.npy'));
    expect(bank.shape[0]).toBe(65); // the cluster's images
  }, 300_000);
});
