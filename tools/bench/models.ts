// Bench area `models`: loading weight files and running ResNets through @smn/models.
//  - load-safetensors / load-pth: loadResNet on a ResNet-50 file (quick: ResNet-18), including layout conversion;
//    the .pth is written by torch.save (skipped without PyTorch), whose own torch.load time is in `extra`;
//  - forward-eval: pooled features of a batch of 2 images at 224 px (quick: 64 px).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend, type BackendName } from '../../packages/backend/src/index.js';
import { createResNet, loadResNet, resnetStateDict, writeSafetensors } from '../../packages/models/src/index.js';
import { runPython, timeIt, type BenchOptions, type BenchResult } from './_harness.js';

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const backend = (await useBackend(opts.backend as BackendName)).name;
  const depth = opts.quick ? 18 : 50;
  const dir = mkdtempSync(join(tmpdir(), 'smn-bench-models-'));
  const out: BenchResult[] = [];
  try {
    const model = createResNet({ depth, numClasses: 1000, seed: 0 });
    const st = join(dir, `resnet${depth}.safetensors`);
    await writeSafetensors(st, resnetStateDict(model));
    model.dispose();
    const load = async (file: string, name: string, extra: Record<string, unknown> = {}) => {
      const t = await timeIt(async () => (await loadResNet(file)).dispose(), { warmup: 1, iters: opts.quick ? 2 : 5 });
      out.push({ name, backend, unit: 'ms', median: t.median, min: t.min, max: t.max, n: t.n, extra: { model: `resnet${depth}`, bytes: statSync(file).size, peakRssMiB: t.peakRssMiB, ...extra } });
    };
    await load(st, 'load-safetensors');
    const pth = join(dir, `resnet${depth}.pth`);
    const py = runPython<{ torch_load_ms: number }>('models.py', { depth, path: pth });
    if (py.ok) await load(pth, 'load-pth', { torchLoadMs: py.value.torch_load_ms });
    else console.error(`models: load-pth skipped: ${py.reason}`);

    const m = await loadResNet(st);
    const size = opts.quick ? 64 : 224;
    const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 1);
    const t = await timeIt(
      async () => {
        const y = m.apply(m.params, x, { output: 'features' });
        await y.data();
        y.dispose();
      },
      { warmup: 1, iters: opts.quick ? 2 : 5 },
    );
    out.push({ name: 'forward-eval', backend, unit: 'ms', median: t.median, min: t.min, max: t.max, n: t.n, extra: { model: `resnet${depth}`, batch: 2, size } });
    x.dispose();
    m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
