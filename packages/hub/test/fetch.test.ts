import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readZip } from '@smn/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFile, HubErrorCode, listEntries, resolveEntry, type FetchProgress } from '../src/index.js';
import { bytes, pthTarLike, sha256, tempDir, writeRegistry } from './_helpers.js';
import { caughtAsync } from '../../core/test/_smn-error.js';
import { startProxy, startServer, type TestServer } from './_server.js';

let server: TestServer;
let work: string;
const SWAV_PATH = '/deepcluster/swav_800ep_pretrain.pth.tar';
const swav = pthTarLike();

beforeAll(async () => {
  server = await startServer({ [SWAV_PATH]: { body: swav } });
  work = await tempDir('fetch');
});
afterAll(() => server.close());

/** A fresh cache and the environment of a user whose SMN_MIRROR is the test server. */
async function envFor(tag: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const cache = join(work, `cache-${tag}`);
  await mkdir(cache, { recursive: true });
  return { SMN_CACHE: cache, SMN_MIRROR: server.base, ...extra };
}

const requests = (path: string): number => server.log.filter((l) => l.path === path).length;

describe('fetchFile through SMN_MIRROR', () => {
  it('lands swav-resnet50 in the cache with the served bytes, records its sha256, and verifies it on later use', async () => {
    const env = await envFor('swav');
    const progress: FetchProgress[] = [];
    const path = await fetchFile('swav-resnet50', { env, onProgress: (p) => progress.push(p) });
    expect(path).toBe(join(env.SMN_CACHE!, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar'));
    expect(sha256(await readFile(path))).toBe(sha256(swav));
    expect([...readZip(new Uint8Array(await readFile(path)), path).keys()]).toContain('archive/data.pkl');
    expect(progress.at(-1)).toMatchObject({ name: 'swav-resnet50', bytes: swav.length, total: swav.length, resumedFrom: 0 });
    const manifest = JSON.parse(await readFile(join(env.SMN_CACHE!, 'manifest.json'), 'utf8'));
    expect(manifest.files['swav-resnet50/swav_800ep_pretrain.pth.tar']).toMatchObject({
      url: 'https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar',
      sha256: sha256(swav),
      how: 'downloaded',
    });
    const before = requests(SWAV_PATH);
    expect(await fetchFile('swav-resnet50', { env })).toBe(path);
    expect(requests(SWAV_PATH)).toBe(before);
    expect((await readdir(join(env.SMN_CACHE!, 'swav-resnet50'))).sort()).toEqual(['swav_800ep_pretrain.pth.tar']);

    const changed = new Uint8Array(await readFile(path));
    changed[100] = changed[100]! ^ 1;
    await writeFile(path, changed);
    const err = await caughtAsync(fetchFile('swav-resnet50', { env }));
    expect(err.code).toBe(HubErrorCode.CacheMismatch);
    expect(err.message).toContain(`the cached ${path}`);
    expect(err.message).toContain(`expected sha256 ${sha256(swav)}`);
    expect(err.message).toContain(`found ${sha256(changed)}`);
  });

  it('goes through an HTTP proxy named by HTTP_PROXY, and around it for NO_PROXY hosts', async () => {
    const proxy = await startProxy();
    try {
      const env = await envFor('proxy', { HTTP_PROXY: proxy.url });
      await fetchFile('swav-resnet50', { env });
      expect(proxy.tunnels).toEqual([`127.0.0.1:${server.port}`]);
      const direct = await envFor('noproxy', { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' });
      await fetchFile('swav-resnet50', { env: direct });
      expect(proxy.tunnels).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('fetchFile refuses what it cannot trust or reach, naming the URL', () => {
  it('wrong bytes: the checksum is refused and nothing is left under the final name', async () => {
    server.files.set('/models/resnet18-f37072fd.pth', { body: bytes(50_000, 7) });
    const env = await envFor('wrong');
    const err = await caughtAsync(fetchFile('torchvision-resnet18', { env }));
    expect(err.code).toBe(HubErrorCode.Checksum);
    expect(err.message).toContain(`resnet18-f37072fd.pth of 'torchvision-resnet18' downloaded from ${server.base}/models/resnet18-f37072fd.pth`);
    expect(err.message).toContain('expected sha256 starting with f37072fd (the file name, as torch.hub check_hash reads it)');
    expect(err.message).toContain(`found ${sha256(bytes(50_000, 7))}`);
    expect(await readdir(join(env.SMN_CACHE!, 'torchvision-resnet18'))).toEqual([]);
  });

  it('a 404 names the URL and the status', async () => {
    const env = await envFor('404');
    const err = await caughtAsync(fetchFile('dino-resnet50', { env }));
    expect(err.code).toBe(HubErrorCode.Http);
    expect(err.message).toContain(`cannot download ${server.base}/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth: not found (404)`);
    expect(err.details.status).toBe(404);
  });

  it('a refused connection names the URL', async () => {
    const closed = await startServer();
    const base = closed.base;
    await closed.close();
    const env = { ...(await envFor('refused')), SMN_MIRROR: base };
    const err = await caughtAsync(fetchFile('dino-resnet50', { env }));
    expect(err.code).toBe(HubErrorCode.Network);
    expect(err.message).toContain(`cannot download ${base}/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth: connection refused (ECONNREFUSED)`);
  });
});

describe('offline (SMN_OFFLINE=1, HF_HUB_OFFLINE=1)', () => {
  it('never touches the network: a missing file is named with its URL and where to place it; a placed file is used', async () => {
    const env = await envFor('offline', { SMN_OFFLINE: '1' });
    const before = server.log.length;
    const err = await caughtAsync(fetchFile('swav-resnet50', { env }));
    const target = join(env.SMN_CACHE!, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar');
    expect(err.code).toBe(HubErrorCode.OfflineMissing);
    expect(err.message).toContain(`Download ${server.base}${SWAV_PATH} elsewhere and place it at ${target}, or unset SMN_OFFLINE`);
    expect(server.log.length).toBe(before);
    await mkdir(join(env.SMN_CACHE!, 'swav-resnet50'), { recursive: true });
    await writeFile(target, swav);
    expect(await fetchFile('swav-resnet50', { env })).toBe(target);
    expect(await fetchFile('swav-resnet50', { env: { ...env, SMN_OFFLINE: '', HF_HUB_OFFLINE: '1' } })).toBe(target);
    expect(server.log.length).toBe(before);
    const manifest = JSON.parse(await readFile(join(env.SMN_CACHE!, 'manifest.json'), 'utf8'));
    expect(manifest.files['swav-resnet50/swav_800ep_pretrain.pth.tar']).toMatchObject({ sha256: sha256(swav), how: 'found' });
  });
});

describe('interrupted downloads', () => {
  it('an aborted download keeps its partial file and the next fetch continues it with a Range request', async () => {
    const body = bytes(400_000, 3);
    server.files.set('/weights/abort.bin', { body });
    const env = await envFor('abort');
    env.SMN_REGISTRY = await writeRegistry(work, {
      'abort-test': { kind: 'weights', description: 't', files: [{ path: 'abort.bin', urls: ['https://example.org/weights/abort.bin'] }] },
    });
    server.throttle.bytesPerTick = 16_384;
    const ac = new AbortController();
    try {
      const err = await caughtAsync(
        fetchFile('abort-test', { env, signal: ac.signal, onProgress: (p) => p.bytes > 100_000 && ac.abort() }),
      );
      expect(err.code).toBe(HubErrorCode.Aborted);
      expect(err.message).toContain('is kept and the next fetch continues from there');
    } finally {
      server.throttle.bytesPerTick = 0;
    }
    const partial = join(env.SMN_CACHE!, 'abort-test', 'abort.bin.partial');
    const kept = (await readFile(partial)).length;
    expect(kept).toBeGreaterThan(100_000);
    expect(kept).toBeLessThan(body.length);
    const progress: FetchProgress[] = [];
    const path = await fetchFile('abort-test', { env, onProgress: (p) => progress.push(p) });
    expect(sha256(await readFile(path))).toBe(sha256(body));
    expect(server.log.filter((l) => l.path === '/weights/abort.bin').at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 206, bytes: body.length - kept });
    expect(progress.at(-1)).toMatchObject({ bytes: body.length, total: body.length, resumedFrom: kept });
    expect(existsSync(partial)).toBe(false);
  });

  it('starts over when the server answers a Range request with 200 (the file changed: If-Range)', async () => {
    const first = bytes(200_000, 4);
    const second = bytes(200_000, 5);
    server.files.set('/weights/changed.bin', { body: first, etag: '"v1"' });
    const env = await envFor('changed');
    env.SMN_REGISTRY = await writeRegistry(work, {
      'changed-test': { kind: 'weights', description: 't', files: [{ path: 'c.bin', urls: ['https://example.org/weights/changed.bin'] }] },
    });
    server.throttle.bytesPerTick = 16_384;
    const ac = new AbortController();
    try {
      await caughtAsync(fetchFile('changed-test', { env, signal: ac.signal, onProgress: (p) => p.bytes > 50_000 && ac.abort() }));
    } finally {
      server.throttle.bytesPerTick = 0;
    }
    server.files.set('/weights/changed.bin', { body: second, etag: '"v2"' });
    const path = await fetchFile('changed-test', { env });
    expect(sha256(await readFile(path))).toBe(sha256(second));
    expect(server.log.filter((l) => l.path === '/weights/changed.bin').at(-1)).toMatchObject({ status: 200 });
  });
});

describe('Hugging Face files (HF_ENDPOINT)', () => {
  const repo = '/timm/resnet18.a1_in1k/resolve/main';
  const weights = bytes(30_000, 9);
  const config = new TextEncoder().encode('{"architecture": "resnet18"}');

  it('fetches a repo folder and checks an LFS file against the sha256 the server announces (X-Linked-Etag)', async () => {
    server.files.set(`${repo}/config.json`, { body: config });
    server.files.set(`${repo}/model.safetensors`, { redirectTo: '/cdn/abc123', headers: { 'x-linked-etag': `"${sha256(weights)}"` } });
    server.files.set('/cdn/abc123', { body: weights });
    const env = await envFor('hf', { HF_ENDPOINT: server.base, SMN_MIRROR: 'http://127.0.0.1:9' });
    const dir = await fetchFile('timm/resnet18.a1_in1k', { env });
    expect(dir).toBe(join(env.SMN_CACHE!, 'timm', 'resnet18.a1_in1k'));
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(sha256(await readFile(join(dir, 'model.safetensors')))).toBe(sha256(weights));
    const manifest = JSON.parse(await readFile(join(env.SMN_CACHE!, 'manifest.json'), 'utf8'));
    expect(manifest.files['timm/resnet18.a1_in1k/model.safetensors'].verified).toContain('X-Linked-Etag');

    server.files.set(`${repo}/model.safetensors`, { redirectTo: '/cdn/abc123', headers: { 'x-linked-etag': `"${'0'.repeat(64)}"` } });
    const other = await envFor('hf-bad', { HF_ENDPOINT: server.base });
    const err = await caughtAsync(fetchFile('timm/resnet18.a1_in1k', { env: other }));
    expect(err.code).toBe(HubErrorCode.Checksum);
    expect(err.message).toContain(`expected sha256 ${'0'.repeat(64)} (X-Linked-Etag of ${server.base}${repo}/model.safetensors`);
    expect(existsSync(join(other.SMN_CACHE!, 'timm', 'resnet18.a1_in1k', 'model.safetensors'))).toBe(false);
  });

  it('falls back to a listed alternative (pytorch_model.bin) when the repo has no model.safetensors', async () => {
    const r50 = '/timm/resnet50.a1_in1k/resolve/main';
    server.files.set(`${r50}/config.json`, { body: config });
    server.files.set(`${r50}/pytorch_model.bin`, { body: weights });
    const env = await envFor('hf-alt', { HF_ENDPOINT: server.base });
    const dir = await fetchFile('timm/resnet50.a1_in1k', { env });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'pytorch_model.bin']);
    const listing = (await listEntries({ env })).find((e) => e.name === 'timm/resnet50.a1_in1k')!;
    expect(listing.cached).toBe(true);
  });
});

describe('the registry', () => {
  it('has the names of the paper with their URLs and checksum sources; SMN_MIRROR and HF_ENDPOINT rewrite hosts only', async () => {
    const names = (await listEntries({ env: {} })).map((e) => e.name);
    for (const n of ['swav-resnet50', 'dino-resnet50', 'torchvision-resnet18', 'torchvision-resnet50', 'timm/resnet18.a1_in1k',
      'timm/resnet50.a1_in1k', 'openai/clip-vit-base-patch32', 'cifar10', 'cifar100', 'fashion_mnist', 'svhn', 'stl10']) {
      expect(names).toContain(n);
    }
    const e = resolveEntry('torchvision-resnet50', { env: { SMN_MIRROR: 'http://mirror.local:8080/pub/' }, cacheDir: '/c' });
    expect(e.files[0]).toMatchObject({
      urls: ['http://mirror.local:8080/pub/models/resnet50-11ad3fa6.pth'],
      registryUrls: ['https://download.pytorch.org/models/resnet50-11ad3fa6.pth'],
      cachePath: '/c/torchvision-resnet50/resnet50-11ad3fa6.pth',
      checksum: { algo: 'sha256-prefix', value: '11ad3fa6' },
    });
    const clip = resolveEntry('openai/clip-vit-base-patch32', { env: { HF_ENDPOINT: 'https://hf-mirror.example/' } });
    expect(clip.files.map((f) => f.path)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
    expect(clip.files[0]!.urls).toEqual(['https://hf-mirror.example/openai/clip-vit-base-patch32/resolve/main/config.json']);
  });

  it('is listed in the README, every name with its first URL', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const e of await listEntries({ env: {} })) {
      expect(readme, e.name).toContain(`| \`${e.name}\` | ${e.kind} | ${e.files[0]!.url.replace(/[^/]*$/, '')}`);
    }
  });

  it('names unknown entries and invalid SMN_REGISTRY files with every problem', async () => {
    const unknown = await caughtAsync(fetchFile('swav-resnet', { env: {} }));
    expect(unknown.code).toBe(HubErrorCode.UnknownName);
    expect(unknown.message).toContain("no registry entry named 'swav-resnet' (did you mean 'swav-resnet50'?)");
    const bad = await writeRegistry(work, {
      x: { kind: 'model', description: 'x', files: [{ path: '../escape', urls: ['ftp://a/b'], checksum: { algo: 'md5', value: 'zz' } }] },
    });
    const err = await caughtAsync(fetchFile('x', { env: { SMN_REGISTRY: bad } }));
    expect(err.code).toBe(HubErrorCode.RegistryInvalid);
    expect(err.message).toContain('entries.x.kind: expected weights | dataset | hf-repo');
    expect(err.message).toContain("entries.x.files.0.path: expected a relative path without '..'");
    expect(err.message).toContain('entries.x.files.0.urls: expected a non-empty array of http(s) URLs');
    expect(err.message).toContain('entries.x.files.0.checksum: expected algo sha256 | md5 | sha256-prefix');
  });
});
