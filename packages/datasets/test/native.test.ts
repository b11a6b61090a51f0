// The fast path (`resample: 'fast'`, libvips through sharp) against the PIL-exact JavaScript path (`resample: 'pil'`,
// whose resampling matches Pillow: transforms.test.ts) on real images: the embedded Fashion-MNIST images upscaled
// PIL-exactly to 320², Debian's Fashion-MNIST when installed, and photo-like JPEGs made here. The numbers are the
// ones docs/experiments.md#data-pipelines-vs-torchvision states.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import {
  compilePreset,
  createLoader,
  gaussianBlur,
  decodeImage,
  DEBIAN_FASHION_MNIST,
  encodeImage,
  loadDataset,
  randomResizedCropBox,
  resampleBox,
  resize,
  sampleRng,
  type Batch,
  type Interpolation,
  type PresetSpec,
  type RawImage,
  type TransformOutput,
} from '../src/index.js';
import { NATIVE_MIN_BLUR, NATIVE_MIN_SIZE, nativeBlur, nativeResizedCrop } from '../src/native.js';
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

/** Mean and max absolute difference of two byte arrays. */
function diff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > m) m = d;
  }
  return { mean: s / a.length, max: m };
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

describe('the fast path against the PIL-exact path', () => {
  it('resized crops (shrinking to 224 and 128 px): mean abs difference ≤ 0.5, max ≤ 8 levels of 255', async () => {
    const rows: string[] = [];
    for (const { name, images } of sets) {
      for (const interp of ['bilinear', 'bicubic'] as Interpolation[]) {
        let sum = 0;
        let count = 0;
        let max = 0;
        const rng = createRng(11);
        for (const img of images) {
          for (const size of [224, 128]) {
            for (let k = 0; k < 6; k++) {
              const box = randomResizedCropBox(img.height, img.width, [0.3, 1], [3 / 4, 4 / 3], rng);
              if (box.width < size || box.height < size) continue; // upsampling stays in JavaScript, exactly
              const d = diff((await nativeResizedCrop(img, box, size, size, interp)).data, resampleBox(img, box, size, size, interp, true).data);
              sum += d.mean;
              count++;
              max = Math.max(max, d.max);
            }
          }
        }
        expect(count).toBeGreaterThan(4);
        const mean = sum / count;
        rows.push(`${name}, ${interp}: ${count} crops, mean |Δ| ${mean.toFixed(3)}, max |Δ| ${max}`);
        expect(mean, `${name} ${interp}`).toBeLessThanOrEqual(0.5);
        expect(max, `${name} ${interp}`).toBeLessThanOrEqual(8);
      }
    }
    console.log(rows.join('\n'));
  });

  it(`Gaussian blur (radius ${NATIVE_MIN_BLUR}–2, multicrop's range): mean abs difference ≤ 0.5, max ≤ 8 levels`, async () => {
    const rows: string[] = [];
    for (const { name, images } of sets) {
      let sum = 0;
      let count = 0;
      let max = 0;
      for (const img of images) {
        const x = resampleBox(img, { top: 0, left: 0, height: img.height, width: img.width }, 224, 224, 'bilinear');
        for (const r of [NATIVE_MIN_BLUR, 0.5, 1, 1.5, 2]) {
          const d = diff((await nativeBlur(x, r)).data, gaussianBlur(x, r).data);
          sum += d.mean;
          count++;
          max = Math.max(max, d.max);
        }
      }
      rows.push(`${name}, blur: ${count} images, mean |Δ| ${(sum / count).toFixed(3)}, max |Δ| ${max}`);
      expect(sum / count, name).toBeLessThanOrEqual(0.5);
      expect(max, name).toBeLessThanOrEqual(8);
    }
    console.log(rows.join('\n'));
  });

  it('whole presets at 224 px: the same draws; normalised outputs within 0.5 levels on average', async () => {
    const specs: PresetSpec[] = [
      { preset: 'supervised', size: 224 },
      { preset: 'supervised', size: 224, scale: [0.3, 1] },
      { preset: 'eval', size: 224, resize: 256 },
      { preset: 'multicrop' },
    ];
    const rows: string[] = [];
    for (const spec of specs) {
      const pil = compilePreset({ ...spec, resample: 'pil' });
      const fast = compileSampleTransform(spec);
      let sum = 0;
      let n = 0;
      let max = 0;
      for (const { images } of sets) {
        for (let i = 0; i < images.length; i++) {
          const a = views(pil(images[i]!, sampleRng(0, 0, i)));
          const b = views(await fast(images[i]!, sampleRng(0, 0, i)));
          expect(b.map((v) => v.length)).toEqual(a.map((v) => v.length));
          // Normalised values back in levels of 255: (x·std + mean)·255; std ≤ 0.28, so one level is ≥ 1/(255·0.28).
          for (let v = 0; v < a.length; v++) {
            for (let j = 0; j < a[v]!.length; j++) {
              const d = Math.abs(a[v]![j]! - b[v]![j]!) * 255 * 0.27;
              sum += d;
              max = Math.max(max, d);
            }
            n += a[v]!.length;
          }
        }
      }
      rows.push(`${JSON.stringify(spec)}: mean |Δ| ${(sum / n).toFixed(3)} levels, max ${max.toFixed(1)}`);
      expect(sum / n, JSON.stringify(spec)).toBeLessThanOrEqual(0.5);
    }
    console.log(rows.join('\n'));
  });

  it(`below ${NATIVE_MIN_SIZE} px and when upsampling (CIFAR → 224; blur aside) the fast path is PIL-exact, bit for bit`, async () => {
    const rng = createRng(5);
    const cifar: RawImage = { data: Uint8Array.from({ length: 32 * 32 * 3 }, () => rng.int(256)), width: 32, height: 32 };
    const cases: [PresetSpec, RawImage][] = [
      [{ preset: 'supervised', size: 224 }, cifar],
      [{ preset: 'supervised', size: 224, scale: [0.14, 1] }, cifar],
      [{ preset: 'multicrop', blurP: 0 }, cifar],
      [{ preset: 'multicrop', size: 32 }, sets[0]!.images[0]!],
      [{ preset: 'supervised', size: 32, scale: [0.2, 1] }, sets[0]!.images[1]!],
      [{ preset: 'eval', size: 96 }, sets[0]!.images[2]!],
    ];
    for (const [spec, img] of cases) {
      const pil = compilePreset(spec);
      const fast = compileSampleTransform(spec);
      for (let i = 0; i < 6; i++) {
        const a = views(pil(img, sampleRng(1, 2, i)));
        const b = views(await fast(img, sampleRng(1, 2, i)));
        expect(b.length).toBe(a.length);
        for (let v = 0; v < a.length; v++) expect(firstDifference(a[v]!, b[v]!), `${JSON.stringify(spec)} sample ${i} view ${v}`).toBe(-1);
      }
    }
  });

  it('rejects an unknown resample mode as a usage error', () => {
    expect(() => compileSampleTransform({ preset: 'eval', resample: 'lanczos' as 'pil' })).toThrow(/resample must be one of fast, pil/);
  });
});

describe('the fast path in the loader', () => {
  const root = mkdtempSync(join(tmpdir(), 'smn-native-'));
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
