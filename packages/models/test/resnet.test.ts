import { join } from 'node:path';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { createResNet, loadResNet, resnetSelection, resnetSpecs, readSafetensors, readWeights, resnetStateDict, withHead, writeSafetensors } from '../src/index.js';
import { nchwToNhwc, relErr } from './helpers.js';

const FIX = join(import.meta.dirname, 'fixtures');
const TOL = 1e-4;

beforeAll(async () => {
  await useBackend('cpu');
});

for (const name of ['r18w8', 'r50w4']) {
  describe(`ResNet parity with torchvision (${name})`, { timeout: 60_000 }, () => {
    it('matches eval features/logits, train-mode output and updated running stats', async () => {
      const io = await readSafetensors(join(FIX, `io_${name}.safetensors`));
      const model = await loadResNet(join(FIX, `${name}.pth`));
      const x = nchwToNhwc(io.get('input_nchw')!);
      const feats = model.apply(model.params, x, { output: 'features' });
      expect(relErr(feats.dataSync(), io.get('features')!.data as Float32Array)).toBeLessThan(TOL);
      const logits = model.apply(model.params, x);
      expect(logits.shape).toEqual(io.get('logits')!.shape);
      expect(relErr(logits.dataSync(), io.get('logits')!.data as Float32Array)).toBeLessThan(TOL);
      const before = tf.memory().numTensors;
      const train = model.apply(model.params, x, { training: true });
      expect(relErr(train.dataSync(), io.get('train_output')!.data as Float32Array)).toBeLessThan(TOL);
      let checked = 0;
      for (const [k, v] of io) {
        if (!k.startsWith('after.')) continue;
        const buf = model.buffers.get(k.slice('after.'.length))!;
        expect(relErr(buf.dataSync(), v.data as Float32Array), k).toBeLessThan(TOL);
        checked++;
      }
      expect(checked).toBeGreaterThan(10);
      expect(model.buffers.get('bn1.num_batches_tracked')!.dataSync()[0]).toBe(8);
      train.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (const t of [x, feats, logits]) t.dispose();
      model.dispose();
    });
  });
}

describe('ResNet functional use', { timeout: 60_000 }, () => {
  it('infers the config, works under tf.grad without leaking, and round-trips through safetensors', async () => {
    const model = await loadResNet(join(FIX, 'r18w8.pth'));
    expect(model.config).toEqual({ depth: 18, width: 8, stem: 'imagenet', numClasses: 5 });
    expect(model.featureDim).toBe(64);
    expect(model.params.get('conv1.weight')!.shape).toEqual([7, 7, 3, 8]); // HWIO
    expect(model.params.get('fc.weight')!.shape).toEqual([64, 5]); // [in,out]
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
    const names = ['layer1.0.conv1.weight', 'fc.weight'];
    const before = tf.memory().numTensors;
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const p = new Map(model.params);
      p.set(names[0]!, a);
      p.set(names[1]!, b);
      return tf.sum(tf.square(model.apply(p, x, { training: true })));
    });
    for (let i = 0; i < 2; i++) {
      const gs = g(names.map((n) => model.params.get(n)!));
      expect(gs[0]!.shape).toEqual(model.params.get(names[0]!)!.shape);
      const s = tf.tidy(() => tf.sum(tf.abs(gs[0]!)));
      expect(s.dataSync()[0]).toBeGreaterThan(0);
      s.dispose();
      tf.dispose(gs);
    }
    expect(tf.memory().numTensors).toBe(before);
    const dir = mkdtempSync(join(tmpdir(), 'smn-resnet-'));
    await writeSafetensors(join(dir, 'm.safetensors'), resnetStateDict(model));
    const again = await loadResNet(join(dir, 'm.safetensors'));
    const a = model.apply(model.params, x);
    const b = again.apply(again.params, x);
    expect(relErr(a.dataSync(), b.dataSync())).toBe(0);
    tf.dispose([a, b, x]);
    model.dispose();
    again.dispose();
  });

  it('creates seeded random ResNets with torchvision-style init and replaces heads', () => {
    const a = createResNet({ depth: 18, width: 4, numClasses: 0, stem: 'cifar', seed: 3 });
    const b = createResNet({ depth: 18, width: 4, numClasses: 0, stem: 'cifar', seed: 3 });
    expect([...a.params.get('layer2.0.conv1.weight')!.dataSync()]).toEqual([...b.params.get('layer2.0.conv1.weight')!.dataSync()]);
    // kaiming normal fan_out: std = sqrt(2 / (out*3*3)) for layer4 conv (out = 32)
    const w = a.params.get('layer4.1.conv2.weight')!.dataSync();
    const std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    expect(Math.abs(std - Math.sqrt(2 / (32 * 9))) / Math.sqrt(2 / (32 * 9))).toBeLessThan(0.05);
    expect(a.params.has('fc.weight')).toBe(false);
    const x = tf.ones([1, 8, 8, 3]);
    const f = a.apply(a.params, x);
    expect(f.shape).toEqual([1, 32]);
    const h = withHead(a, 10, 1);
    const bound = 1 / Math.sqrt(32);
    expect(Math.max(...h.params.get('fc.weight')!.dataSync().map(Math.abs))).toBeLessThanOrEqual(bound);
    const l = h.apply(h.params, x);
    expect(l.shape).toEqual([1, 10]);
    expect(() => h.apply(h.params, tf.ones([1, 8, 8]))).toThrowError(/NHWC/);
    tf.dispose([x, f, l]);
    h.dispose();
    b.dispose();
  });
});

