import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isSmnError } from '@smn/core';
import { EMBEDDED_DIR, DEBIAN_FASHION_MNIST, FASHION_MNIST_CLASSES, loadDataset, readIdx } from '../src/index.js';
import { cifarPixel, cifarRecords, idxBytes, tempDir, writeCifar10Bin, writeIdxPair } from './helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

async function expectSmnError(p: Promise<unknown> | (() => unknown), code: string, ...patterns: RegExp[]): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isSmnError(err), `expected SmnError ${code}, got ${String(err)}`).toBe(true);
  const e = err as { code: string; message: string };
  expect(e.code).toBe(code);
  for (const re of patterns) expect(e.message).toMatch(re);
}

/** Image i of the CIFAR fixtures as HWC RGB. */
function cifarHwc(i: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out.push(cifarPixel(i, c * 1024 + p));
  return out;
}

describe('CIFAR binary', () => {
  it('reads CIFAR-10 binary batches (CHW → HWC, labels, class names from batches.meta.txt)', async () => {
    const root = tempDir();
    writeCifar10Bin(join(root, 'cifar10'));
    const train = await loadDataset('cifar10pgn', { dataRoot: root, split: 'train' });
    const test = await loadDataset('cifar10pgn', { dataRoot: root, split: 'test' });
    expect(train.length).toBe(10);
    expect(test.length).toBe(3);
    expect(train.imageShape).toEqual([32, 32, 3]);
    expect(train.classes[9]).toBe('truck');
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(test.labels)).toEqual([1, 2, 3]);
    for (const i of [0, 3, 9]) {
      const img = await train.read(i);
      expect([img.height, img.width]).toEqual([32, 32]);
      expect(Array.from(img.data)).toEqual(cifarHwc(i));
    }
    await expectSmnError(train.read(10), 'SMN_DATA_INDEX', /index 10 is out of range \[0, 10\)/);
  });

  it('reads CIFAR-100 binary train.bin/test.bin with the fine label', async () => {
    const root = tempDir();
    const d = join(root, 'cifar100', 'cifar-100-binary');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'train.bin'), cifarRecords(0, 4, (i) => [i % 20, 50 + i]));
    writeFileSync(join(d, 'test.bin'), cifarRecords(0, 2, (i) => [3, 99 - i]));
    const train = await loadDataset('cifar100', { dataRoot: root, split: 'train' });
    expect(Array.from(train.labels)).toEqual([50, 51, 52, 53]);
    expect(train.classes.length).toBe(100);
    expect(Array.from((await train.read(2)).data)).toEqual(cifarHwc(2));
    const test = await loadDataset('cifar100', { dataRoot: root, split: 'test' });
    expect(Array.from(test.labels)).toEqual([99, 98]);
  });

  it('errors on a truncated batch (naming the file, record size, bytes found) and on an out-of-range label', async () => {
    const root = tempDir();
    const d = writeCifar10Bin(join(root, 'cifar10'));
    const f = join(d, 'data_batch_3.bin');
    writeFileSync(f, readFileSync(f).subarray(0, 3073 * 2 - 5));
    await expectSmnError(loadDataset('cifar10pgn', { dataRoot: root, split: 'train' }), 'SMN_DATA_TRUNCATED', /data_batch_3\.bin/, /3073 bytes/, /6141/);
    writeFileSync(join(d, 'test_batch.bin'), cifarRecords(0, 3, (i) => [i === 2 ? 12 : 0]));
    await expectSmnError(loadDataset('cifar10pgn', { dataRoot: root, split: 'test' }), 'SMN_DATA_LABEL_RANGE', /label 12 at index 2/, /test_batch\.bin/, /< 10 classes/);
  });

  it('lists every path tried when no CIFAR folder exists', async () => {
    const root = tempDir();
    await expectSmnError(
      loadDataset('multicrop_cifar100', { dataRoot: root, split: 'train' }),
      'SMN_DATA_NOT_FOUND',
      /cifar-100-python/,
      /cifar-100-binary/,
      /cifar100/,
    );
  });
});

