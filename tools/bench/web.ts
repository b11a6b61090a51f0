// Bench area `web`: the page of `smn web` (tools/web-demo) in Debian's headless chromium, per tfjs backend that works
// there (cpu, wasm, and webgl on SwiftShader, i.e. software, as no GPU is assumed): time to first prediction (page
// navigation to the first gallery image classified: backend start, base download and parse, first task's download,
// checks and mask application), mask switch time (applying an already-downloaded task's mask to the shared weights,
// BatchNorm statistics and head included), first download + checks of a task, and images/s over the gallery.
//
// The web folder is `SMN_BENCH_WEB_DIR` when set (e.g. the quickstart's export: `smn web export ... --out web`), else a
// synthetic one written here: the embedded backbone, two tasks with random masks (99% kept) and random heads over
// it, 1,000 embedded test images; times do not depend on what a mask learnt. Runnable alone:
// `pnpm tsx tools/bench/web.ts [--quick]`.
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRng } from '../../packages/core/src/index.js';
import { useBackend } from '../../packages/backend/src/index.js';
import { loadDataset, normStats } from '../../packages/datasets/src/index.js';
import { encodeSafetensors, loadResNet, resnetStateDict } from '../../packages/models/src/index.js';
import { encodeMasks } from '../../packages/subnetworks/src/index.js';
import { EMBEDDED_BACKBONE, WEB_FILES, type WebManifest, type WebTask } from '../../packages/train/src/index.js';
import { startWebServer } from '../../packages/cli/src/web-server.js';
import { ensureWebPage } from '../../packages/cli/src/web-page.js';
import { findChromium, launch, openDemo, type PageSmn } from '../web-demo/test/_browser.js';
import { median, type BenchOptions, type BenchResult } from './_harness.js';

/** Writes a synthetic web folder (the layout of packages/train/src/web-export.ts) into `dir`. */
async function syntheticWebFolder(dir: string, images: number): Promise<void> {
  await useBackend('cpu');
  const model = await loadResNet(EMBEDDED_BACKBONE, { numClasses: 0 });
  const base = encodeSafetensors(resnetStateDict(model));
  writeFileSync(join(dir, WEB_FILES.base), base);
  const names = [...model.params.keys()].filter((n) => n.includes('conv') || n.includes('downsample.0'));
  const rng = createRng(0);
  const C = 10;
  const tasks: WebTask[] = [];
  for (const id of ['random-a', 'random-b']) {
    mkdirSync(join(dir, WEB_FILES.tasks, id), { recursive: true });
    const masks = new Map(names.map((n) => {
      const p = model.params.get(n)!;
      return [n, { shape: p.shape, values: Uint8Array.from({ length: p.size }, () => (rng.next() < 0.99 ? 1 : 0)) }];
    }));
    const { bytes, header } = await encodeMasks(masks, { baseParams: new Map(names.map((n) => [n, model.params.get(n)!])), compress: 'gzip' });
    const maskFile = `${WEB_FILES.tasks}/${id}/${WEB_FILES.taskMasks}`;
    writeFileSync(join(dir, maskFile), bytes);
    const W = Float32Array.from({ length: model.featureDim * C }, () => rng.next() - 0.5);
    const head = encodeSafetensors(new Map([
      ['head.weight', { shape: [model.featureDim, C], dtype: 'float32' as const, data: W }],
      ['head.bias', { shape: [C], dtype: 'float32' as const, data: new Float32Array(C) }],
    ]));
    const headFile = `${WEB_FILES.tasks}/${id}/${WEB_FILES.taskHead}`;
    writeFileSync(join(dir, headFile), head);
    const layers = [...masks].map(([name, m]) => ({ name, kept: m.values.reduce((a, v) => a + v, 0), total: m.values.length }));
    const weights = layers.reduce((a, l) => a + l.total, 0);
    tasks.push({
      id, run: id, method: 'random mask', headKind: 'linear', classes: Array.from({ length: C }, (_, i) => `class ${i}`), accuracy: NaN, accuracyKey: '',
      masks: { file: maskFile, bytes: bytes.length, baseHash: header.baseHash, scale: true, weights, kept: layers.reduce((a, l) => a + l.kept, 0) / weights, layers },
      head: { file: headFile, bytes: head.length, inFeatures: model.featureDim, numClasses: C, bnTensors: [], bnFloats: 0 },
      taskBytes: bytes.length + head.length,
      galleryLabels: null,
    });
  }
  const ds = await loadDataset('embedded', { split: 'test' });
  const s = 28;
  const px = new Uint8Array(images * s * s);
  for (let i = 0; i < images; i++) {
    const d = (await ds.read(i)).data;
    for (let p = 0; p < s * s; p++) px[i * s * s + p] = d[3 * p]!;
  }
  writeFileSync(join(dir, WEB_FILES.gallery), px);
  const params = [...model.params.values()].reduce((a, t) => a + t.size, 0);
  const norm = normStats('clip');
  const manifest: WebManifest = {
    format: 'smn-web', version: 1, createdAt: new Date().toISOString(),
    base: { file: WEB_FILES.base, bytes: base.length, dtype: 'float32', sha256: '', source: 'embedded-backbone.safetensors', sourceSha256: '', arch: { kind: 'resnet', depth: 18, width: 16, stem: 'imagenet' }, featureDim: model.featureDim, inputSize: s, norm: { mean: [...norm.mean], std: [...norm.std] }, params, fineTunedBytes: 4 * params },
    gallery: { file: WEB_FILES.gallery, count: images, height: s, width: s, channels: 1, dataset: 'embedded', classes: ds.classes, labels: Array.from(ds.labels.subarray(0, images)) },
    tasks,
  };
  writeFileSync(join(dir, WEB_FILES.manifest), JSON.stringify(manifest));
  model.dispose();
}

