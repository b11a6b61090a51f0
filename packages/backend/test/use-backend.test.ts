import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isSmnError, type SmnError } from '@smn/core';
import { AUTO_ORDER, useBackend, currentBackend, tf } from '../src/index.js';

async function rejection(p: Promise<unknown>): Promise<SmnError> {
  try {
    await p;
  } catch (e) {
    if (isSmnError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('useBackend', () => {
  const savedEnv = process.env['SMN_BACKEND'];
  afterEach(() => {
    if (savedEnv === undefined) delete process.env['SMN_BACKEND'];
    else process.env['SMN_BACKEND'] = savedEnv;
  });
  afterAll(async () => {
    await useBackend('cpu');
  });

  it('auto picks the first available backend in order and says why each earlier one was skipped', async () => {
    const choice = await useBackend('auto');
    const at = AUTO_ORDER.indexOf(choice.name);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(choice.skipped.map((s) => s.name)).toEqual(AUTO_ORDER.slice(0, at));
    for (const s of choice.skipped) expect(s.reason.length, s.name).toBeGreaterThan(10);
    expect(tf.getBackend()).toBe(choice.name);
    const tfSkip = choice.skipped.find((s) => s.name === 'tensorflow');
    if (tfSkip !== undefined) expect(tfSkip.reason).toMatch(/@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /);
    const torchSkip = choice.skipped.find((s) => s.name === 'torch');
    if (torchSkip !== undefined) expect(torchSkip.reason).toMatch(/backend-torch|libtorch/);
    const gpuSkip = choice.skipped.find((s) => s.name === 'webgpu');
    if (gpuSkip !== undefined) expect(gpuSkip.reason).toMatch(/WebGPU adapter|webgpu/i);
    // wasm and cpu always load, so auto never falls past wasm.
    expect(at).toBeLessThanOrEqual(AUTO_ORDER.indexOf('wasm'));
    console.log(`auto chose ${choice.name} (${choice.device}); skipped: ${JSON.stringify(choice.skipped, null, 1)}`);
  });

  it('an explicit tensorflow request that cannot be met says how to get it', async (ctx) => {
    let err: SmnError;
    try {
      await useBackend('tensorflow');
      ctx.skip('tfjs-node is installed and built on this machine');
      return;
    } catch (e) {
      if (!isSmnError(e)) throw e;
      err = e;
    }
    expect(err.code).toBe('SMN_BACKEND_UNAVAILABLE');
    expect(err.kind).toBe('usage');
    expect(err.message).toMatch(/^backend 'tensorflow' is not available: @tensorflow\/tfjs-node-gpu: /);
    expect(err.message).toContain('pnpm rebuild @tensorflow/tfjs-node-gpu');
    expect(err.message).toContain('CUDA 11.2');
    expect(err.message).toContain('libtensorflow 2.9');
    expect(err.message).toContain('--backend / SMN_BACKEND');
    // the previous backend stays active
    expect(['cpu', 'wasm', 'webgpu', 'torch']).toContain(tf.getBackend());
  });

  it('an explicit torch request that cannot be met names libtorch', async (ctx) => {
    try {
      await useBackend('torch');
      ctx.skip('the libtorch addon is built on this machine');
    } catch (e) {
      if (!isSmnError(e)) throw e;
      expect(e.code).toBe('SMN_BACKEND_UNAVAILABLE');
      expect(e.message).toContain('libtorch-dev');
      expect(e.message).toContain('pnpm rebuild @smn/backend-torch');
    }
  });

  it('switching works, tensors follow, and re-selecting returns the same initialised backend', async () => {
    await useBackend('cpu');
    const a = tf.tensor1d([1, 2, 3]);
    const w1 = await useBackend('wasm');
    expect(w1).toMatchObject({ name: 'wasm', skipped: [] });
    expect(w1.device).toMatch(/^wasm/);
    const instance = tf.backend();
    const w2 = await useBackend('wasm');
    expect(w2).toEqual(w1);
    expect(tf.backend()).toBe(instance);
    const b = tf.mul(a, 2); // `a` lives on cpu; tfjs moves it
    expect(Array.from(b.dataSync())).toEqual([2, 4, 6]);
    const c = await useBackend('cpu');
    expect(c).toEqual({ name: 'cpu', skipped: [], device: 'cpu (js)' });
    expect(tf.getBackend()).toBe('cpu');
    expect(Array.from(tf.add(b, 1).dataSync())).toEqual([3, 5, 7]);
    expect(currentBackend()?.name).toBe('cpu');
    tf.disposeVariables();
    tf.dispose([a, b]);
  });

  it('SMN_BACKEND sets the default', async () => {
    process.env['SMN_BACKEND'] = 'wasm';
    expect((await useBackend()).name).toBe('wasm');
    process.env['SMN_BACKEND'] = 'cpu';
    expect((await useBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects unknown names, from the argument or SMN_BACKEND', async () => {
    process.env['SMN_BACKEND'] = 'cuda';
    const e1 = await rejection(useBackend());
    expect(e1.code).toBe('SMN_BACKEND_UNKNOWN');
    expect(e1.kind).toBe('usage');
    expect(e1.message).toMatchInlineSnapshot(
      `"environment variable SMN_BACKEND is 'cuda'; expected one of auto, torch, tensorflow, webgpu, wasm, cpu"`,
    );
    const e2 = await rejection(useBackend('gpu' as never));
    expect(e2.message).toMatchInlineSnapshot(`"unknown backend 'gpu'; expected one of auto, torch, tensorflow, webgpu, wasm, cpu"`);
  });
});
