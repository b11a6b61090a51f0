// Weights and datasets a config names, fetched through @smn/hub from a real HTTP server on 127.0.0.1 standing in for
// the hosts (SMN_MIRROR, HF_ENDPOINT), then loaded by the same code a run uses.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmnError } from '@smn/core';
import { tf, useBackend } from '@smn/backend';
import { createResNet, loadClipTokenizer, resnetStateDict, writeSafetensors, type ResNetModel, type StateDict } from '@smn/models';
import { ensureDataset, fetchBackboneWeights, loadBackbone, loadRunData, resolveBackboneWeights, resolveConfig, type SmnConfig } from '../src/index.js';
import { startServer, type TestServer } from '../../hub/test/_server.js';
import { idxGz, serveMnist, sha256 } from '../../hub/test/_helpers.js';
import { tokenizerJson } from '../../models/test/_tiny-tokenizer.js';
import { swavCheckpoint } from './_torch-save.js';
import { caughtAsync } from '../../core/test/_smn-error.js';

const CLIP_TINY = fileURLToPath(new URL('../../../../shared/fixtures/clip_tiny/', import.meta.url));
const SWAV_PATH = '/deepcluster/swav_800ep_pretrain.pth.tar';

let server: TestServer;
let work: string;
let r50: StateDict;
let r18: StateDict;

const cfgOf = (name: string, overrides: string[]): SmnConfig => resolveConfig({ configName: name, overrides }).config;
const requests = (path: string): number => server.log.filter((l) => l.path === path).length;

function stateOf(depth: 18 | 50, seed: number): StateDict {
  const m = createResNet({ depth, width: 4, stem: 'imagenet', numClasses: 0, seed });
  const sd = resnetStateDict(m);
  m.dispose();
  return sd;
}

/** Every backbone tensor of `model` equals the tensor of that name in `want` (bit for bit: float32 both ways). */
function expectSameWeights(model: ResNetModel, want: StateDict): void {
  const got = resnetStateDict(model);
  expect(got.size).toBeGreaterThan(50);
  for (const [name, t] of got) {
    const w = want.get(name);
    expect(w, name).toBeDefined();
    expect(t.shape, name).toEqual(w!.shape);
    expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(w!.data as Float32Array));
  }
}

beforeAll(async () => {
  await useBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'smn-fetch-inputs-'));
  r50 = stateOf(50, 3);
  r18 = stateOf(18, 4);
  // SwAV's file: the backbone under 'state_dict' with 'module.' prefixes, beside a projection head and prototypes.
  const extra: StateDict = new Map([
    ['projection_head.0.weight', { shape: [8, 128], dtype: 'float32', data: new Float32Array(1024).fill(0.5) }],
    ['prototypes.weight', { shape: [3, 8], dtype: 'float32', data: new Float32Array(24).fill(-1) }],
  ]);
  const timmFile = join(work, 'r18.safetensors');
  await writeSafetensors(timmFile, r18);
  server = await startServer({
    [SWAV_PATH]: { body: swavCheckpoint(r50, extra) },
    '/timm/resnet18.a1_in1k/resolve/main/config.json': { body: new TextEncoder().encode('{"architecture": "resnet18"}') },
    '/timm/resnet18.a1_in1k/resolve/main/model.safetensors': { body: new Uint8Array(await readFile(timmFile)) },
  });
}, 120_000);
afterAll(() => server?.close());

async function envFor(tag: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const cache = join(work, `cache-${tag}`);
  await mkdir(cache, { recursive: true });
  return { SMN_CACHE: cache, SMN_MIRROR: server.base, ...extra };
}

