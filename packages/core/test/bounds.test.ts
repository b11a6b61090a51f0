// Bounds on what a small file can make smn allocate: zip entries inflate only to the size the directory states
// (and may not state more than DEFLATE can expand), and pickled numpy arrays with impossible shapes are named errors.
import { deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFLATE_MAX_RATIO, inflateLimited, latin1Bytes, numpyGlobals, readZip, unpickle } from '../src/index.js';
import { makeZip } from './_zip.js';
import { caught } from './_smn-error.js';

const MiB = 1 << 20;
// One streaming step: 4 KiB of input inflates to at most DEFLATE_MAX_RATIO × 4 KiB plus fflate's 32 KiB window.
const STEP_MAX = 4096 * DEFLATE_MAX_RATIO + 32 * 1024;

describe('zip entries inflate at most to their stated size', () => {
  it('a zip bomb (256 MiB of zeros stating 1000 bytes) stops within one step of 1000 bytes: SMN_ZIP_TOO_LARGE', () => {
    const zeros = new Uint8Array(256 * MiB);
    const zip = makeZip([{ name: 'archive/data.pkl', data: zeros, deflate: true, statedSize: 1000 }]);
    expect(zip.length).toBeLessThan(MiB); // ~256 KiB on disk
    const entry = readZip(zip, 'bomb.pth').get('archive/data.pkl')!;
    const err = caught(() => entry.read());
    expect(err.code).toBe('SMN_ZIP_TOO_LARGE');
    expect(err.message).toMatch(/^bomb\.pth: entry 'archive\/data\.pkl' inflates past the 1000 bytes the zip directory states \(stopped after \d+\)/);
    const { limit, inflated } = err.details as { limit: number; inflated: number };
    expect(limit).toBe(1000);
    // It stopped early: the bytes inflated when it gave up are within one step of the limit, not 256 MiB.
    expect(inflated).toBeGreaterThan(1000);
    expect(inflated).toBeLessThanOrEqual(1000 + STEP_MAX);
  });

  it('a stated size beyond what DEFLATE can expand is refused when the directory is read', () => {
    const data = new Uint8Array(5000).fill(1);
    const csize = deflateRawSync(data).length;
    const zip = makeZip([{ name: 'w', data, deflate: true, statedSize: csize * DEFLATE_MAX_RATIO + 2048 }]);
    const err = caught(() => readZip(zip, 'big.pth'));
    expect(err.code).toBe('SMN_ZIP_INVALID');
    expect(err.message).toContain(`entry 'w' states ${csize * DEFLATE_MAX_RATIO + 2048} uncompressed bytes from ${csize} compressed: more than DEFLATE can expand (1032:1)`);
  });

  it('a stored entry stating another size than it holds is refused', () => {
    const zip = makeZip([{ name: 'w', data: new Uint8Array(10), statedSize: 1 << 30 }]);
    expect(caught(() => readZip(zip, 's.pth')).message).toContain("stored entry 'w' states 1073741824 bytes but holds 10");
  });

  it('honest entries read as before; an entry inflating to less than stated is still an error', () => {
    const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251);
    const zip = makeZip([{ name: 'a', data, deflate: true }, { name: 'b', data }]);
    const entries = readZip(zip, 'ok.zip');
    expect(entries.get('a')!.read()).toEqual(data);
    expect(entries.get('b')!.read()).toEqual(data);
    const short = makeZip([{ name: 'a', data, deflate: true, statedSize: 80_000 }]);
    expect(caught(() => readZip(short, 'short.zip').get('a')!.read()).message).toContain("entry 'a' inflates to 70000 bytes, the directory says 80000");
  });

  it('inflateLimited on gzip: the exact size passes, one byte less is SMN_INFLATE_LIMIT', () => {
    const data = new Uint8Array(100_000).fill(3);
    const gz = gzipSync(data);
    expect(inflateLimited(gz, 'gzip', 100_000)).toEqual(data);
    const err = caught(() => inflateLimited(gz, 'gzip', 99_999));
    expect(err.code).toBe('SMN_INFLATE_LIMIT');
    expect(err.details).toMatchObject({ limit: 99_999 });
  });
});

describe('pickled numpy arrays with impossible shapes', () => {
  // The Python 2 batch of pickle.test.ts with shape (2, 3) replaced by (-5, 3) (BININT 0xfffffffb).
  const py2 = (shape: string) =>
    latin1Bytes(
      `\x80\x02}q\x00(U\x04dataq\x03cnumpy.core.multiarray\n_reconstruct\nq\x04cnumpy\nndarray\nq\x05K\x00\x85U\x01b\x87Rq\x06(K\x01${shape}\x86cnumpy\ndtype\nq\x07U\x02u1K\x00K\x01\x87Rq\x08(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbI00\nU\x06\x00\x01\x02\x03\x04\xfftbu.`,
    );

  it('a negative dimension is SMN_PICKLE_INVALID naming the file, not a RangeError', () => {
    expect(() => unpickle(py2('K\x02K\x03'), { findClass: numpyGlobals('ok.pkl') })).not.toThrow();
    const err = caught(() => unpickle(py2('J\xfb\xff\xff\xffK\x03'), { findClass: numpyGlobals('neg.pkl') }));
    expect(err.code).toBe('SMN_PICKLE_INVALID');
    expect(err.message).toBe('neg.pkl: unsupported numpy array in pickle: shape [-5,3] has a dimension that is not a whole number ≥ 0');
  });
});
