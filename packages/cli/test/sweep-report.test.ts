// smn sweep report on a real small sweep, from its run folders (no Redis), and the live table of a followed sweep.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { fmtNum, readRunSummary } from '@smn/train';
import type { SweepStatus } from '@smn/launch';
import { runCli, sink } from './_cli.js';
import { writeTinyBackbone } from './_spawn.js';
import { sweepTable } from '../src/live-table.js';

let root = '';
let weights = '';

beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'smn-sweep-report-'));
  weights = join(root, 'tiny.safetensors');
  await writeTinyBackbone(weights);
});

/** The rows of the report's first table, cell texts (renderReport writes plain <tr><td> rows). */
function tableRows(html: string, nth: number): string[][] {
  const table = html.match(/<table>[\s\S]*?<\/table>/g)![nth]!;
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[dh]>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1]!));
}

describe('smn sweep report', () => {
  it('--run-dir: every point of a sweep with its overrides, accuracy and stored bytes, and one plot marker per point', { timeout: 600_000 }, async () => {
    const dir = join(root, 'sweep');
    // Two points that store different bytes: the second adds a linear probe (4 bytes per probe float). From the
    // folders, a point's overrides are the resolved config's keys that differ (main.probe is a boolean there).
    const t = await runCli([
      '--backend', 'wasm', 'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`,
      'main.dataset_subset=64', 'dl.batch_size=16', 'dl.epochs=1', 'dl.scheduler=cosine', 'main.probe=0,1', '--multirun', '--run-dir', dir, '--workers', '0',
    ]);
    expect(t.code, t.err).toBe(0);
    const file = join(root, 'report.html');
    const r = await runCli(['sweep', 'report', '--run-dir', dir, '--out', file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(file);
    const html = await readFile(file, 'utf8');
    const [head, ...rows] = tableRows(html, 0);
    expect(head!.slice(0, 6)).toEqual(['point', 'state', 'overrides', 'accuracy', 'metric', 'stored bytes']);
    expect(rows.map((row) => row.slice(0, 3))).toEqual([['0', 'done', 'main.probe=false'], ['1', 'done', 'main.probe=true']]);
    for (const k of [0, 1]) {
      const s = await readRunSummary(`${dir}-${k}`);
      expect(rows[k]![3]).toBe(fmtNum(s.metrics['training/test/accuracy']!)); // the report's number format (renderReport)
      expect(rows[k]![4]).toBe('test/accuracy');
      expect(Number(rows[k]![5])).toBe(s.maskBytes + 4 * (s.trainedFloats + s.probeFloats));
    }
    expect(Number(rows[1]![5])).toBeGreaterThan(Number(rows[0]![5]));
    // The plot: an SVG image with one marker (and one legend entry) per finished point.
    const svgs = [...html.matchAll(/src="data:image\/svg\+xml;base64,([^"]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
    expect(svgs).toHaveLength(1);
    expect(svgs[0]!.match(/<circle /g)).toHaveLength(2);
    expect(svgs[0]).toContain('0: main.probe=false');
    expect(svgs[0]).toContain('1: main.probe=true');
    expect(svgs[0]).toContain('log10(stored bytes)');
    // The final metrics table has a row per point.
    expect(tableRows(html, 1).slice(1).map((row) => row[0])).toEqual(['0', '1']);
  });

  it('needs an ID or --run-dir (exit 2); --run-dir without DIR-<k> folders says what it looked for', async () => {
    const none = await runCli(['sweep', 'report']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('needs the sweep ID (read from Redis) or --run-dir DIR');
    const empty = await runCli(['sweep', 'report', '--run-dir', join(root, 'nothing')]);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('SMN_LAUNCH_NO_POINTS');
  });
});

describe('the live table of a followed sweep', () => {
  const status = (states: SweepStatus['points'][number]['state'][], epoch = 1): SweepStatus => ({
    sweepId: 's1',
    launcher: 'queue',
    points: states.map((state, index) => ({ index, runDir: `/r-${index}`, overrides: [`dl.lr=0.${index + 1}`], state, ...(state === 'running' ? { progress: { epoch, epochs: 3, step: 1, stepsInEpoch: 4, metrics: {} } } : {}) })),
  });
  const ctxOf = (interactive: boolean) => ({ argv: [], backend: 'cpu' as const, out: sink(), err: sink(), interactive });

  it('on a terminal: redrawn in place (cursor up over the last table), log lines above it', () => {
    const ctx = ctxOf(true);
    const t = sweepTable(ctx);
    t.onStatus(status(['queued', 'queued']));
    t.onStatus(status(['running', 'queued']));
    t.log('smn: a line');
    t.done(status(['done', 'failed']));
    const text = ctx.err.text();
    // 3 lines per table (header + 2 points): every redraw moves up 3 lines and clears to the end of the screen.
    expect(text.split('\x1b[3A\r\x1b[J')).toHaveLength(4);
    expect(text).toContain('epoch 1/3');
    expect(text.indexOf('\x1b[3A\r\x1b[Jsmn: a line\nsweep s1')).toBeGreaterThan(0);
    expect(text.slice(text.lastIndexOf('sweep s1'))).toMatch(/^sweep s1 \(queue\): 0 queued, 0 running, 1 done, 1 failed\n/);
  });

  it('elsewhere: plain tables when a point changes state, no escape codes', () => {
    const ctx = ctxOf(false);
    const t = sweepTable(ctx);
    t.onStatus(status(['queued', 'queued']));
    t.onStatus(status(['queued', 'queued'])); // progress alone within 10 s: nothing
    t.onStatus(status(['running', 'queued']));
    t.log('smn: a line');
    t.done(status(['done', 'done']));
    const text = ctx.err.text();
    expect(text).not.toContain('\x1b');
    expect(text.match(/^sweep s1/gm)).toHaveLength(3);
    expect(text).toContain('smn: a line\n');
  });
});
