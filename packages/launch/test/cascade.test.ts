// A cascade (smn cascade) run by the local and queue launchers ends with the numbers of the sequential one.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { readRunSummary, resolveRuns, runCascade, CASCADE_FILES, type CascadeResult } from '@smn/train';
import { formatSweepStatus, launchCascade, launchSweep, sweepStatus } from '../src/index.js';
import { exited, redisMissing, startRedis, startWorker, tinyWeights } from './_helpers.js';

const missing = redisMissing();
if (missing) console.log(`skipped (queue): ${missing}`);

let root = '';
let dispatcher = '';
let reference: CascadeResult;
// Two experts of about 200 images for 1 epoch each (base 200: E_k = round(200 / D_k x 1)).
const cascade = (out: string) => ({ dispatcher, out: join(root, out), clusters: 2, base: 200 });

const expertMetrics = (out: string) => Promise.all([0, 1].map(async (k) => (await readRunSummary(join(root, out, CASCADE_FILES.expert(k)))).metrics));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'smn-launch-cascade-'));
  const weights = await tinyWeights(root);
  // A self-supervised dispatcher on 2 classes of the embedded data (the smallest run a cascade starts from).
  const [run] = resolveRuns({
    configName: 'submask_lin',
    overrides: [
      'model.pret.module=swav', 'main.dataset=multicrop_embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`,
      'main.dataset_subset_labels=0:1', 'dl.epochs=1', 'dl.scheduler=cosine', 'swav.nmb_crops=[2,2]', 'swav.nmb_prototypes=10',
      'swav.queue_length=0', 'swav.freeze_prototypes_niters=1', 'cls.head_lr=0.15', 'main.backend=wasm',
    ],
  });
  dispatcher = join(root, 'dispatcher');
  const d = await launchSweep([{ config: run!.config, runDir: dispatcher, overrides: run!.overrides, resume: false }], { launcher: 'basic', workers: 0 });
  expect(d.ok, JSON.stringify(d.status)).toBe(true);
  await useBackend('wasm');
  const t = Date.now();
  reference = await runCascade(cascade('sequential'));
  console.log(`cascade, sequential: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  expect(reference.completed).toBe(true);
}, 900_000);

it('local (2 processes): the experts in parallel, then the embeddings and the ensembles, with the sequential results', { timeout: 900_000 }, async () => {
  const t = Date.now();
  const r = await launchCascade(cascade('local'), { launcher: 'local', jobs: 2 });
  console.log(`cascade, local with 2 processes: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  expect(r.ok, JSON.stringify(r.status)).toBe(true);
  expect(r.status!.points.map((p) => p.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
  expect(r.cascade!.results).toEqual(reference.results);
  expect(r.cascade!.clusters!.sizes).toEqual(reference.clusters!.sizes);
  expect(JSON.parse(await readFile(join(root, 'local', CASCADE_FILES.summary), 'utf8')).results).toEqual(reference.results);
  expect(await expertMetrics('local')).toEqual(await expertMetrics('sequential'));
});

describe.skipIf(missing !== undefined)('queue', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('2 workers run the cascade as one flow (experts, then embeddings, then ensembles) with the sequential results', { timeout: 900_000 }, async () => {
    // The tests' 10 s job locks: the ensemble step (kNN, probes) runs in a child process of the worker, so its long
    // computations never keep the worker from renewing its lock.
    const workers = [startWorker(redis.url, 'w1'), startWorker(redis.url, 'w2')];
    try {
      const t = Date.now();
      const r = await launchCascade(cascade('queue'), { launcher: 'queue', redis: redis.url, pollMs: 300 });
      console.log(`cascade, 2 queue workers: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      const logs = workers.map((w) => w.log()).join('\n');
      expect(r.ok, logs).toBe(true);
      expect(logs).not.toMatch(/could not renew lock|Lock mismatch|still locked/);
      expect(r.cascade!.results).toEqual(reference.results);
      expect(await expertMetrics('queue')).toEqual(await expertMetrics('sequential'));
      console.log(`jobs taken: ${workers.map((w, i) => `w${i + 1} ${(w.log().match(/job \S+: (?!backend|stopped)\//g) ?? []).length}`).join(', ')}`);
      // The status reads like a sweep's, from any machine.
      const s = await sweepStatus(r.sweepId, { redis: redis.url });
      expect(s.points.map((p) => p.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
      expect(s.points[4]!.metrics!['cascade/conditional/knn']).toBe(reference.results.conditional!.knn);
      expect(formatSweepStatus(s)).toMatch(/ 4 +done +cascade\/conditional\/knn=0\.\d{4}/);
    } finally {
      workers.forEach((w) => w.kill('SIGTERM'));
      await Promise.all(workers.map(exited));
    }
  });

  it('an expert that fails fails its embedding run and the ensembles, with its message in the status', { timeout: 300_000 }, async () => {
    const worker = startWorker(redis.url, 'w3');
    try {
      // Overrides apply to the experts: a weights file that is not there passes the config checks and fails the run.
      const r = await launchCascade({ ...cascade('queue-bad'), overrides: [`model.pret.weights=${join(root, 'missing.safetensors')}`] }, { launcher: 'queue', redis: redis.url, pollMs: 300 });
      expect(r.ok, worker.log()).toBe(false);
      expect(r.interrupted).toBe(false);
      expect(r.status!.points.map((p) => p.state)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
      expect(r.status!.points[0]!.error).toContain('missing.safetensors');
      expect(r.status!.points[4]!.error).toMatch(/child .* failed/);
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }
  });
});
