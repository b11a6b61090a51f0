// Label groupings (src/label-groups.ts) on the embedded Fashion-MNIST subset shipped with the package (2,000 train + 1,000 test).
import { describe, expect, it } from 'vitest';
import { isSmnError } from '@smn/core';
import { FASHION_MNIST_CLASSES, LABEL_GROUPINGS, LABEL_GROUPING_NAMES, groupLabels, loadDataset, type ImageDataset } from '../src/index.js';

const counts = (labels: Int32Array, C: number) => {
  const n = new Array<number>(C).fill(0);
  for (const l of labels) n[l]!++;
  return n;
};

function usageError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isSmnError(e) && e.kind === 'usage') return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a usage error');
}

describe('groupLabels', () => {
  it("coarse: the embedded data's 10 classes as 4 groups; each group counts the sum of its classes, images unchanged", async () => {
    for (const split of ['train', 'test'] as const) {
      const fine = await loadDataset('embedded', { split });
      const coarse = groupLabels(fine, 'coarse');
      expect(coarse.classes).toEqual(['upper body', 'lower body and dresses', 'footwear', 'bag']);
      expect(coarse.length).toBe(fine.length);
      const f = counts(fine.labels, 10);
      const sum = (names: string[]) => names.reduce((a, c) => a + f[FASHION_MNIST_CLASSES.indexOf(c)]!, 0);
      expect(counts(coarse.labels, 4)).toEqual([
        sum(['T-shirt/top', 'Pullover', 'Coat', 'Shirt']),
        sum(['Trouser', 'Dress']),
        sum(['Sandal', 'Sneaker', 'Ankle boot']),
        sum(['Bag']),
      ]);
      expect(counts(coarse.labels, 4).every((n) => n > 0)).toBe(true);
      // Sample by sample: fine label 9 (Ankle boot) → 2 (footwear), 8 (Bag) → 3, 1 (Trouser) → 1, 6 (Shirt) → 0.
      const to = [0, 1, 0, 1, 0, 2, 0, 2, 3, 2];
      expect(Array.from(coarse.labels)).toEqual(Array.from(fine.labels, (l) => to[l]));
      expect(await coarse.read(3)).toEqual(await fine.read(3));
      expect(coarse.ref(5)).toEqual(fine.ref(5));
      expect(coarse.imageShape).toEqual(fine.imageShape);
    }
  });

  it("every grouping covers each Fashion-MNIST class once; '' keeps the dataset", async () => {
    for (const [name, g] of Object.entries(LABEL_GROUPINGS)) {
      expect(g.groups.flatMap((x) => x.classes).sort(), name).toEqual([...FASHION_MNIST_CLASSES].sort());
    }
    expect(LABEL_GROUPING_NAMES).toEqual(['', 'coarse']);
    const fine = await loadDataset('embedded', { split: 'test' });
    expect(groupLabels(fine, '')).toBe(fine);
  });

  it('an unknown grouping, or one whose groups miss a class of the dataset, is a usage error naming it', () => {
    const digits: ImageDataset = {
      name: 'mnist',
      split: 'test',
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      length: 1,
      labels: Int32Array.of(3),
      read: async () => ({ data: new Uint8Array(3), height: 1, width: 1 }),
      ref: () => ({ kind: 'raw', image: { data: new Uint8Array(3), height: 1, width: 1 } }),
      source: 'none',
    };
    const unknown = usageError(() => groupLabels(digits, 'fine'));
    expect(unknown.code).toBe('SMN_DATA_USAGE');
    expect(unknown.message).toContain("dataset_labels 'fine' is not a label grouping; expected one of '', 'coarse'");
    const misfit = usageError(() => groupLabels(digits, 'coarse'));
    expect(misfit.message).toContain("dataset_labels 'coarse' (Fashion-MNIST's 10 classes as 4");
    expect(misfit.message).toContain("does not fit dataset 'mnist'");
    expect(misfit.message).toContain('embedded, fashion_mnist');
  });
});
