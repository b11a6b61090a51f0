import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './_cli.js';

const FIX = join(import.meta.dirname, '..', '..', 'models', 'test', 'fixtures');

const run = runCli;

describe('smn weights inspect', { timeout: 60_000 }, () => {
  it('lists names, shapes, dtypes and the total of a PyTorch checkpoint', async () => {
    const r = await run(['weights', 'inspect', join(FIX, 'r18w8.pth')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/conv1\.weight\s+\[8,3,7,7\]\s+torch\.FloatStorage/);
    expect(r.out).toMatch(/layer4\.1\.bn2\.num_batches_tracked\s+\[\]\s+torch\.LongStorage/);
    const j = await run(['weights', 'inspect', join(FIX, 'r18w8.pth'), '--json']);
    const parsed = JSON.parse(j.out) as { tensors: { name: string; shape: number[] }[]; total: number };
    const sum = parsed.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    expect(parsed.total).toBe(sum);
    expect(r.out).toContain(`${parsed.tensors.length} tensors, ${sum.toLocaleString('en-US')} parameters in total`);
    const st = await run(['weights', 'inspect', join(FIX, 'io_r18w8.safetensors'), '--json']);
    expect(JSON.parse(st.out).tensors[0]).toEqual({ name: 'after.bn1.running_mean', shape: [8], dtype: 'F32' });
  });

  it('reports bad files with an error code and no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smn-wi-'));
    const good = readFileSync(join(FIX, 'r18w8.pth'));
    writeFileSync(join(dir, 'cut.pth'), good.subarray(0, 200_000));
    const cut = await run(['weights', 'inspect', join(dir, 'cut.pth')]);
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/^smn: error \[SMN_ZIP_INVALID\]: .*cut\.pth/);
    expect(cut.err).not.toContain('    at ');
    const evil = await run(['weights', 'inspect', join(FIX, 'whole_module.pt')]);
    expect(evil.code).toBe(1);
    expect(evil.err).toMatch(/SMN_PICKLE_FORBIDDEN.*torch\.nn\.modules\.linear\.Linear/);
    const missing = await run(['weights', 'inspect', join(dir, 'nope.safetensors')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('SMN_FILE_NOT_FOUND');
    const bad = await run(['weights', 'show', 'x']);
    expect(bad.code).toBe(2);
  });
});
