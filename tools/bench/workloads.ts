// Bench area `workloads`: the project's own code end to end (@smn/models ResNets, @smn/subnetworks masks and the
// fused kernels the backend offers, @smn/train's optimizer) on the workloads users run, against the same workloads in
// PyTorch (tools/bench/workloads.py, 2 threads) in the same invocation; the ratio is smn time / PyTorch time.
//   r18-mask-32-b64   masked ResNet-18 training step, 32², batch 64, 100 classes (scores and a masked head, sgd-m)
//   r18-fft-32-b64    full fine-tuning step of the same network (every parameter and a linear head)
//   r50-mask-224-b32  masked ResNet-50 training step, 224², batch 32, 100 classes
//   r50-fft-224-b32   full fine-tuning step of ResNet-50, 224², batch 32
//   r50-infer-224-b32 ResNet-50 inference (eval mode), 224², batch 32
// --quick shrinks every workload (batch 4, 32²/64²) and times 2 steps: a smoke run that never judges speed.
// Each workload runs in its own process (peak memory is its own), alternating with PyTorch: r18 3 pairs, r50 1.
// Also: the kernel profile of one r18-mask step (tf.profile: time per kernel).
// Runnable alone: `pnpm tsx tools/bench/workloads.ts [--quick] [--backend torch] [--only NAME[,NAME]] [--pairs P]`.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf, useBackend } from '../../packages/backend/src/index.js';
import { createResNet } from '../../packages/models/src/index.js';
import { createMaskedLinear, createMaskedModel } from '../../packages/subnetworks/src/index.js';
import { createOptimizer, createTrainStep, useFusedKernels } from '../../packages/train/src/index.js';
import { maxRssMiB, median, runPython, timeIt, type BenchOptions, type BenchResult, type TimingStats } from './_harness.js';

export interface Workload {
  name: string;
  depth: 18 | 50;
  size: number;
  batch: number;
  classes: number;
  mode: 'mask' | 'fft' | 'infer';
  warmup: number;
  iters: number;
}

export function workloads(quick: boolean): Workload[] {
  const w = (name: string, depth: 18 | 50, size: number, batch: number, mode: Workload['mode'], iters: number): Workload =>
    quick ? { name, depth, size: Math.min(size, depth === 50 ? 64 : 32), batch: 4, classes: 100, mode, warmup: 1, iters: 2 } : { name, depth, size, batch, classes: 100, mode, warmup: 2, iters };
  return [
    w('r18-mask-32-b64', 18, 32, 64, 'mask', 7),
    w('r18-fft-32-b64', 18, 32, 64, 'fft', 7),
    w('r50-mask-224-b32', 50, 224, 32, 'mask', 3),
    w('r50-fft-224-b32', 50, 224, 32, 'fft', 3),
    w('r50-infer-224-b32', 50, 224, 32, 'infer', 5),
  ];
}

interface Built {
  step: () => Promise<void>;
  dispose: () => void;
}

/** One workload built from the project's packages, as @smn/train runs it. */
function build(w: Workload): Built {
  const model = createResNet({ depth: w.depth, numClasses: 0, seed: 0 });
  const feat = w.depth === 50 ? 2048 : 512;
  const x = tf.randomNormal([w.batch, w.size, w.size, 3], 0, 1, 'float32', 0);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: w.batch }, (_, i) => i % w.classes), 'int32'), w.classes);
  if (w.mode === 'infer') {
    return {
      step: async () => {
        const out = tf.tidy(() => tf.sum(model.apply(model.params, x, { training: false })));
        await out.data();
        out.dispose();
      },
      dispose: () => {
        tf.dispose([x, y]);
        model.dispose();
      },
    };
  }
  const fft = w.mode === 'fft';
  const mm = createMaskedModel(model, {
    select: (n) => (fft ? ['train', n] : n.includes('conv') || n.includes('downsample') ? ['mask', n] : 'freeze'),
    scoresInit: { kind: 'normal', mean: 1, std: 0 },
  });
  const headMasked = fft ? null : createMaskedLinear(feat, w.classes, { seed: 1 });
  const headW = fft ? tf.variable(tf.randomUniform([feat, w.classes], -1 / Math.sqrt(feat), 1 / Math.sqrt(feat), 'float32', 1)) : null;
  const headB = fft ? tf.variable(tf.zeros([w.classes])) : null;
  const vars = new Map<string, tf.Variable>();
  for (const [n, v] of fft ? mm.trainable : mm.scores) vars.set(`b.${n}`, v);
  if (headMasked) for (const [n, v] of headMasked.scores) vars.set(`h.${n}`, v);
  if (headW && headB) vars.set('h.w', headW).set('h.b', headB);
  const opt = createOptimizer({ optimizer: 'sgdc', momentum: 0.9, groups: [{ name: 'all', params: vars, lr: fft ? 0.05 : 50, weightDecay: 0 }] });
  const head = (f: tf.Tensor) => (headMasked ? headMasked.apply(f as tf.Tensor2D) : tf.add(tf.matMul(f as tf.Tensor2D, headW!), headB!));
  // The training step every experiment runs (@smn/train's createTrainStep), on a fixed batch.
  const trainStep = createTrainStep<null>({
    objective: { variables: () => [...vars.values()], loss: () => tf.losses.softmaxCrossEntropy(y, head(mm.apply(x, { training: true }))) as tf.Scalar },
    optimizer: opt,
    params: [vars],
  });
  const pos = { epoch: 0, batch: 0, step: 0 };
  return {
    step: async () => {
      await trainStep(null, pos);
    },
    dispose: () => {
      tf.dispose([x, y]);
      opt.dispose();
      mm.dispose();
      headMasked?.dispose();
      headW?.dispose();
      headB?.dispose();
      model.dispose();
    },
  };
}

