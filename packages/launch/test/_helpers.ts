import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { resolveRuns } from '@smn/train';
import type { SweepPoint } from '../src/index.js';

/** A tiny ResNet-18 (width 4) as safetensors: the embedded default's data with a backbone that trains in seconds. */
export async function tinyWeights(root: string): Promise<string> {
  await useBackend('cpu');
  const file = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
  await writeSafetensors(file, resnetStateDict(m));
  m.dispose();
  return file;
}

/** The points of `smn train --multirun` over `sweep` (e.g. ['dl.lr=0.1,0.2']) on the embedded data, run folders under `dir`. */
export function sweepPoints(weights: string, dir: string, sweep: string[], epochs = 2): SweepPoint[] {
  const overrides = [
    'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=96',
    'dl.batch_size=16', `dl.epochs=${epochs}`, 'dl.scheduler=cosine', 'main.backend=wasm', ...sweep,
  ];
  return resolveRuns({ configName: 'submask', overrides, multirun: true }).map((r, k) => ({ config: r.config, runDir: join(dir, `p-${k}`), overrides: r.overrides, resume: false }));
}

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });

/** Why Redis tests cannot run here, or undefined when redis-server is on PATH. */
export function redisMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'redis-server is not installed (Debian: apt-get install redis-server); the queue tests are skipped';
}

/** A private redis-server on a free port of 127.0.0.1, without persistence. */
export async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return { url, stop: () => p.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  p.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

const WORKER = fileURLToPath(new URL('./_worker-child.ts', import.meta.url));

/** An `smn worker` process (runWorker, through tsx with the parent's conditions) with short lock times for tests. */
export function startWorker(url: string, name: string): ChildProcess & { log: () => string } {
  const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', WORKER, url, name], { stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { log: () => string };
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  child.log = () => log;
  return child;
}

export const exited = (c: ChildProcess) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : c.once('exit', () => res())));

export async function until(cond: () => boolean | Promise<boolean>, ms = 300_000): Promise<void> {
  const t = Date.now();
  while (!(await cond())) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}
