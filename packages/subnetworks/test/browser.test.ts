import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import { bundleBrowserEntry, loadInBrowserContext, type BrowserBundle } from '../../core/test/_browser-bundle.js';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import type { MaskData } from '../src/index.js';

let bundle: BrowserBundle;
beforeAll(async () => {
  bundle = await bundleBrowserEntry('subnetworks');
});

const maskMap = (): Map<string, MaskData> => {
  const rng = createRng(11);
  const values = (n: number) => Uint8Array.from({ length: n }, () => (rng.next() < 0.9 ? 1 : 0));
  return new Map([
    ['layer1.0.conv1.weight', { shape: [3, 3, 8, 16], values: values(1152) }],
    ['fc.weight', { shape: [16, 10], values: values(160) }],
  ]);
};
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<{ code?: string; kind?: string; message?: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as { code?: string; kind?: string; message?: string };
  }
  return {};
}

describe('the browser entry of @smn/subnetworks', () => {
  it('bundles for the browser with no Node built-in anywhere in its import graph (tfjs, fflate, @noble/hashes included)', () => {
    expect(bundle.problems).toEqual([]);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs).toContain('packages/core/src/browser.ts');
    expect(bundle.inputs.some((f) => f.includes('node_modules/fflate/'))).toBe(true);
    expect(bundle.inputs.some((f) => f.includes('node_modules/@noble/hashes/'))).toBe(true);
    expect(bundle.inputs.filter((f) => f.endsWith('smnmask-file.ts') || f.endsWith('core/src/index.ts'))).toEqual([]);
  });

  it('exports a subset of the Node entry, the very same functions', () => {
    const names = Object.keys(browser);
    expect(names.filter((n) => !(n in node))).toEqual([]);
    for (const n of names) expect((node as Record<string, unknown>)[n], n).toBe((browser as Record<string, unknown>)[n]);
    expect(Object.keys(node).filter((n) => !(n in browser)).sort()).toEqual(['loadMasks', 'readMaskFile', 'saveMasks']);
  });
});

describe('.smnmask bytes without Node (a web worker context: no process, Buffer or require)', () => {
  it('uncompressed files are byte-identical to those made on Node (the header sha256 comes from @noble/hashes there)', async () => {
    const smn = loadInBrowserContext(bundle);
    const opts = { mode: 'threshold', k: 0 } as const;
    const there = await smn.encodeMasks(maskMap(), opts);
    const here = await node.encodeMasks(maskMap(), opts);
    expect(same(Uint8Array.from(there.bytes), here.bytes)).toBe(true);
  });

  it('gzip files (fflate there, zlib here) decode on either side to the same masks', async () => {
    const smn = loadInBrowserContext(bundle);
    const masks = maskMap();
    const there = Uint8Array.from((await smn.encodeMasks(masks, { compress: 'gzip' })).bytes);
    const here = (await node.encodeMasks(masks, { compress: true })).bytes;
    expect(same(there, here), 'deflate streams differ between fflate and zlib').toBe(false);
    for (const [what, decoded] of [
      ['browser-made, read on Node', node.decodeMasks(there, 'b.smnmask')],
      ['Node-made, read in the browser', smn.decodeMasks(here, 'n.smnmask')],
    ] as const) {
      expect(decoded.header.compression, what).toBe('gzip');
      for (const [name, m] of masks) expect(Array.from(decoded.masks.get(name)!.values as Uint8Array), `${what}: ${name}`).toEqual(Array.from(m.values));
    }
  });

  it('brotli is SMN_MASK_BROTLI_UNAVAILABLE there, both ways, naming the file when reading', async () => {
    const smn = loadInBrowserContext(bundle);
    const write = await rejection(smn.encodeMasks(maskMap(), { compress: 'brotli' }));
    expect([write.code, write.kind]).toEqual(['SMN_MASK_BROTLI_UNAVAILABLE', 'usage']);
    expect(write.message).toContain("compress: 'gzip'");
    const file = (await node.encodeMasks(maskMap(), { compress: 'brotli' })).bytes;
    const read = await rejection(() => smn.decodeMasks(file, 'masks.smnmask'));
    expect([read.code, read.kind]).toEqual(['SMN_MASK_BROTLI_UNAVAILABLE', 'runtime']);
    expect(read.message).toMatch(/^masks\.smnmask: the payload is brotli-compressed/);
  });
});
