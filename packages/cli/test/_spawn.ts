import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** A running `smn` process: its pid, signals, what it printed on stderr so far, and its end. */
export interface SmnProcess {
  pid: number;
  kill(sig: NodeJS.Signals): void;
  stderr(): string;
  /** Resolves once stderr matches `re`; rejects if the process ends first. */
  waitFor(re: RegExp): Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>;
}

/** Spawns the CLI from its sources, as `pnpm smn` does (node with tsx's loader, no tsx process in between). */
export function smn(args: string[]): SmnProcess {
  const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const waiters = new Set<{ re: RegExp; resolve: () => void }>();
  child.stderr.on('data', (d) => {
    err += d;
    for (const w of waiters) if (w.re.test(err)) (waiters.delete(w), w.resolve());
  });
  child.stdout.on('data', () => {});
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((res) => child.on('exit', (code, signal) => res({ code, signal, err })));
  return {
    pid: child.pid!,
    kill: (sig) => child.kill(sig),
    stderr: () => err,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(err)) return resolve();
        waiters.add({ re, resolve });
        void done.then((r) => reject(new Error(`smn ended (${r.code ?? r.signal}) before its stderr matched ${re}:\n${r.err}`)));
      }),
    done,
  };
}

/** Waits until `cond` holds (a file appears), checking every 20 ms; fails after `ms`. */
export async function until(cond: () => boolean, ms = 120_000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The records of a run's metrics.jsonl without their wall-clock times. */
export async function metricsOf(dir: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const { time: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

/** A tiny random ResNet-18 (width 4) as the backbone, so that a whole run takes seconds. */
export async function writeTinyBackbone(file: string): Promise<void> {
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 5 });
  await writeSafetensors(file, resnetStateDict(m));
  m.dispose();
}