describe('CIFAR python version (pickles from tools/fixtures/datasets/make_cifar_python.py)', () => {
  it('reads CIFAR-10 python batches at the torchvision root (multicrop_cifar10) and under data/cifar10 (cifar10pgn)', async () => {
    const mc = await loadDataset('multicrop_cifar10', { dataRoot: FIXTURES, split: 'train' });
    expect(mc.length).toBe(15);
    expect(Array.from(mc.labels)).toEqual(Array.from({ length: 15 }, (_, i) => i % 10));
    expect(mc.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    for (const i of [0, 4, 14]) expect(Array.from((await mc.read(i)).data)).toEqual(cifarHwc(i));
    const root = tempDir();
    cpSync(join(FIXTURES, 'cifar-10-batches-py'), join(root, 'cifar10', 'cifar-10-batches-py'), { recursive: true });
    const test = await loadDataset('cifar10pgn', { dataRoot: root, split: 'test' });
    expect(Array.from(test.labels)).toEqual([1, 2, 3, 4]);
    expect(Array.from((await test.read(3)).data)).toEqual(cifarHwc(3));
  });

  it('reads CIFAR-100 python (protocol 4) with fine labels and names from meta', async () => {
    const train = await loadDataset('multicrop_cifar100', { dataRoot: FIXTURES, split: 'train' });
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4]);
    expect(train.classes[7]).toBe('fine_07');
    expect(Array.from((await train.read(4)).data)).toEqual(cifarHwc(4));
    const test = await loadDataset('multicrop_cifar100', { dataRoot: FIXTURES, split: 'test' });
    expect(Array.from(test.labels)).toEqual([1, 2, 3]);
  });

  it('refuses a pickle that names a global other than numpy array reconstruction (no code runs)', async () => {
    const root = tempDir();
    const d = join(root, 'cifar-10-batches-py');
    cpSync(join(FIXTURES, 'cifar-10-batches-py'), d, { recursive: true });
    // protocol 2: GLOBAL posix.system, BINUNICODE 'ls', TUPLE1, REDUCE, STOP
    writeFileSync(join(d, 'test_batch'), Buffer.from('\x80\x02cposix\nsystem\nX\x02\x00\x00\x00ls\x85R.', 'latin1'));
    await expectSmnError(loadDataset('multicrop_cifar10', { dataRoot: root, split: 'test' }), 'SMN_DATA_CORRUPT', /test_batch/, /posix/);
  });

  it('errors on a truncated pickle, naming the file', async () => {
    const root = tempDir();
    const d = join(root, 'cifar-10-batches-py');
    cpSync(join(FIXTURES, 'cifar-10-batches-py'), d, { recursive: true });
    const f = join(d, 'test_batch');
    writeFileSync(f, readFileSync(f).subarray(0, 2000));
    await expectSmnError(loadDataset('multicrop_cifar10', { dataRoot: root, split: 'test' }), 'SMN_DATA_CORRUPT', /test_batch/, /CIFAR python batch/);
  });
});

