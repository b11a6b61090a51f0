import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import { bundleBrowserEntry, loadInBrowserContext, type BrowserBundle } from './_browser-bundle.js';
import { makeZip } from './_zip.js';

let bundle: BrowserBundle;
beforeAll(async () => {
  bundle = await bundleBrowserEntry('core');
});

describe('the browser entry of @smn/core', () => {
  it('bundles for the browser with no Node built-in anywhere in its import graph', () => {
    expect(bundle.problems).toEqual([]);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs).toContain('packages/core/src/zip.ts');
    expect(bundle.inputs.filter((f) => /\/(fs|npy-file)\.ts$/.test(f))).toEqual([]);
  });

  it('is caught when a Node built-in creeps in: the Node entry does not bundle for the browser', async () => {
    const nodeEntry = await bundleBrowserEntry('core', fileURLToPath(new URL('../src/index.ts', import.meta.url)));
    expect(nodeEntry.problems.join('\n')).toMatch(/src\/fs\.ts:\d+: Could not resolve "node:fs\/promises"/);
  });

  it('exports a subset of the Node entry, the very same functions', () => {
    const names = Object.keys(browser);
    expect(names.filter((n) => !(n in node))).toEqual([]);
    for (const n of names) expect((node as Record<string, unknown>)[n], n).toBe((browser as Record<string, unknown>)[n]);
    expect(Object.keys(node).filter((n) => !(n in browser)).sort()).toEqual(['LOCK_ERRORS', 'acquireLock', 'atomicWriteFile', 'pathExists', 'readLock', 'readNpy', 'writeNpy']);
  });

  it('serves the packages that run in browsers: knn and swav bundle against it', async () => {
    for (const pkg of ['knn', 'swav']) {
      const b = await bundleBrowserEntry(pkg);
      expect(b.problems, pkg).toEqual([]);
      expect(b.builtins, pkg).toEqual([]);
      expect(b.inputs, pkg).toContain('packages/core/src/browser.ts');
      expect(b.inputs.filter((f) => f.endsWith('/src/index.ts') && !f.startsWith(`packages/${pkg}/`)), pkg).toEqual([]);
    }
  });
});

describe('@smn/core without Node (a web worker context: no process, Buffer or require)', () => {
  it('inflates deflated zip entries (fflate) to the bytes node:zlib deflated', () => {
    const smn = loadInBrowserContext(bundle);
    const big = new Uint8Array(70_000).map((_, i) => (i * 7919) % 251);
    const zip = makeZip([
      { name: 'a/stored', data: Uint8Array.from([1, 2, 3]) },
      { name: 'a/deflated', data: big, deflate: true },
    ]);
    const entries = smn.readZip(zip, 'm.pth') as Map<string, { method: number; read(): Uint8Array }>;
    expect(entries.get('a/deflated')!.method).toBe(8);
    expect(Buffer.compare(Buffer.from(Uint8Array.from(entries.get('a/deflated')!.read())), Buffer.from(big))).toBe(0);
    expect(Array.from(entries.get('a/stored')!.read())).toEqual([1, 2, 3]);
  });

  it('reports a corrupt deflated entry as SMN_ZIP_INVALID naming the archive and the entry', () => {
    const smn = loadInBrowserContext(bundle);
    const zip = makeZip([{ name: 'w', data: new Uint8Array(1000).fill(7), deflate: true }]);
    // The first deflate block header sits in the entry's first byte, right after the 30-byte local header and name.
    zip[31] = 0xff;
    for (const readZip of [smn.readZip, node.readZip]) {
      const entry = readZip(zip, 'bad.pth').get('w')!;
      let err: { code?: string; message?: string } = {};
      try {
        entry.read();
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.code).toBe('SMN_ZIP_INVALID');
      expect(err.message).toMatch(/^bad\.pth: entry 'w' does not inflate/);
    }
  });

  it('gives the same numbers and bytes as the Node entry: seeded RNG, .npy', () => {
    const smn = loadInBrowserContext(bundle);
    const a = smn.createRng(42);
    const b = node.createRng(42);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(Array.from({ length: 5 }, () => a.normal())).toEqual(Array.from({ length: 5 }, () => b.normal()));
    const arr = { shape: [2, 3], dtype: 'float32' as const, data: Float32Array.from([1, -2, 3.5, 0, 1e-7, 6]) };
    const bytes = Uint8Array.from(smn.encodeNpy(arr));
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(node.encodeNpy(arr)))).toBe(0);
    const back = smn.parseNpy(bytes, 'x.npy');
    expect([back.shape, back.dtype, Array.from(back.data)]).toEqual([[2, 3], 'float32', Array.from(arr.data)]);
  });
});
