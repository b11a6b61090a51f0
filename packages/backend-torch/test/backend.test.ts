import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { available, both, setup, tf } from './helpers.js';
import { registerTorchBackend, resetTorchProfile, torchFallbackKernels, torchNativeKernels, torchProfile } from '../src/index.js';
import { loadNative } from '../src/native.js';

describe.skipIf(!available)('torch backend: storage, fallbacks, registration', () => {
  beforeAll(setup);

  it('kernels without a native version run on the cpu fallback, are counted, and match cpu', async () => {
    await both(
      (x) => [tf.mirrorPad(x, [[1, 1], [2, 0]], 'reflect'), tf.linspace(0, 1, 5), tf.image.resizeBilinear(tf.reshape(x, [1, 4, 5, 1]) as tf.Tensor4D, [3, 7])],
      [{ shape: [4, 5] }],
      { allowFallback: true },
    );
    resetTorchProfile();
    tf.tidy(() => tf.mirrorPad(tf.ones([2, 2]), [[1, 1], [1, 1]], 'symmetric'));
    expect(torchProfile().fallback).toEqual({ MirrorPad: 1 });
    expect(torchFallbackKernels()).toContain('MirrorPad');
    expect(torchNativeKernels()).toEqual(expect.arrayContaining(['Conv2D', 'Conv2DBackpropFilter', 'BatchMatMul', 'TopK', 'GatherV2', 'OneHot']));
  });

  it('a native kernel hands unusual dtypes to the fallback (int32 Mod, int32 Mean)', async () => {
    resetTorchProfile();
    await both((a, b) => [tf.mod(a, b), tf.mean(a)], [{ shape: [6], dtype: 'int32', lo: -9, hi: 9 }, { shape: [6], dtype: 'int32', lo: 1, hi: 4 }], { allowFallback: true });
    expect(torchProfile().fallback).toMatchObject({ Mod: 1 });
  });

  it('string tensors stay in JS and work through fallbacks', async () => {
    const s = tf.tensor(['a', 'bc', 'def', 'g'], [2, 2]);
    const r = tf.reshape(s, [4]);
    expect(r.dataSync()).toEqual(['a', 'bc', 'def', 'g']);
    expect(tf.slice(s, [1, 0], [1, 2]).dataSync()).toEqual(['def', 'g']);
    tf.dispose([s, r]);
  });

  it('moves tensors made on cpu, keeps variables across assign, reads async and sync', async () => {
    await tf.setBackend('cpu');
    const onCpu = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    await tf.setBackend('torch');
    const y = tf.matMul(onCpu, onCpu);
    expect(Array.from(await y.data())).toEqual([7, 10, 15, 22]);
    const v = tf.variable(tf.zeros([3]));
    v.assign(tf.tensor1d([1, 2, 3]));
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(await tf.cast(tf.greater(v, 1.5), 'int32').data())).toEqual([0, 1, 1]);
    tf.dispose([onCpu, y, v]);
  });

  it('reports memory and frees native tensors on dispose', () => {
    const be = tf.backend() as unknown as { native: { live(): number } };
    const live = be.native.live();
    const t = tf.ones([256, 256]);
    const m = tf.memory() as tf.MemoryInfo & { numBytesInTorch?: number };
    expect(m.numBytesInTorch).toBeGreaterThanOrEqual(256 * 256 * 4);
    expect(be.native.live()).toBe(live + 1);
    t.dispose();
    expect(be.native.live()).toBe(live);
  });

  it("device 'cuda' without a CUDA device is a clear error", async () => {
    const loaded = loadNative();
    if (!('native' in loaded) || loaded.native.info().cudaAvailable) return;
    await expect(registerTorchBackend({ device: 'cuda' })).rejects.toThrow(/libtorch sees no CUDA device/);
    // the cpu backend stays registered and usable
    expect(Array.from(tf.add(tf.scalar(1), tf.scalar(2)).dataSync())).toEqual([3]);
  });
});

describe('registerTorchBackend without the addon', () => {
  it('throws "libtorch not found" naming the missing file and how to build it', () => {
    const script = fileURLToPath(new URL('./fixtures/register.ts', import.meta.url));
    // process.execArgv carries --conditions=@smn/source: the child imports the workspace's sources, never a dist/ that a
    // fresh clone has not built (docs/contributing.md).
    const r = spawnSync(process.execPath, [...process.execArgv, '--import', 'tsx', script], {
      env: { ...process.env, SMN_TORCH_ADDON: '/nonexistent/smn_torch.node' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toContain('available=false');
    expect(r.stdout).toMatch(/SMN_TORCH_UNAVAILABLE libtorch not found: the addon \/nonexistent\/smn_torch.node is not built\. Install libtorch-dev/);
    expect(r.stdout).toContain('pnpm rebuild @smn/backend-torch');
  }, 60_000);
});
