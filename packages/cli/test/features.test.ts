import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '@smn/core';
import { readSafetensors } from '@smn/models';
import { runCli } from './_cli.js';

const FIX = join(import.meta.dirname, '..', '..', 'models', 'test', 'fixtures');
const CLIP_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'clip_tiny');

const run = (args: string[]) => runCli(['--backend', 'cpu', ...args]);

function readOut(path: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(path);
  const a = parseNpy(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
  return { shape: a.shape, data: a.data as Float32Array };
}

function relErr(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - r[i]!));
    m = Math.max(m, Math.abs(r[i]!));
  }
  return d / (m || 1);
}

/** A minimal RGB PNG (8-bit, no filter) filled with one colour. */
function solidPng(w: number, h: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(rgb, y * (1 + 3 * w) + 1 + 3 * x);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

describe('smn features', { timeout: 120_000 }, () => {
  it('embeds an NCHW .npy batch with a ResNet checkpoint: features and logits match torchvision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-feat-'));
    const io = await readSafetensors(join(FIX, 'io_r18w8.safetensors'));
    const inp = io.get('input_nchw')!;
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: inp.shape, dtype: 'float32', data: inp.data as Float32Array }));
    const r = await run(['features', '--model', 'resnet18', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'f.npy'), '--batch-size', '1']);
    expect(r.err).toContain('features: 2/2 images');
    expect(r.code).toBe(0);
    const f = readOut(join(dir, 'f.npy'));
    expect(f.shape).toEqual([2, 64]);
    expect(relErr(f.data, io.get('features')!.data as Float32Array)).toBeLessThan(1e-4);
    const l = await run(['features', '--model', 'resnet18', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'l.npy'), '--logits']);
    expect(l.code).toBe(0);
    expect(relErr(readOut(join(dir, 'l.npy')).data, io.get('logits')!.data as Float32Array)).toBeLessThan(1e-4);
  });

  it('preprocesses a folder of images like torchvision (resize 256, crop 224, ImageNet normalisation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-featdir-'));
    mkdirSync(join(dir, 'imgs'));
    const colours: [number, number, number][] = [
      [200, 30, 90],
      [10, 250, 128],
    ];
    colours.forEach((c, i) => writeFileSync(join(dir, 'imgs', `im${i}.png`), solidPng(300, 260, c)));
    // The same images as normalised NCHW arrays: a solid colour stays solid through resize and crop.
    const mean = [0.485, 0.456, 0.406];
    const std = [0.228, 0.224, 0.225];
    const x = new Float32Array(2 * 3 * 224 * 224);
    colours.forEach((c, i) => {
      for (let ch = 0; ch < 3; ch++) x.fill((c[ch]! / 255 - mean[ch]!) / std[ch]!, (i * 3 + ch) * 224 * 224, (i * 3 + ch + 1) * 224 * 224);
    });
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: [2, 3, 224, 224], dtype: 'float32', data: x }));
    const a = await run(['features', '--model', 'resnet18', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'imgs'), '--output', join(dir, 'a.npy')]);
    expect(a.code, a.err).toBe(0);
    const b = await run(['features', '--model', 'resnet18', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'b.npy')]);
    expect(b.code).toBe(0);
    expect(relErr(readOut(join(dir, 'a.npy')).data, readOut(join(dir, 'b.npy')).data)).toBeLessThan(1e-4);
    expect(readFileSync(join(dir, 'a.files.txt'), 'utf8')).toBe('im0.png\nim1.png\n');
  });

  it('gives usage and weight errors without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-featerr-'));
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: [1, 3, 8, 8], dtype: 'float32', data: new Float32Array(192) }));
    const wrong = await run(['features', '--model', 'resnet50', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy')]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/SMN_WEIGHTS_MISSING.*resnet50/);
    expect(wrong.err).not.toContain('    at ');
    const noModel = await run(['features', '--model', 'vgg', '--weights', 'w', '--input', 'x', '--output', 'y']);
    expect(noModel.code).toBe(2);
    writeFileSync(join(dir, 'bad.npy'), encodeNpy({ shape: [4, 8], dtype: 'float32', data: new Float32Array(32) }));
    const badIn = await run(['features', '--model', 'resnet18', '--weights', join(FIX, 'r18w8.pth'), '--input', join(dir, 'bad.npy'), '--output', join(dir, 'y.npy')]);
    expect(badIn.code).toBe(2);
    expect(badIn.err).toMatch(/\[N, 3, H, W\].*found float32 \[4,8\]/);
  });

  it.skipIf(!existsSync(CLIP_DIR))('embeds with CLIP from a Hugging Face folder (--projected matches transformers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-featclip-'));
    const io = await readSafetensors(join(CLIP_DIR, 'io.safetensors'));
    const inp = io.get('pixel_values_nchw')!;
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: inp.shape, dtype: 'float32', data: inp.data as Float32Array }));
    const r = await run(['features', '--model', 'clip', '--weights', CLIP_DIR, '--input', join(dir, 'x.npy'), '--output', join(dir, 'e.npy'), '--projected']);
    expect(r.code, r.err).toBe(0);
    const e = readOut(join(dir, 'e.npy'));
    expect(e.shape).toEqual([3, 16]);
    expect(relErr(e.data, io.get('image_embeds')!.data as Float32Array)).toBeLessThan(1e-4);
  });
});