describe('model.pret.source/repo/name → the registry name the reference loader fetches', () => {
  it.each([
    [['model.pret.source=hub', 'model.pret.repo=facebookresearch/swav:main', 'model.pret.name=resnet50'], 'swav-resnet50'],
    [['model.pret.source=hub', 'model.pret.repo=facebookresearch/swav', 'model.pret.name=resnet50'], 'swav-resnet50'],
    [['model.pret.source=hub', 'model.pret.repo=facebookresearch/dino:main', 'model.pret.name=dino_resnet50'], 'dino-resnet50'],
    [['model.pret.source=torch', 'model.pret.name=resnet18'], 'torchvision-resnet18'],
    [['model.pret.source=torch', 'model.pret.name=resnet34'], 'torchvision-resnet34'],
    [['model.pret.source=torch', 'model.pret.name=resnet50'], 'torchvision-resnet50'],
    [['model.pret.source=torch', 'model.pret.name=resnet101'], 'torchvision-resnet101'],
    [['model.pret.source=timm', 'model.pret.name=resnet18'], 'timm/resnet18.a1_in1k'],
    [['model.pret.source=timm', 'model.pret.name=resnet50.a1_in1k'], 'timm/resnet50.a1_in1k'],
    [['model.pret.source=clip', 'model.pret.name=openai/clip-vit-base-patch32'], 'openai/clip-vit-base-patch32'],
  ])('%j → %s', (overrides, name) => {
    expect(resolveBackboneWeights(cfgOf('submask', overrides))).toEqual({ kind: 'registry', name });
  });

  it('uses model.pret.weights as given, the embedded backbone as shipped, and refuses combinations it has no file for', () => {
    expect(resolveBackboneWeights(cfgOf('baseline', ['model.pret.weights=w/rn18.safetensors']))).toEqual({ kind: 'file', path: 'w/rn18.safetensors' });
    expect(resolveBackboneWeights(cfgOf('submask', ['model.pret.name=embedded']))).toEqual({ kind: 'embedded', path: undefined });
    const err = (() => {
      try {
        resolveBackboneWeights(cfgOf('submask', ['model.pret.source=hub', 'model.pret.repo=facebookresearch/dino:main', 'model.pret.name=resnet50']));
      } catch (e) {
        return e as SmnError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toMatchObject({ code: 'SMN_CONFIG_WEIGHTS_MISSING', kind: 'usage' });
    expect(err.message).toContain('model.pret.source=hub model.pret.repo=facebookresearch/dino:main model.pret.name=resnet50');
    expect(err.message).toContain("torch.hub.load('facebookresearch/dino:main', 'resnet50')");
    expect(err.message).toContain('model.pret.weights=PATH');
    expect(() => resolveBackboneWeights(cfgOf('submask', ['model.pret.source=mocov2', 'model.pret.name=moco_v2_800ep']))).toThrowError(
      /data\/models\/moco_v2_800ep\.pth\.tar, which is not there.*model\.pret\.weights=PATH/,
    );
  });
});

describe('loadBackbone fetches what the config names', () => {
  it("SwAV ResNet-50 through SMN_MIRROR: lands in the cache, loads the backbone of SwAV's .pth.tar, downloads once", async () => {
    const env = await envFor('swav');
    const cfg = cfgOf('submask', ['model.pret.source=hub', 'model.pret.name=resnet50']);
    const progress: number[] = [];
    const backbone = await loadBackbone(cfg, { env, onProgress: (p) => progress.push(p.bytes) });
    const cached = join(env.SMN_CACHE!, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar');
    expect(backbone).toMatchObject({ kind: 'resnet', inputSize: 224, source: cached });
    expect(backbone.featureDim).toBe(4 * 8 * 4);
    expectSameWeights(backbone.model as ResNetModel, r50);
    expect(progress.at(-1)).toBe((await readFile(cached)).length);
    backbone.model.dispose();

    const before = requests(SWAV_PATH);
    const tensors = tf.memory().numTensors;
    const again = await loadBackbone(cfg, { env });
    again.model.dispose();
    expect(requests(SWAV_PATH)).toBe(before);
    expect(tf.memory().numTensors).toBe(tensors);
  }, 120_000);

  it("timm's resnet18 (the submask default) through HF_ENDPOINT: the weight file of the repo, not its config.json", async () => {
    const env = await envFor('timm', { HF_ENDPOINT: server.base });
    const got = await fetchBackboneWeights(cfgOf('submask', []), { env });
    expect(got).toEqual({
      source: { kind: 'registry', name: 'timm/resnet18.a1_in1k' },
      path: join(env.SMN_CACHE!, 'timm', 'resnet18.a1_in1k', 'model.safetensors'),
    });
    const backbone = await loadBackbone(cfgOf('submask', []), { env });
    expect(backbone.featureDim).toBe(4 * 8);
    expectSameWeights(backbone.model as ResNetModel, r18);
    backbone.model.dispose();
  }, 120_000);

  it('offline with an empty cache: names the file, its URL and where to place it; the network is not touched', async () => {
    const env = await envFor('offline', { SMN_OFFLINE: '1' });
    const served = server.log.length;
    const err = await caughtAsync(loadBackbone(cfgOf('submask', ['model.pret.source=hub', 'model.pret.name=resnet50']), { env }));
    expect(err.code).toBe('SMN_HUB_OFFLINE_MISSING');
    expect(err.message).toContain('swav_800ep_pretrain.pth.tar');
    expect(err.message).toContain(`${server.base}${SWAV_PATH}`);
    expect(err.message).toContain(join(env.SMN_CACHE!, 'swav-resnet50', 'swav_800ep_pretrain.pth.tar'));
    expect(err.message).toContain('SMN_OFFLINE');
    expect(server.log.length).toBe(served);
  });

  it('an unknown backbone name is a usage error before anything is fetched', async () => {
    const env = await envFor('unknown');
    const served = server.log.length;
    const err = await caughtAsync(loadBackbone(cfgOf('submask', ['model.pret.source=torch', 'model.pret.name=vgg16']), { env }));
    expect(err).toMatchObject({ code: 'SMN_CONFIG_MODEL', kind: 'usage' });
    expect(server.log.length).toBe(served);
  });

  it.skipIf(!existsSync(CLIP_TINY))('CLIP through HF_ENDPOINT: the repo folder, with its tokenizer beside the weights', async () => {
    const repo = '/openai/clip-vit-base-patch32/resolve/main';
    const files: Record<string, Uint8Array> = {
      'config.json': await readFile(join(CLIP_TINY, 'config.json')),
      'model.safetensors': await readFile(join(CLIP_TINY, 'model.safetensors')),
      'tokenizer.json': new TextEncoder().encode(JSON.stringify(tokenizerJson)),
    };
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'preprocessor_config.json']) files[f] = new TextEncoder().encode('{}');
    files['merges.txt'] = new TextEncoder().encode('#version: 0.2\n');
    for (const [f, body] of Object.entries(files)) server.files.set(`${repo}/${f}`, { body: new Uint8Array(body) });
    const env = await envFor('clip', { HF_ENDPOINT: server.base });
    const backbone = await loadBackbone(cfgOf('submask_clip_p', []), { env });
    const folder = join(env.SMN_CACHE!, 'openai', 'clip-vit-base-patch32');
    expect(backbone).toMatchObject({ kind: 'clip', source: folder });
    expect((await loadClipTokenizer(backbone.source)).encode(['a photo']).ids).toHaveLength(1);
    backbone.model.dispose();
  }, 120_000);
});

describe('main.download fetches the dataset before it is opened', () => {
  it('unpacks MNIST into main.data_root in the layout the reader reads, with the right counts; once; not with main.download=0', async () => {
    const registry = await serveMnist(server, work, 12, 5, 1);
    const env = await envFor('mnist', { SMN_REGISTRY: registry });
    const root = join(work, 'data');
    const off = cfgOf('submask', ['main.dataset=mnist', `main.data_root=${root}`, 'main.download=0']);
    expect(await ensureDataset(off, { env })).toMatchObject({ fetched: false, reason: 'main.download=0' });
    expect(existsSync(join(root, 'mnist'))).toBe(false);

    const cfg = cfgOf('submask', ['main.dataset=mnist', `main.data_root=${root}`, 'main.download=1']);
    expect(await ensureDataset(cfg, { env })).toEqual({ dataset: 'mnist', entry: 'mnist', fetched: true, dir: join(root, 'mnist'), reason: 'fetched' });
    const data = await loadRunData(cfg, 28, false);
    expect([data.train.length, data.test.length, data.numClasses]).toEqual([12, 5, 10]);
    expect(Array.from(data.test.labels)).toEqual([2, 3, 4, 5, 6]);

    const served = server.log.length;
    expect(await ensureDataset(cfg, { env })).toMatchObject({ fetched: false, reason: 'already in place' });
    expect(server.log.length).toBe(served);
  }, 120_000);

  it("leaves a dataset the reader already finds in another layout (torchvision's MNIST/raw) where it is", async () => {
    const root = join(work, 'data-raw');
    await mkdir(join(root, 'MNIST', 'raw'), { recursive: true });
    await writeFile(join(root, 'MNIST', 'raw', 't10k-images-idx3-ubyte.gz'), idxGz('images', 3, 0));
    await writeFile(join(root, 'MNIST', 'raw', 't10k-labels-idx1-ubyte.gz'), idxGz('labels', 3, 0));
    const env = await envFor('raw', { SMN_OFFLINE: '1' });
    const r = await ensureDataset(cfgOf('submask', ['main.dataset=mnist', `main.data_root=${root}`]), { env });
    expect(r).toMatchObject({ entry: 'mnist', fetched: false });
    expect(r.reason).toContain('the reader finds');
    expect(existsSync(join(root, 'mnist'))).toBe(false);
    expect(await ensureDataset(cfgOf('submask', ['main.dataset=dtd', `main.data_root=${root}`]), { env })).toMatchObject({
      entry: undefined,
      fetched: false,
    });
  });
});
