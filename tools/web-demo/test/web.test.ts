// The page in a real browser: tiny runs on the embedded data and backbone (trained once for this file), exported by
// `smn web export`, served by the same server code as `smn web serve`, driven in headless chromium. The page's
// predictions on the 1,000 embedded test images must be the runs' own: argmax of their saved test features
// (embeddings/, computed in Node by the run's final test) times the exported head; only near-ties may differ.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { readNpy } from '@smn/core';
import { createResNet, encodeSafetensors, parseSafetensors } from '@smn/models';
import { encodeMasks } from '@smn/subnetworks';
import { centerCropBox, encodeImage, loadDataset, resize, resizeCrop, shorterSideSize } from '@smn/datasets';
import { EMBEDDED_BACKBONE, resolveConfig, runExperiment, runPaths, WEB_FILES, type WebManifest } from '@smn/train';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../../../packages/cli/test/_cli.js';
import { startWebServer, type WebServer } from '../../../packages/cli/src/web-server.js';
import { findChromium, launch, NO_CHROMIUM, openDemo, type PageSmn } from './_browser.js';

const CHROMIUM = findChromium();
const COMMON = ['main.dataset=embedded', 'model.pret.name=embedded', 'main.dataset_subset=10p', 'main.update_bn=1', 'dl.batch_size=50'];
/** A Node top-2 logit gap below this is a float tie: another backend's rounding may pick the other class. */
const TIE = 1e-3;

let tmp = '';
let web = '';
let server: WebServer | undefined;
let browser: Browser | undefined;
/** Fashion-MNIST class 0-9 → its coarse group (packages/datasets/src/label-groups.ts): upper body 0, lower body and dresses 1, footwear 2, bag 3. */
const COARSE = [0, 1, 0, 1, 0, 2, 0, 2, 3, 2];
const runs: Record<'a' | 'b' | 'probe' | 'coarse', string> = { a: '', b: '', probe: '', coarse: '' };
/** The run folder of a task of the manifest (its id is the folder's name). */
const TASK_RUN = { 'mask-a': 'a', 'mask-b': 'b', probe: 'probe', 'mask-coarse': 'coarse' } as const;
const runOf = (id: string) => runs[TASK_RUN[id as keyof typeof TASK_RUN]];

async function train(name: string, configName: string, overrides: string[]): Promise<string> {
  const r = resolveConfig({ configName, overrides: [...COMMON, ...overrides] });
  const runDir = join(tmp, name);
  const res = await runExperiment({ config: r.config, runDir, overrides: r.overrides });
  expect(res.completed).toBe(true);
  return runDir;
}

/** The run's own predictions: its saved test features (Node, the run's final test) through the exported head, and each row's top-2 gap. */
async function nodePredictions(runDir: string, headFile: string): Promise<{ predictions: number[]; gaps: number[]; labels: number[] }> {
  const f = await readNpy(runPaths(runDir).embeddings.testRaw);
  const labels = Array.from((await readNpy(runPaths(runDir).embeddings.testLabels)).data as Int32Array);
  const head = parseSafetensors(readFileSync(headFile)).tensors;
  const W = head.get('head.weight')!;
  const b = head.get('head.bias')!;
  const [N, D] = f.shape as [number, number];
  const C = b.shape[0]!;
  const x = f.data as Float32Array;
  const predictions: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < N; i++) {
    const l = Array.from({ length: C }, (_, c) => {
      let s = b.data[c] as number;
      for (let d = 0; d < D; d++) s += x[i * D + d]! * (W.data[d * C + c] as number);
      return s;
    });
    const order = l.map((v, c) => [v, c] as const).sort((p, q) => q[0] - p[0]);
    predictions.push(order[0]![1]);
    gaps.push(order[0]![0] - order[1]![0]);
  }
  return { predictions, gaps, labels };
}

