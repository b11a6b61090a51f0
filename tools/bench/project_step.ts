// The project's own masked ResNet-18 training step (packages' code end to end: @smn/models ResNet-18, @smn/subnetworks
// masks, masked head, @smn/train optimizer), batch 64 of 32x32, 100 classes, against tools/bench/project_step.py
// (the same step in PyTorch, 2 threads) in the same invocation.
// Runnable alone: `npx tsx tools/bench/project_step.ts [--backend torch] [--steps 5] [--no-fused]`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf, useBackend } from '../../packages/backend/src/index.js';
import { createResNet, setTrainBatchNorm } from '../../packages/models/src/index.js';
import { createMaskedLinear, createMaskedModel } from '../../packages/subnetworks/src/index.js';
import { createOptimizer, useFusedKernels } from '../../packages/train/src/index.js';

export async function projectStep(opts: { backend: string; steps: number; fused: boolean }): Promise<{ median: number; times: number[]; fused: boolean; backend: string }> {
  const choice = await useBackend(opts.backend as never);
  const fused = opts.fused ? await useFusedKernels() : (setTrainBatchNorm(null), false);
  const model = createResNet({ depth: 18, numClasses: 0, seed: 0 });
  const mm = createMaskedModel(model, { select: (n) => (n.includes('conv') || n.includes('downsample') ? ['mask', n] : 'freeze'), scoresInit: { kind: 'normal', mean: 1, std: 0 } });
  const head = createMaskedLinear(512, 100, { seed: 1 });
  const vars = new Map<string, tf.Variable>([...[...mm.scores].map(([n, v]) => [`s.${n}`, v] as [string, tf.Variable]), ...[...head.scores].map(([n, v]) => [`h.${n}`, v] as [string, tf.Variable])]);
  const byName = new Map([...vars].map(([n, v]) => [v.name, n]));
  const opt = createOptimizer({ optimizer: 'sgdc', momentum: 0.9, groups: [{ name: 'all', params: vars, lr: 50, weightDecay: 0 }] });
  const x = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', 0);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 100), 'int32'), 100);
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, head.apply(mm.apply(x, { training: true }))) as tf.Scalar, [...vars.values()]);
    opt.step(new Map(Object.entries(grads).map(([k, g]) => [byName.get(k)!, g])));
    Object.values(grads).forEach((g) => g.dispose());
    await value.data();
    value.dispose();
  };
  for (let i = 0; i < 2; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < opts.steps; i++) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, times, fused, backend: choice.name };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (k: string, d: string) => {
    const i = process.argv.indexOf(k);
    return i >= 0 ? process.argv[i + 1]! : d;
  };
  const steps = Number(arg('--steps', '5'));
  const ours = await projectStep({ backend: arg('--backend', 'torch'), steps, fused: !process.argv.includes('--no-fused') });
  const py = spawnSync('/usr/bin/python3', [fileURLToPath(new URL('./project_step.py', import.meta.url)), String(steps)], { encoding: 'utf8' });
  const ref = py.status === 0 ? (JSON.parse(py.stdout.trim().split('\n').pop()!) as { median_ms: number }) : null;
  console.log(JSON.stringify({ workload: 'masked ResNet-18 step, batch 64, 32x32, 100 classes', smn: ours, pytorch_median_ms: ref?.median_ms ?? null, ratio: ref ? ours.median / ref.median_ms : null }));
  process.exit(0);
}
