import { resolve } from 'node:path';
import { SmnError, atomicWriteFile, docsUrl, isSmnError } from '@smn/core';
import { DatasetErrorCode, loadDataset, previewGrid, type ImageDataset, type PresetSpec } from '@smn/datasets';
import { entryForDataset, fetchDataset, listEntries, resolveEntry } from '@smn/hub';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { withFetchProgress } from '../progress.js';
import { CACHE_HELP } from './weights.js';

const SPEC = defineSpec({
  name: 'data',
  usage: [
    'smn data fetch DATASET [--data-root DIR]',
    'smn data inspect --dataset NAME [--data-root DIR] [--json]',
    'smn data preview --dataset NAME --preset supervised|multicrop|eval --out FILE.png [--n 16] [options]',
  ],
  description: `Fetches a dataset into a data root, or looks at one on disk as training will read it
(the reference's datasets: ${docsUrl('method.md', 'datasets')}).

fetch downloads what torchvision downloads for DATASET (its archive or files, verified by torchvision's md5s) through
the cache and unpacks it under --data-root where the readers look (cifar100 → DIR/cifar100/cifar-100-python/);
nothing happens when that layout is there. It knows cifar10 (also cifar10pgn, multicrop_cifar10), cifar100 (also
multicrop_cifar100), fashion_mnist, mnist, svhn and stl10 (the last two have no reader yet); the others (flowers, dtd,
eurosat, … with the reference's JSON splits) are read from --data-root as they are. smn train does the same before a
run with main.download=1, the default, when the reader finds the dataset nowhere under main.data_root.`,
  subcommands: {
    fetch: 'download DATASET (resumable, verified) and unpack it into --data-root; prints the folder',
    inspect: 'splits and their sizes, classes, image shape, files read',
    preview: 'a PNG grid of augmented samples (multicrop: one row per sample, its crops side by side)',
  },
  positionals: [{ name: 'DATASET', description: 'the dataset (fetch; for inspect and preview, the same as --dataset)' }],
  flags: {
    dataset: {
      type: 'string',
      value: 'NAME',
      description: `cifar10pgn, cifar100, multicrop_cifar100, flowers, dtd, eurosat, oxfordpets, sun397, ucf101,
food101, resisc45, fashion_mnist, mnist, embedded (shipped Fashion-MNIST subset, nothing to fetch),
or folder:PATH (PATH/{train,test}/<class>/*.jpg|png)`,
    },
    'data-root': { type: 'string', value: 'DIR', default: 'data', description: 'where dataset folders live' },
    json: { type: 'boolean', description: 'inspect: print {"dataset","classes","numClasses","train","test","shape","sources","classCounts"}' },
    preset: { type: 'string', value: 'NAME', choices: ['supervised', 'multicrop', 'eval'], description: 'preview: supervised | multicrop | eval' },
    size: {
      type: 'number',
      value: 'N',
      integer: true,
      min: 1,
      defaultText: 'the image side for fixed-size data ≤ 64 px, else 224',
      description: 'preview: output side; multicrop: large crops N, small crops N·96/224',
    },
    split: { type: 'string', value: 'S', choices: ['train', 'test'], default: 'train', description: 'preview: train or test' },
    n: { type: 'number', value: 'N', integer: true, min: 1, default: 16, description: 'preview: number of samples' },
    seed: { type: 'number', value: 'N', integer: true, min: 0, default: 0, description: 'preview: which samples and augmentations' },
    out: { type: 'string', value: 'FILE.png', description: 'preview: output file' },
  },
  sections: [
    { title: '', text: CACHE_HELP },
    {
      title: 'Examples',
      text: `  smn data fetch cifar100 --data-root /datasets     # /datasets/cifar100/cifar-100-python/
  SMN_MIRROR=https://mirror.example.org smn data fetch fashion_mnist
  smn data inspect --dataset embedded --json
  smn data inspect --dataset cifar100 --data-root /datasets
  smn data preview --dataset fashion_mnist --preset multicrop --out crops.png --n 8`,
    },
  ],
});

/** The registry's dataset entry for DATASET: a reader's name (multicrop_cifar100 → cifar100) or an entry name (svhn). */
async function datasetEntry(name: string): Promise<string> {
  const byReader = entryForDataset(name);
  if (byReader) return byReader;
  const all = (await listEntries()).filter((e) => e.kind === 'dataset');
  if (all.some((e) => e.name === name)) return name;
  const known = all.map((e) => {
    const readers = (resolveEntry(e.name).datasets ?? []).filter((d) => d !== e.name);
    return readers.length ? `${e.name} (${readers.join(', ')})` : e.name;
  });
  throw usageError(
    `smn has no download for dataset '${name}'; it can fetch ${known.join(', ')}. Other datasets are read from --data-root as they are (smn data inspect --dataset ${name} lists where it looks)`,
  );
}

