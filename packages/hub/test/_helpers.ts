import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { makeZip } from '../../core/test/_zip.js';
import type { TestServer } from './_server.js';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `smn-hub-${tag}-`));
}

/** Deterministic bytes that are not all the same. */
export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A stored zip with PyTorch's checkpoint layout (`archive/data.pkl`, `archive/data/0`, `archive/version`). */
export function pthTarLike(payload = randomBytes(4096)): Uint8Array {
  return makeZip([
    { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
    { name: 'archive/data/0', data: payload },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}

/** An IDX file (MNIST's format: magic, dimensions, bytes), gzipped as the hosts serve it; `salt` varies the bytes. */
export function idxGz(kind: 'images' | 'labels', n: number, salt = 0): Uint8Array {
  const dims = kind === 'images' ? [n, 28, 28] : [n];
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(kind === 'images' ? 0x803 : 0x801, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < body.length; i++) body[i] = kind === 'labels' ? (i + salt) % 10 : (i * 7 + salt) % 256;
  return new Uint8Array(gzipSync(Buffer.concat([head, body])));
}

/**
 * Serves MNIST's four files under /mnist/ (`train` and `test` samples; the train files salted `salt`, the test files
 * `salt + 1`) and writes a registry file in `dir` whose `mnist` entry checks them by sha256 (the shipped entry's md5s
 * are those of the real files). Returns the registry's path, for SMN_REGISTRY.
 */
export async function serveMnist(server: TestServer, dir: string, train: number, test: number, salt = 0): Promise<string> {
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte.gz': idxGz('images', train, salt),
    'train-labels-idx1-ubyte.gz': idxGz('labels', train, salt),
    't10k-images-idx3-ubyte.gz': idxGz('images', test, salt + 1),
    't10k-labels-idx1-ubyte.gz': idxGz('labels', test, salt + 1),
  };
  for (const [f, body] of Object.entries(files)) server.files.set(`/mnist/${f}`, { body });
  const entry = {
    kind: 'dataset',
    description: 'MNIST made by the test',
    datasets: ['mnist'],
    files: Object.entries(files).map(([path, body]) => ({
      path,
      urls: [`https://ossci-datasets.s3.amazonaws.com/mnist/${path}`],
      checksum: { algo: 'sha256', value: sha256(body), source: 'the test' },
    })),
    unpack: { format: 'files', into: 'mnist', produces: Object.keys(files) },
  };
  const registry = join(dir, 'registry.json');
  await writeFile(registry, JSON.stringify({ version: 1, entries: { mnist: entry } }));
  return registry;
}

/** Writes an SMN_REGISTRY file with `entries` and returns its path. */
export async function writeRegistry(dir: string, entries: Record<string, unknown>): Promise<string> {
  const file = join(dir, `registry-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ version: 1, entries }));
  return file;
}

const CHILD = fileURLToPath(new URL('./_fetch-child.ts', import.meta.url));

export interface ChildLine {
  ready?: boolean;
  progress?: number;
  path?: string;
  error?: string;
  message?: string;
}

/** `fetchFile(name)` in a child process (through tsx, with the parent's conditions), its JSON lines as they come. */
export function fetchInChild(name: string, env: Record<string, string>, barrier = ''): {
  child: ChildProcessWithoutNullStreams;
  lines: ChildLine[];
  until(pred: (l: ChildLine) => boolean): Promise<ChildLine>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', CHILD, name, barrier], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const lines: ChildLine[] = [];
  const waiters: Array<{ pred: (l: ChildLine) => boolean; resolve: (l: ChildLine) => void }> = [];
  let buf = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = JSON.parse(buf.slice(0, nl)) as ChildLine;
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (const w of waiters.filter((x) => x.pred(l))) w.resolve(l);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = (pred: (l: ChildLine) => boolean): Promise<ChildLine> => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ pred, resolve });
      void exited.then((code) => setTimeout(() => reject(new Error(`child exited (${code}) first; stderr: ${stderr}`)), 50));
    });
  };
  return { child, lines, until, exited };
}
