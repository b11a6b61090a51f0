// smn weights list/fetch/inspect and smn data fetch as a user runs them: the real CLI in a child process, with
// SMN_CACHE, SMN_MIRROR and SMN_OFFLINE in its environment, against an HTTP server on 127.0.0.1 standing in for
// the hosts of the registry's URLs.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../hub/test/_server.js';
import { serveMnist, sha256 } from '../../hub/test/_helpers.js';
import { fetchProgress } from '../src/progress.js';
import { runCli, runCliProcess, sink } from './_cli.js';

const FIX = join(import.meta.dirname, '..', '..', 'models', 'test', 'fixtures');
const SWAV_PATH = '/deepcluster/swav_800ep_pretrain.pth.tar';

let server: TestServer;
let work: string;
let swav: Uint8Array;

/** `smn ...args` in a child process with `env` (and PATH/HOME); `onErr` sees stderr as it comes. */
const smn = (args: string[], env: Record<string, string>, onErr?: (text: string, kill: (s: NodeJS.Signals) => void) => void) =>
  runCliProcess(args, { env, ...(onErr ? { onErr } : {}) });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'smn-hub-cli-'));
  // A real PyTorch checkpoint (torchvision layout) served as SwAV's file: big enough (745 kB) to throttle.
  swav = new Uint8Array(await readFile(join(FIX, 'r18w8.pth')));
  server = await startServer({ [SWAV_PATH]: { body: swav } });
});
afterAll(() => server?.close());

