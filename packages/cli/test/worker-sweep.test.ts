import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { launchSweep } from '@smn/launch';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { resolveRuns } from '@smn/train';
import { runCli } from './_cli.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const missing = spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed (Debian: apt-get install redis-server)';
if (missing) console.log(`skipped: ${missing}`);

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

describe.skipIf(missing !== undefined)('smn worker and smn sweep status', () => {
  let url = '';
  let redis: ReturnType<typeof spawn> | undefined;
  let root = '';
  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
    root = await mkdtemp(join(tmpdir(), 'smn-worker-'));
  });
  afterAll(() => redis?.kill('SIGTERM'));

  it('a worker runs a detached sweep; sweep status shows it queued, then done; SIGTERM stops the worker', async () => {
    await useBackend('cpu');
    const weights = join(root, 'tiny.safetensors');
    const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
    await writeSafetensors(weights, resnetStateDict(m));
    m.dispose();
    const overrides = ['main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=64', 'dl.batch_size=16', 'dl.epochs=1', 'dl.scheduler=cosine', 'main.backend=wasm'];
    const [r] = resolveRuns({ configName: 'submask', overrides });
    const { sweepId } = await launchSweep([{ config: r!.config, runDir: join(root, 'run'), overrides: r!.overrides, resume: false }], { launcher: 'queue', redis: url, detach: true });

    const queued = await runCli(['sweep', 'status', sweepId, '--redis', url]);
    expect(queued.code).toBe(1);
    expect(queued.out).toMatch(/0\s+queued/);

    const worker = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, 'worker', '--concurrency', '1'], { env: { ...process.env, SMN_REDIS_URL: url }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    worker.stderr!.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((res) => worker.on('exit', (code) => res(code)));
    try {
      let status = queued;
      for (let i = 0; i < 600 && status.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        status = await runCli(['sweep', 'status', sweepId, '--redis', url]);
      }
      expect(status.code, err).toBe(0);
      expect(status.out).toMatch(/1 done, 0 failed/);
      expect(status.out).toMatch(/0\s+done\s+epoch 1\/1\s+test\/accuracy=/);
      // The report of the same sweep by its id: the point's row, read from Redis and its summary.json.
      const file = join(root, 'report.html');
      const report = await runCli(['sweep', 'report', sweepId, '--redis', url, '--out', file]);
      expect(report.code, report.err).toBe(0);
      expect(await readFile(file, 'utf8')).toMatch(/<tr><td>0<\/td><td>done<\/td><td>[^<]*main\.dataset=embedded[^<]*<\/td><td>0\.\d+<\/td><td>test\/accuracy<\/td>/);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await exit).toBe(130);
    expect(err).toMatch(/stopped: 1 done, 0 failed, 0 given back/);
  });

  it('sweep status of an unknown id is a usage error naming it', async () => {
    const r = await runCli(['sweep', 'status', 'nope', '--redis', url]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no sweep nope in this Redis');
  });
});
