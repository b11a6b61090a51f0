import { Writable } from 'node:stream';
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