describe('weight file errors', { timeout: 60_000 }, () => {
  it('names missing, extra and mis-shaped tensors', async () => {
    const sd = await readWeights(join(FIX, 'r18w8.pth'));
    const missing = new Map(sd);
    missing.delete('layer2.1.bn2.weight');
    await expect(loadResNet(missing)).rejects.toThrowError(/layer2\.1\.bn2\.weight.*resnet18/);
    // heads outside the ResNet (SwAV's projection_head) are skipped and listed...
    const swav = new Map(sd);
    swav.set('projection_head.0.weight', sd.get('fc.bias')!);
    const m = await loadResNet(swav);
    expect(m.ignored).toEqual(['projection_head.0.weight']);
    m.dispose();
    // ...but unknown tensors inside its modules mean another architecture
    const extra = new Map(sd);
    extra.set('layer3.2.conv1.weight', sd.get('layer3.1.conv1.weight')!);
    await expect(loadResNet(extra)).rejects.toMatchObject({ code: 'SMN_WEIGHTS_EXTRA' });
    await expect(loadResNet(extra)).rejects.toThrowError(/layer3\.2\.conv1\.weight.*resnet18/);
    const ok = await loadResNet(extra, { strict: false });
    expect(ok.ignored).toEqual(['layer3.2.conv1.weight']);
    ok.dispose();
    await expect(loadResNet(sd, { depth: 34 })).rejects.toMatchObject({ code: 'SMN_WEIGHTS_MISSING' });
    const bad = new Map(sd);
    bad.set('layer1.0.conv1.weight', { ...sd.get('layer1.0.conv1.weight')!, shape: [8, 8, 1, 9] });
    await expect(loadResNet(bad)).rejects.toThrowError(/'layer1\.0\.conv1\.weight': expected shape \[8,8,3,3\], found \[8,8,1,9\].*resnet18/);
  });

  it('reads nested, module.-prefixed checkpoints in zip and legacy formats, and refuses whole pickled modules', async () => {
    for (const f of ['zip_nested.pth.tar', 'legacy_nested.pth.tar']) {
      const sd = await readWeights(join(FIX, f));
      expect([...sd.keys()]).toEqual(['a.weight', 'b.half', 'c.t', 'd.steps']);
      expect([...sd.get('a.weight')!.data]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(sd.get('b.half')!.sourceDtype).toBe('torch.HalfStorage');
      expect([...sd.get('b.half')!.data]).toEqual([0.5, -2, 65504]);
      expect(sd.get('c.t')!.shape).toEqual([3, 2]);
      expect([...sd.get('c.t')!.data]).toEqual([0, 3, 1, 4, 2, 5]);
      expect(sd.get('d.steps')!.dtype).toBe('int64');
    }
    await expect(readWeights(join(FIX, 'whole_module.pt'))).rejects.toMatchObject({ code: 'SMN_PICKLE_FORBIDDEN' });
    await expect(readWeights(join(FIX, 'whole_module.pt'))).rejects.toThrowError(/torch\.nn\.modules\.linear\.Linear/);
  });

  it('validates safetensors headers and sizes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-st-'));
    const good = readFileSync(join(FIX, 'io_r18w8.safetensors'));
    writeFileSync(join(dir, 'cut.safetensors'), good.subarray(0, good.length - 100));
    await expect(readWeights(join(dir, 'cut.safetensors'))).rejects.toMatchObject({ code: 'SMN_WEIGHTS_TRUNCATED' });
    await expect(readWeights(join(dir, 'cut.safetensors'))).rejects.toThrowError(/cut\.safetensors.*tensor '/);
    const hdr = (o: object) => {
      const j = Buffer.from(JSON.stringify(o));
      const b = Buffer.alloc(8 + j.length + 8);
      b.writeBigUInt64LE(BigInt(j.length));
      j.copy(b, 8);
      return b;
    };
    writeFileSync(join(dir, 'dtype.safetensors'), hdr({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }));
    await expect(readWeights(join(dir, 'dtype.safetensors'))).rejects.toMatchObject({ code: 'SMN_WEIGHTS_DTYPE' });
    const junk = Buffer.alloc(16);
    junk.writeBigUInt64LE(4n);
    junk.write('{{{{', 8);
    writeFileSync(join(dir, 'junk.safetensors'), junk);
    await expect(readWeights(join(dir, 'junk.safetensors'))).rejects.toMatchObject({ code: 'SMN_WEIGHTS_BAD_HEADER' });
    // F16 and BF16 decode to float32
    const half = hdr({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] } });
    const body = 8 + (half.length - 16);
    half.writeUInt16LE(0x3c00, body); // 1.0
    half.writeUInt16LE(0xc000, body + 2); // -2.0
    half.writeUInt16LE(0x3fc0, body + 4); // 1.5 in bf16
    half.writeUInt16LE(0x4049, body + 6); // 3.140625 in bf16
    writeFileSync(join(dir, 'half.safetensors'), half);
    const t = await readWeights(join(dir, 'half.safetensors'));
    expect([...t.get('h')!.data]).toEqual([1, -2]);
    expect([...t.get('b')!.data]).toEqual([1.5, 3.140625]);
  });
});

