// Nothing blocks forever: FIFOs, sockets and devices among dataset files are skipped (folder listings) or refused by
// name (files the data root names), and a gzipped IDX file is inflated only up to the size its header states. Each
// case uses a real FIFO (mkfifo) with no writer: reading it the plain way would block the test until its timeout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SmnError } from '@smn/core';
import { createLoader, loadDataset, readIdx, type Batch, type DatasetWarning } from '../src/index.js';
import { idxBytes, tempDir, writeCifar10Bin, writeIdxPair } from './helpers.js';
import { caughtAsync } from '../../core/test/_smn-error.js';
import { writeSolidPng } from './_images.js';

const mkfifo = (file: string): void => {
  execFileSync('mkfifo', [file]);
};

const writePng = (file: string, v: number): Promise<void> => writeSolidPng(file, v);

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

// Seconds, not the default 5: worker-free, but sharp and mkfifo on a busy 2-core machine.
describe('image folders skip what is not a regular file', { timeout: 60_000 }, () => {
  it('a FIFO named x.png and a socket named s.png are skipped and named in one warning; the epoch reads to the end', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'train', 'cat'), { recursive: true });
    mkdirSync(join(root, 'train', 'dog'), { recursive: true });
    await writePng(join(root, 'train', 'cat', 'a.png'), 10);
    await writePng(join(root, 'train', 'dog', 'b.png'), 20);
    mkfifo(join(root, 'train', 'cat', 'x.png'));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'train', 'dog', 's.png'), resolve));
    try {
      const warnings: DatasetWarning[] = [];
      const ds = await loadDataset(`folder:${root}`, { split: 'train', onWarning: (w) => warnings.push(w) });
      expect(ds.length).toBe(2);
      expect(Array.from(ds.labels)).toEqual([0, 1]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.code).toBe('SMN_DATA_NOT_REGULAR');
      expect(warnings[0]!.message).toContain(`${join(root, 'train', 'cat', 'x.png')} (a FIFO (named pipe))`);
      expect(warnings[0]!.message).toContain(`${join(root, 'train', 'dog', 's.png')} (a socket)`);
      expect(warnings[0]!.details.skipped).toHaveLength(2);
      const batches = await collect(createLoader(ds, { batchSize: 4, transform: { preset: 'eval', size: 4 } }));
      expect(batches.map((b) => b.indices.length)).toEqual([2]);
    } finally {
      server.close();
    }
  });

  it('without onWarning the skip is a process warning (once per distinct message)', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'train', 'c'), { recursive: true });
    await writePng(join(root, 'train', 'c', 'a.png'), 1);
    mkfifo(join(root, 'train', 'c', 'p.jpg'));
    const seen: Error[] = [];
    const listener = (w: Error) => seen.push(w);
    process.on('warning', listener);
    try {
      await loadDataset(`folder:${root}`, { split: 'train' });
      await loadDataset(`folder:${root}`, { split: 'train' });
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
    } finally {
      process.off('warning', listener);
    }
    const ours = seen.filter((w) => (w as { code?: string }).code === 'SMN_DATA_NOT_REGULAR');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.name).toBe('SmnWarning');
    expect(ours[0]!.message).toContain('p.jpg (a FIFO (named pipe))');
  });

  it('a folder whose only image is a FIFO says so in its not-found error', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'train', 'c'), { recursive: true });
    mkfifo(join(root, 'train', 'c', 'only.png'));
    const err = await caughtAsync(loadDataset(`folder:${root}`, { split: 'train', onWarning: () => undefined }));
    expect(err.code).toBe('SMN_DATA_NOT_FOUND');
    expect(err.message).toContain('1 entries skipped: not regular files');
  });
});

