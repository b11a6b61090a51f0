// Bench area `backend`: one masked training step (forward + backward + SGD on the scores) of a plain conv stack,
// on each tfjs backend present, against the same stack in PyTorch (tools/bench/backend.py) in the same invocation.
//
// The stack: conv3x3 stem, then per stage `convsPerStage` × [conv3x3 (stride 2 on entering a stage), batch norm with
// batch statistics and no affine, relu], global average pool, fc, softmax cross-entropy. Every conv and the fc are
// masked as the reference does (threshold 0): W_eff = W ⊙ M / sqrt(mean(M)), M = (S > 0), weights frozen, scores
// learned with the straight-through gradient dL/dS_i = g_i W_i / sqrt(m) − (1/(2N)) m^(−3/2) Σ_j g_j W_j M_j.
// The masking is written inline here so this bench depends on @smn/backend only.
import { createRng } from '../../packages/core/src/index.js';
import { isSmnError } from '../../packages/core/src/index.js';
import { useBackend, releaseBackend, tf, AUTO_ORDER } from '../../packages/backend/src/index.js';
import { originalWasmKernel, setWasmStridedBackpropInputMethod } from '../../packages/backend/src/wasm-kernels.js';
import { runPython, timeIt, type BenchOptions, type BenchResult } from './_harness.js';

export interface StackConfig {
  name: string;
  batch: number;
  size: number;
  inCh: number;
  widths: number[];
  convsPerStage: number;
  classes: number;
  warmup: number;
  iters: number;
}

// Small enough for the tfjs cpu backend (seconds per step).
const SMALL: StackConfig = { name: 'small', batch: 8, size: 16, inCh: 3, widths: [8, 16], convsPerStage: 1, classes: 10, warmup: 2, iters: 10 };
// ResNet-18's widths and input (CIFAR-style 32², batch 64) with 2 convs per stage (ResNet-18 has 4) and no residuals.
const RESNET_W4: StackConfig = { name: 'resnet-w4', batch: 64, size: 32, inCh: 3, widths: [16, 32, 64, 128], convsPerStage: 2, classes: 100, warmup: 1, iters: 5 };
const RESNET: StackConfig = { name: 'resnet', batch: 64, size: 32, inCh: 3, widths: [64, 128, 256, 512], convsPerStage: 2, classes: 100, warmup: 1, iters: 3 };

/** GFLOP of one forward pass (multiply-adds × 2) of the convs and fc; a training step is about 3×. */
export function forwardGflop(c: StackConfig): number {
  let flop = 0;
  let hw = c.size;
  let cin = c.inCh;
  const conv = (cout: number, stride: number): void => {
    hw = Math.ceil(hw / stride);
    flop += 2 * c.batch * hw * hw * 9 * cin * cout;
    cin = cout;
  };
  conv(c.widths[0]!, 1);
  c.widths.forEach((w, s) => {
    for (let j = 0; j < c.convsPerStage; j++) conv(w, j === 0 && s > 0 ? 2 : 1);
  });
  flop += 2 * c.batch * cin * c.classes;
  return flop / 1e9;
}

interface Layer {
  w: tf.Tensor;
  s: tf.Variable;
  stride: number;
  masked: (s: tf.Tensor) => tf.Tensor;
}

/** Effective weight W ⊙ M / sqrt(mean M) with the straight-through score gradient (mean term included). */
function makeMasked(w: tf.Tensor): (s: tf.Tensor) => tf.Tensor {
  const n = w.size;
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const m = tf.cast(tf.greater(s, 0), 'float32');
    // An all-zero mask would divide 0 by 0: clamp mean(M) at 1/N (the weight is all zeros then anyway).
    const mean = tf.maximum(tf.mean(m), 1 / n);
    const value = tf.div(tf.mul(w, m), tf.sqrt(mean));
    save([m, mean]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [mm, mn] = saved as [tf.Tensor, tf.Tensor];
        const gw = tf.mul(dy, w);
        const direct = tf.div(gw, tf.sqrt(mn));
        const meanTerm = tf.mul(tf.sum(tf.mul(gw, mm)), tf.div(tf.pow(mn, -1.5), 2 * n));
        return [tf.sub(direct, meanTerm)];
      },
    };
  }) as (s: tf.Tensor) => tf.Tensor;
}

