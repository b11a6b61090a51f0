import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { SmnError, atomicWriteFile, isSmnError } from '@smn/core';
import { loadDataset, previewGrid, type ImageDataset, type PresetSpec } from '@smn/datasets';
import type { Command, CommandContext } from '../command.js';

const HELP = `Usage: smn data inspect --dataset NAME [--data-root DIR] [--json]
       smn data preview --dataset NAME --preset supervised|multicrop|eval --out FILE.png [--n 16] [options]

Looks at a dataset on disk as training will read it (SPEC §6).

Subcommands:
  inspect              splits and their sizes, classes, image shape, files read
  preview              a PNG grid of augmented samples (multicrop: one row per sample, its crops side by side)

Options:
  --dataset NAME       cifar10pgn, cifar100, multicrop_cifar100, flowers, dtd, eurosat, oxfordpets, sun397, ucf101,
                       food101, resisc45, fashion_mnist, mnist, embedded (shipped Fashion-MNIST subset, no download),
                       or folder:PATH (PATH/{train,test}/<class>/*.jpg|png)
  --data-root DIR      where dataset folders live (default: data)
  --json               inspect: print {"dataset","classes","numClasses","train","test","shape","sources","classCounts"}
  --preset NAME        preview: supervised | multicrop | eval
  --size N             preview: output side (default: the image side for fixed-size data ≤ 64 px, else 224);
                       multicrop: large crops N, small crops N·96/224
  --split S            preview: train (default) or test
  --n N                preview: number of samples (default 16)
  --seed N             preview: which samples and augmentations (default 0)
  --out FILE.png       preview: output file

Examples:
  smn data inspect --dataset embedded --json
  smn data inspect --dataset cifar100 --data-root /datasets
  smn data preview --dataset fashion_mnist --preset multicrop --out crops.png --n 8`;

function usage(message: string): SmnError {
  return new SmnError('SMN_USAGE', `${message} (see smn data --help)`, { kind: 'usage' });
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

function intFlag(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usage(`--${name} expects a non-negative integer, got '${v}'`);
  return n;
}

const command: Command = {
  name: 'data',
  summary: 'inspect a dataset or preview its augmentations',
  help: HELP,
  async run(ctx) {
    let parsed;
    try {
      parsed = parseArgs({
        args: ctx.argv,
        allowPositionals: true,
        options: {
          dataset: { type: 'string' },
          'data-root': { type: 'string' },
          json: { type: 'boolean' },
          preset: { type: 'string' },
          size: { type: 'string' },
          split: { type: 'string' },
          n: { type: 'string' },
          seed: { type: 'string' },
          out: { type: 'string' },
        },
      });
    } catch (err) {
      throw usage((err as Error).message);
    }
    const { values, positionals } = parsed;
    const sub = positionals[0];
    if (positionals.length !== 1 || (sub !== 'inspect' && sub !== 'preview')) {
      throw usage(`expected one subcommand, inspect or preview; got ${positionals.length ? positionals.join(' ') : 'none'}`);
    }
    if (!values.dataset) throw usage('--dataset NAME is required');
    const dataRoot = values['data-root'] ?? 'data';
    try {
      if (sub === 'inspect') return await inspect(ctx, values.dataset, dataRoot, values.json ?? false);
      const preset = values.preset;
      if (preset !== 'supervised' && preset !== 'multicrop' && preset !== 'eval') {
        throw usage(`--preset expects supervised, multicrop or eval, got '${preset ?? ''}'`);
      }
      if (!values.out) throw usage('--out FILE.png is required for preview');
      if (!values.out.toLowerCase().endsWith('.png')) throw usage(`--out must name a .png file, got '${values.out}'`);
      const split = values.split ?? 'train';
      if (split !== 'train' && split !== 'test') throw usage(`--split expects train or test, got '${split}'`);
      const n = intFlag(values.n, 'n', 16);
      if (n < 1) throw usage('--n must be at least 1');
      const ds = await loadDataset(values.dataset, { dataRoot, split });
      const native = ds.imageShape && ds.imageShape[0] <= 64 ? ds.imageShape[0] : 224;
      const size = intFlag(values.size, 'size', native);
      if (size < 1) throw usage('--size must be at least 1');
      const spec: PresetSpec = { preset, size } as PresetSpec;
      const grid = await previewGrid(ds, { preset: spec, n, seed: intFlag(values.seed, 'seed', 0) });
      const out = resolve(values.out);
      await atomicWriteFile(out, grid.png);
      ctx.out.write(`wrote ${out} (${grid.width}×${grid.height}, ${Math.min(n, ds.length)} samples of ${values.dataset}/${split}, preset ${preset}, size ${size})\n`);
      return 0;
    } catch (err) {
      if (isSmnError(err) && err.code === 'SMN_DATA_NOT_FOUND') {
        throw new SmnError(err.code, `${err.message}\n(set --data-root, or try --dataset embedded)`, { cause: err, details: err.details });
      }
      throw err;
    }
  },
};
export default command;
