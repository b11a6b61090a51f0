/** Test helpers: write small real dataset files in each on-disk format. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(prefix = 'smn-datasets-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Pixel k (CHW order) of image i: the formula the CIFAR fixtures use. */
export const cifarPixel = (i: number, k: number): number => (i * 7 + k * 3) % 256;

/** CIFAR binary records: `labelBytes` label bytes (given by `labels(i)`) + 3072 CHW pixels. */
export function cifarRecords(start: number, n: number, labels: (i: number) => number[]): Uint8Array {
  const lb = labels(0).length;
  const rec = lb + 3072;
  const out = new Uint8Array(n * rec);
  for (let j = 0; j < n; j++) {
    const i = start + j;
    out.set(labels(i), j * rec);
    for (let k = 0; k < 3072; k++) out[j * rec + lb + k] = cifarPixel(i, k);
  }
  return out;
}

/** Writes `cifar-10-batches-bin/` with 5 train batches of `perBatch` images and a test batch of `nTest`. */
export function writeCifar10Bin(dir: string, perBatch = 2, nTest = 3): string {
  const d = join(dir, 'cifar-10-batches-bin');
  mkdirSync(d, { recursive: true });
  for (let b = 0; b < 5; b++) {
    writeFileSync(join(d, `data_batch_${b + 1}.bin`), cifarRecords(b * perBatch, perBatch, (i) => [i % 10]));
  }
  writeFileSync(join(d, 'test_batch.bin'), cifarRecords(0, nTest, (i) => [(i + 1) % 10]));
  writeFileSync(join(d, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return d;
}

/** IDX bytes of unsigned bytes. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((v, i) => head.writeUInt32BE(v, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([head, Buffer.from(data)]));
}

/** Writes an MNIST-style IDX pair `<prefix>-images-idx3-ubyte[.gz]` / labels with pixel (i,p) = (i*5+p) % 256. */
export function writeIdxPair(dir: string, prefix: string, n: number, h: number, w: number, gz: boolean, labels?: number[]): void {
  mkdirSync(dir, { recursive: true });
  const img = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) img[i * h * w + p] = (i * 5 + p) % 256;
  const lab = Uint8Array.from(labels ?? Array.from({ length: n }, (_, i) => i % 10));
  const ext = gz ? '.gz' : '';
  const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), enc(idxBytes([n, h, w], img)));
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), enc(idxBytes([lab.length], lab)));
}
