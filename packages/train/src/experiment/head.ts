import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, torchLinearInit } from '@smn/core';
import { createMaskedLinear, createMaskedModel, type MaskedModel } from '@smn/subnetworks';
import type { ClipModel } from '@smn/models';
import { ModelErrorCode } from '@smn/models';

/** A classification head on pooled features. Its learnable state is `variables` (named for checkpoints). */
export interface Head {
  kind: string;
  /** logits [B, C] from features [B, D]; differentiable w.r.t. `variables`. */
  apply(features: tf.Tensor2D): tf.Tensor2D;
  /** Learnable tensors by checkpoint name. */
  variables: Map<string, tf.Variable>;
  /** Mask statistics of a masked head (`{}` otherwise). */
  analyze(): Record<string, number>;
  /** Masks of a masked head by parameter name (caller disposes). */
  masks(): Map<string, tf.Tensor>;
  dispose(): void;
}

function maskedHeadVariables(m: MaskedModel, prefix: string): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, v] of m.scores) out.set(`${prefix}scores.${name}`, v);
  for (const [name, v] of m.trainable) out.set(`${prefix}${name}`, v);
  return out;
}

/** `cls.fc=masked`: the reference's MaskedLinear (random frozen weight, learned mask, no bias). */
export function maskedHead(inFeatures: number, numClasses: number, scoreInit: number, seed: number): Head {
  const m = createMaskedLinear(inFeatures, numClasses, { scoreInit, seed });
  return {
    kind: 'masked',
    apply: (f) => m.apply(f) as tf.Tensor2D,
    variables: maskedHeadVariables(m, 'head.'),
    analyze: () => m.analyze(),
    masks: () => m.masks(),
    dispose: () => m.dispose(),
  };
}

/** `cls.fc=linear`: nn.Linear(in, C) with PyTorch's default init U(±1/√in) for weight and bias. */
export function linearHead(inFeatures: number, numClasses: number, seed: number): Head {
  const rng = createRng(seed);
  const w = torchLinearInit(rng, inFeatures * numClasses, inFeatures);
  const b = torchLinearInit(rng, numClasses, inFeatures);
  // tf.tidy disposes the initial tensors; the variables keep their own reference to the data.
  const W = tf.tidy(() => tf.variable(tf.tensor2d(w, [inFeatures, numClasses]), true));
  const B = tf.tidy(() => tf.variable(tf.tensor1d(b), true));
  return {
    kind: 'linear',
    apply: (f) => tf.add(tf.matMul(f, W), B),
    variables: new Map<string, tf.Variable>([
      ['head.weight', W],
      ['head.bias', B],
    ]),
    analyze: () => ({}),
    masks: () => new Map(),
    dispose: () => {
      W.dispose();
      B.dispose();
    },
  };
}

/** A fixed linear head from a probe (weights [D, C], bias [C]); nothing to learn. */
export function fixedLinearHead(W: Float32Array, b: Float32Array, inFeatures: number, numClasses: number): Head {
  const Wt = tf.tidy(() => tf.variable(tf.tensor2d(W, [inFeatures, numClasses]), false));
  const Bt = tf.tidy(() => tf.variable(tf.tensor1d(b), false));
  return {
    kind: 'probe',
    apply: (f) => tf.add(tf.matMul(f, Wt), Bt),
    variables: new Map(),
    analyze: () => ({}),
    masks: () => new Map(),
    dispose: () => {
      Wt.dispose();
      Bt.dispose();
    },
  };
}

/**
 * `cls.fc=pret_submasked` (docs/method.md#heads): CLIP's visual projection, masked (scores 1.0, scaled, threshold 0), then
 * cosine similarity with the frozen text embeddings of "This is a photo of a {label}", times exp(logit_scale).
 * `textEmbeds` [C, P] is owned by the head.
 */
export function clipPromptHead(clip: ClipModel, textEmbeds: tf.Tensor2D, opts: { masked: boolean }): Head {
  const proj = clip.params.get('visual_projection.weight');
  if (!proj) throw new SmnError(ModelErrorCode.WeightsMissing, 'the CLIP model has no visual_projection.weight; cls.fc=pret_submasked needs it');
  const scale = Math.exp((clip.textParams.get('logit_scale')?.dataSync()[0] as number | undefined) ?? Math.log(100));
  const textN = tf.tidy(() => tf.div(textEmbeds, tf.norm(textEmbeds, 2, 1, true)) as tf.Tensor2D);
  textEmbeds.dispose();
  const base = { params: new Map([['visual_projection.weight', proj]]), apply: (p: Map<string, tf.Tensor>, x: tf.Tensor) => tf.matMul(x as tf.Tensor2D, p.get('visual_projection.weight') as tf.Tensor2D) };
  const m = createMaskedModel(base, {
    select: () => (opts.masked ? ['mask', 'visual_projection.weight'] : 'freeze'),
    scoresInit: { kind: 'normal', mean: 1, std: 0 },
    mode: 'threshold',
    k: 0,
    scale: true,
  });
  return {
    kind: opts.masked ? 'pret_submasked' : 'pret',
    apply: (f) =>
      tf.tidy(() => {
        const e = m.apply(f) as tf.Tensor2D;
        const en = tf.div(e, tf.norm(e, 2, 1, true)) as tf.Tensor2D;
        return tf.mul(tf.matMul(en, textN, false, true), scale) as tf.Tensor2D;
      }),
    variables: maskedHeadVariables(m, 'head.'),
    analyze: () => m.analyze(),
    masks: () => m.masks(),
    dispose: () => {
      m.dispose();
      textN.dispose();
    },
  };
}