function buildStack(c: StackConfig, seed: number): { layers: Layer[]; fc: Layer; dispose(): void } {
  const rng = createRng(seed);
  const randn = (shape: number[], std: number, mean = 0): tf.Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal(mean, std);
    return tf.tensor(a, shape);
  };
  const layer = (shape: number[], fanIn: number, stride: number): Layer => {
    const w = randn(shape, Math.sqrt(2 / fanIn));
    const s0 = randn(shape, 1, 0.1);
    const s = tf.variable(s0, true);
    s0.dispose();
    return { w, s, stride, masked: makeMasked(w) };
  };
  const layers: Layer[] = [];
  let cin = c.inCh;
  layers.push(layer([3, 3, cin, c.widths[0]!], 9 * cin, 1));
  cin = c.widths[0]!;
  c.widths.forEach((w, s) => {
    for (let j = 0; j < c.convsPerStage; j++) {
      layers.push(layer([3, 3, cin, w], 9 * cin, j === 0 && s > 0 ? 2 : 1));
      cin = w;
    }
  });
  const fc = layer([cin, c.classes], cin, 1);
  return {
    layers,
    fc,
    dispose: () => {
      for (const l of [...layers, fc]) tf.dispose([l.w, l.s]);
    },
  };
}

function forwardLoss(net: ReturnType<typeof buildStack>, x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  let h: tf.Tensor = x;
  for (const l of net.layers) {
    h = tf.conv2d(h as tf.Tensor4D, l.masked(l.s) as tf.Tensor4D, l.stride, 'same');
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    h = tf.relu(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))));
  }
  h = tf.mean(h, [1, 2]);
  const logits = tf.matMul(h as tf.Tensor2D, net.fc.masked(net.fc.s) as tf.Tensor2D);
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

interface TorchOut {
  torch: string;
  threads: number;
  results: { name: string; median_ms: number; min_ms: number; max_ms: number; n: number; loss0: number; max_rss_mib: number }[];
}

async function timeBackend(c: StackConfig, quick: boolean): Promise<{ stats: Awaited<ReturnType<typeof timeIt>>; loss0: number; leaked: number }> {
  const net = buildStack(c, 1);
  const rng = createRng(2);
  const xa = new Float32Array(c.batch * c.size * c.size * c.inCh).map(() => rng.normal());
  const labels = Array.from({ length: c.batch }, () => rng.int(c.classes));
  const x = tf.tensor4d(xa, [c.batch, c.size, c.size, c.inCh]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), c.classes), 'float32')) as tf.Tensor2D;
  const opt = tf.train.sgd(0.1);
  const vars = [...net.layers.map((l) => l.s), net.fc.s];
  let loss0 = NaN;
  let before = -1;
  const step = async (): Promise<void> => {
    const l = opt.minimize(() => forwardLoss(net, x, y), true, vars)!;
    const v = (await l.data())[0]!;
    if (Number.isNaN(loss0)) loss0 = v;
    l.dispose();
    if (before < 0) before = tf.memory().numTensors;
  };
  const stats = await timeIt(step, {
    warmup: quick ? 1 : c.warmup,
    iters: quick ? 3 : c.iters,
    minIters: 3,
    maxMs: quick ? 20_000 : 120_000,
  });
  const leaked = tf.memory().numTensors - before;
  opt.dispose();
  tf.dispose([x, y]);
  net.dispose();
  return { stats, loss0, leaked };
}

/** A conv layer for the kernel micro-benchmark: x [batch, hw, hw, cin], 3×3 filter to cout, stride. */
interface ConvShape {
  name: string;
  batch: number;
  hw: number;
  cin: number;
  cout: number;
  stride: number;
}

// ResNet-18 layer shapes at 32² (CIFAR-style), batch 64 (the wasm-conv area of docs/backends.md#benchmark).
const CONV_SHAPES: ConvShape[] = [
  { name: '32x32x64-s1', batch: 64, hw: 32, cin: 64, cout: 64, stride: 1 },
  { name: '32x32x64-128-s2', batch: 64, hw: 32, cin: 64, cout: 128, stride: 2 },
  { name: '16x16x128-s1', batch: 64, hw: 16, cin: 128, cout: 128, stride: 1 },
  { name: '8x8x256-s1', batch: 64, hw: 8, cin: 256, cout: 256, stride: 1 },
  { name: '4x4x512-s1', batch: 64, hw: 4, cin: 512, cout: 512, stride: 1 },
];
const CONV_SHAPES_QUICK: ConvShape[] = [{ name: '16x16x16-s1', batch: 8, hw: 16, cin: 16, cout: 16, stride: 1 }];

