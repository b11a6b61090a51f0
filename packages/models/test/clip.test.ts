import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { clipParamSpecs, clipSelection, createClip, loadClip, parseClipConfig, readSafetensors } from '../src/index.js';
import { nchwToNhwc, relErr } from './helpers.js';

const CLIP_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'clip_tiny');
const TOL = 1e-4;

beforeAll(async () => {
  await useBackend('cpu');
});

describe.skipIf(!existsSync(CLIP_DIR))('CLIP parity with transformers (../shared/fixtures/clip_tiny; skipped when absent)', { timeout: 60_000 }, () => {
  it('matches every output of io.safetensors', async () => {
    const io = await readSafetensors(join(CLIP_DIR, 'io.safetensors'));
    const model = await loadClip(CLIP_DIR);
    const x = nchwToNhwc(io.get('pixel_values_nchw')!);
    const rows = (name: string) => {
      const t = io.get(name)!;
      const [n, l] = t.shape as [number, number];
      return Array.from({ length: n }, (_, i) => Array.from((t.data as Float32Array).subarray(i * l, (i + 1) * l), Math.round));
    };
    const ids = rows('input_ids');
    const mask = rows('attention_mask');
    const before = tf.memory().numTensors;
    const pooled = model.apply(model.params, x);
    const img = model.apply(model.params, x, { output: 'projected' });
    const textPooled = model.encodeText(ids, mask, { output: 'pooled' });
    const txt = model.encodeText(ids, mask);
    const lpi = model.logits(img as tf.Tensor2D, txt);
    const lpt = tf.transpose(lpi);
    const outs: [string, tf.Tensor][] = [
      ['vision_pooled', pooled],
      ['image_embeds', img],
      ['text_pooled', textPooled],
      ['text_embeds', txt],
      ['logits_per_image', lpi],
      ['logits_per_text', lpt],
    ];
    for (const [name, t] of outs) {
      expect(t.shape, name).toEqual(io.get(name)!.shape);
      expect(relErr(t.dataSync(), io.get(name)!.data as Float32Array), name).toBeLessThan(TOL);
    }
    tf.dispose(outs.map((o) => o[1]));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});

describe('CLIP structure', { timeout: 60_000 }, () => {
  it('masks 85,017,600 entries of ViT-B/32 (OpenAI config) with the reference selection', () => {
    // Fields of openai/clip-vit-base-patch32's config.json that fix the shapes.
    const cfg = parseClipConfig({
      projection_dim: 512,
      text_config: { hidden_size: 512, intermediate_size: 2048, num_attention_heads: 8, num_hidden_layers: 12, vocab_size: 49408, max_position_embeddings: 77, eos_token_id: 2 },
      vision_config: { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, image_size: 224, patch_size: 32 },
    });
    const { vision } = clipParamSpecs(cfg);
    const sel = clipSelection();
    let masked = 0;
    let total = 0;
    for (const s of vision) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      total += n;
      const r = sel(s.name, s);
      if (Array.isArray(r) && r[0] === 'mask') {
        expect(r[1]).toBe(s.name);
        masked += n;
      } else expect(r).toBe('freeze');
    }
    expect(masked).toBe(85_017_600);
    // vision_model = patch conv + class + 50 positions + 2 LayerNorms + 12 layers (7,087,872 each) + post LN; + projection
    expect(total).toBe(768 * 3 * 32 * 32 + 768 + 50 * 768 + 1536 + 12 * 7_087_872 + 1536 + 768 * 512);
  });

  it('creates a seeded random CLIP whose vision tower is differentiable without leaks', () => {
    const hf = { projection_dim: 8, vision_config: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, image_size: 8, patch_size: 4 }, text_config: { hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 20, max_position_embeddings: 6 } };
    const a = createClip(hf, 1);
    const b = createClip(hf, 1);
    const w = 'vision_model.encoder.layers.0.mlp.fc1.weight';
    expect([...a.params.get(w)!.dataSync()]).toEqual([...b.params.get(w)!.dataSync()]);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const g = tf.grad((wt: tf.Tensor) => {
      const p = new Map(a.params);
      p.set(w, wt);
      return tf.sum(a.apply(p, x, { output: 'projected' }));
    })(a.params.get(w)!);
    expect(g.shape).toEqual([16, 32]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => a.apply(a.params, tf.zeros([1, 9, 9, 3]))).toThrowError(/\[N,8,8,3\]/);
    x.dispose();
    a.dispose();
    b.dispose();
  });
});
