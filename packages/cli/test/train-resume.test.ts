import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
let root = '';
let weights = '';

function smn(args: string[]): { done: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>; pid: number; kill(sig: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', () => {});
  return {
    pid: child.pid!,
    kill: (sig) => child.kill(sig),
    done: new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, err }))),
  };
}

async function finalMetrics(dir: string): Promise<Record<string, unknown>[]> {
  const lines = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  return lines.map((l) => {
    const { time: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });
}

const until = async (cond: () => boolean, ms = 240_000) => {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
};

const trainArgs = (dir: string) => [
  '--backend', 'wasm', 'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded',
  `model.pret.weights=${weights}`, 'main.dataset_subset=96', 'dl.batch_size=16', 'dl.epochs=3', 'dl.scheduler=cosine',
  '--workers', '0', '--run-dir', dir,
];

beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'smn-resume-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
}, 60_000);

describe('smn train: interruption and resume', () => {
  it('ends with the same metrics after kill -9 mid-epoch and after Ctrl-C, as an uninterrupted run', async () => {
    const ref = join(root, 'ref');
    const r0 = await smn(trainArgs(ref)).done;
    expect(r0.code, r0.err).toBe(0);
    const expected = await finalMetrics(ref);
    expect(expected.length).toBe(4);

    // kill -9 some time after the first checkpoint: the run resumes from the last epoch end.
    const a = join(root, 'killed');
    const p1 = smn(trainArgs(a));
    await until(() => existsSync(join(a, 'last.ckpt')));
    await new Promise((r) => setTimeout(r, 700));
    p1.kill('SIGKILL');
    const k = await p1.done;
    expect(k.signal).toBe('SIGKILL');
    const r1 = await smn(['--backend', 'wasm', 'train', '--resume', a, '--workers', '0']).done;
    expect(r1.code, r1.err).toBe(0);
    expect(await finalMetrics(a)).toEqual(expected);

    // SIGINT: a checkpoint at the current batch, exit 130, then resume mid-epoch.
    const b = join(root, 'sigint');
    const p2 = smn(trainArgs(b));
    await until(() => existsSync(join(b, 'last.ckpt')));
    p2.kill('SIGINT');
    const s = await p2.done;
    expect(s.code, s.err).toBe(130);
    expect(s.err).toMatch(/checkpoint saved at epoch \d+, batch \d+/);
    const r2 = await smn(['--backend', 'wasm', 'train', '--resume', b, '--workers', '0']).done;
    expect(r2.code, r2.err).toBe(0);
    expect(await finalMetrics(b)).toEqual(expected);
  }, 600_000);

  it('refuses a truncated checkpoint with a clear error and leaves it untouched', async () => {
    const dir = join(root, 'ref');
    const bad = join(root, 'bad');
    await smn(['--version']).done;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(bad, { recursive: true });
    await copyFile(join(dir, 'config.yaml'), join(bad, 'config.yaml'));
    const good = await readFile(join(dir, 'last.ckpt'));
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    await writeFile(join(bad, 'last.ckpt'), truncated);
    const r = await smn(['--backend', 'wasm', 'train', '--resume', bad]).done;
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/SMN_CKPT_CORRUPT.*last\.ckpt is unusable.*truncated/);
    expect(r.err).not.toMatch(/    at /); // no stack trace
    expect(Buffer.compare(await readFile(join(bad, 'last.ckpt')), truncated)).toBe(0);
  }, 120_000);
});
