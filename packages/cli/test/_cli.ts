import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../src/main.js';

/** A writable stream that keeps what was written. */
export function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

/** Runs `smn argv…` in-process (the real `main`), returning its exit code and what it printed. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(argv, { out, err });
  return { code, out: out.text(), err: err.text() };
}

/** The CLI's entry point, as `smn` runs it. */
export const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/**
 * Runs the real `smn argv…` process (bin.ts through tsx, with this process's conditions), as a user's shell would.
 * With `env` the child sees only it, PATH and HOME; `onErr` sees stderr as it comes and can kill the child.
 */
export function runCliProcess(
  argv: string[],
  opts: { env?: Record<string, string>; onErr?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const env = opts.env && { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env };
  const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    opts.onErr?.(err, (s) => child.kill(s));
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}
