// Bench area `subnetworks`: the cost of masking through @smn/subnetworks and the size of .smnmask files.
//  - masked-step: one SGD step (forward + backward + update) of a conv stack whose convs and fc are masked by
//    createMaskedModel (threshold 0, scaled), against the same stack with its weights trained directly (overhead);
//  - analyze: MaskedModel.analyze() on that stack (one read-back);
//  - smnmask-encode / -decode: a ResNet-50-sized map (23,462,592 masked weights), bytes and ratio to float32;
//  - real-masks: supervised masking of a random-weight MLP (784-300-100-10, Kaiming-uniform weights, scores 1.0,
//    SGD lr 50 momentum 0.9 as the paper's sgdc) on Fashion-MNIST, then the packed, gzip and brotli sizes of its masks.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRng } from '../../packages/core/src/index.js';
import { resnetSpecs } from '../../packages/models/src/index.js';
import { useBackend, tf } from '../../packages/backend/src/index.js';
import {
  createMaskedModel,
  decodeMasks,
  encodeMasks,
  type FunctionalModel,
  type MaskData,
} from '../../packages/subnetworks/src/index.js';
import { timeIt, type BenchOptions, type BenchResult } from './_harness.js';

const FASHION = '/usr/share/datasets/fashion-mnist';

function convStack(widths: number[], inCh: number, classes: number, seed: number): FunctionalModel {
  const rng = createRng(seed);
  const params = new Map<string, tf.Tensor>();
  const u = (shape: number[], fanIn: number): tf.Tensor => {
    const b = 1 / Math.sqrt(fanIn);
    const n = shape.reduce((a, c) => a * c, 1);
    return tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(-b, b)), shape);
  };
  let cin = inCh;
  widths.forEach((w, i) => {
    params.set(`conv${i + 1}.weight`, u([3, 3, cin, w], 9 * cin));
    cin = w;
  });
  params.set('fc.weight', u([cin, classes], cin));
  params.set('fc.bias', tf.zeros([classes]));
  return {
    params,
    apply: (p, x) =>
      tf.tidy(() => {
        let h = x as tf.Tensor4D;
        widths.forEach((_, i) => {
          h = tf.relu(tf.conv2d(h, p.get(`conv${i + 1}.weight`) as tf.Tensor4D, i === 0 ? 1 : 2, 'same'));
        });
        const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
        return tf.add(tf.matMul(pooled, p.get('fc.weight') as tf.Tensor2D), p.get('fc.bias')!);
      }),
  };
}

const stat = (name: string, backend: string, t: { median: number; min: number; max: number; n: number }, extra?: Record<string, unknown>): BenchResult => ({
  name,
  backend,
  unit: 'ms',
  median: t.median,
  min: t.min,
  max: t.max,
  n: t.n,
  ...(extra ? { extra } : {}),
});

async function benchStep(backend: string, quick: boolean): Promise<BenchResult[]> {
  const cfg = quick ? { batch: 8, size: 16, widths: [8, 16] } : { batch: 32, size: 32, widths: [16, 32, 64] };
  const model = convStack(cfg.widths, 3, 10, 1);
  const x = tf.randomNormal([cfg.batch, cfg.size, cfg.size, 3], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: cfg.batch }, (_, i) => i % 10), 'int32'), 10);
  const out: BenchResult[] = [];
  const masked = createMaskedModel(model, { select: (n) => (n.endsWith('.weight') ? 'mask' : 'train'), scoresInit: { kind: 'normal', mean: 1, std: 0.1 } });
  const opt = tf.train.sgd(0.1);
  const maskedStep = async () => {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, masked.apply(x, { training: true })) as tf.Scalar, true, masked.variables())!;
    await l.data();
    l.dispose();
  };
  const iters = quick ? 3 : 10;
  const before = tf.memory().numTensors;
  const tm = await timeIt(maskedStep, { warmup: 1, iters });
  const leaked = tf.memory().numTensors - before;
  const shape = `b${cfg.batch} ${cfg.size}² widths ${cfg.widths.join('/')}`;
  out.push(stat('masked-step', backend, tm, { shape, leakedTensors: leaked }));
  const ta = await timeIt(() => masked.analyze(), { warmup: 1, iters });
  out.push(stat('analyze', backend, ta, { shape }));
  masked.dispose();

  const vars = new Map([...model.params].map(([n, t]) => [n, tf.variable(t)] as const));
  const plainStep = async () => {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(vars, x)) as tf.Scalar, true, [...vars.values()])!;
    await l.data();
    l.dispose();
  };
  const tp = await timeIt(plainStep, { warmup: 1, iters });
  out.push(stat('plain-step', backend, tp, { shape, maskedOverPlain: tm.median / tp.median }));
  vars.forEach((v) => v.dispose());
  opt.dispose();
  tf.dispose([x, y]);
  model.params.forEach((t) => t.dispose());
  return out;
}

/** Random masks over exactly what the reference masks in a ResNet-50 (names containing conv or downsample:
 * 23,462,592 entries), with shapes from @smn/models (conv weights in HWIO, as the models store them). */
function resnet50Masks(seed: number, pOn: number): Map<string, MaskData> {
  const hwio = (s: number[]) => (s.length === 4 ? [s[2]!, s[3]!, s[1]!, s[0]!] : s);
  const shapes: [string, number[]][] = resnetSpecs({ depth: 50 })
    .filter((p) => !['running_mean', 'running_var', 'num_batches_tracked'].includes(p.role) && (p.name.includes('conv') || p.name.includes('downsample')))
    .map((p) => [p.name, hwio(p.shape)]);
  const rng = createRng(seed);
  return new Map(
    shapes.map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = new Uint8Array(n);
      for (let i = 0; i < n; i++) values[i] = rng.next() < pOn ? 1 : 0;
      return [name, { shape, values }] as const;
    }),
  );
}

