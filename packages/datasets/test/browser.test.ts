// The browser entry of @smn/datasets: no Node built-in and no sharp in its import graph, the same functions as the
// Node entry, and the same pixels computed in a context with a web worker's globals (WebAssembly, atob; no process,
// Buffer or require) as in Node.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import { bundleBrowserEntry, loadInBrowserContext, type BrowserBundle } from '../../core/test/_browser-bundle.js';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import type { PresetSpec, RawImage, TransformOutput } from '../src/index.js';

let bundle: BrowserBundle;
beforeAll(async () => {
  bundle = await bundleBrowserEntry('datasets');
});

/** A photo-like image: low-frequency waves and seeded noise. */
function photo(w: number, h: number, seed: number): RawImage {
  const rng = createRng(seed);
  const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => {
    const x = Math.floor(i / 3) % w;
    const y = Math.floor(i / 3 / w);
    return Math.max(0, Math.min(255, Math.round(128 + 90 * Math.sin(x * 0.03 * ((i % 3) + 1) + y * 0.05) + rng.uniform(-25, 25))));
  });
  return { data, width: w, height: h };
}

const views = (o: TransformOutput): number[][] => ('view' in o ? [Array.from(o.view)] : o.crops.map((c) => Array.from(c.data)));

describe('the browser entry of @smn/datasets', () => {
  it('bundles for the browser with no Node built-in and no sharp anywhere in its import graph', () => {
    expect(bundle.problems).toEqual([]);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs).toContain('packages/datasets/src/kernels/pixels-wasm.ts');
    expect(bundle.inputs.filter((f) => f.includes('sharp') || f.endsWith('decode.ts') || f.endsWith('loader.ts') || f.endsWith('core/src/index.ts'))).toEqual([]);
  });

  it('exports a subset of the Node entry, the very same functions', () => {
    const names = Object.keys(browser);
    expect(names.filter((n) => !(n in node))).toEqual([]);
    for (const n of names) expect((node as Record<string, unknown>)[n], n).toBe((browser as Record<string, unknown>)[n]);
    expect(Object.keys(node).filter((n) => !(n in browser)).sort()).toMatchInlineSnapshot(`
      [
        "CIFAR10_CLASSES",
        "DEBIAN_FASHION_MNIST",
        "EMBEDDED_DIR",
        "FASHION_MNIST_CLASSES",
        "IMAGE_EXTENSIONS",
        "MNIST_CLASSES",
        "cifarBinaryDataset",
        "cifarFiles",
        "cifarPythonDataset",
        "clusterSubset",
        "createLoader",
        "createWorkerPool",
        "datasetNames",
        "decodeImage",
        "detectCifar",
        "encodeImage",
        "epochOrder",
        "fileListDataset",
        "idxDataset",
        "imageFolderDataset",
        "jsonSplitDataset",
        "labelSubset",
        "loadDataset",
        "maxWorkers",
        "parseIdx",
        "parseSubsetSpec",
        "previewGrid",
        "readClusterIds",
        "readIdx",
        "readMaybeGzip",
        "subsetIndices",
        "subsetSize",
        "toRgb",
      ]
    `);
  });
});

describe('pixels without Node (a web worker context)', () => {
  it('resized crops, blurs and whole presets are the same numbers as in Node', () => {
    const smn = loadInBrowserContext(bundle);
    const img = photo(200, 150, 3);
    const box = { top: 10, left: 20, height: 120, width: 110 };
    const bytes = (x: { data: Uint8Array }) => Array.from(x.data);
    expect(bytes(smn.resampleBox(img, box, 64, 64, 'bicubic', true))).toEqual(bytes(node.resampleBox(img, box, 64, 64, 'bicubic', true)));
    expect(bytes(smn.resizeCrop(img, 96, 128, { top: 4, left: 9, height: 80, width: 80 }))).toEqual(bytes(node.resizeCrop(img, 96, 128, { top: 4, left: 9, height: 80, width: 80 })));
    expect(bytes(smn.gaussianBlur(img, 1.7))).toEqual(bytes(node.gaussianBlur(img, 1.7)));
    const specs: PresetSpec[] = [{ preset: 'supervised', size: 64, scale: [0.3, 1] }, { preset: 'eval', size: 64, resize: 72 }, { preset: 'multicrop', crops: [{ count: 2, size: 64, scale: [0.3, 1] }, { count: 2, size: 24, scale: [0.05, 0.3] }] }];
    for (const spec of specs) {
      const there = smn.compileSampleTransform(spec);
      const here = node.compileSampleTransform(spec);
      for (let i = 0; i < 3; i++) expect(views(there(img, smn.sampleRng(5, 1, i))), `${spec.preset} sample ${i}`).toEqual(views(here(img, node.sampleRng(5, 1, i))));
    }
  });
});
