import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { launchSweep } from '../src/index.js';
import { sweepPoints, tinyWeights } from './_helpers.js';

it('basic and local launchers run every point; a failing point fails alone', async () => {
  const root = await mkdtemp(join(tmpdir(), 'smn-launch-basic-'));
  const weights = await tinyWeights(root);
  const points = sweepPoints(weights, join(root, 'basic'), ['dl.lr=0.1,0.2']);
  // A point whose run folder holds a file where the folder should be: runExperiment refuses it, the others go on.
  const bad = { ...points[0]!, runDir: weights };
  let t = Date.now();
  const basic = await launchSweep([points[0]!, bad, points[1]!], { launcher: 'basic' });
  console.log(`basic: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  expect(basic.status.points.map((p) => p.state)).toEqual(['done', 'failed', 'done']);
  expect(basic.status.points[1]!.error).toMatch(/SMN_/);
  t = Date.now();
  const local = await launchSweep(sweepPoints(weights, join(root, 'local'), ['dl.lr=0.1,0.2']), { launcher: 'local', jobs: 2 });
  console.log(`local (2 jobs): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  expect(local.ok).toBe(true);
  for (const k of [0, 1]) expect(local.status.points[k]!.metrics).toEqual(basic.status.points[k === 0 ? 0 : 2]!.metrics);
});