describe('IDX (MNIST format)', () => {
  it('reads gzipped and plain IDX pairs, grayscale replicated to RGB', async () => {
    for (const gz of [true, false]) {
      const root = tempDir();
      writeIdxPair(join(root, 'mnist'), 't10k', 7, 4, 5, gz);
      const ds = await loadDataset('mnist', { dataRoot: root, split: 'test' });
      expect(ds.length).toBe(7);
      expect(ds.imageShape).toEqual([4, 5, 3]);
      expect(ds.source.endsWith(gz ? '.gz' : 'ubyte')).toBe(true);
      const img = await ds.read(3);
      for (let p = 0; p < 20; p++) for (let c = 0; c < 3; c++) expect(img.data[p * 3 + c]).toBe((3 * 5 + p) % 256);
      expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
  });

  it('errors on truncated data, bad magic, corrupt gzip, count mismatch and out-of-range labels', async () => {
    const root = tempDir();
    const d = join(root, 'mnist');
    writeIdxPair(d, 't10k', 6, 4, 4, false);
    const imgs = join(d, 't10k-images-idx3-ubyte');
    const good = readFileSync(imgs);
    writeFileSync(imgs, good.subarray(0, good.length - 10));
    await expectSmnError(loadDataset('mnist', { dataRoot: root, split: 'test' }), 'SMN_DATA_TRUNCATED', /t10k-images-idx3-ubyte/, /need 96 bytes/, /found 86/);
    const bad = Buffer.from(good);
    bad[2] = 0x0d;
    writeFileSync(imgs, bad);
    await expectSmnError(loadDataset('mnist', { dataRoot: root, split: 'test' }), 'SMN_DATA_CORRUPT', /magic 00 00 08/, /found 00 00 0d 03/);
    writeFileSync(imgs + '.gz', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    await expectSmnError(loadDataset('mnist', { dataRoot: root, split: 'test' }), 'SMN_DATA_TRUNCATED', /gzip file that does not decompress/);
    const root2 = tempDir();
    writeIdxPair(join(root2, 'mnist'), 't10k', 6, 4, 4, false, [0, 1, 2]);
    await expectSmnError(loadDataset('mnist', { dataRoot: root2, split: 'test' }), 'SMN_DATA_CORRUPT', /3 labels/, /6 images/);
    const root3 = tempDir();
    writeIdxPair(join(root3, 'mnist'), 't10k', 3, 4, 4, true, [0, 11, 2]);
    await expectSmnError(loadDataset('mnist', { dataRoot: root3, split: 'test' }), 'SMN_DATA_LABEL_RANGE', /label 11 at index 1/, /t10k-labels-idx1-ubyte\.gz/);
  });

  it('embedded Fashion-MNIST subset: 2,000 train (200/class) and 1,000 test (100/class), 28×28, no data root', async () => {
    const train = await loadDataset('embedded', { split: 'train', dataRoot: '/nonexistent' });
    const test = await loadDataset('embedded', { split: 'test' });
    expect([train.length, test.length]).toEqual([2000, 1000]);
    expect(train.classes).toEqual(FASHION_MNIST_CLASSES);
    expect(train.imageShape).toEqual([28, 28, 3]);
    const count = (l: Int32Array) => Array.from({ length: 10 }, (_, c) => l.filter((x) => x === c).length);
    expect(count(train.labels)).toEqual(new Array(10).fill(200));
    expect(count(test.labels)).toEqual(new Array(10).fill(100));
    const idx = JSON.parse(readFileSync(join(EMBEDDED_DIR, 'indices.json'), 'utf8')) as { train: number[]; test: number[] };
    expect(idx.train.every((i) => i >= 50000 && i < 60000)).toBe(true);
    if (existsSync(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz'))) {
      // The embedded images are the Debian images at the recorded indices.
      const full = readIdx(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz'));
      const k = 1234;
      const src = full.data.subarray(idx.train[k]! * 784, (idx.train[k]! + 1) * 784);
      const img = await train.read(k);
      expect(Array.from({ length: 784 }, (_, p) => img.data[p * 3])).toEqual(Array.from(src));
    }
  });

  it.skipIf(!existsSync(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz')))(
    `Fashion-MNIST from Debian (${DEBIAN_FASHION_MNIST}) reads as 60,000/10,000 28×28 in 10 classes`,
    async () => {
      const train = await loadDataset('fashion_mnist', { split: 'train', dataRoot: tempDir() });
      const test = await loadDataset('fashion_mnist', { split: 'test', dataRoot: tempDir() });
      expect([train.length, test.length]).toEqual([60000, 10000]);
      expect(train.imageShape).toEqual([28, 28, 3]);
      expect(train.classes.length).toBe(10);
      expect(new Set(train.labels).size).toBe(10);
      expect(train.source).toContain(DEBIAN_FASHION_MNIST);
    },
  );
});

async function writePng(file: string, w: number, h: number, channels: 1 | 3 | 4, v: number): Promise<void> {
  const data = Buffer.alloc(w * h * channels, v);
  if (channels === 4) for (let i = 3; i < data.length; i += 4) data[i] = 100;
  await sharp(data, { raw: { width: w, height: h, channels } }).png().toFile(file);
}

describe('image folders and JSON splits', () => {
  it('reads root/class/*.png|jpg with sorted classes; grayscale and RGBA become RGB; decoding is lazy', async () => {
    const root = tempDir();
    for (const c of ['dog', 'cat']) mkdirSync(join(root, 'train', c), { recursive: true });
    await writePng(join(root, 'train', 'cat', 'a.png'), 5, 4, 1, 90);
    await writePng(join(root, 'train', 'cat', 'b.png'), 6, 3, 4, 200);
    await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(root, 'train', 'dog', 'c.jpg'));
    writeFileSync(join(root, 'train', 'dog', 'notes.txt'), 'ignored');
    mkdirSync(join(root, 'test', 'cat'), { recursive: true });
    await writePng(join(root, 'test', 'cat', 'x.png'), 2, 2, 3, 7);
    const ds = await loadDataset(`folder:${root}`, { split: 'train' });
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.length).toBe(3);
    expect(ds.imageShape).toBeUndefined();
    expect(Array.from(ds.labels)).toEqual([0, 0, 1]);
    const g = await ds.read(0);
    expect([g.height, g.width, g.data.length]).toEqual([4, 5, 60]);
    expect(g.data.every((v) => v === 90)).toBe(true);
    const rgba = await ds.read(1);
    expect(rgba.data.length).toBe(6 * 3 * 3);
    expect(rgba.data.every((v) => v === 200)).toBe(true);
    const jpg = await ds.read(2);
    expect(jpg.data.every((v) => Math.abs(v - 128) <= 2)).toBe(true);
    expect(ds.ref(2)).toEqual({ kind: 'file', path: join(root, 'train', 'dog', 'c.jpg') });
    const test = await loadDataset(`folder:${root}`, { split: 'test' });
    expect(test.length).toBe(1);
  });

  it('a corrupt or truncated image is a DECODE error naming the file and index', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'train', 'a'), { recursive: true });
    await writePng(join(root, 'train', 'a', '0.png'), 4, 4, 3, 1);
    const jpg = await sharp(Buffer.alloc(16 * 16 * 3, 50), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer();
    writeFileSync(join(root, 'train', 'a', '1.jpg'), jpg.subarray(0, jpg.length >> 1));
    writeFileSync(join(root, 'train', 'a', '2.png'), 'not an image');
    const ds = await loadDataset(`folder:${root}`, { split: 'train' });
    await expectSmnError(ds.read(1), 'SMN_DATA_DECODE', /1\.jpg \(index 1/);
    await expectSmnError(ds.read(2), 'SMN_DATA_DECODE', /2\.png \(index 2/);
    await expectSmnError(loadDataset(`folder:${tempDir()}`, { split: 'train' }), 'SMN_DATA_NOT_FOUND', /train/);
  });

  it('JSON split files: train = train + val, class names from all splits, images resolved under the folder', async () => {
    const root = tempDir();
    const d = join(root, 'dtd');
    mkdirSync(join(d, 'images', 'banded'), { recursive: true });
    mkdirSync(join(d, 'images', 'woven'), { recursive: true });
    for (const f of ['banded/1.png', 'banded/2.png', 'woven/3.png', 'woven/4.png']) await writePng(join(d, 'images', f), 3, 3, 3, 33);
    const split = {
      train: [['banded/1.png', 0, 'banded']],
      val: [['woven/3.png', 1, 'woven']],
      test: [['banded/2.png', 0, 'banded'], ['woven/4.png', 1, 'woven']],
    };
    writeFileSync(join(d, 'split_zhou_DescribableTextures.json'), JSON.stringify(split));
    const train = await loadDataset('dtd', { dataRoot: root, split: 'train' });
    expect(train.length).toBe(2);
    expect(Array.from(train.labels)).toEqual([0, 1]);
    expect(train.classes).toEqual(['banded', 'woven']);
    expect((await train.read(1)).data.length).toBe(27);
    const test = await loadDataset('multicrop_dtd', { dataRoot: root, split: 'test' });
    expect(test.length).toBe(2);
    // Bad structure and missing images.
    writeFileSync(join(d, 'split_zhou_DescribableTextures.json'), JSON.stringify({ train: [['x.png', '0', 'a']], test: [] }));
    await expectSmnError(loadDataset('dtd', { dataRoot: root, split: 'train' }), 'SMN_DATA_CORRUPT', /train\[0\]/, /label: int/);
    writeFileSync(join(d, 'split_zhou_DescribableTextures.json'), JSON.stringify({ train: [['missing.png', 0, 'a']], test: [['missing.png', 0, 'a']] }));
    await expectSmnError(loadDataset('dtd', { dataRoot: root, split: 'train' }), 'SMN_DATA_NOT_FOUND', /missing\.png/, /images/);
    writeFileSync(join(d, 'split_zhou_DescribableTextures.json'), '{"train": [');
    await expectSmnError(loadDataset('dtd', { dataRoot: root, split: 'train' }), 'SMN_DATA_CORRUPT', /not valid JSON/);
    await expectSmnError(loadDataset('flowers', { dataRoot: root, split: 'train' }), 'SMN_DATA_NOT_FOUND', /split_zhou_OxfordFlowers\.json/);
  });

  it('unknown and unsupported names are usage errors', async () => {
    await expectSmnError(loadDataset('imagenet', { split: 'train' }), 'SMN_DATA_USAGE', /unknown dataset 'imagenet'/, /cifar10pgn/);
    await expectSmnError(loadDataset('svhn', { split: 'train' }), 'SMN_DATA_USAGE', /not supported/);
  });
});
