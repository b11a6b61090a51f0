// The fused path (`resample: 'fast'`: jitter through byte tables, the tail of pixel steps in one pass) against the
// step-by-step path (`resample: 'pil'`) on real images: the embedded Fashion-MNIST images upscaled to 320², Debian's
// Fashion-MNIST when installed, photo-like JPEGs made here and CIFAR-sized noise: the same bits, at every size.
// (Both resample and blur with kernels/pixels.wat, whose output is Pillow's: transforms.test.ts, kernels.test.ts.)
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import {
  compilePreset,
  createLoader,
  decodeImage,
  DEBIAN_FASHION_MNIST,
  encodeImage,
  loadDataset,
  resize,
  sampleRng,
  type Batch,
  type PresetSpec,
  type RawImage,
  type TransformOutput,
} from '../src/index.js';
import { compileSampleTransform } from '../src/presets.js';

/** A smooth photo-like image (low-frequency waves + noise), as tools/bench/datasets.ts makes. */
function photo(w: number, h: number, seed: number): RawImage {
  const rng = createRng(seed);
  const f = [rng.uniform(0.005, 0.03), rng.uniform(0.005, 0.03), rng.uniform(0, 6)];
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(x * f[0]! * (c + 1) + y * f[1]! + f[2]!) + rng.uniform(-20, 20);
        data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { data, width: w, height: h };
}

async function realImages(): Promise<{ name: string; images: RawImage[] }[]> {
  const embedded = await loadDataset('embedded', { split: 'train' });
  const up = async (ds: typeof embedded, idx: number[]) => Promise.all(idx.map(async (i) => resize(await ds.read(i), 320, 320, 'bicubic')));
  const sets = [{ name: 'embedded Fashion-MNIST → 320²', images: await up(embedded, [0, 1, 2, 3, 4, 5]) }];
  if (existsSync(DEBIAN_FASHION_MNIST)) {
    const debian = await loadDataset('fashion_mnist', { split: 'test', dataRoot: '/nonexistent' });
    sets.push({ name: 'Debian Fashion-MNIST → 320²', images: await up(debian, [0, 1000, 2000, 3000]) });
  }
  const jpegs: RawImage[] = [];
  for (let i = 0; i < 4; i++) jpegs.push(await decodeImage(await encodeImage(photo(500, 375, i), 'jpeg', 90)));
  sets.push({ name: 'JPEG 500×375', images: jpegs });
  return sets;
}

const sets = await realImages();

describe('the fused path against the step-by-step path', () => {
  it('whole presets from 32 to 224 px, up- and downsampling, blur included: the same bits', async () => {
    const rng = createRng(5);
    const cifar: RawImage = { data: Uint8Array.from({ length: 32 * 32 * 3 }, () => rng.int(256)), width: 32, height: 32 };
    const specs: PresetSpec[] = [
      { preset: 'supervised', size: 224 },
      { preset: 'supervised', size: 224, scale: [0.14, 1] },
      { preset: 'supervised', size: 32, scale: [0.2, 1], interpolation: 'bilinear' },
      { preset: 'eval', size: 224, resize: 256 },
      { preset: 'eval', size: 96 },
      { preset: 'multicrop' },
      { preset: 'multicrop', size: 32 },
    ];
    const images = [...sets.flatMap((s) => s.images), cifar];
    let compared = 0;
    for (const spec of specs) {
      const stepByStep = compilePreset({ ...spec, resample: 'pil' });
      const fused = compileSampleTransform(spec);
      for (let i = 0; i < images.length; i++) {
        const a = views(stepByStep(images[i]!, sampleRng(1, 2, i)));
        const b = views(await fused(images[i]!, sampleRng(1, 2, i)));
        expect(b.length).toBe(a.length);
        for (let v = 0; v < a.length; v++) expect(firstDifference(a[v]!, b[v]!), `${JSON.stringify(spec)} image ${i} view ${v}`).toBe(-1);
        compared += a.length;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('rejects an unknown resample mode as a usage error', () => {
    expect(() => compileSampleTransform({ preset: 'eval', resample: 'lanczos' as 'pil' })).toThrow(/resample must be one of fast, pil/);
  });
});

describe('the fused path in the loader', () => {
  const root = mkdtempSync(join(tmpdir(), 'smn-fused-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('gives the same batches with workers 0, 1 and 2, as transferred float32 buffers', async () => {
    for (let i = 0; i < 6; i++) {
      const d = join(root, 'train', `c${i % 2}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `${i}.jpg`), await encodeImage(photo(300, 260, i), 'jpeg', 85));
    }
    const ds = await loadDataset(`folder:${root}`, { split: 'train' });
    const spec: PresetSpec = { preset: 'multicrop', crops: [{ count: 1, size: 160, scale: [0.5, 1] }, { count: 2, size: 48, scale: [0.05, 0.3] }] };
    const run = async (workers: number) => {
      const out: Batch[] = [];
      for await (const b of createLoader(ds, { batchSize: 4, seed: 9, epoch: 1, transform: spec, workers })) out.push(b);
      return out;
    };
    const w0 = await run(0);
    expect(await run(1)).toEqual(w0);
    expect(await run(2)).toEqual(w0);
    expect(w0.length).toBe(2);
  });
});

/** The first index where two arrays differ (-1: equal, or the shorter length when only the lengths differ). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

function views(o: TransformOutput): Float32Array[] {
  return 'view' in o ? [o.view] : o.crops.map((c) => c.data);
}
