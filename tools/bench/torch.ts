// Bench area `torch`: a masked CIFAR ResNet-18 training step (32², batch 64, 100 classes) on the tfjs backend 'torch'
// (@smn/backend-torch, libtorch through an N-API addon) against the same step in PyTorch (tools/bench/torch_ref.py,
// 2 threads), alternating the two sides in one run (the machine is shared: compare the ratio, not the raw times).
// Also profiles one step (kernels, time share, fallbacks).
// Runnable alone: `npx tsx tools/bench/torch.ts [--quick] [--rounds R] [--steps S] [--width W] [--batch B]
//   [--bn ops|fused] [--profile-only]`.
//
// The network mirrors torch_ref.py: 3×3 stem, BasicBlocks [2,2,2,2] at widths 64/128/256/512, 1×1 downsample,
// batch norm in train mode, global mean, fc. Every conv/downsample/fc weight is masked as W⊙(S>0)/sqrt(mean(S>0))
// with a straight-through score gradient; scores start at 1.0; SGD momentum 0.9 on scores, BN affine, fc bias.
// Batch norm: `fused` (default) = tf.batchNorm on tf.moments statistics, with a closed-form gradient through
// tf.customGrad (the same arithmetic as PyTorch's batch_norm_backward); `ops` = plain ops differentiated by tfjs.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createRng } from '../../packages/core/src/index.js';
import { tf } from '../../packages/backend/src/index.js';
import {
  isTorchAvailable,
  registerTorchBackend,
  resetTorchProfile,
  torchProfile,
  torchUnavailableReason,
} from '../../packages/backend-torch/src/index.js';
import { median, runPython, type BenchOptions, type BenchResult } from './_harness.js';

export interface TorchBenchOptions extends BenchOptions {
  rounds?: number;
  steps?: number;
  width?: number;
  batch?: number;
  bn?: 'fused' | 'ops';
  profileOnly?: boolean;
}

interface Sizes {
  batch: number;
  size: number;
  classes: number;
  width: number;
}

/**
 * A masked weight: S ↦ W ⊙ (S > 0) / sqrt(mean(S > 0)) with dL/dS = dL/dŴ · W / sqrt(m̄) (straight-through).
 * W is frozen, so it is captured rather than passed (no zero gradient is built for it).
 */