/** Kernel time per kernel name over one call of `step` (tf.profile), largest first. */
async function kernelProfile(step: () => Promise<void>): Promise<{ kernel: string; calls: number; ms: number }[]> {
  const prof = await tf.profile(step);
  const agg = new Map<string, { calls: number; ms: number }>();
  for (const k of prof.kernels) {
    const a = agg.get(k.name) ?? { calls: 0, ms: 0 };
    a.calls++;
    a.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    agg.set(k.name, a);
  }
  return [...agg].map(([kernel, a]) => ({ kernel, calls: a.calls, ms: Math.round(a.ms * 10) / 10 })).sort((a, b) => b.ms - a.ms);
}

/** timeIt's statistics, with peakRssMiB the peak of the process that ran only this workload. */
interface ChildResult extends TimingStats {
  backend: string;
  fused: boolean;
  /** Live tensors after the last timed step minus after the warm-up: 0 when nothing leaks. */
  tensorGrowth: number;
  profile?: { kernel: string; calls: number; ms: number }[];
}

/** Runs one workload in this process (the child side). */
async function runHere(w: Workload, backend: string): Promise<ChildResult> {
  const choice = await useBackend(backend as never);
  const fused = await useFusedKernels();
  const b = build(w);
  for (let i = 0; i < w.warmup; i++) await b.step();
  const after = tf.memory().numTensors;
  const t = await timeIt(b.step, { warmup: 0, iters: w.iters });
  const tensorGrowth = tf.memory().numTensors - after;
  const profile = w.name.startsWith('r18-mask') ? (await kernelProfile(b.step)).slice(0, 15) : undefined;
  b.dispose();
  return { backend: choice.name, fused, median: t.median, min: t.min, max: t.max, n: t.n, samples: t.samples, peakRssMiB: maxRssMiB(), tensorGrowth, ...(profile ? { profile } : {}) };
}

/** Runs one workload in a fresh Node process (same loader flags), so its peak memory is its own. */
function runChild(w: Workload, backend: string): ChildResult {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(w), '--backend', backend], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
    timeout: 3_600_000,
  });
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`workload ${w.name} failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
  return JSON.parse(line) as ChildResult;
}

type PyResult = { name: string; median_ms: number; min_ms: number; max_ms: number; n: number; peak_rss_mib: number };

export async function run(opts: BenchOptions & { only?: string[]; pairs?: number }): Promise<BenchResult[]> {
  const list = workloads(opts.quick).filter((w) => !opts.only || opts.only.includes(w.name));
  const backend = opts.backend === 'auto' ? (await useBackend('auto')).name : opts.backend;
  const out: BenchResult[] = [];
  for (const w of list) {
    // PyTorch and smn alternate, each workload in its own process: `pairs` rounds (r18 3, r50 1; quick 1).
    const pairs = opts.pairs ?? (opts.quick || w.depth === 50 ? 1 : 3);
    const ours: ChildResult[] = [];
    const refs: PyResult[] = [];
    let why = '';
    for (let i = 0; i < pairs; i++) {
      const py = runPython<{ results: PyResult[] }>('workloads.py', { threads: 2, workloads: [w] }, { timeoutMs: 3_600_000 });
      if (py.ok) refs.push(py.value.results[0]!);
      else why = py.reason;
      ours.push(runChild(w, backend));
    }
    const med = median(ours.map((o) => o.median));
    const pyMed = refs.length ? median(refs.map((r) => r.median_ms)) : NaN;
    const pairRatios = refs.length === ours.length ? ours.map((o, i) => o.median / refs[i]!.median_ms) : [];
    const first = ours[0]!;
    out.push({
      name: w.name,
      backend: first.backend,
      unit: 'ms',
      median: med,
      min: Math.min(...ours.map((o) => o.min)),
      max: Math.max(...ours.map((o) => o.max)),
      n: ours.reduce((a, o) => a + o.n, 0),
      extra: {
        ...(refs.length ? { pytorch_ms: Math.round(pyMed), ratio: Math.round((med / pyMed) * 100) / 100 } : { pytorch: `absent: ${why}` }),
        ...(pairRatios.length > 1 ? { pair_ratios: pairRatios.map((r) => Math.round(r * 100) / 100).join('/') } : {}),
        images_per_s: Math.round((w.batch / med) * 1000 * 10) / 10,
        ...(refs.length ? { pytorch_images_per_s: Math.round((w.batch / pyMed) * 1000 * 10) / 10 } : {}),
        peak_rss_mib: Math.round(Math.max(...ours.map((o) => o.peakRssMiB))),
        ...(refs.length ? { pytorch_peak_rss_mib: Math.round(Math.max(...refs.map((r) => r.peak_rss_mib))) } : {}),
        tensor_growth: Math.max(...ours.map((o) => o.tensorGrowth)),
        fused_kernels: String(first.fused),
        shape: `${w.batch}x${w.size}x${w.size}`,
        ...(first.profile ? { profile: first.profile } : {}),
      },
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, backend: { type: 'string', default: 'torch' }, only: { type: 'string' }, pairs: { type: 'string' }, child: { type: 'string' } },
  });
  if (values.child) {
    console.log(JSON.stringify(await runHere(JSON.parse(values.child) as Workload, values.backend)));
    process.exit(0);
  }
  const res = await run({ quick: values.quick, backend: values.backend, ...(values.only ? { only: values.only.split(',') } : {}), ...(values.pairs ? { pairs: Number(values.pairs) } : {}) });
  console.log(JSON.stringify(res, null, 1));
  process.exit(0);
}