async function benchFile(backend: string): Promise<BenchResult[]> {
  const masks = resnet50Masks(3, 0.9);
  const total = [...masks.values()].reduce((a, m) => a + m.values.length, 0);
  let bytes = 0;
  const te = await timeIt(async () => {
    bytes = (await encodeMasks(masks, { mode: 'threshold', k: 0 })).bytes.length;
  }, { warmup: 0, iters: 3 });
  const enc = (await encodeMasks(masks, { mode: 'threshold', k: 0 })).bytes;
  const td = await timeIt(() => decodeMasks(enc, 'mem'), { warmup: 0, iters: 3 });
  const extra = { entries: total, bytes, float32Bytes: total * 4, ratioToFloat32: (total * 4) / bytes };
  return [stat('smnmask-encode-rn50', backend, te, extra), stat('smnmask-decode-rn50', backend, td, extra)];
}

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const b = gunzipSync(readFileSync(file));
  const nd = b[3]!;
  const dims = Array.from({ length: nd }, (_, i) => b.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(b.buffer, b.byteOffset + 4 + 4 * nd, b.length - 4 - 4 * nd) };
}

async function benchRealMasks(backend: string, quick: boolean): Promise<BenchResult[]> {
  let imgs: { dims: number[]; data: Uint8Array };
  let labels: { dims: number[]; data: Uint8Array };
  try {
    imgs = readIdx(`${FASHION}/train-images-idx3-ubyte.gz`);
    labels = readIdx(`${FASHION}/train-labels-idx1-ubyte.gz`);
  } catch (e) {
    return [{ name: 'real-masks', backend, unit: '%', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: `Fashion-MNIST not found: ${(e as Error).message}` } }];
  }
  const sizes = [784, 300, 100, 10];
  const rng = createRng(11);
  const params = new Map<string, tf.Tensor>();
  for (let i = 0; i < 3; i++) {
    const b = 1 / Math.sqrt(sizes[i]!);
    params.set(`fc${i + 1}.weight`, tf.tensor(Float32Array.from({ length: sizes[i]! * sizes[i + 1]! }, () => rng.uniform(-b, b)), [sizes[i]!, sizes[i + 1]!]));
  }
  const model: FunctionalModel = {
    params,
    apply: (p, x) =>
      tf.tidy(() => {
        let h = x as tf.Tensor2D;
        for (let i = 1; i <= 3; i++) {
          h = tf.matMul(h, p.get(`fc${i}.weight`) as tf.Tensor2D);
          if (i < 3) h = tf.relu(h);
        }
        return h;
      }),
  };
  const masked = createMaskedModel(model, { select: () => 'mask', scoresInit: { kind: 'normal', mean: 1, std: 0 } });
  const opt = tf.train.momentum(50, 0.9);
  // 600 steps take ~6 min on wasm on a loaded 2-core machine (the tfjs cpu backend is ~10x slower).
  const steps = quick ? 10 : 600;
  const batch = quick ? 32 : 128;
  const n = imgs.dims[0]!;
  const order = rng.permutation(n);
  const t0 = performance.now();
  let loss = NaN;
  for (let s = 0; s < steps; s++) {
    const xb = new Float32Array(batch * 784);
    const yb = new Int32Array(batch);
    for (let b = 0; b < batch; b++) {
      const idx = order[(s * batch + b) % n]!;
      for (let j = 0; j < 784; j++) xb[b * 784 + j] = imgs.data[idx * 784 + j]! / 255;
      yb[b] = labels.data[idx]!;
    }
    const l = tf.tidy(() => {
      const x = tf.tensor2d(xb, [batch, 784]);
      const y = tf.oneHot(tf.tensor1d(yb, 'int32'), 10);
      return opt.minimize(() => tf.losses.softmaxCrossEntropy(y, masked.apply(x, { training: true })) as tf.Scalar, true, masked.variables())!;
    });
    if (s === steps - 1) loss = (await l.data())[0]!;
    l.dispose();
  }
  const trainMs = performance.now() - t0;
  const a = masked.analyze();
  const masks = masked.masks();
  const plain = (await encodeMasks(masks)).bytes.length;
  const gz = (await encodeMasks(masks, { compress: 'gzip' })).bytes.length;
  const br = (await encodeMasks(masks, { compress: 'brotli' })).bytes.length;
  const entries = a.total_on! + a.total_off!;
  tf.dispose([...masks.values()]);
  masked.dispose();
  opt.dispose();
  params.forEach((t) => t.dispose());
  const extra = {
    model: 'random-weight MLP 784-300-100-10, Fashion-MNIST',
    steps,
    trainMs: Math.round(trainMs),
    finalLoss: loss,
    meanMask: a.mean_mask,
    entries,
    float32Bytes: entries * 4,
    packedFileBytes: plain,
    gzipFileBytes: gz,
    brotliFileBytes: br,
    gzipSavingPct: 100 * (1 - gz / plain),
    brotliSavingPct: 100 * (1 - br / plain),
    ratioPacked: (entries * 4) / plain,
    ratioGzip: (entries * 4) / gz,
    ratioBrotli: (entries * 4) / br,
  };
  return [{ name: 'real-masks-gzip-saving', backend, unit: '%', median: extra.gzipSavingPct, min: extra.gzipSavingPct, max: extra.gzipSavingPct, n: 1, extra }];
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const choice = await useBackend(opts.backend as Parameters<typeof useBackend>[0]);
  const backend = choice.name;
  return [...(await benchStep(backend, opts.quick)), ...(await benchFile(backend)), ...(await benchRealMasks(backend, opts.quick))];
}
