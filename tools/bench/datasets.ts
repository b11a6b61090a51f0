// Bench area `datasets`: images per second through @smn/datasets loaders (decode + augment + batch), for the
// supervised and multicrop presets (docs/method.md#augmentations) at 224 px (JPEG folder, 500×375 photo-sized images
// decoded with sharp), CIFAR 32×32 cropped and upsampled to 224 (the paper's CIFAR runs) and at 32 px (CIFAR-10
// binary batch in memory), with workers 0 (in-process) and 2 (worker threads; also 1 without --quick), on the default
// fused path (`resample: 'fast'`); without --quick the step-by-step path (`resample: 'pil'`, the same output) is
// measured too, in process, as `<pipeline>-pil-w0`.
// Each measurement is one full epoch through a worker pool started beforehand (its start-up time is reported as
// poolStartupMs); the value is the median images/s over the repetitions. Without --quick each side first runs
// untimed (smn: one epoch per pipeline and worker count, since JIT-compiled code is per thread; PyTorch: two batches
// per pipeline in each of its processes). tools/bench/datasets_ref.py runs the same
// pipelines in torchvision with torch's DataLoader (same worker counts) on the same files. Without --quick the two
// sides alternate, one repetition of one pipeline each (the machine's cores are shared, so load drifts between them);
// with --quick PyTorch runs once for all pipelines first. ratio = PyTorch images/s ÷ smn images/s (= smn time per
// image ÷ PyTorch's): at most 1 means smn is at least as fast. Both sides also report the CPU time of all their
// threads and processes per image (cpu_ms_per_image, pytorch_cpu_ms_per_image; cpu_ratio = smn's ÷ PyTorch's), which
// other jobs on the machine disturb less than wall time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../packages/core/src/index.js';
import { createLoader, createWorkerPool, encodeImage, loadDataset, multicropGroups, type ImageDataset, type PresetSpec, type WorkerPool } from '../../packages/datasets/src/index.js';
import { median, runPython, type BenchOptions, type BenchResult } from './_harness.js';