describe('smn weights', { timeout: 120_000 }, () => {
  it('list shows what is cached; fetch prints the cached path and progress lines; inspect reads it', async () => {
    const env = { SMN_CACHE: join(work, 'cache-a'), SMN_MIRROR: server.base };
    const before = await smn(['weights', 'list'], env);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toMatch(/^name\s+kind\s+size\s+cached\s+description$/m);
    expect(before.out).toMatch(/^swav-resnet50\s+weights\s+\?\s+no\s+SwAV ResNet-50/m);
    expect(before.out).toContain(`cache: ${env.SMN_CACHE}`);

    const fetched = await smn(['weights', 'fetch', 'swav-resnet50'], env);
    expect(fetched.code, fetched.err).toBe(0);
    const path = join(env.SMN_CACHE, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar');
    expect(fetched.out).toBe(`${path}\n`);
    expect(sha256(await readFile(path))).toBe(sha256(swav));
    // Not a terminal: plain lines, the URL when the file starts and the size when it is complete.
    expect(fetched.err).toContain(`swav-resnet50 swav_800ep_pretrain.pth.tar: fetching ${server.base}${SWAV_PATH}`);
    expect(fetched.err).toMatch(/swav-resnet50 swav_800ep_pretrain\.pth\.tar: 745\.0 kB in \d+:\d\d \([\d.]+ [kMG]?B\/s\)/);
    expect(fetched.err).not.toContain('\r');

    const after = await smn(['weights', 'list', '--json'], env);
    const listing = JSON.parse(after.out) as { cache: string; entries: { name: string; cached: boolean; files: { cachePath: string }[] }[] };
    expect(listing.cache).toBe(env.SMN_CACHE);
    expect(listing.entries.find((e) => e.name === 'swav-resnet50')).toMatchObject({ cached: true, files: [{ cachePath: path }] });
    expect(listing.entries.some((e) => e.name === 'cifar100')).toBe(false);
    const text = await smn(['weights', 'list'], env);
    expect(text.out).toMatch(/^swav-resnet50\s+weights\s+745\.0 kB\s+yes\s+/m);

    const inspect = await runCli(['weights', 'inspect', path]);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toMatch(/conv1\.weight\s+\[8,3,7,7\]\s+torch\.FloatStorage/);
  });

  it('offline: a file not in the cache is an error naming its URL and where to place it; nothing is requested', async () => {
    const env = { SMN_CACHE: join(work, 'cache-off'), SMN_MIRROR: server.base, SMN_OFFLINE: '1' };
    const served = server.log.length;
    const r = await smn(['weights', 'fetch', 'torchvision-resnet18'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('smn: error [SMN_HUB_OFFLINE_MISSING]');
    expect(r.err).toContain(`${server.base}/models/resnet18-f37072fd.pth`);
    expect(r.err).toContain(join(env.SMN_CACHE, 'torchvision-resnet18', 'resnet18-f37072fd.pth'));
    expect(server.log.length).toBe(served);
  });

  it('Ctrl-C stops a download with exit 130 and keeps the partial file; the next fetch continues it with a Range request', async () => {
    const env = { SMN_CACHE: join(work, 'cache-int'), SMN_MIRROR: server.base };
    const partial = join(env.SMN_CACHE, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar.partial');
    server.throttle.bytesPerTick = 4096; // ~200 kB/s: about 4 s for the file
    let sent = false;
    let stopped: Awaited<ReturnType<typeof smn>>;
    try {
      stopped = await smn(['weights', 'fetch', 'swav-resnet50'], env, (err, kill) => {
        if (!sent && err.includes(': fetching ') && existsSync(partial)) {
          sent = true;
          setTimeout(() => kill('SIGINT'), 300);
        }
      });
    } finally {
      server.throttle.bytesPerTick = 0;
    }
    expect(stopped.code, stopped.err).toBe(130);
    expect(stopped.err).toContain('SIGINT: stopping the download (the partial file stays; fetch again to continue)');
    expect(stopped.out).toBe('');
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(swav.length);

    const resumed = await smn(['weights', 'fetch', 'swav-resnet50'], env);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain('continuing at');
    expect(server.log.at(-1)).toMatchObject({ path: SWAV_PATH, status: 206, range: `bytes=${kept}-` });
    expect(sha256(await readFile(resumed.out.trim()))).toBe(sha256(swav));
  });

  it('usage errors: an unknown name suggests the closest, a dataset points at smn data fetch; --help says where files go', async () => {
    const unknown = await runCli(['weights', 'fetch', 'swav']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/SMN_HUB_UNKNOWN_NAME.*'swav'.*did you mean 'swav-resnet50'/);
    const dataset = await runCli(['weights', 'fetch', 'cifar100']);
    expect(dataset.code).toBe(2);
    expect(dataset.err).toContain('smn data fetch cifar100 --data-root DIR');
    expect((await runCli(['weights', 'fetch'])).code).toBe(2);
    const help = await runCli(['weights', '--help']);
    for (const s of ['$SMN_CACHE, default $XDG_CACHE_HOME/smn, else ~/.cache/smn', 'SMN_MIRROR=URL', 'HF_ENDPOINT', 'SMN_OFFLINE=1']) expect(help.out).toContain(s);
    expect(help.out).not.toMatch(/downloads nothing|does not download/);
  });
});

describe('smn data fetch', { timeout: 120_000 }, () => {
  it('fetches a dataset into --data-root in the layout smn data inspect reads, then finds it in place', async () => {
    const registry = await serveMnist(server, work, 20, 7);
    const env = { SMN_CACHE: join(work, 'cache-data'), SMN_MIRROR: server.base, SMN_REGISTRY: registry };
    const root = join(work, 'data');
    const r = await smn(['data', 'fetch', 'mnist', '--data-root', root], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`${join(root, 'mnist')}\n`);
    expect(r.err).toContain(`mnist train-images-idx3-ubyte.gz: fetching ${server.base}/mnist/train-images-idx3-ubyte.gz`);
    expect(r.err).toContain(`mnist: unpacked into ${join(root, 'mnist')}`);
    const info = JSON.parse((await runCli(['data', 'inspect', '--dataset', 'mnist', '--data-root', root, '--json'])).out);
    expect(info).toMatchObject({ dataset: 'mnist', train: 20, test: 7, numClasses: 10 });

    const served = server.log.length;
    const again = await smn(['data', 'fetch', 'mnist', '--data-root', root], env);
    expect(again.code).toBe(0);
    expect(again.err).toContain('mnist: already in place');
    expect(server.log.length).toBe(served);
  });

  it('names what it can fetch when a dataset has no download; needs a DATASET', async () => {
    const r = await runCli(['data', 'fetch', 'flowers']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no download for dataset 'flowers'; it can fetch cifar10 \(cifar10pgn, multicrop_cifar10\), cifar100 \(multicrop_cifar100\)/);
    expect((await runCli(['data', 'fetch'])).err).toContain('smn data fetch needs DATASET');
    const help = await runCli(['data', '--help']);
    expect(help.out).toContain('smn data fetch cifar100 --data-root /datasets');
    expect(help.out).toContain('SMN_OFFLINE=1');
  });
});

describe('the download progress display', () => {
  it('redraws one bar per file on a terminal (bytes, rate, ETA) and ends its line when the file is complete', () => {
    const err = sink();
    const ctx = { argv: [], backend: 'cpu' as const, out: sink(), err, interactive: true };
    const p = fetchProgress(ctx);
    const at = (bytes: number) => ({ name: 'swav-resnet50', file: 'swav.pth.tar', url: 'http://h/x', bytes, total: 4_000_000, rate: 1_000_000, resumedFrom: 0 });
    p.onProgress(at(1_000_000));
    p.onProgress(at(4_000_000));
    p.done();
    const lines = err.text().split('\r\x1b[2K').filter(Boolean);
    expect(lines[0]).toBe('swav-resnet50 swav.pth.tar [######..................] 1.0 MB/4.0 MB 1.0 MB/s 0:00<0:03');
    expect(lines[1]).toMatch(/^swav-resnet50 swav\.pth\.tar \[#{24}\] 4\.0 MB\/4\.0 MB 1\.0 MB\/s 0:00<0:00\n$/);
  });
});
