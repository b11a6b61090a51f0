/**
 * Label groupings: a coarser task on the same images, made by merging classes (`main.dataset_labels`, docs/config.md).
 * This file is the one place a grouping is defined. A grouping names its groups and, for each, the class names it
 * merges; `groupLabels` matches a dataset's classes by name, so it applies to every source with those classes
 * (`embedded`, `fashion_mnist` and their `multicrop_*` names read the same IDX files: registry.ts, loadIdxNamed).
 */
import { SmnError } from '@smn/core';
import { DatasetErrorCode } from './errors.js';
import type { ImageDataset } from './types.js';

/** One grouping: group names in label order, each with the dataset class names it merges. */
export interface LabelGrouping {
  /** What it groups, for messages and docs. */
  description: string;
  groups: ReadonlyArray<{ name: string; classes: readonly string[] }>;
}

/** Every grouping by name. `coarse`: Fashion-MNIST's 10 classes (idx-dataset.ts, FASHION_MNIST_CLASSES) as 4 kinds of item. */
export const LABEL_GROUPINGS: Readonly<Record<string, LabelGrouping>> = {
  coarse: {
    description: "Fashion-MNIST's 10 classes as 4: upper body, lower body and dresses, footwear, bag",
    groups: [
      { name: 'upper body', classes: ['T-shirt/top', 'Pullover', 'Coat', 'Shirt'] },
      { name: 'lower body and dresses', classes: ['Trouser', 'Dress'] },
      { name: 'footwear', classes: ['Sandal', 'Sneaker', 'Ankle boot'] },
      { name: 'bag', classes: ['Bag'] },
    ],
  },
};

/** The values `main.dataset_labels` accepts: '' (the dataset's own labels) and every grouping's name. */
export const LABEL_GROUPING_NAMES: readonly [string, ...string[]] = ['', ...Object.keys(LABEL_GROUPINGS)];

/**
 * For each of `classes` (a dataset's class names, in label order), the index of its group in `grouping`: the label
 * map of {@link groupLabels}. Throws a usage error (exit 2) naming the grouping when it is unknown or when a class
 * belongs to none of its groups (`dataset` names the data in that message).
 */
export function groupIndexOfClasses(classes: readonly string[], grouping: string, dataset: string): Int32Array {
  const g = LABEL_GROUPINGS[grouping];
  if (!g) {
    throw new SmnError(
      DatasetErrorCode.Usage,
      `dataset_labels '${grouping}' is not a label grouping; expected one of ${LABEL_GROUPING_NAMES.map((n) => `'${n}'`).join(', ')} ('' keeps the dataset's labels)`,
      { kind: 'usage', details: { grouping } },
    );
  }
  const groupOf = new Map<string, number>();
  g.groups.forEach((grp, k) => grp.classes.forEach((c) => groupOf.set(c, k)));
  const missing = classes.filter((c) => !groupOf.has(c));
  if (missing.length) {
    throw new SmnError(
      DatasetErrorCode.Usage,
      `dataset_labels '${grouping}' (${g.description}) does not fit dataset '${dataset}': its classes ${missing
        .slice(0, 5)
        .map((c) => `'${c}'`)
        .join(', ')}${missing.length > 5 ? ', …' : ''} are in no group; it fits embedded, fashion_mnist and their multicrop_* names`,
      { kind: 'usage', details: { grouping, dataset } },
    );
  }
  return Int32Array.from(classes, (c) => groupOf.get(c)!);
}

/**
 * `ds` with its labels replaced by the groups of `grouping` (classes = the group names, in the grouping's order);
 * `ds` itself when `grouping` is ''. Images, order and length are unchanged. Throws a usage error (exit 2) naming
 * the grouping when it is unknown or when a class of `ds` belongs to none of its groups.
 */
export function groupLabels(ds: ImageDataset, grouping: string): ImageDataset {
  if (grouping === '') return ds;
  const map = groupIndexOfClasses(ds.classes, grouping, ds.name);
  const labels = Int32Array.from(ds.labels, (l) => map[l]!);
  const out: ImageDataset = {
    name: ds.name,
    split: ds.split,
    classes: LABEL_GROUPINGS[grouping]!.groups.map((grp) => grp.name),
    length: ds.length,
    labels,
    read: (i) => ds.read(i),
    ref: (i) => ds.ref(i),
    source: ds.source,
  };
  if (ds.imageShape) out.imageShape = ds.imageShape;
  return out;
}