const smn = (page: Page) => ({
  pick: (id: string) => page.evaluate((t) => (globalThis as unknown as { smn: PageSmn }).smn.pick(t), id),
  classifyAll: () => page.evaluate(async () => Array.from((await (globalThis as unknown as { smn: PageSmn }).smn.classifyAll()).predictions)),
  active: () => page.evaluate(() => (globalThis as unknown as { smn: PageSmn }).smn.demo.active?.id ?? null),
  classes: () => page.evaluate(() => (globalThis as unknown as { smn: PageSmn }).smn.demo.active?.classes ?? null),
  backend: () => page.evaluate(() => (globalThis as unknown as { smn: PageSmn }).smn.demo.backend.name),
});

describe('smn web', () => {
  beforeAll(async () => {
    // wasm, not cpu: the three tiny runs train in seconds instead of minutes on 2 shared cores.
    await useBackend('wasm');
    tmp = mkdtempSync(join(tmpdir(), 'smn-web-'));
    web = join(tmp, 'web');
    // Two supervised masks on the same base (different seeds and learning rates: different classifiers), and the
    // linear probe of the unmasked backbone (a task with no mask; main.update_bn=0 keeps the base statistics).
    runs.a = await train('mask-a', 'submask', ['dl.epochs=1', 'dl.scheduler=cosine', 'main.seed=0']);
    runs.b = await train('mask-b', 'submask', ['dl.epochs=1', 'dl.scheduler=cosine', 'main.seed=1', 'dl.lr=20']);
    runs.probe = await train('probe', 'baseline', ['main.train=0', 'main.probe=1', 'main.update_bn=0']);
    // A second task on the same base: Fashion-MNIST's 10 classes grouped as 4 (main.dataset_labels=coarse).
    runs.coarse = await train('mask-coarse', 'submask', ['dl.epochs=1', 'dl.scheduler=cosine', 'main.seed=0', 'main.dataset_labels=coarse']);
    const r = await runCli(['--backend', 'wasm', 'web', 'export', runs.a, runs.b, runs.probe, runs.coarse, '--out', web]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    if (CHROMIUM) {
      server = await startWebServer({ dir: web });
      browser = await launch();
    }
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('exports the base once and a mask, head and BatchNorm statistics per run', () => {
    const m = JSON.parse(readFileSync(join(web, WEB_FILES.manifest), 'utf8')) as WebManifest;
    expect(m.tasks.map((t) => [t.id, t.method, t.headKind])).toEqual([
      ['mask-a', 'supervised masking', 'masked'],
      ['mask-b', 'supervised masking', 'masked'],
      ['probe', 'linear probe', 'probe'],
      ['mask-coarse', 'supervised masking', 'masked'],
    ]);
    // The coarse task ships its group names (the run's classes.json); the gallery keeps the dataset's 10 classes.
    expect(m.tasks[3]!.classes).toEqual(['upper body', 'lower body and dresses', 'footwear', 'bag']);
    expect(m.tasks[0]!.classes).toHaveLength(10);
    expect(m.gallery!.classes).toHaveLength(10);
    expect(readFileSync(join(web, m.tasks[3]!.masks!.file))).toEqual(readFileSync(runPaths(runs.coarse).masks));
    // It also ships the gallery's labels in its groups, so the page can score it; the other tasks use the gallery's.
    expect(m.tasks[3]!.galleryLabels).toEqual(m.gallery!.labels.map((l) => COARSE[l]));
    for (const t of m.tasks.slice(0, 3)) expect(t.galleryLabels).toBeNull();
    // The run's own report names the grouping beside the dataset.
    expect(readFileSync(runPaths(runs.coarse).report, 'utf8')).toContain('dataset embedded (labels: coarse)');
    expect(m.base.bytes).toBe(readFileSync(join(web, WEB_FILES.base)).length);
    for (const t of m.tasks.slice(0, 2)) {
      expect(readFileSync(join(web, t.masks!.file))).toEqual(readFileSync(runPaths(t.run === 'mask-a' ? runs.a : runs.b).masks));
      expect(t.masks!.layers.length).toBeGreaterThan(0);
      expect(t.head.bnTensors.length).toBeGreaterThan(0); // main.update_bn=1: the run's own statistics
    }
    expect(m.tasks[2]!.masks).toBeNull();
    expect(m.tasks[2]!.head.bnTensors).toEqual([]);
    expect(m.gallery!.count).toBe(1000);
    expect(readFileSync(join(web, 'index.html'), 'utf8')).toContain('<script type="module"');
  });

  it('--fp16 writes the base in float16 (half the bytes, each value its float32 one rounded), and says so', async () => {
    const out = join(tmp, 'web16');
    const r = await runCli(['--backend', 'wasm', 'web', 'export', runs.a, '--out', out, '--fp16', '--gallery', '0']);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, WEB_FILES.manifest), 'utf8')) as WebManifest;
    const m32 = JSON.parse(readFileSync(join(web, WEB_FILES.manifest), 'utf8')) as WebManifest;
    expect(m.base.dtype).toBe('float16');
    expect(m.gallery).toBeNull();
    expect(m.base.bytes / m32.base.bytes).toBeLessThan(0.51);
    const half = parseSafetensors(readFileSync(join(out, WEB_FILES.base))).tensors;
    const full = parseSafetensors(readFileSync(join(web, WEB_FILES.base))).tensors;
    expect([...half.keys()]).toEqual([...full.keys()]);
    for (const [name, t] of full) {
      if (!(t.data instanceof Float32Array)) continue;
      const h = half.get(name)!.data as Float32Array;
      // float16 keeps 11 significant bits: a relative error of at most 2^-11 (subnormals: 2^-25 absolute).
      const bad = t.data.findIndex((v, i) => Math.abs(h[i]! - v) > Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
      expect(bad, `${name}[${bad}]: ${t.data[bad]} → ${h[bad]}`).toBe(-1);
    }
  });

  describe('the page in headless chromium', () => {
    if (!CHROMIUM) {
      console.log(`web page tests skipped: ${NO_CHROMIUM}`);
      it.skip(`the page classifies as Node does (skipped: ${NO_CHROMIUM})`, () => {});
      return;
    }

    it('classifies the 1,000 test images of every task as the run does in Node; switching tasks changes predictions', async () => {
      const { page, problems } = await openDemo(browser!, `${server!.url}?backend=wasm`);
      const s = smn(page);
      expect(await s.backend()).toBe('wasm');
      const m = JSON.parse(readFileSync(join(web, WEB_FILES.manifest), 'utf8')) as WebManifest;
      const got: Record<string, number[]> = {};
      for (const t of m.tasks) {
        const picked = await s.pick(t.id);
        expect(picked.ok, picked.error).toBe(true);
        got[t.id] = await s.classifyAll();
        expect(await s.classes()).toEqual(t.classes);
        const node = await nodePredictions(runOf(t.id), join(web, t.head.file));
        const differ = got[t.id]!.map((p, i) => i).filter((i) => got[t.id]![i] !== node.predictions[i]);
        const ties = node.gaps.filter((g) => g < TIE).length;
        console.log(`${t.id}: ${differ.length} of 1000 predictions differ from Node's; ${ties} Node near-ties (top-2 gap < ${TIE})`);
        for (const i of differ) expect(node.gaps[i], `image ${i}: browser ${got[t.id]![i]}, Node ${node.predictions[i]}`).toBeLessThan(TIE);
        // The run's reported accuracy, recomputed from the page's predictions (up to the near-ties).
        const correct = got[t.id]!.filter((p, i) => p === node.labels[i]).length;
        expect(Math.abs(correct / 1000 - t.accuracy)).toBeLessThanOrEqual(differ.length / 1000 + 1e-9);
      }
      const changed = got['mask-a']!.filter((p, i) => p !== got['mask-b']![i]).length;
      console.log(`switching mask-a → mask-b changes ${changed} of 1000 predictions`);
      expect(changed).toBeGreaterThan(0);
      // The coarse task is another classifier, not mask-a's answers regrouped: 4 classes instead of 10, and on some
      // images its group differs from the group of mask-a's class (packages/datasets/src/label-groups.ts: Fashion-MNIST
      // class 0-9 → upper body 0, lower body and dresses 1, footwear 2, bag 3).
      const groupOf = (c: number) => COARSE[c]!;
      expect(Math.max(...got['mask-coarse']!)).toBeLessThan(4);
      expect(new Set(got['mask-coarse']!).size).toBeGreaterThan(1);
      expect(new Set(got['mask-a']!).size).toBeGreaterThan(4);
      const regrouped = got['mask-coarse']!.filter((p, i) => p !== groupOf(got['mask-a']![i]!)).length;
      console.log(`switching mask-a → mask-coarse: 10 → 4 classes; on ${regrouped} of 1000 images the coarse group is not the group of mask-a's class`);
      expect(regrouped).toBeGreaterThan(0);
      // The page scores the coarse task against the gallery's labels in its groups (what it shows after "classify all").
      const coarseTask = m.tasks.find((t) => t.id === 'mask-coarse')!;
      await s.pick('mask-coarse');
      const coarse = await s.classifyAll();
      const coarseCorrect = coarse.filter((p, i) => p === coarseTask.galleryLabels![i]).length;
      expect(await page.textContent('#all-result')).toContain(`${((100 * coarseCorrect) / 1000).toFixed(1)}% correct`);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('a dropped image is resized and cropped in the page with the very pixels Node computes (PIL resampling in WebAssembly)', async () => {
      const { page, problems } = await openDemo(browser!, `${server!.url}?backend=wasm`);
      // A test image at another size and aspect (56×70, RGB), as PNG: lossless, so the browser decodes these bytes.
      const test = await loadDataset('embedded', { split: 'test' });
      const src = resize(await test.read(3), 56, 70, 'bicubic');
      const png = await encodeImage(src, 'png');
      const got = await page.evaluate(async (b64) => {
        const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'dropped.png', { type: 'image/png' });
        return Array.from(await (globalThis as unknown as { smn: PageSmn & { fileToPixels(f: unknown): Promise<Uint8Array> } }).smn.fileToPixels(file));
      }, Buffer.from(png).toString('base64'));
      // The eval preset's geometry in Node, then gray (rounded luma) and the page's inversion of light backgrounds.
      const [rh, rw] = shorterSideSize(56, 70, 28);
      const x = resizeCrop(src, rh, rw, centerCropBox(rh, rw, 28, 28), 'bilinear').data;
      const gray = Array.from({ length: 28 * 28 }, (_, i) => Math.round(0.299 * x[3 * i]! + 0.587 * x[3 * i + 1]! + 0.114 * x[3 * i + 2]!));
      const border = Array.from({ length: 28 }, (_, i) => gray[i]! + gray[27 * 28 + i]! + gray[i * 28]! + gray[i * 28 + 27]!).reduce((a, b) => a + b, 0);
      expect(got).toEqual(border / (4 * 28) > 127 ? gray.map((v) => 255 - v) : gray);
      expect(new Set(got).size).toBeGreaterThan(10);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('shows an error for a corrupt or foreign mask and keeps the current task working', async () => {
      const m = JSON.parse(readFileSync(join(web, WEB_FILES.manifest), 'utf8')) as WebManifest;
      const a = m.tasks[0]!;
      // A corrupt copy of mask-a's file (one payload byte flipped), and masks of the same shapes made for other weights.
      const bytes = new Uint8Array(readFileSync(join(web, a.masks!.file)));
      bytes[bytes.length - 5]! ^= 0xff;
      cpSync(join(web, 'tasks', a.id), join(web, 'tasks', 'corrupt'), { recursive: true });
      writeFileSync(join(web, 'tasks', 'corrupt', WEB_FILES.taskMasks), bytes);
      const other = createResNet({ depth: 18, width: 16, stem: 'imagenet', numClasses: 0, seed: 7 });
      const ones = new Map(a.masks!.layers.map((l) => [l.name, { shape: other.params.get(l.name)!.shape, values: new Uint8Array(l.total).fill(1) }]));
      const foreign = (await encodeMasks(ones, { baseParams: new Map(a.masks!.layers.map((l) => [l.name, other.params.get(l.name)!])), compress: 'gzip' })).bytes;
      other.dispose();
      cpSync(join(web, 'tasks', a.id), join(web, 'tasks', 'foreign'), { recursive: true });
      writeFileSync(join(web, 'tasks', 'foreign', WEB_FILES.taskMasks), foreign);
      const retarget = (id: string) => ({ ...a, id, masks: { ...a.masks!, file: `tasks/${id}/${WEB_FILES.taskMasks}` }, head: { ...a.head, file: `tasks/${id}/${WEB_FILES.taskHead}` } });
      writeFileSync(join(web, WEB_FILES.manifest), JSON.stringify({ ...m, tasks: [...m.tasks, retarget('corrupt'), retarget('foreign')] }));

      const { page } = await openDemo(browser!, `${server!.url}?backend=wasm`);
      const s = smn(page);
      expect(await s.active()).toBe('mask-a');
      const before = await s.classifyAll();
      for (const [id, says] of [
        ['corrupt', /checksum|corrupt/i],
        ['foreign', /other base weights/],
      ] as const) {
        const r = await s.pick(id);
        expect(r.ok).toBe(false);
        const shown = await page.locator('#error').innerText();
        expect(shown).toMatch(says);
        expect(shown).toContain('Still using mask-a');
        expect(await s.active()).toBe('mask-a');
        expect(await s.classifyAll()).toEqual(before);
      }
      // A good task still switches after the failures.
      expect((await s.pick('mask-b')).ok).toBe(true);
      expect(await page.locator('#error').isHidden()).toBe(true);
      await page.close();
    });
  });

  it('smn web export refuses runs of different bases, naming both runs and hashes (exit 2)', async () => {
    // A run whose config names other weights: the embedded backbone with one weight changed.
    const sd = parseSafetensors(readFileSync(EMBEDDED_BACKBONE)).tensors;
    const w = sd.get('conv1.weight')!;
    const data = Float32Array.from(w.data as Float32Array);
    data[0]! += 1;
    sd.set('conv1.weight', { ...w, data });
    const otherWeights = join(tmp, 'other.safetensors');
    writeFileSync(otherWeights, encodeSafetensors(sd));
    const moved = join(tmp, 'mask-other');
    cpSync(runs.b, moved, { recursive: true });
    const cfg = readFileSync(join(moved, 'config.yaml'), 'utf8');
    writeFileSync(join(moved, 'config.yaml'), cfg.replace(/^(\s+)weights: .*$/m, `$1weights: ${otherWeights}`));
    expect(readFileSync(join(moved, 'config.yaml'), 'utf8')).toContain(otherWeights);
    const r = await runCli(['--backend', 'wasm', 'web', 'export', runs.a, moved, '--out', join(tmp, 'refused')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('SMN_WEB_BASE_MISMATCH');
    expect(r.err).toContain(runs.a);
    expect(r.err).toContain(moved);
    expect(r.err.match(/sha256:[0-9a-f]{64}/g)?.length).toBeGreaterThanOrEqual(2);

    // A fine-tuned run is not a task of the shared base.
    const ft = join(tmp, 'finetuned');
    cpSync(runs.a, ft, { recursive: true });
    writeFileSync(join(ft, 'config.yaml'), readFileSync(join(ft, 'config.yaml'), 'utf8').replace(/^(\s+)backbone: mask$/m, '$1backbone: train'));
    const f = await runCli(['--backend', 'wasm', 'web', 'export', ft, '--out', join(tmp, 'refused')]);
    expect(f.code).toBe(2);
    expect(f.err).toContain('SMN_WEB_RUN_UNSUPPORTED');
  });
});
