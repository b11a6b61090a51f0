// What a hostile or damaged .pth can make smn do: a negative dimension is a named error (was a RangeError), a storage
// must hold exactly the bytes the pickle declares, and a deflated entry (a zip bomb) inflates only to its stated size.
import { describe, expect, it } from 'vitest';
import { parseWeights } from '../src/index.js';
import { caught } from '../../core/test/_smn-error.js';
import { makeZip, type ZipFileSpec } from '../../core/test/_zip.js';

const str = (s: string): number[] => {
  const b = Buffer.from(s, 'utf8');
  return [0x58, b.length & 255, (b.length >> 8) & 255, 0, 0, ...b]; // BINUNICODE
};
const int = (v: number): number[] => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return [0x4a, ...b]; // BININT
};
const global = (mod: string, name: string): number[] => [0x63, ...Buffer.from(`${mod}\n${name}\n`, 'latin1')];
const tuple = (items: number[][]): number[] => [0x28, ...items.flat(), 0x74]; // MARK ... TUPLE

/**
 * torch.save's data.pkl for `{'w': tensor}` as protocol 2: `_rebuild_tensor_v2(persistent ('storage',
 * torch.FloatStorage, '0', 'cpu', numel), offset, shape, stride, False, OrderedDict())`.
 */
function dataPkl(o: { shape: number[]; stride: number[]; numel: number; offset?: number }): Uint8Array {
  const pid = tuple([str('storage'), global('torch', 'FloatStorage'), str('0'), str('cpu'), int(o.numel)]);
  const args = tuple([[...pid, 0x51], int(o.offset ?? 0), tuple(o.shape.map(int)), tuple(o.stride.map(int)), [0x89], [...global('collections', 'OrderedDict'), 0x29, 0x52]]);
  return Uint8Array.from([0x80, 2, 0x7d, ...str('w'), ...global('torch._utils', '_rebuild_tensor_v2'), ...args, 0x52, 0x73, 0x2e]);
}

/** A zip archive as torch.save lays it out (`archive/data.pkl`, `archive/data/0`); entries may be deflated or misstate their size. */
const torchZip = (files: ZipFileSpec[]): Uint8Array => makeZip(files.map((f) => ({ ...f, name: `archive/${f.name}` })));

const floats = (n: number): Uint8Array => new Uint8Array(Float32Array.from({ length: n }, (_, i) => i + 0.5).buffer);

describe('torch checkpoints: sizes from the pickle bound what is read', () => {
  it('a well-formed hand-built checkpoint reads (the builder is right)', () => {
    const sd = parseWeights(torchZip([{ name: 'data.pkl', data: dataPkl({ shape: [2, 3], stride: [3, 1], numel: 6 }) }, { name: 'data/0', data: floats(6) }]), 'ok.pth');
    const w = sd.get('w')!;
    expect(w.shape).toEqual([2, 3]);
    expect(Array.from(w.data as Float32Array)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
  });

  it('a negative dimension is SMN_WEIGHTS_BAD_HEADER naming the file and the shape (was a RangeError)', () => {
    const pth = torchZip([{ name: 'data.pkl', data: dataPkl({ shape: [-2, 3], stride: [3, 1], numel: 6 }) }, { name: 'data/0', data: floats(6) }]);
    const err = caught(() => parseWeights(pth, 'neg.pth'));
    expect(err.code).toBe('SMN_WEIGHTS_BAD_HEADER');
    expect(err.message).toBe('neg.pth: a tensor has shape [-2,3]; expected whole numbers ≥ 0 (the file is damaged or was not written by torch.save)');
    const negStride = torchZip([{ name: 'data.pkl', data: dataPkl({ shape: [2, 3], stride: [-3, 1], numel: 6 }) }, { name: 'data/0', data: floats(6) }]);
    expect(caught(() => parseWeights(negStride, 's.pth')).message).toContain('a tensor has stride [-3,1]');
  });

  it('a storage entry that holds other bytes than the pickle declares is refused before it is read', () => {
    const pth = torchZip([{ name: 'data.pkl', data: dataPkl({ shape: [2, 3], stride: [3, 1], numel: 6 }) }, { name: 'data/0', data: floats(250) }]);
    const err = caught(() => parseWeights(pth, 'size.pth'));
    expect(err.code).toBe('SMN_WEIGHTS_BAD_HEADER');
    expect(err.message).toContain("storage '0' is declared as 6 torch.FloatStorage elements (24 bytes) but the archive entry holds 1000 bytes");
  });

  it('a zip bomb storage (256 MiB of zeros deflated, stating the declared 24 bytes) stops at its stated size: SMN_ZIP_TOO_LARGE', () => {
    const bomb = torchZip([
      { name: 'data.pkl', data: dataPkl({ shape: [2, 3], stride: [3, 1], numel: 6 }) },
      { name: 'data/0', data: new Uint8Array(256 << 20), deflate: true, statedSize: 24 },
    ]);
    expect(bomb.length).toBeLessThan(1 << 20);
    const err = caught(() => parseWeights(bomb, 'bomb.pth'));
    expect(err.code).toBe('SMN_ZIP_TOO_LARGE');
    expect(err.message).toContain("bomb.pth: entry 'archive/data/0' inflates past the 24 bytes the zip directory states");
    // It gave up within one 4 KiB input step (≤ ~4.2 MB of output), not after 256 MiB.
    expect((err.details as { inflated: number }).inflated).toBeLessThan(5_000_000);
  });

  it('a zip bomb data.pkl is refused the same way', () => {
    const pkl = new Uint8Array(64 << 20);
    pkl.set(dataPkl({ shape: [2, 3], stride: [3, 1], numel: 6 }));
    const bomb = torchZip([{ name: 'data.pkl', data: pkl, deflate: true, statedSize: 200 }, { name: 'data/0', data: floats(6) }]);
    const err = caught(() => parseWeights(bomb, 'pkl-bomb.pth'));
    expect(err.code).toBe('SMN_ZIP_TOO_LARGE');
    expect(err.details).toMatchObject({ file: 'pkl-bomb.pth', entry: 'archive/data.pkl', limit: 200 });
  });
});
