// Bench area `datasets`: images per second through @smn/datasets loaders (decode + augment + batch), for the
// supervised and multicrop presets (docs/method.md#augmentations) at 224 px (JPEG folder, 500×375 photos-sized images decoded with
// sharp), CIFAR 32×32 upsampled to 224 (the paper's CIFAR runs) and at 32 px (CIFAR-10 binary batch in memory), with
// workers 0 (in-process) and 2 (worker threads).
// Each measurement is one full epoch through a worker pool started beforehand (its start-up time is reported as
// poolStartupMs), repeated; the value is images/s. tools/bench/datasets_ref.py runs the same pipelines in torchvision
// with torch's DataLoader on the same files; ratio = smn time per image / PyTorch's (PyTorch images/s ÷ ours).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../packages/core/src/index.js';
import { createLoader, createWorkerPool, encodeImage, loadDataset, multicropGroups, type ImageDataset, type PresetSpec, type WorkerPool } from '../../packages/datasets/src/index.js';
import { median, runPython, type BenchOptions, type BenchResult } from './_harness.js';

/** A smooth random image (low-frequency pattern + noise), so JPEG sizes are realistic. */
function photo(w: number, h: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const f = [rng.uniform(0.005, 0.03), rng.uniform(0.005, 0.03), rng.uniform(0, 6)];
  const buf = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(x * f[0]! * (c + 1) + y * f[1]! + f[2]!) + rng.uniform(-20, 20);
        buf[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return buf;
}

async function jpegFolder(root: string, n: number): Promise<ImageDataset> {
  for (let i = 0; i < n; i++) {
    const cls = join(root, 'train', `c${i % 4}`);
    mkdirSync(cls, { recursive: true });
    writeFileSync(join(cls, `${i}.jpg`), await encodeImage({ data: photo(500, 375, i), width: 500, height: 375 }, 'jpeg', 90));
  }
  return loadDataset(`folder:${root}`, { split: 'train' });
}

async function cifarBin(root: string, n: number): Promise<ImageDataset> {
  const d = join(root, 'cifar10', 'cifar-10-batches-bin');
  mkdirSync(d, { recursive: true });
  const rng = createRng(1);
  const rec = 3073;
  const make = (count: number) => {
    const b = new Uint8Array(count * rec);
    for (let i = 0; i < b.length; i++) b[i] = i % rec === 0 ? rng.int(10) : rng.int(256);
    return b;
  };
  const per = Math.ceil(n / 5);
  for (let k = 1; k <= 5; k++) writeFileSync(join(d, `data_batch_${k}.bin`), make(per));
  writeFileSync(join(d, 'test_batch.bin'), make(10));
  return loadDataset('cifar10pgn', { dataRoot: root, split: 'train' });
}

async function epochRate(ds: ImageDataset, n: number, spec: PresetSpec, pool: WorkerPool | undefined, batchSize: number, epoch: number): Promise<number> {
  const t0 = performance.now();
  let count = 0;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const loader = createLoader(ds, { batchSize, seed: 0, epoch, transform: spec, ...(pool ? { pool } : { workers: 0 }), indices });
  for await (const b of loader) count += b.indices.length;
  return count / ((performance.now() - t0) / 1000);
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const root = mkdtempSync(join(tmpdir(), 'smn-bench-datasets-'));
  const results: BenchResult[] = [];
  try {
    const n224 = opts.quick ? 16 : 48;
    const n32 = opts.quick ? 256 : 2048;
    const reps = opts.quick ? 1 : 3;
    const big = await jpegFolder(join(root, 'jpeg'), n224);
    const small = await cifarBin(join(root, 'cifar'), n32);
    const cases: { name: string; ds: ImageDataset; n: number; spec: PresetSpec; batch: number; source: string; root: string }[] = [
      { name: 'supervised-224', ds: big, n: n224, spec: { preset: 'supervised', size: 224 }, batch: 16, source: 'jpeg 500x375', root: join(root, 'jpeg') },
      { name: 'multicrop-224', ds: big, n: n224, spec: { preset: 'multicrop' }, batch: 16, source: 'jpeg 500x375', root: join(root, 'jpeg') },
      // The paper's CIFAR runs: 32×32 images cropped and upsampled to 224.
      { name: 'supervised-cifar-224', ds: small, n: n224 * 2, spec: { preset: 'supervised', size: 224 }, batch: 32, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'multicrop-cifar-224', ds: small, n: n224, spec: { preset: 'multicrop' }, batch: 16, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'supervised-32', ds: small, n: n32, spec: { preset: 'supervised', size: 32 }, batch: 256, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'multicrop-32', ds: small, n: n32, spec: { preset: 'multicrop', size: 32 }, batch: 256, source: 'cifar10 bin', root: join(root, 'cifar') },
    ];
    // The same pipelines in torchvision/PIL with torch's DataLoader (tools/bench/datasets_ref.py), same files.
    const ref = runPython<{ results: { name: string; workers: number; rates: number[] }[] }>('datasets_ref.py', {
      reps,
      cases: cases.map((c) => ({
        name: c.name,
        source: c.source.startsWith('jpeg') ? 'jpeg' : 'cifar',
        root: c.root,
        n: c.n,
        batch: c.batch,
        preset: c.spec.preset,
        size: 'size' in c.spec ? c.spec.size : 224,
        groups: c.spec.preset === 'multicrop' ? multicropGroups(c.spec).map((g) => [g.count, g.size, g.scale[0], g.scale[1]]) : [],
      })),
    });
    if (!ref.ok) console.warn(`datasets: no PyTorch reference (${ref.reason})`);
    const t0 = performance.now();
    const pool = createWorkerPool(2);
    await pool.ready();
    const startupMs = performance.now() - t0;
    for (const c of cases) {
      for (const workers of [0, 2]) {
        const rates: number[] = [];
        for (let r = 0; r < reps; r++) rates.push(await epochRate(c.ds, c.n, c.spec, workers ? pool : undefined, c.batch, r));
        const py = ref.ok ? ref.value.results.find((r) => r.name === c.name && r.workers === workers) : undefined;
        const views = c.spec.preset === 'multicrop' ? (c.name.endsWith('-32') ? '2x32+6x14' : '2x224+6x96') : c.name.endsWith('-32') ? '1x32' : '1x224';
        results.push({
          name: `${c.name}-w${workers}`,
          backend: 'cpu-js',
          unit: 'images/s',
          median: median(rates),
          min: Math.min(...rates),
          max: Math.max(...rates),
          n: rates.length,
          extra: {
            images: c.n,
            batch: c.batch,
            workers,
            source: c.source,
            views,
            ...(workers ? { poolStartupMs: Math.round(startupMs) } : {}),
            ...(py ? { pytorch_images_per_s: Math.round(median(py.rates) * 10) / 10, ratio: Math.round((median(py.rates) / median(rates)) * 100) / 100 } : {}),
          },
        });
      }
    }
    await pool.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