async function fetch(ctx: CommandContext, name: string, dataRoot: string): Promise<number> {
  const entry = await datasetEntry(name);
  const r = await withFetchProgress(ctx, (opts) => fetchDataset(entry, dataRoot, opts));
  if (r === undefined) return 130;
  ctx.err.write(r.unpacked ? `${entry}: unpacked into ${r.dir}\n` : `${entry}: already in place in ${r.dir}\n`);
  ctx.out.write(`${r.dir}\n`);
  return 0;
}

function counts(ds: ImageDataset): number[] {
  const c = new Array<number>(ds.classes.length).fill(0);
  for (const l of ds.labels) c[l]!++;
  return c;
}

async function inspect(ctx: CommandContext, name: string, dataRoot: string, json: boolean): Promise<number> {
  const train = await loadDataset(name, { dataRoot, split: 'train' });
  const test = await loadDataset(name, { dataRoot, split: 'test' });
  const shape = train.imageShape && test.imageShape && train.imageShape.join() === test.imageShape.join() ? train.imageShape : null;
  const info = {
    dataset: name,
    classes: train.classes,
    numClasses: train.classes.length,
    train: train.length,
    test: test.length,
    shape,
    sources: { train: train.source, test: test.source },
    classCounts: { train: counts(train), test: counts(test) },
  };
  if (json) {
    ctx.out.write(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const shown = info.classes.length > 20 ? [...info.classes.slice(0, 20), `… (${info.classes.length - 20} more)`] : info.classes;
  const tc = info.classCounts.train;
  ctx.out.write(
    [
      `dataset   ${name}`,
      `train     ${info.train} images  (${train.source})`,
      `test      ${info.test} images  (${test.source})`,
      `shape     ${shape ? `${shape[0]}×${shape[1]}×${shape[2]} (H×W×C, RGB)` : 'varies (decoded per image, RGB)'}`,
      `classes   ${info.numClasses}: ${shown.join(', ')}`,
      `per class train min ${Math.min(...tc)}, max ${Math.max(...tc)}`,
    ].join('\n') + '\n',
  );
  return 0;
}

const command: Command = {
  name: 'data',
  summary: 'fetch a dataset into a data root, inspect one or preview its augmentations',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags: v, subcommand, positionals } = parseFlags(SPEC, ctx.argv);
    if (positionals[0] !== undefined && v.dataset !== undefined && positionals[0] !== v.dataset) {
      throw usageError(`two datasets given: '${positionals[0]}' and --dataset ${v.dataset}; give one`);
    }
    const dataset = positionals[0] ?? v.dataset;
    const dataRoot = v['data-root'];
    if (!dataset) throw usageError(subcommand === 'fetch' ? 'smn data fetch needs DATASET (e.g. cifar100)' : '--dataset NAME is required');
    if (subcommand === 'fetch') return fetch(ctx, dataset, dataRoot);
    try {
      if (subcommand === 'inspect') return await inspect(ctx, dataset, dataRoot, v.json);
      const { preset, split, n } = v;
      if (!preset) throw usageError('preview needs --preset supervised, multicrop or eval');
      if (!v.out) throw usageError('--out FILE.png is required for preview');
      if (!v.out.toLowerCase().endsWith('.png')) throw usageError(`--out must name a .png file, got '${v.out}'`);
      const ds = await loadDataset(dataset, { dataRoot, split });
      const size = v.size ?? (ds.imageShape && ds.imageShape[0] <= 64 ? ds.imageShape[0] : 224);
      const spec: PresetSpec = { preset, size } as PresetSpec;
      const grid = await previewGrid(ds, { preset: spec, n, seed: v.seed });
      const out = resolve(v.out);
      await atomicWriteFile(out, grid.png);
      ctx.out.write(`wrote ${out} (${grid.width}×${grid.height}, ${Math.min(n, ds.length)} samples of ${dataset}/${split}, preset ${preset}, size ${size})\n`);
      return 0;
    } catch (err) {
      if (isSmnError(err) && err.code === DatasetErrorCode.NotFound) {
        const hint = entryForDataset(dataset) ? `smn data fetch ${dataset} --data-root ${dataRoot} downloads it, ` : '';
        throw new SmnError(err.code, `${err.message}\n(${hint}set --data-root, or try --dataset embedded)`, { cause: err, details: err.details });
      }
      throw err;
    }
  },
};
export default command;
