import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { sink } from './_cli.js';


/** PNG signature check and IHDR width/height. */
function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  expect(Array.from(b.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

async function smn(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(argv, { out, err });
  return { code, out: out.text(), err: err.text() };
}

describe('smn data inspect', () => {
  it('prints the embedded dataset as JSON {dataset, classes, train, test, shape}', async () => {
    const r = await smn('data', 'inspect', '--dataset', 'embedded', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as Record<string, unknown>;
    expect(info).toMatchObject({ dataset: 'embedded', train: 2000, test: 1000, shape: [28, 28, 3], numClasses: 10 });
    expect((info.classes as string[])[9]).toBe('Ankle boot');
    expect((info.classCounts as { test: number[] }).test).toEqual(new Array(10).fill(100));
  });

  it('prints a text summary', async () => {
    const r = await smn('data', 'inspect', '--dataset', 'embedded');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/train\s+2000 images/);
    expect(r.out).toMatch(/shape\s+28×28×3/);
    expect(r.out).toMatch(/classes\s+10: T-shirt\/top, Trouser/);
  });

  it('a missing dataset exits 1 listing the paths tried; bad flags exit 2', async () => {
    const root = mkdtempSync(join(tmpdir(), 'smn-cli-data-'));
    const r = await smn('data', 'inspect', '--dataset', 'cifar10pgn', '--data-root', root);
    expect(r.code).toBe(1);
    expect(r.err).toContain('SMN_DATA_NOT_FOUND');
    expect(r.err).toContain(join(root, 'cifar10', 'cifar-10-batches-bin'));
    expect((await smn('data', 'inspect')).code).toBe(2);
    expect((await smn('data', 'inspect', '--dataset', 'nope')).err).toMatch(/unknown dataset 'nope'/);
    expect((await smn('data', 'frobnicate', '--dataset', 'embedded')).code).toBe(2);
    expect((await smn('data', 'preview', '--dataset', 'embedded', '--preset', 'weird', '--out', 'x.png')).code).toBe(2);
    expect((await smn('data', 'preview', '--dataset', 'embedded', '--preset', 'eval')).err).toMatch(/--out/);
  });
});

describe('smn data preview', () => {
  it('writes a PNG grid of supervised views and of multicrop rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-cli-data-'));
    const sup = join(dir, 'sup.png');
    const r = await smn('data', 'preview', '--dataset', 'embedded', '--preset', 'supervised', '--out', sup, '--n', '9');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // 3×3 tiles of 28 px with 2 px gaps.
    expect(pngSize(sup)).toEqual([3 * 28 + 4 * 2, 3 * 28 + 4 * 2]);
    const mc = join(dir, 'mc.png');
    const r2 = await smn('data', 'preview', '--dataset', 'embedded', '--preset', 'multicrop', '--out', mc, '--n', '4', '--size', '32');
    expect(r2.code).toBe(0);
    // One row per sample, 8 crops per row in cells of the largest crop (32 px).
    expect(pngSize(mc)).toEqual([8 * 32 + 9 * 2, 4 * 32 + 5 * 2]);
    expect(existsSync(join(dir, 'missing.png'))).toBe(false);
  });
});