function maskedWeight(w: tf.Tensor): (s: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => {
    const m = tf.cast(tf.greater(s, 0), 'float32');
    const scale = tf.rsqrt(tf.mean(m));
    save([scale]);
    return {
      value: tf.mul(tf.mul(w, m), scale),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(dy, w), saved[0]!),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (s: tf.Tensor) => tf.Tensor;
}

const EPS = 1e-5;

/** Train-mode batch norm over N,H,W with a closed-form backward (dx, dγ, dβ). */
export const bnFused = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const invStd = tf.rsqrt(tf.add(variance, EPS));
  const y = tf.batchNorm(x, mean, variance, beta, gamma, EPS);
  save([x, mean, invStd, gamma]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, mu, inv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const n = xs.size / xs.shape[3]!;
      // Σdy, Σdy·x̂ = inv·(Σdy·x − μ·Σdy); dx = dy·A + x·B + C with per-channel A = γ·inv,
      // B = −γ·inv²·Σ(dy·x̂)/n, C = −μ·B − A·Σdy/n (PyTorch's batch_norm_backward arithmetic).
      const dBeta = tf.sum(dy, [0, 1, 2]);
      const dGamma = tf.mul(tf.sub(tf.sum(tf.mul(dy, xs), [0, 1, 2]), tf.mul(mu, dBeta)), inv);
      const A = tf.mul(g, inv);
      const B = tf.neg(tf.div(tf.mul(tf.mul(A, inv), dGamma), n));
      const C = tf.sub(tf.neg(tf.mul(mu, B)), tf.div(tf.mul(A, dBeta), n));
      return [tf.add(tf.mul(dy, A), tf.add(tf.mul(xs, B), C)), dGamma, dBeta];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

export function bnOps(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2], true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
}

interface Net {
  frozen: Record<string, tf.Tensor>;
  masks: Record<string, (s: tf.Tensor) => tf.Tensor>;
  trainable: Record<string, tf.Variable>;
  blocks: { n: string; stride: number; ds: boolean }[];
}

function buildNet(sz: Sizes, seed: number): Net {
  const rng = createRng(seed);
  const frozen: Record<string, tf.Tensor> = {};
  const trainable: Record<string, tf.Variable> = {};
  const randn = (shape: number[], std: number) => {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
    return tf.tensor(v, shape);
  };
  const tag = `${Date.now()}_${Math.random()}`;
  const conv = (n: string, cin: number, cout: number, k: number) => {
    frozen[n] = randn([k, k, cin, cout], Math.sqrt(2 / (cin * k * k)));
    trainable[`${n}.s`] = tf.variable(tf.ones([k, k, cin, cout]), true, `${n}.s_${tag}`);
    trainable[`${n}.g`] = tf.variable(tf.ones([cout]), true, `${n}.g_${tag}`);
    trainable[`${n}.b`] = tf.variable(tf.zeros([cout]), true, `${n}.b_${tag}`);
  };
  tf.tidy(() => {
    conv('stem', 3, sz.width, 3);
    let cin = sz.width;
    const blocks: Net['blocks'] = [];
    [1, 2, 4, 8].forEach((mult, li) => {
      const cout = sz.width * mult;
      for (let bi = 0; bi < 2; bi++) {
        const stride = li > 0 && bi === 0 ? 2 : 1;
        const n = `l${li}b${bi}`;
        conv(`${n}c1`, cin, cout, 3);
        conv(`${n}c2`, cout, cout, 3);
        const ds = stride !== 1 || cin !== cout;
        if (ds) conv(`${n}ds`, cin, cout, 1);
        blocks.push({ n, stride, ds });
        cin = cout;
      }
    });
    frozen.fc = randn([cin, sz.classes], 1 / Math.sqrt(cin));
    trainable['fc.s'] = tf.variable(tf.ones([cin, sz.classes]), true, `fc.s_${tag}`);
    trainable['fc.b'] = tf.variable(tf.zeros([sz.classes]), true, `fc.b_${tag}`);
    for (const k of Object.keys(frozen)) tf.keep(frozen[k]!);
    (frozen as Record<string, unknown>).__blocks = blocks;
  });
  const blocks = (frozen as Record<string, unknown>).__blocks as Net['blocks'];
  delete (frozen as Record<string, unknown>).__blocks;
  const masks = Object.fromEntries(Object.entries(frozen).map(([k, w]) => [k, maskedWeight(w)]));
  return { frozen, masks, trainable, blocks };
}

function forward(net: Net, x: tf.Tensor4D, bn: 'fused' | 'ops'): tf.Tensor {
  const norm = bn === 'fused' ? bnFused : bnOps;
  const { masks, trainable: t } = net;
  const cbr = (h: tf.Tensor, n: string, stride: number, relu: boolean): tf.Tensor => {
    const w = masks[n]!(t[`${n}.s`]!) as tf.Tensor4D;
    const pad = w.shape[0] === 1 ? 'valid' : 'same';
    const y = norm(tf.conv2d(h as tf.Tensor4D, w, stride, pad), t[`${n}.g`]!, t[`${n}.b`]!);
    return relu ? tf.relu(y) : y;
  };
  let h: tf.Tensor = cbr(x, 'stem', 1, true);
  for (const { n, stride, ds } of net.blocks) {
    const a = cbr(cbr(h, `${n}c1`, stride, true), `${n}c2`, 1, false);
    const sc = ds ? cbr(h, `${n}ds`, stride, false) : h;
    h = tf.relu(tf.add(a, sc));
  }
  const pooled = tf.mean(h, [1, 2]);
  return tf.add(tf.matMul(pooled, masks.fc!(t['fc.s']!)), t['fc.b']!);
}

function makeStep(sz: Sizes, bn: 'fused' | 'ops') {
  const net = buildNet(sz, 1);
  const rng = createRng(2);
  const xv = new Float32Array(sz.batch * sz.size * sz.size * 3);
  for (let i = 0; i < xv.length; i++) xv[i] = rng.normal();
  const labels = Int32Array.from({ length: sz.batch }, () => rng.int(sz.classes));
  const x = tf.tensor4d(xv, [sz.batch, sz.size, sz.size, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), sz.classes));
  const opt = tf.train.momentum(0.1, 0.9);
  const vars = Object.values(net.trainable);
  const step = (): number => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(net, x, bn)) as tf.Scalar, true, vars)!;
    const v = loss.dataSync()[0]!;
    loss.dispose();
    return v;
  };
  const dispose = () => {
    opt.dispose();
    tf.dispose([x, y, ...Object.values(net.frozen), ...vars]);
  };
  return { step, dispose };
}

interface RefOut {
  ms: number[];
  torch: string;
  threads: number;
}

/** Profiles one step: per-kernel time share (kernelMs summed by name) and native/fallback counts. */
async function profileStep(step: () => number): Promise<{ kernels: { name: string; ms: number; share: number; calls: number }[]; fallbacks: Record<string, number>; totalMs: number; kernelCalls: number }> {
  resetTorchProfile();
  const info = await tf.profile(() => {
    step();
  });
  const prof = torchProfile();
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // tf.profile also lists customGrad's 'forward' wrapper, whose time includes its kernels: count kernels only
    if (tf.getKernel(k.name, 'torch') === undefined) continue;
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    by.set(k.name, e);
  }
  const total = [...by.values()].reduce((a, b) => a + b.ms, 0);
  const kernels = [...by.entries()]
    .map(([name, e]) => ({ name, ms: e.ms, share: e.ms / total, calls: e.calls }))
    .sort((a, b) => b.ms - a.ms);
  return { kernels, fallbacks: prof.fallback, totalMs: total, kernelCalls: info.kernels.length };
}

