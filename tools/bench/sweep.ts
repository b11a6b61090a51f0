// Bench area `sweep`: the same small sweep (supervised masking on the embedded data with a tiny ResNet-18, width 4)
// through @smn/launch's launchers, wall time of the whole sweep:
//   local-1, local-2   `--launcher local --jobs 1|2`: a child process per point, 1 or 2 at a time
//   queue-1, queue-2   `--launcher queue` with 1 or 2 `smn worker` processes (started, and ready, before the timing)
//                      on a private redis-server on a free port of 127.0.0.1; skipped, saying why, without redis-server
// extra: speedup (the 1-process time of the same launcher ÷ this time), overhead_per_job_ms ((wall − Σ the points' own
// run seconds) ÷ points: process start, backend start, queue round trips and polling; for 2 processes the
// points overlap, so it only means something for 1), points, epochs, load1 (the 1-minute load average before the row)
// and cores: on a machine busy with other work, 2 processes have no idle core to use and the speed-ups say so.
// --quick: 2 points of 1 epoch on 32 images; full: 4 points of 2 epochs on 96 images. One timing per row (a sweep
// is long; the spread between rows on a shared machine is the noise).
// Run: `pnpm bench sweep [--quick]`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../../packages/backend/src/index.js';
import { launchSweep, type LauncherName, type SweepPoint } from '../../packages/launch/src/index.js';
// The private redis-server of the queue tests (one definition; docs/contributing.md#code-rules).
import { redisMissing, startRedis } from '../../packages/launch/test/_helpers.js';
import { createResNet, resnetStateDict, writeSafetensors } from '../../packages/models/src/index.js';
import { readRunSummary, resolveRuns } from '../../packages/train/src/index.js';
import type { BenchOptions, BenchResult } from './_harness.js';

const BIN = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));

/** `smn worker` processes (the CLI, as users start them), resolved once each waits for jobs. */
async function startWorkers(url: string, n: number): Promise<ChildProcess[]> {
  const ws = Array.from({ length: n }, () => spawn(process.execPath, ['--import', 'tsx', '--conditions=@smn/source', BIN, 'worker', '--redis', url], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((res, rej) => {
          let err = '';
          w.stderr!.on('data', (d) => {
            err += d;
            if (err.includes('waiting for jobs')) res();
          });
          w.once('exit', (code) => rej(new Error(`smn worker exited (${code}) before taking jobs: ${err}`)));
        }),
    ),
  );
  return ws;
}

const stopWorkers = (ws: ChildProcess[]) => Promise.all(ws.map((w) => new Promise<void>((res) => (w.exitCode !== null ? res() : (w.once('exit', () => res()), w.kill('SIGTERM'))))));

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'smn-bench-sweep-'));
  try {
    await useBackend('cpu');
    const weights = join(root, 'tiny.safetensors');
    const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
    await writeSafetensors(weights, resnetStateDict(m));
    m.dispose();
    const backend = opts.backend === 'auto' ? 'wasm' : opts.backend;
    const [points, epochs, subset] = opts.quick ? [2, 1, 32] : [4, 2, 96];
    const sweep = (dir: string): SweepPoint[] =>
      resolveRuns({
        configName: 'submask',
        multirun: true,
        overrides: [
          'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, `main.dataset_subset=${subset}`, 'dl.batch_size=16',
          `dl.epochs=${epochs}`, 'dl.scheduler=cosine', `main.backend=${backend}`, `main.seed=${Array.from({ length: points }, (_, k) => k).join(',')}`,
        ],
      }).map((r, k) => ({ config: r.config, runDir: resolve(root, dir, `p-${k}`), overrides: r.overrides, resume: false }));

    const timed = async (name: string, launcher: LauncherName, extra: { jobs?: number; redis?: string }): Promise<{ ms: number; overheadMs: number; load: number }> => {
      // The 1-minute load average before the row: speed-ups need idle cores, and a shared machine has none.
      const load = loadavg()[0]!;
      const t0 = performance.now();
      const res = await launchSweep(sweep(name), { launcher, ...extra, workers: 0, pollMs: 200 });
      const ms = performance.now() - t0;
      if (!res.ok) throw new Error(`${name}: the sweep did not finish: ${JSON.stringify(res.status.points.map((p) => p.error ?? p.state))}`);
      // Σ of each point's own run time (summary.json's seconds: runExperiment from start to end).
      let own = 0;
      for (const p of res.status.points) own += (await readRunSummary(p.runDir)).seconds * 1000;
      return { ms, overheadMs: (ms - own) / points, load };
    };
    const row = (name: string, t: { ms: number; load: number }, ext: Record<string, unknown>): BenchResult => ({ name, backend, unit: 'ms', median: t.ms, min: t.ms, max: t.ms, n: 1, extra: { points, epochs, load1: t.load, cores: cpus().length, ...ext } });

    const results: BenchResult[] = [];
    const l1 = await timed('local-1', 'local', { jobs: 1 });
    results.push(row('local-1', l1, { speedup: 1, overhead_per_job_ms: Math.round(l1.overheadMs) }));
    const l2 = await timed('local-2', 'local', { jobs: 2 });
    results.push(row('local-2', l2, { speedup: l1.ms / l2.ms }));

    const missing = redisMissing();
    if (missing) {
      for (const name of ['queue-1', 'queue-2']) results.push({ name, backend, unit: 'ms', median: NaN, min: NaN, max: NaN, n: 0, extra: { skipped: missing } });
      return results;
    }
    const redis = await startRedis();
    // One worker for queue-1, a second one joins for queue-2 (both ready before each timing; in queue-2 the first
    // worker has its backend started already, the second starts it on its first job).
    const ws: ChildProcess[] = [];
    try {
      ws.push(...(await startWorkers(redis.url, 1)));
      const q1 = await timed('queue-1', 'queue', { redis: redis.url });
      results.push(row('queue-1', q1, { speedup: 1, vs_local_1: l1.ms / q1.ms, overhead_per_job_ms: Math.round(q1.overheadMs) }));
      ws.push(...(await startWorkers(redis.url, 1)));
      const q2 = await timed('queue-2', 'queue', { redis: redis.url });
      results.push(row('queue-2', q2, { speedup: q1.ms / q2.ms, vs_local_2: l2.ms / q2.ms }));
    } finally {
      await stopWorkers(ws);
      redis.stop();
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
