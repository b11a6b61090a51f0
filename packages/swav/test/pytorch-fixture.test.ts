// Cross-check against PyTorch: tools/fixtures/swav/make_fixtures.py re-implements the reference's SwAV step with torch autograd.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { parseNpy, type NpyArray } from '@smn/core';
import { SwavQueue, sinkhorn, swavLoss } from '../src/index.js';

const fx: Record<string, NpyArray> = {};

beforeAll(async () => {
  await useBackend('cpu');
  for (const n of ['e', 'w', 'queue', 'sinkhorn_in', 'sinkhorn_out', 'loss', 'grad_e', 'grad_w']) {
    const path = fileURLToPath(new URL(`./fixtures/${n}.npy`, import.meta.url));
    // A plain Uint8Array copy: @smn/core's readNpy slices the Node Buffer, which is a view into a shared pool
    // for small files (reported to the lead).
    fx[n] = parseNpy(new Uint8Array(await readFile(path)), path);
  }
});

const t2 = (a: NpyArray): tf.Tensor2D => tf.tensor2d(a.data as Float32Array, a.shape as [number, number]);

function expectAllClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol);
}

describe('PyTorch fixtures (SWAVModule.training_step)', () => {
  it('sinkhorn equals the torch implementation', () => {
    const o = t2(fx.sinkhorn_in!);
    for (const domain of ['exp', 'log'] as const) {
      const q = sinkhorn(o, { domain });
      expectAllClose(q.dataSync(), fx.sinkhorn_out!.data as Float32Array, 2e-6);
      q.dispose();
    }
    o.dispose();
  });

  it('the loss and its gradients equal torch autograd with no_grad codes', () => {
    const e = t2(fx.e!), w = t2(fx.w!);
    const B = 4;
    const { value, grads } = tf.tidy(() => {
      const g = tf.valueAndGrads((ee: tf.Tensor, ww: tf.Tensor) =>
        swavLoss({ embeddings: ee as tf.Tensor2D, prototypes: ww as tf.Tensor2D, batchSize: B }).loss,
      );
      return g([e, w]);
    });
    expect(value.dataSync()[0]).toBeCloseTo((fx.loss!.data as Float32Array)[0]!, 5);
    expectAllClose(grads[0]!.dataSync(), fx.grad_e!.data as Float32Array, 1e-5);
    expectAllClose(grads[1]!.dataSync(), fx.grad_w!.data as Float32Array, 1e-5);
    tf.dispose([e, w, value, ...grads]);
  });

  it('the loss with a full queue equals torch, and the queue gets the assignment crops', async () => {
    const e = t2(fx.e!), w = t2(fx.w!);
    const [, L, F] = fx.queue!.shape as [number, number, number];
    const qd = fx.queue!.data as Float32Array;
    const queue = new SwavQueue({ length: L, featDim: F, batchSize: 4 });
    queue.load({ length: L, featDim: F, data: [qd.slice(0, L * F), qd.slice(L * F)], use: false, filling: true });
    const { loss, queueUsed } = swavLoss({ embeddings: e, prototypes: w, batchSize: 4, queue });
    expect(queueUsed).toBe(true);
    expect(loss.dataSync()[0]).toBeCloseTo((fx.loss!.data as Float32Array)[1]!, 5);
    const st = await queue.state();
    const ed = fx.e!.data as Float32Array;
    // queue 1 now starts with crop 1's 4 embeddings, then the old first L − 4 rows.
    expectAllClose(st.data[1]!.subarray(0, 4 * F), ed.subarray(4 * F, 8 * F), 0);
    expectAllClose(st.data[1]!.subarray(4 * F), qd.subarray(L * F, L * F + (L - 4) * F), 0);
    tf.dispose([e, w, loss]);
    queue.dispose();
  });
});