export async function run(opts: TorchBenchOptions): Promise<BenchResult[]> {
  if (!isTorchAvailable()) {
    console.log(`torch bench skipped: ${torchUnavailableReason()}`);
    return [{ name: 'masked-resnet18-train-step', backend: 'torch', unit: 'ms', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: torchUnavailableReason() } }];
  }
  const quick = opts.quick;
  const sz: Sizes = { batch: opts.batch ?? (quick ? 8 : 64), size: 32, classes: 100, width: opts.width ?? (quick ? 16 : 64) };
  const rounds = opts.rounds ?? (quick ? 1 : 3);
  const steps = opts.steps ?? (quick ? 2 : 3);
  const bn = opts.bn ?? 'fused';
  const info = await registerTorchBackend({ device: 'cpu', threads: 2 });
  await tf.setBackend('torch');
  const { step, dispose } = makeStep(sz, bn);
  step();
  step(); // warm-up: filter layouts, optimizer slots, allocator
  const ours: number[] = [];
  const ref: number[] = [];
  let refInfo: RefOut | undefined;
  let refError: string | undefined;
  if (!opts.profileOnly) {
    for (let r = 0; r < rounds; r++) {
      const py = runPython<RefOut>('torch_ref.py', { batch: sz.batch, size: sz.size, classes: sz.classes, width: sz.width, warmup: 2, steps, threads: 2 });
      if (py.ok) {
        ref.push(...py.value.ms);
        refInfo = py.value;
      } else refError = py.reason;
      for (let s = 0; s < steps; s++) {
        const t0 = performance.now();
        step();
        ours.push(performance.now() - t0);
      }
      console.log(`round ${r + 1}/${rounds}: torch backend ${median(ours.slice(-steps)).toFixed(0)} ms, PyTorch ${py.ok ? median(py.value.ms).toFixed(0) : 'n/a'} ms`);
    }
  }
  const prof = await profileStep(step);
  dispose();
  console.log(`profile of one step (${prof.kernelCalls} kernel calls, ${prof.totalMs.toFixed(0)} ms in kernels); fallbacks: ${JSON.stringify(prof.fallbacks)}`);
  for (const k of prof.kernels.slice(0, 15)) console.log(`  ${k.name.padEnd(24)} ${k.ms.toFixed(1).padStart(8)} ms ${(100 * k.share).toFixed(1).padStart(5)}%  ×${k.calls}`);
  const name = `masked-resnet18-train-step${sz.width !== 64 ? `-w${sz.width}` : ''}-b${sz.batch}`;
  const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });
  const results: BenchResult[] = [];
  if (ours.length) {
    const ratio = ref.length ? median(ours) / median(ref) : NaN;
    results.push({
      name,
      backend: 'torch',
      unit: 'ms',
      ...stats(ours),
      extra: { device: info.device, threads: info.threads, libtorch: info.torchVersion, bn, ratioToPyTorch: ratio, fallbacks: prof.fallbacks },
    });
  }
  if (ref.length) results.push({ name, backend: 'pytorch', unit: 'ms', ...stats(ref), extra: { torch: refInfo?.torch, threads: refInfo?.threads } });
  else if (refError && !opts.profileOnly) results.push({ name, backend: 'pytorch', unit: 'ms', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: refError } });
  results.push({
    name: `${name}-profile`,
    backend: 'torch',
    unit: 'ms',
    median: prof.totalMs,
    min: prof.totalMs,
    max: prof.totalMs,
    n: 1,
    extra: { kernelCalls: prof.kernelCalls, fallbacks: prof.fallbacks, top: prof.kernels.slice(0, 20).map((k) => `${k.name} ${(100 * k.share).toFixed(1)}% ×${k.calls}`).join(', ') },
  });
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      steps: { type: 'string' },
      width: { type: 'string' },
      batch: { type: 'string' },
      bn: { type: 'string' },
      'profile-only': { type: 'boolean', default: false },
    },
  });
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const res = await run({
    quick: values.quick,
    backend: 'torch',
    rounds: num(values.rounds),
    steps: num(values.steps),
    width: num(values.width),
    batch: num(values.batch),
    bn: values.bn === 'ops' ? 'ops' : 'fused',
    profileOnly: values['profile-only'],
  });
  console.log(JSON.stringify(res, null, 2));
}
