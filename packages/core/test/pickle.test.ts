import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latin1Bytes, numpyGlobals, readZip, unpickle, type PickledNdarray } from '../src/index.js';
import { makeZip } from './_zip.js';

const FIX = join(import.meta.dirname, 'fixtures');

/** Converts unpickled values to the JSON form written by tools/fixtures/models/make_pickle_fixtures.py. */
function toJson(v: unknown): unknown {
  if (v instanceof Map) return { __dict__: [...v].map(([k, x]) => [toJson(k), toJson(x)]) };
  if (v instanceof Uint8Array) return { __bytes__: [...v] };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'bigint') return { __bigint__: v.toString() };
  return v;
}

const codecs = (m: string, n: string) => (m === '_codecs' && n === 'encode' ? (s: string) => latin1Bytes(s) : undefined);

describe('unpickle', () => {
  const expected = JSON.parse(readFileSync(join(FIX, 'pickle_expected.json'), 'utf8'));
  for (const p of [0, 1, 2, 3, 4, 5]) {
    it(`reads Python's protocol ${p} output exactly`, () => {
      const v = unpickle(readFileSync(join(FIX, `pickle_p${p}.pkl`)), { findClass: codecs, source: `pickle_p${p}.pkl` });
      expect(toJson(v)).toEqual(expected);
      // memoised objects keep their identity (the same list referenced twice)
      const m = v as Map<string, unknown>;
      expect(m.get('shared_a')).toBe(m.get('shared_b'));
      expect(Object.isFrozen(m.get('tuple'))).toBe(true);
    });
  }

  it('refuses globals the caller does not accept, naming them and the file, without calling anything', () => {
    // protocol 0: os.system('echo hi')
    const evil = latin1Bytes("cposix\nsystem\n(S'echo hi'\ntR.");
    let called = false;
    const findClass = (m: string, n: string) => {
      if (m === 'builtins' && n === 'print') return () => (called = true);
      return undefined;
    };
    expect(() => unpickle(evil, { findClass, source: 'evil.pkl' })).toThrowError(/posix\.system.*not allow/);
    try {
      unpickle(evil, { findClass, source: 'evil.pkl' });
    } catch (e) {
      expect((e as { code: string }).code).toBe('SMN_PICKLE_FORBIDDEN');
      expect((e as Error).message).toContain('evil.pkl');
    }
    expect(called).toBe(false);
    // protocol 4 STACK_GLOBAL of builtins.eval
    const evil4 = new Uint8Array([0x80, 4, 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93, 0x8c, 1, 0x31, 0x85, 0x52, 0x2e]);
    expect(() => unpickle(evil4, { findClass })).toThrowError(/builtins\.eval/);
  });

  it('reports truncated and malformed streams with SMN_PICKLE_INVALID', () => {
    const good = readFileSync(join(FIX, 'pickle_p4.pkl'));
    expect(() => unpickle(good.subarray(0, good.length - 40), { findClass: codecs, source: 'cut.pkl' })).toThrowError(/cut\.pkl.*truncated|cut\.pkl.*not a valid/);
    expect(() => unpickle(new Uint8Array([0x80, 2, 0xff]), { findClass: codecs })).toThrowError(/unknown opcode 0xff/);
    expect(() => unpickle(new Uint8Array([0x80, 2, 0x68, 5, 0x2e]), { findClass: codecs })).toThrowError(/memo key 5/);
  });

  it('calls persistentLoad for BINPERSID and refuses persistent ids without it', () => {
    // (pid tuple ('storage', 3)) BINPERSID STOP
    const b = new Uint8Array([0x80, 2, 0x8c, 7, ...Buffer.from('storage'), 0x4b, 3, 0x86, 0x51, 0x2e]);
    expect(unpickle(b, { findClass: codecs, persistentLoad: (pid) => ({ got: pid }) })).toEqual({ got: ['storage', 3] });
    expect(() => unpickle(b, { findClass: codecs })).toThrowError(/persistent/);
  });

  it('reads Python 2 style numpy batches (BINSTRING, latin1 or bytes) with numpyGlobals', () => {
    // Hand-written Python 2 cPickle protocol 2 stream; Python 3 loads it as
    // {b'labels': [1, 2], b'data': array([[0, 1, 2], [3, 4, 255]], dtype=uint8)} with encoding='bytes'.
    const py2 = latin1Bytes(
      '\x80\x02}q\x00(U\x06labelsq\x01]q\x02(K\x01K\x02eU\x04dataq\x03cnumpy.core.multiarray\n_reconstruct\nq\x04cnumpy\nndarray\nq\x05K\x00\x85U\x01b\x87Rq\x06(K\x01K\x02K\x03\x86cnumpy\ndtype\nq\x07U\x02u1K\x00K\x01\x87Rq\x08(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbI00\nU\x06\x00\x01\x02\x03\x04\xfftbu.',
    );
    const asBytes = unpickle(py2, { findClass: numpyGlobals(), encoding: 'bytes' }) as Map<unknown, unknown>;
    const keys = [...asBytes.keys()].map((k) => Buffer.from(k as Uint8Array).toString());
    expect(keys).toEqual(['labels', 'data']);
    const arr = [...asBytes.values()][1] as PickledNdarray;
    expect(arr.shape).toEqual([2, 3]);
    expect(arr.dtype).toBe('uint8');
    expect([...arr.data]).toEqual([0, 1, 2, 3, 4, 255]);
    const asLatin1 = unpickle(py2, { findClass: numpyGlobals(), encoding: 'latin1' }) as Map<string, unknown>;
    expect(asLatin1.get('labels')).toEqual([1, 2]);
    expect([...(asLatin1.get('data') as PickledNdarray).data]).toEqual([0, 1, 2, 3, 4, 255]);
  });

  for (const p of [2, 4]) {
    it(`reads numpy arrays pickled by Python 3 at protocol ${p}`, () => {
      const m = unpickle(readFileSync(join(FIX, `numpy_batch_p${p}.pkl`)), { findClass: numpyGlobals() }) as Map<Uint8Array, unknown>;
      const byKey = new Map([...m].map(([k, v]) => [Buffer.from(k).toString(), v]));
      const data = byKey.get('data') as PickledNdarray;
      expect(data.shape).toEqual([2, 3, 4]);
      expect([...data.data]).toEqual(Array.from({ length: 24 }, (_, i) => (i * 11) & 0xff));
      expect(byKey.get('labels')).toEqual([3, 1]);
      const fine = byKey.get('fine') as PickledNdarray;
      expect(fine.dtype).toBe('float32');
      expect([...fine.data]).toEqual([0.5, -1]);
    });
  }
});

describe('readZip', () => {
  it('reads stored and deflated entries by name', () => {
    const big = new Uint8Array(5000).map((_, i) => i % 7);
    const zip = makeZip([
      { name: 'archive/data.pkl', data: new Uint8Array([1, 2, 3]) },
      { name: 'archive/data/0', data: big, deflate: true },
    ]);
    const entries = readZip(zip, 'm.pth');
    expect([...entries.keys()]).toEqual(['archive/data.pkl', 'archive/data/0']);
    expect([...entries.get('archive/data.pkl')!.read()]).toEqual([1, 2, 3]);
    const e = entries.get('archive/data/0')!;
    expect(e.method).toBe(8);
    expect(e.compressedSize).toBeLessThan(5000);
    expect(Buffer.from(e.read()).equals(Buffer.from(big))).toBe(true);
  });
  it('reports truncated archives naming the file', () => {
    const zip = makeZip([{ name: 'a', data: new Uint8Array(100) }]);
    expect(() => readZip(zip.subarray(0, 60), 'cut.zip')).toThrowError(/cut\.zip.*(truncated|end-of-central)/);
    expect(() => readZip(new Uint8Array(10), 'tiny.zip')).toThrowError(/tiny\.zip/);
  });
});
