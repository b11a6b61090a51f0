// Bench area `pixels`: CPU time per call of @smn/datasets' pixel kernels (PIL's resampling and Gaussian blur in
// WebAssembly SIMD, packages/datasets/src/kernels/pixels.wat) beside Pillow doing the same on the same pixels
// (tools/bench/pixels_ref.py): crops of a 500×375 photo-like image shrunk to 224 and 96 px (bilinear, bicubic), a
// CIFAR-sized crop enlarged to 224, and GaussianBlur of 224² and 96² crops, the steps of the paper's 224 px pipelines.
// Each value is the median over repetitions of the mean CPU time of `iters` calls (one thread on each side).
// ratio = smn ÷ PIL (at most 1: smn is at least as fast); same_pixels: whether both outputs hash alike.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaussianBlur, resampleBox, type Interpolation, type RawImage } from '../../packages/datasets/src/index.js';
import { median, runPython, type BenchOptions, type BenchResult } from './_harness.js';
import { photo } from './datasets.js';

/** tools/bench/datasets.ts's photo-like image (low-frequency waves and noise), so crops look like photographs. */
function photoImage(w: number, h: number, seed: number): RawImage {
  return { data: photo(w, h, seed), width: w, height: h };
}

interface Case {
  name: string;
  img: RawImage;
  op: 'crop' | 'blur';
  box?: [number, number, number, number];
  size?: number;
  interp?: Interpolation;
  radius?: number;
}

function call(c: Case): () => Uint8Array {
  if (c.op === 'crop') {
    const [top, left, height, width] = c.box!;
    return () => resampleBox(c.img, { top, left, height, width }, c.size!, c.size!, c.interp, true).data;
  }
  return () => gaussianBlur(c.img, c.radius!).data;
}

function cpuMsPerCall(f: () => unknown, iters: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < iters; i++) f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / iters;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const reps = opts.quick ? 2 : 5;
  const iters = opts.quick ? 20 : 100;
  const dir = mkdtempSync(join(tmpdir(), 'smn-bench-pixels-'));
  try {
    const big = photoImage(500, 375, 1);
    const small = photoImage(32, 32, 2);
    const crop224 = resampleBox(big, { top: 10, left: 40, height: 300, width: 300 }, 224, 224, 'bilinear', true);
    const crop96 = resampleBox(big, { top: 10, left: 40, height: 130, width: 130 }, 96, 96, 'bilinear', true);
    const cases: Case[] = [
      { name: 'crop-500x375-to-224-bilinear', img: big, op: 'crop', box: [20, 30, 300, 280], size: 224, interp: 'bilinear' },
      { name: 'crop-500x375-to-224-bicubic', img: big, op: 'crop', box: [20, 30, 300, 280], size: 224, interp: 'bicubic' },
      { name: 'crop-500x375-to-96-bilinear', img: big, op: 'crop', box: [20, 30, 130, 120], size: 96, interp: 'bilinear' },
      { name: 'crop-32x32-to-224-bilinear', img: small, op: 'crop', box: [2, 3, 28, 27], size: 224, interp: 'bilinear' },
      { name: 'blur-224-radius-1', img: crop224, op: 'blur', radius: 1 },
      { name: 'blur-224-radius-2', img: crop224, op: 'blur', radius: 2 },
      { name: 'blur-96-radius-1', img: crop96, op: 'blur', radius: 1 },
    ];
    const files = new Map<RawImage, string>();
    const fileOf = (img: RawImage) => {
      if (!files.has(img)) {
        const f = join(dir, `img${files.size}.rgb`);
        writeFileSync(f, img.data);
        files.set(img, f);
      }
      return files.get(img)!;
    };
    const ref = runPython<{ results: { name: string; cpu_ms: number[]; sha256: string }[] }>('pixels_ref.py', {
      reps,
      iters,
      cases: cases.map((c) => ({ name: c.name, file: fileOf(c.img), height: c.img.height, width: c.img.width, op: c.op, box: c.box, size: c.size, interp: c.interp, radius: c.radius })),
    });
    if (!ref.ok) console.warn(`pixels: no PIL reference (${ref.reason})`);
    const results: BenchResult[] = [];
    for (const c of cases) {
      const f = call(c);
      const sha = createHash('sha256').update(f()).digest('hex');
      for (let i = 0; i < 10; i++) f();
      const ms = Array.from({ length: reps }, () => cpuMsPerCall(f, iters));
      const pil = ref.ok ? ref.value.results.find((r) => r.name === c.name) : undefined;
      const m = median(ms);
      results.push({
        name: c.name,
        backend: 'wasm-simd',
        unit: 'cpu ms/call',
        median: m,
        min: Math.min(...ms),
        max: Math.max(...ms),
        n: ms.length,
        extra: pil
          ? { pil_cpu_ms: Math.round(median(pil.cpu_ms) * 1000) / 1000, ratio: Math.round((m / median(pil.cpu_ms)) * 100) / 100, same_pixels: pil.sha256 === sha }
          : { pil: ref.ok ? 'case missing' : ref.reason },
      });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