interface ConvTorchOut {
  results: { name: string; op: string; median_ms: number; min_ms: number; max_ms: number; n: number }[];
}

/** smn's strided dX by inserting zeros into dy (the default splits it into phases instead). */
const zeroInsertionDx: tf.KernelFunc = (args) => {
  setWasmStridedBackpropInputMethod('zeros');
  try {
    return tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc(args);
  } finally {
    setWasmStridedBackpropInputMethod('phases');
  }
};

/** Times wasm's forward conv, smn's dX and dW kernels and tfjs's built-in dX, calling the kernels directly. */
async function convKernels(shapes: ConvShape[], quick: boolean): Promise<BenchResult[]> {
  await useBackend('wasm');
  const backend = tf.backend();
  const out: BenchResult[] = [];
  for (const c of shapes) {
    const rng = createRng(3);
    const rnd = (shape: number[]): tf.Tensor => {
      const n = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(new Float32Array(n).map(() => rng.normal()), shape);
    };
    const x = rnd([c.batch, c.hw, c.hw, c.cin]);
    const w = rnd([3, 3, c.cin, c.cout]);
    const ho = Math.ceil(c.hw / c.stride);
    const dy = rnd([c.batch, ho, ho, c.cout]);
    const common = { strides: [c.stride, c.stride], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    const ops: [string, tf.KernelFunc | undefined, Record<string, tf.Tensor>, Record<string, unknown>][] = [
      ['fwd', tf.getKernel('Conv2D', 'wasm')?.kernelFunc, { x, filter: w }, { ...common, dilations: [1, 1] }],
      ['dX', tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, { dy, filter: w }, { ...common, inputShape: x.shape }],
      ['dX (tfjs built-in)', originalWasmKernel('Conv2DBackpropInput'), { dy, filter: w }, { ...common, inputShape: x.shape }],
      ...(c.stride > 1
        ? ([['dX (zero insertion)', zeroInsertionDx, { dy, filter: w }, { ...common, inputShape: x.shape }]] as typeof ops)
        : []),
      ['dW', tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, { x, dy }, { ...common, filterShape: w.shape }],
    ];
    for (const [op, fn, inputs, attrs] of ops) {
      if (fn === undefined) continue;
      const call = (): void => {
        const r = fn({ inputs: inputs as tf.NamedTensorInfoMap, attrs: attrs as tf.NamedAttrMap, backend }) as tf.TensorInfo;
        backend.disposeData(r.dataId);
      };
      const st = await timeIt(call, { warmup: 1, iters: quick ? 3 : 5, minIters: 2, maxMs: 20_000 });
      const gflop = (2 * c.batch * ho * ho * 9 * c.cin * c.cout) / 1e9;
      out.push({
        name: `wasm-conv/${c.name}/${op}`,
        backend: 'wasm',
        unit: 'ms',
        median: st.median,
        min: st.min,
        max: st.max,
        n: st.n,
        extra: { gflopPerSec: gflop / (st.median / 1000) },
      });
    }
    tf.dispose([x, w, dy]);
  }
  return out;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const configs = opts.quick ? [SMALL] : [SMALL, RESNET_W4, RESNET];
  const wanted = opts.backend === 'auto' ? AUTO_ORDER : [opts.backend];
  const results: BenchResult[] = [];
  // PyTorch steps are cheap: more of them for a steadier median.
  const pyConfigs = configs.map((c) => ({ ...c, warmup: Math.max(2, c.warmup), iters: Math.max(c.iters, 10) }));

  // PyTorch before and after the tfjs runs: this machine's speed drifts (shared cores), the mean of both is the base.
  // Both 1 thread (what wasm gets under Node) and 2 threads (the machine). On a loaded machine 2 OpenMP threads can
  // be far slower than 1 (threads wait at barriers for a descheduled sibling): compare with both.
  const runTorch = (): TorchOut[] => {
    const outs: TorchOut[] = [];
    for (const threads of [1, 2]) {
      const r = runPython<TorchOut>('backend.py', { configs: pyConfigs, threads });
      if (r.ok) outs.push(r.value);
      else console.log(`pytorch reference (${threads} thread) skipped: ${r.reason}`);
    }
    return outs;
  };
  const torchBefore = runTorch();
  const torchRuns: TorchOut[] = [...torchBefore];

  const tfRows: { c: StackConfig; backend: string; device: string; stats: Awaited<ReturnType<typeof timeIt>>; loss0: number; leaked: number }[] = [];
  for (const name of wanted) {
    let device = '';
    try {
      device = (await useBackend(name as never)).device ?? '';
    } catch (e) {
      if (!isSmnError(e)) throw e;
      const reason = String(e.details['reason'] ?? e.message);
      console.log(`${name}: skipped (${reason})`);
      results.push({ name: 'masked-conv-step', backend: name, unit: 'ms', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: reason } });
      continue;
    }
    for (const c of configs) {
      if (name === 'cpu' && c !== SMALL) {
        const reason = 'the tfjs cpu backend is ~2,400x slower than PyTorch on conv training: small size only';
        results.push({ name: `masked-conv-step/${c.name}`, backend: name, unit: 'ms', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: reason } });
        continue;
      }
      console.log(`${name} ${c.name}: timing...`);
      const r = await timeBackend(c, opts.quick || name === 'cpu');
      tfRows.push({ c, backend: name, device, ...r });
    }
    if (name === 'webgpu') releaseBackend();
  }

  if (torchBefore.length > 0 && tfRows.length > 0) torchRuns.push(...runTorch());
  /** Mean over the before/after runs of PyTorch's median at `threads`. */
  const torchMedian = (cfg: string, threads: number): number | null => {
    const ms = torchRuns
      .filter((t) => t.threads === threads)
      .map((t) => t.results.find((r) => r.name === cfg)?.median_ms)
      .filter((v): v is number => v !== undefined);
    return ms.length === 0 ? null : ms.reduce((a, b) => a + b, 0) / ms.length;
  };

  for (const c of configs) {
    const gflop = forwardGflop(c) * 3;
    const t1 = torchMedian(c.name, 1);
    const t2 = torchMedian(c.name, 2);
    for (const r of tfRows.filter((t) => t.c === c)) {
      results.push({
        name: `masked-conv-step/${c.name}`,
        backend: r.backend,
        unit: 'ms',
        median: r.stats.median,
        min: r.stats.min,
        max: r.stats.max,
        n: r.stats.n,
        extra: {
          device: r.device,
          imgPerSec: (c.batch * 1000) / r.stats.median,
          gflopPerSec: gflop / (r.stats.median / 1000),
          ...(t1 === null ? {} : { xTorch1t: r.stats.median / t1 }),
          ...(t2 === null ? {} : { xTorch2t: r.stats.median / t2 }),
          peakRssMiB: Math.round(r.stats.peakRssMiB),
          loss0: r.loss0,
          leakedTensorsPerRun: r.leaked,
          config: { batch: c.batch, size: c.size, widths: c.widths, convsPerStage: c.convsPerStage, classes: c.classes },
        },
      });
    }
    for (const [i, t] of torchRuns.entries()) {
      const p = t.results.find((x) => x.name === c.name);
      if (p === undefined) continue;
      results.push({
        name: `masked-conv-step/${c.name}`,
        backend: `pytorch ${t.threads}t${i < torchBefore.length ? ' (before)' : ' (after)'}`,
        unit: 'ms',
        median: p.median_ms,
        min: p.min_ms,
        max: p.max_ms,
        n: p.n,
        extra: {
          device: `torch ${t.torch} cpu, ${t.threads} threads`,
          imgPerSec: (c.batch * 1000) / p.median_ms,
          gflopPerSec: gflop / (p.median_ms / 1000),
          peakRssMiB: Math.round(p.max_rss_mib),
          loss0: p.loss0,
        },
      });
    }
  }
  if (wanted.includes('wasm')) {
    const shapes = opts.quick ? CONV_SHAPES_QUICK : CONV_SHAPES;
    const conv = await convKernels(shapes, opts.quick);
    // wasm runs one thread: compare with PyTorch on one thread.
    const py = runPython<ConvTorchOut>('backend.py', { convs: shapes, threads: 1, iters: opts.quick ? 3 : 5 });
    if (!py.ok) console.log(`pytorch conv reference skipped: ${py.reason}`);
    for (const r of conv) {
      results.push(r);
    }
    if (py.ok) {
      for (const p of py.value.results) {
        for (const mine of conv.filter((r) => r.name === `wasm-conv/${p.name}/${p.op}` || r.name.startsWith(`wasm-conv/${p.name}/${p.op} `))) {
          mine.extra = { ...mine.extra, xTorch1t: mine.median / p.median_ms };
        }
        results.push({ name: `wasm-conv/${p.name}/${p.op}`, backend: 'pytorch 1t', unit: 'ms', median: p.median_ms, min: p.min_ms, max: p.max_ms, n: p.n });
      }
    }
  }
  return results;
}