const stat = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  if (!findChromium()) {
    console.log('web: skipped: `which chromium` found no Chromium (apt-get install chromium)');
    return [];
  }
  const tmp = mkdtempSync(join(tmpdir(), 'smn-bench-web-'));
  try {
    let dir = process.env.SMN_BENCH_WEB_DIR;
    if (!dir) {
      dir = join(tmp, 'web');
      mkdirSync(dir);
      await syntheticWebFolder(dir, 1000);
    }
    if (!existsSync(join(dir, 'index.html'))) {
      const { cpSync } = await import('node:fs');
      cpSync(ensureWebPage(), dir, { recursive: true });
    }
    const server = await startWebServer({ dir });
    const results: BenchResult[] = [];
    try {
      for (const backend of ['cpu', 'wasm', 'webgl']) {
        const webgl = backend === 'webgl';
        const browser = await launch(webgl);
        try {
          const { page } = await openDemo(browser, `${server.url}?backend=${backend}`);
          const r = await page.evaluate(async ({ quick, slow }) => {
            const s = (globalThis as unknown as { smn: PageSmn & { demo: { manifest: WebManifest; classifyGallery(from: number, to: number): Promise<unknown> } } }).smn;
            const ids = s.demo.manifest.tasks.map((t) => t.id);
            const first = s.firstPredictionMs!;
            const download: number[] = [];
            const apply: number[] = [];
            // The first pick of each other task downloads and checks it; later picks only apply (files cached).
            for (const id of ids.slice(1)) download.push((await s.pick(id)).loadMs!);
            const switches = quick ? 4 : 10;
            for (let i = 0; i < switches; i++) apply.push((await s.pick(ids[i % ids.length]!)).applyMs!);
            const n = Math.min(s.demo.manifest.gallery!.count, quick ? (slow ? 50 : 200) : slow ? 200 : 1000);
            await s.demo.classifyGallery(0, Math.min(n, 50)); // warm-up (kernels, shaders)
            const rates: number[] = [];
            for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
              const t0 = performance.now();
              await s.demo.classifyGallery(0, n);
              rates.push((1000 * n) / (performance.now() - t0));
            }
            return { first, download, apply, rates, n, backend: s.demo.backend.name };
          }, { quick: opts.quick, slow: webgl || backend === 'cpu' });
          if (r.backend !== backend) {
            console.log(`web: ${backend}: the page started ${r.backend} instead; skipped`);
            continue;
          }
          const extra = { browser: browser.version(), webFolder: process.env.SMN_BENCH_WEB_DIR ?? 'synthetic', ...(webgl ? { note: 'SwiftShader (software WebGL), no GPU' } : {}) };
          results.push({ name: 'web first prediction', backend, unit: 'ms', ...stat([r.first]), extra });
          results.push({ name: 'web task first download + checks', backend, unit: 'ms', ...stat(r.download), extra });
          results.push({ name: 'web mask switch (apply)', backend, unit: 'ms', ...stat(r.apply), extra });
          results.push({ name: 'web classify', backend, unit: 'images/s', ...stat(r.rates), extra: { ...extra, images: r.n } });
          console.log(`web ${backend}: first prediction ${r.first.toFixed(0)} ms, switch ${median(r.apply).toFixed(1)} ms, ${median(r.rates).toFixed(0)} images/s`);
        } catch (err) {
          console.log(`web: ${backend}: skipped: ${String((err as Error).message ?? err).split('\n')[0]}`);
        } finally {
          await browser.close();
        }
      }
    } finally {
      await server.close();
    }
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const res = await run({ quick: process.argv.includes('--quick'), backend: 'auto' });
  console.log(JSON.stringify(res, null, 2));
}