describe('dataset files that are FIFOs or devices are named errors', { timeout: 60_000 }, () => {
  it('an IDX file that is a FIFO: SMN_DATA_NOT_REGULAR naming it, at once', async () => {
    const root = tempDir();
    writeIdxPair(join(root, 'mnist'), 't10k', 3, 2, 2, false);
    const images = join(root, 'mnist', 't10k-images-idx3-ubyte');
    execFileSync('rm', [images]);
    mkfifo(images);
    const err = await caughtAsync(loadDataset('mnist', { dataRoot: root, split: 'test' }));
    expect(err.code).toBe('SMN_DATA_NOT_REGULAR');
    expect(err.message).toContain(`${images} is a FIFO (named pipe), not a regular file; expected an IDX file`);
    expect(err.details).toMatchObject({ file: images, kind: 'a FIFO (named pipe)' });
  });

  it('an IDX file that links to /dev/zero (a device that never ends) is refused', async () => {
    const dir = tempDir();
    symlinkSync('/dev/zero', join(dir, 'zero-idx'));
    const err = await caughtAsync(() => readIdx(join(dir, 'zero-idx')));
    expect(err.code).toBe('SMN_DATA_NOT_REGULAR');
    expect(err.message).toContain('is a character device');
  });

  it('a CIFAR batch, a JSON split file and an image a split lists, each a FIFO', async () => {
    const root = tempDir();
    const bin = writeCifar10Bin(join(root, 'cifar10'));
    execFileSync('rm', [join(bin, 'data_batch_3.bin')]);
    mkfifo(join(bin, 'data_batch_3.bin'));
    expect((await caughtAsync(loadDataset('cifar10pgn', { dataRoot: root, split: 'train' }))).code).toBe('SMN_DATA_NOT_REGULAR');

    const d = join(root, 'dtd');
    mkdirSync(join(d, 'images'), { recursive: true });
    await writePng(join(d, 'images', '1.png'), 3);
    mkfifo(join(d, 'images', '2.png'));
    const splitFile = join(d, 'split_zhou_DescribableTextures.json');
    writeFileSync(splitFile, JSON.stringify({ train: [['1.png', 0, 'a'], ['2.png', 0, 'a']], test: [['1.png', 0, 'a']] }));
    const train = await loadDataset('dtd', { dataRoot: root, split: 'train' });
    const err = await caughtAsync(train.read(1));
    expect(err.code).toBe('SMN_DATA_NOT_REGULAR');
    expect(err.message).toMatch(/2\.png \(index 1 of .*\): .*2\.png is a FIFO/);
    // A loader with onBadSample skips it like an undecodable image and finishes the epoch.
    const bad: SmnError[] = [];
    const batches = await collect(createLoader(train, { batchSize: 2, transform: { preset: 'eval', size: 4 }, onBadSample: (e) => bad.push(e) }));
    expect(batches.map((b) => Array.from(b.indices))).toEqual([[0]]);
    expect(bad.map((e) => e.code)).toEqual(['SMN_DATA_NOT_REGULAR']);

    execFileSync('rm', [splitFile]);
    mkfifo(splitFile);
    const e2 = await caughtAsync(loadDataset('dtd', { dataRoot: root, split: 'train' }));
    expect(e2.code).toBe('SMN_DATA_NOT_REGULAR');
    expect(e2.message).toContain('expected a JSON split file');
  });
});

describe('gzipped IDX files inflate only to the size their header states', () => {
  it('a gzip bomb (header [1,28,28], 64 MiB of zeros after it) is refused at the stated 800 bytes', () => {
    const dir = tempDir();
    const file = join(dir, 'bomb-idx3-ubyte.gz');
    // 64 MiB of zeros gzip to ~64 KiB; the header says 1 image of 28×28 (784 bytes + 16 header bytes).
    writeFileSync(file, gzipSync(idxBytes([1, 28, 28], new Uint8Array(64 << 20))));
    let err: SmnError | undefined;
    try {
      readIdx(file);
    } catch (e) {
      err = e as SmnError;
    }
    expect(err?.code).toBe('SMN_DATA_TOO_LARGE');
    expect(err?.details).toMatchObject({ file, limit: 800 });
    expect(err?.message).toContain('inflates past 800 bytes, the size its IDX header states');
    // zlib stopped there: its own error says the output buffer may not grow past the limit.
    expect(((err as Error & { cause?: { code?: string } }).cause)?.code).toBe('ERR_BUFFER_TOO_LARGE');
  });

  it('an honest gzipped IDX file of the stated size still reads', () => {
    const dir = tempDir();
    writeIdxPair(dir, 'train', 5, 3, 3, true);
    const a = readIdx(join(dir, 'train-images-idx3-ubyte.gz'));
    expect(a.dims).toEqual([5, 3, 3]);
    expect(a.data.length).toBe(45);
  });
});