describe('ResNet parameter selection (reference rule)', () => {
  const count = (depth: 18 | 50, trainLayers?: string[]) => {
    const sel = resnetSelection(trainLayers);
    let masked = 0;
    for (const s of resnetSpecs({ depth, numClasses: 1000 })) {
      if (s.role === 'running_mean' || s.role === 'running_var' || s.role === 'num_batches_tracked') continue; // buffers
      const r = sel(s.name, s);
      if (Array.isArray(r) && r[0] === 'mask') masked += s.shape.reduce((a, b) => a * b, 1);
    }
    return masked;
  };
  it('masks 23,462,592 entries of ResNet-50 and 11,168,704 of ResNet-18 with [conv, downsample]', () => {
    expect(count(50)).toBe(23_462_592);
    expect(count(18)).toBe(11_168_704);
    // ['conv'] alone misses the 1×1 downsample convs (16,384 + 131,072 + 524,288 + 2,097,152 = 2,768,896)
    expect(count(50, ['conv'])).toBe(23_454_912 - 2_768_896);
  });
  it('sends fc to the head mode, freezes other BN params and rejects ambiguous train layers', () => {
    const sel = resnetSelection(['conv', 'downsample'], { head: 'train' });
    expect(sel('fc.weight', { shape: [10, 512] })).toEqual(['train', 'fc.weight']);
    expect(sel('layer1.0.bn1.weight', { shape: [64] })).toBe('freeze');
    expect(sel('layer2.0.downsample.1.bias', { shape: [128] })).toEqual(['mask', 'layer2.0.downsample.1.bias']);
    expect(() => resnetSelection(['conv', 'conv1'])('conv1.weight', { shape: [1] })).toThrowError(/several train_layers/);
  });
});