/** A smooth random image (low-frequency pattern + noise), so JPEG sizes are realistic; also the pixels bench's input. */
export function photo(w: number, h: number, seed: number): Uint8Array {
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

/** One epoch: images/s, and the CPU time of the whole process (main thread, worker threads, libvips) per image. */
async function epochRate(ds: ImageDataset, n: number, spec: PresetSpec, pool: WorkerPool | undefined, batchSize: number, epoch: number): Promise<{ rate: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let count = 0;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const loader = createLoader(ds, { batchSize, seed: 0, epoch, transform: spec, ...(pool ? { pool } : { workers: 0 }), indices });
  for await (const b of loader) count += b.indices.length;
  const rate = count / ((performance.now() - t0) / 1000);
  const c = process.cpuUsage(c0);
  return { rate, cpu: (c.user + c.system) / 1000 / count };
}

interface Case {
  name: string;
  ds: ImageDataset;
  n: number;
  spec: PresetSpec;
  batch: number;
  source: string;
  root: string;
}

interface RefResults {
  results: { name: string; workers: number; rates: number[]; cpu_ms_per_image: number[] }[];
}

function refCase(c: Case) {
  return {
    name: c.name,
    source: c.source.startsWith('jpeg') ? 'jpeg' : 'cifar',
    root: c.root,
    n: c.n,
    batch: c.batch,
    preset: c.spec.preset,
    size: 'size' in c.spec ? c.spec.size : 224,
    groups: c.spec.preset === 'multicrop' ? multicropGroups(c.spec).map((g) => [g.count, g.size, g.scale[0], g.scale[1]]) : [],
  };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const root = mkdtempSync(join(tmpdir(), 'smn-bench-datasets-'));
  const results: BenchResult[] = [];
  const pools = new Map<number, WorkerPool>();
  try {
    const n224 = opts.quick ? 16 : 48;
    const n32 = opts.quick ? 256 : 2048;
    const reps = opts.quick ? 1 : 3;
    const workerCounts = opts.quick ? [0, 2] : [0, 1, 2];
    const big = await jpegFolder(join(root, 'jpeg'), n224);
    const small = await cifarBin(join(root, 'cifar'), n32);
    const cases: Case[] = [
      { name: 'supervised-224', ds: big, n: n224, spec: { preset: 'supervised', size: 224 }, batch: 16, source: 'jpeg 500x375', root: join(root, 'jpeg') },
      { name: 'multicrop-224', ds: big, n: n224, spec: { preset: 'multicrop' }, batch: 16, source: 'jpeg 500x375', root: join(root, 'jpeg') },
      // The paper's CIFAR runs: 32×32 images cropped and upsampled to 224.
      { name: 'supervised-cifar-224', ds: small, n: n224 * 2, spec: { preset: 'supervised', size: 224 }, batch: 32, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'multicrop-cifar-224', ds: small, n: n224, spec: { preset: 'multicrop' }, batch: 16, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'supervised-32', ds: small, n: n32, spec: { preset: 'supervised', size: 32 }, batch: 256, source: 'cifar10 bin', root: join(root, 'cifar') },
      { name: 'multicrop-32', ds: small, n: n32, spec: { preset: 'multicrop', size: 32 }, batch: 256, source: 'cifar10 bin', root: join(root, 'cifar') },
    ];
    const t0 = performance.now();
    for (const w of workerCounts) if (w > 0) pools.set(w, createWorkerPool(w));
    await Promise.all([...pools.values()].map((p) => p.ready()));
    const startupMs = performance.now() - t0;
    const smnRates = new Map<string, number[]>();
    const smnCpu = new Map<string, number[]>();
    const pyRates = new Map<string, number[]>();
    const pyCpu = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number[]) => m.set(k, [...(m.get(k) ?? []), ...v]);
    let pyReason: string | undefined;
    const addPy = (ref: RefResults) => {
      for (const r of ref.results) {
        const k = `${r.name}-w${r.workers}`;
        push(pyRates, k, r.rates);
        push(pyCpu, k, r.cpu_ms_per_image);
      }
    };
    const python = (cs: Case[], r: number) => {
      if (pyReason) return;
      const ref = runPython<RefResults>('datasets_ref.py', { reps: r, workers: workerCounts, warmup: !opts.quick, cases: cs.map(refCase) });
      if (ref.ok) addPy(ref.value);
      else {
        pyReason = ref.reason;
        console.warn(`datasets: no PyTorch reference (${ref.reason})`);
      }
    };
    const smn = async (c: Case, rep: number) => {
      // Without --quick, one untimed epoch per pipeline and worker count first: JIT-compiled code is per thread.
      if (!opts.quick && rep === 0) {
        for (const w of workerCounts) await epochRate(c.ds, c.n, c.spec, pools.get(w), c.batch, 99);
        if (c.name.includes('224')) await epochRate(c.ds, c.n, { ...c.spec, resample: 'pil' }, undefined, c.batch, 99);
      }
      for (const w of workerCounts) {
        const e = await epochRate(c.ds, c.n, c.spec, pools.get(w), c.batch, rep);
        push(smnRates, `${c.name}-w${w}`, [e.rate]);
        push(smnCpu, `${c.name}-w${w}`, [e.cpu]);
      }
      // The PIL-exact JavaScript path, in process, for the pipelines the fast path changes.
      if (!opts.quick && c.name.includes('224')) {
        const e = await epochRate(c.ds, c.n, { ...c.spec, resample: 'pil' }, undefined, c.batch, rep);
        push(smnRates, `${c.name}-pil-w0`, [e.rate]);
        push(smnCpu, `${c.name}-pil-w0`, [e.cpu]);
      }
    };
    if (opts.quick) {
      python(cases, reps);
      for (const c of cases) await smn(c, 0);
    } else {
      for (let rep = 0; rep < reps; rep++) {
        for (const c of cases) {
          python([c], 1);
          await smn(c, rep);
        }
      }
    }
    for (const c of cases) {
      const views = c.spec.preset === 'multicrop' ? (c.name.endsWith('-32') ? '2x32+6x14' : '2x224+6x96') : c.name.endsWith('-32') ? '1x32' : '1x224';
      const rows: { key: string; workers: number; resample: 'fast' | 'pil' }[] = workerCounts.map((w) => ({ key: `${c.name}-w${w}`, workers: w, resample: 'fast' }));
      if (smnRates.has(`${c.name}-pil-w0`)) rows.push({ key: `${c.name}-pil-w0`, workers: 0, resample: 'pil' });
      for (const row of rows) {
        const rates = smnRates.get(row.key)!;
        const py = pyRates.get(`${c.name}-w${row.workers}`);
        const m = median(rates);
        results.push({
          name: row.key,
          backend: 'cpu-js',
          unit: 'images/s',
          median: m,
          min: Math.min(...rates),
          max: Math.max(...rates),
          n: rates.length,
          extra: {
            images: c.n,
            batch: c.batch,
            workers: row.workers,
            resample: row.resample,
            source: c.source,
            views,
            ...(row.workers ? { poolStartupMs: Math.round(startupMs) } : {}),
            cpu_ms_per_image: Math.round(median(smnCpu.get(row.key)!) * 100) / 100,
            ...(py && py.length
              ? {
                  pytorch_images_per_s: Math.round(median(py) * 10) / 10,
                  pytorch_n: py.length,
                  ratio: Math.round((median(py) / m) * 100) / 100,
                  pytorch_cpu_ms_per_image: Math.round(median(pyCpu.get(`${c.name}-w${row.workers}`)!) * 100) / 100,
                  cpu_ratio: Math.round((median(smnCpu.get(row.key)!) / median(pyCpu.get(`${c.name}-w${row.workers}`)!)) * 100) / 100,
                }
              : pyReason
                ? { pytorch: pyReason }
                : {}),
          },
        });
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
