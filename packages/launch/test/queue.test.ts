import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToYaml } from '@smn/train';
import { connectRedis, enqueueSweep, launchSweep, readSweepStatus, renderSweepReport, reportPointsOf, sweepStatus, type SweepPoint } from '../src/index.js';
import { exited, redisMissing, startRedis, startWorker, sweepPoints, tinyWeights, until } from './_helpers.js';

const missing = redisMissing();
if (missing) console.log(`skipped: ${missing}`);

describe.skipIf(missing !== undefined)('queue launcher with real Redis and worker processes', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let root = '';
  let weights = '';
  const reference: Record<string, number>[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    root = await mkdtemp(join(tmpdir(), 'smn-launch-queue-'));
    weights = await tinyWeights(root);
    const t = Date.now();
    const basic = await launchSweep(sweepPoints(weights, join(root, 'basic'), ['dl.lr=0.1,0.2', 'main.seed=1,2']), { launcher: 'basic' });
    console.log(`4 points, basic: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    expect(basic.ok).toBe(true);
    for (const p of basic.status.points) reference.push(p.metrics!);
  });
  afterAll(() => redis?.stop());

  it('2 workers end a 4-point sweep with the metrics of basic; a bad point fails alone with its message', async () => {
    const points = sweepPoints(weights, join(root, 'queue'), ['dl.lr=0.1,0.2', 'main.seed=1,2']);
    // A point whose config breaks the schema (as if written by hand): the worker's check refuses it.
    const c = points[0]!.config;
    const bad: SweepPoint = { ...points[0]!, runDir: join(root, 'queue', 'bad'), config: { ...c, dl: { ...c.dl, scheduler: 'cosine_warmup', warmup_epochs: 40 } } };
    expect(configToYaml(bad.config)).toContain('warmup_epochs: 40');
    const workers = [startWorker(redis.url, 'w1'), startWorker(redis.url, 'w2')];
    try {
      const t = Date.now();
      const res = await launchSweep([...points, bad], { launcher: 'queue', redis: redis.url, pollMs: 300 });
      console.log(`4 points + 1 bad, 2 queue workers: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      const states = res.status.points.map((p) => p.state);
      expect(states, workers.map((w) => w.log()).join('\n')).toEqual(['done', 'done', 'done', 'done', 'failed']);
      for (const k of [0, 1, 2, 3]) expect(res.status.points[k]!.metrics).toEqual(reference[k]);
      expect(res.status.points[4]!.error).toMatch(/SMN_CONFIG_INVALID.*dl\.warmup_epochs/s);
      // Any machine reads the same status by id.
      expect((await sweepStatus(res.sweepId, { redis: redis.url })).points.map((p) => p.state)).toEqual(states);
      expect(workers.every((w) => w.log().includes('job '))).toBe(true);
      // The sweep report of the same status: a row per point (the failed one with its error), a marker per finished one.
      const html = renderSweepReport(`sweep ${res.sweepId}`, await reportPointsOf(res.status));
      const firstTable = html.match(/<table>[\s\S]*?<\/table>/)![0];
      const rows = [...firstTable.matchAll(/<tr><td>(\d+)<\/td><td>(\w+)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
      expect(rows).toEqual(['0 done', '1 done', '2 done', '3 done', '4 failed']);
      expect(firstTable).toContain('SMN_CONFIG_INVALID');
      // What tells the points apart is in their rows; what they share is said once.
      expect(firstTable).toMatch(/<tr><td>3<\/td><td>done<\/td><td>dl\.lr=0\.2 main\.seed=2<\/td>/);
      expect(html).toMatch(/Every point has main\.dataset=embedded /);
      const svg = Buffer.from(/base64,([^"]+)"/.exec(html)![1]!, 'base64').toString('utf8');
      expect(svg.match(/<circle /g)).toHaveLength(4);
    } finally {
      workers.forEach((w) => w.kill('SIGTERM'));
      await Promise.all(workers.map(exited));
    }
  });

  it('a worker killed with SIGKILL mid-run has its job finished by another, with the metrics of an uninterrupted run', async () => {
    const [point] = sweepPoints(weights, join(root, 'killed'), ['dl.lr=0.1', 'main.seed=1'], 3);
    const [ref] = sweepPoints(weights, join(root, 'killed-ref'), ['dl.lr=0.1', 'main.seed=1'], 3);
    const expected = (await launchSweep([ref!], { launcher: 'basic' })).status.points[0]!.metrics;
    const conn = await connectRedis(redis.url);
    const a = startWorker(redis.url, 'a');
    let b: ReturnType<typeof startWorker> | undefined;
    try {
      await enqueueSweep(conn, 'killed', [point!]);
      // Kill once the first epoch's checkpoint is written: the run is mid-way, holding its folder's lock.
      await until(() => existsSync(join(point!.runDir, 'last.ckpt')));
      a.kill('SIGKILL');
      await exited(a);
      expect((await readSweepStatus(conn, 'killed')).points[0]!.state).toBe('running');
      b = startWorker(redis.url, 'b');
      const t = Date.now();
      await until(async () => (await readSweepStatus(conn, 'killed')).points[0]!.state === 'done');
      console.log(`SIGKILL recovery: done ${((Date.now() - t) / 1000).toFixed(1)} s after the second worker started`);
      const s = (await readSweepStatus(conn, 'killed')).points[0]!;
      expect(s.metrics).toEqual(expected);
      expect(b.log()).toMatch(/resuming .* from its checkpoint/);
    } finally {
      b?.kill('SIGTERM');
      if (b) await exited(b);
      await conn.quit();
    }
  });

  it('SIGTERM gives the job back with a checkpoint; the next worker resumes it', async () => {
    const [point] = sweepPoints(weights, join(root, 'termed'), ['dl.lr=0.2', 'main.seed=2'], 3);
    const conn = await connectRedis(redis.url);
    const a = startWorker(redis.url, 'a');
    let b: ReturnType<typeof startWorker> | undefined;
    try {
      await enqueueSweep(conn, 'termed', [point!]);
      await until(async () => (await readSweepStatus(conn, 'termed')).points[0]!.progress !== undefined);
      a.kill('SIGTERM');
      await exited(a);
      expect(a.log()).toMatch(/back in the queue/);
      expect((await readSweepStatus(conn, 'termed')).points[0]!.state).toBe('queued');
      b = startWorker(redis.url, 'b');
      await until(async () => (await readSweepStatus(conn, 'termed')).points[0]!.state === 'done');
      expect(b.log()).toMatch(/resuming .* from its checkpoint/);
    } finally {
      b?.kill('SIGTERM');
      if (b) await exited(b);
      await conn.quit();
    }
  });
});
