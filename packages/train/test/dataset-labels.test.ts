// main.dataset_labels (packages/train/src/experiment/data.ts, loadRunData): a label grouping of @smn/datasets
// (label-groups.ts) applied to both splits before any subset, on the embedded data and on a tiny MNIST written here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, loadDataset } from '@smn/datasets';
import { loadRunData, resolveConfig } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'smn-dataset-labels-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cfgOf = (overrides: string[]) => resolveConfig({ configName: 'submask', overrides: ['model.pret.name=embedded', 'main.download=0', ...overrides] }).config;
const GROUPS = ['upper body', 'lower body and dresses', 'footwear', 'bag'];

/** An uncompressed IDX file: magic (0, 0, type 0x08 = ubyte, number of dims), big-endian dims, data. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint8(2, 0x08);
  head.setUint8(3, dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.byteLength + data.length);
  out.set(new Uint8Array(head.buffer));
  out.set(data, head.byteLength);
  return out;
}

describe('main.dataset_labels', () => {
  it('coarse: both splits of embedded (and multicrop_embedded) get the 4 groups; dataset_subset_labels then counts in groups', async () => {
    for (const dataset of ['embedded', 'multicrop_embedded']) {
      const data = await loadRunData(cfgOf([`main.dataset=${dataset}`, 'main.dataset_labels=coarse']), 28, false);
      expect(data.numClasses).toBe(4);
      expect(data.train.classes).toEqual(GROUPS);
      expect(data.test.classes).toEqual(GROUPS);
      expect(data.trainIndices.length).toBe(data.train.length);
    }
    const fine = await loadDataset('embedded', { split: 'train' });
    const bags = fine.labels.filter((l) => l === FASHION_MNIST_CLASSES.indexOf('Bag')).length;
    const bag = await loadRunData(cfgOf(['main.dataset=embedded', 'main.dataset_labels=coarse', 'main.dataset_subset_labels=3']), 28, false);
    expect(bag.trainIndices.length).toBe(bags);
    expect(Array.from(bag.trainIndices, (i) => bag.train.labels[i])).toEqual(new Array(bags).fill(3));
    const plain = await loadRunData(cfgOf(['main.dataset=embedded']), 28, false);
    expect(plain.train.classes).toEqual(FASHION_MNIST_CLASSES);
  });

  it('coarse on a dataset whose classes it does not group (MNIST) is a usage error naming the key and the dataset', async () => {
    const dir = join(tmp, 'data', 'mnist');
    mkdirSync(dir, { recursive: true });
    for (const prefix of ['train', 't10k']) {
      writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idx([2, 28, 28], new Uint8Array(2 * 28 * 28)));
      writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([2], Uint8Array.of(0, 7)));
    }
    const cfg = cfgOf(['main.dataset=mnist', `main.data_root=${join(tmp, 'data')}`, 'main.dataset_labels=coarse']);
    await expect(loadRunData(cfg, 28, false)).rejects.toMatchObject({
      code: 'SMN_DATA_USAGE',
      kind: 'usage',
      message: expect.stringMatching(/^dataset_labels 'coarse' \(.*\) does not fit dataset 'mnist'/),
    });
    // The same files without the key load as MNIST.
    expect((await loadRunData(cfgOf(['main.dataset=mnist', `main.data_root=${join(tmp, 'data')}`]), 28, false)).numClasses).toBe(10);
  });
});
