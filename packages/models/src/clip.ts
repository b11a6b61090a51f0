import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, fmtShape } from '@smn/core';
import { checkShape, conv, fromTf, layerNorm, linear, req, toTf } from './layers.js';
import type { ApplyOptions, FunctionalModel, StateDict } from './types.js';
import type { ParamSpec } from './resnet.js';
import { ModelErrorCode } from './errors.js';

/** One tower of CLIP, normalised from a Hugging Face config (missing fields take HF's CLIP defaults). */
export interface ClipTowerConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  hiddenAct: 'quick_gelu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
}
export interface ClipConfig {
  vision: ClipTowerConfig & { imageSize: number; patchSize: number; numChannels: number };
  text: ClipTowerConfig & { vocabSize: number; maxPositions: number; eosTokenId: number; padTokenId: number; bosTokenId: number };
  projectionDim: number;
  logitScaleInit: number;
}

type HfTower = Record<string, unknown>;

/** Parses a Hugging Face CLIP `config.json` object (`text_config` / `vision_config`, or the older `*_config_dict`). */
export function parseClipConfig(hf: Record<string, unknown>): ClipConfig {
  const v = (hf.vision_config ?? hf.vision_config_dict ?? {}) as HfTower;
  const t = (hf.text_config ?? hf.text_config_dict ?? {}) as HfTower;
  const num = (o: HfTower, k: string, d: number): number => {
    const x = o[k];
    if (x === undefined || x === null) return d;
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new SmnError(ModelErrorCode.ModelConfig, `CLIP config: '${k}' must be a number, got ${JSON.stringify(x)}`, { kind: 'usage' });
    }
    return x;
  };
  const act = (o: HfTower): ClipTowerConfig['hiddenAct'] => {
    const a = (o.hidden_act ?? 'quick_gelu') as string;
    if (!['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'].includes(a)) {
      throw new SmnError(ModelErrorCode.ModelConfig, `CLIP config: hidden_act '${a}' is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, relu)`, { kind: 'usage' });
    }
    return a as ClipTowerConfig['hiddenAct'];
  };
  const cfg: ClipConfig = {
    vision: {
      hiddenSize: num(v, 'hidden_size', 768),
      intermediateSize: num(v, 'intermediate_size', 3072),
      numLayers: num(v, 'num_hidden_layers', 12),
      numHeads: num(v, 'num_attention_heads', 12),
      layerNormEps: num(v, 'layer_norm_eps', 1e-5),
      hiddenAct: act(v),
      imageSize: num(v, 'image_size', 224),
      patchSize: num(v, 'patch_size', 32),
      numChannels: num(v, 'num_channels', 3),
    },
    text: {
      hiddenSize: num(t, 'hidden_size', 512),
      intermediateSize: num(t, 'intermediate_size', 2048),
      numLayers: num(t, 'num_hidden_layers', 12),
      numHeads: num(t, 'num_attention_heads', 8),
      layerNormEps: num(t, 'layer_norm_eps', 1e-5),
      hiddenAct: act(t),
      vocabSize: num(t, 'vocab_size', 49408),
      maxPositions: num(t, 'max_position_embeddings', 77),
      eosTokenId: num(t, 'eos_token_id', 2),
      padTokenId: num(t, 'pad_token_id', 1),
      bosTokenId: num(t, 'bos_token_id', 0),
    },
    projectionDim: num(hf, 'projection_dim', 512),
    logitScaleInit: num(hf, 'logit_scale_init_value', 2.6592),
  };
  for (const [name, tw] of [['vision', cfg.vision], ['text', cfg.text]] as const) {
    if (tw.hiddenSize % tw.numHeads !== 0) {
      throw new SmnError(ModelErrorCode.ModelConfig, `CLIP ${name} config: hidden_size ${tw.hiddenSize} is not divisible by num_attention_heads ${tw.numHeads}`, { kind: 'usage' });
    }
  }
  return cfg;
}

function towerSpecs(prefix: string, c: ClipTowerConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const D = c.hiddenSize;
  const I = c.intermediateSize;
  const ln = (p: string) => out.push({ name: `${p}.weight`, shape: [D], role: 'bn_weight' }, { name: `${p}.bias`, shape: [D], role: 'bias' });
  const lin = (p: string, o: number, i: number) => out.push({ name: `${p}.weight`, shape: [o, i], role: 'linear' }, { name: `${p}.bias`, shape: [o], role: 'bias' });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `${prefix}.encoder.layers.${l}`;
    lin(`${p}.self_attn.k_proj`, D, D);
    lin(`${p}.self_attn.v_proj`, D, D);
    lin(`${p}.self_attn.q_proj`, D, D);
    lin(`${p}.self_attn.out_proj`, D, D);
    ln(`${p}.layer_norm1`);
    lin(`${p}.mlp.fc1`, I, D);
    lin(`${p}.mlp.fc2`, D, I);
    ln(`${p}.layer_norm2`);
  }
  return out;
}

/**
 * CLIP's parameters in Hugging Face order and PyTorch shapes, without allocating: the vision tower
 * (`vision_model.*`, `visual_projection.weight`) then the text tower (`text_model.*`, `text_projection.weight`,
 * `logit_scale`). `role` 'linear'/'conv' tells the layout conversion.
 */
export function clipParamSpecs(cfg: ClipConfig): { vision: ParamSpec[]; text: ParamSpec[] } {
  const v = cfg.vision;
  const t = cfg.text;
  const grid = Math.floor(v.imageSize / v.patchSize);
  const vision: ParamSpec[] = [
    { name: 'vision_model.embeddings.class_embedding', shape: [v.hiddenSize], role: 'bias' },
    { name: 'vision_model.embeddings.patch_embedding.weight', shape: [v.hiddenSize, v.numChannels, v.patchSize, v.patchSize], role: 'conv' },
    { name: 'vision_model.embeddings.position_embedding.weight', shape: [grid * grid + 1, v.hiddenSize], role: 'bias' },
    { name: 'vision_model.pre_layrnorm.weight', shape: [v.hiddenSize], role: 'bn_weight' },
    { name: 'vision_model.pre_layrnorm.bias', shape: [v.hiddenSize], role: 'bias' },
    ...towerSpecs('vision_model', v),
    { name: 'vision_model.post_layernorm.weight', shape: [v.hiddenSize], role: 'bn_weight' },
    { name: 'vision_model.post_layernorm.bias', shape: [v.hiddenSize], role: 'bias' },
    { name: 'visual_projection.weight', shape: [cfg.projectionDim, v.hiddenSize], role: 'linear' },
  ];
  const text: ParamSpec[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [t.vocabSize, t.hiddenSize], role: 'bias' },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [t.maxPositions, t.hiddenSize], role: 'bias' },
    ...towerSpecs('text_model', t),
    { name: 'text_model.final_layer_norm.weight', shape: [t.hiddenSize], role: 'bn_weight' },
    { name: 'text_model.final_layer_norm.bias', shape: [t.hiddenSize], role: 'bias' },
    { name: 'text_projection.weight', shape: [cfg.projectionDim, t.hiddenSize], role: 'linear' },
    { name: 'logit_scale', shape: [], role: 'bias' },
  ];
  return { vision, text };
}

/** Options of the CLIP vision tower's apply. */
export interface ClipApplyOptions extends ApplyOptions {
  /** 'pooled' = CLS token after post_layernorm `[N, hidden]` (default); 'projected' = visual_projection of it `[N, projectionDim]`. */
  output?: 'pooled' | 'projected';
}

/**
 * CLIP with Hugging Face names. As a {@link FunctionalModel} it is the vision tower: `params` holds `vision_model.*`
 * and `visual_projection.weight`; `apply(params, x NHWC [N,S,S,3])` returns the pooled output (or the projected
 * embedding). The text tower lives in `textParams` and is used by `encodeText`.
 */
export interface ClipModel extends FunctionalModel {
  readonly kind: 'clip';
  readonly config: ClipConfig;
  /** Default output of apply; settable. */
  output: 'pooled' | 'projected';
  readonly featureDim: number;
  /** `text_model.*`, `text_projection.weight`, `logit_scale` (layouts converted like the vision ones). */
  textParams: Map<string, tf.Tensor>;
  apply(params: Map<string, tf.Tensor>, x: tf.Tensor, opts?: ClipApplyOptions): tf.Tensor;
  /**
   * Text tower on token ids `[N, L]` (numbers or an int32 tensor) with an optional attention mask (1 = token, 0 =
   * padding). Returns the projected text embedding `[N, projectionDim]` (or the pooled `[N, hidden]` with
   * `output: 'pooled'`). Pooling: the largest id per row when `eos_token_id` is 2 (OpenAI configs), else the first
   * `eos_token_id`. The caller disposes the result.
   */
  encodeText(ids: number[][] | tf.Tensor2D, mask?: number[][] | tf.Tensor2D, opts?: { output?: 'pooled' | 'projected' }): tf.Tensor2D;
  /** `exp(logit_scale) · normalize(image) · normalize(text)ᵀ` → logits per image `[Ni, Nt]`. */
  logits(imageEmbeds: tf.Tensor2D, textEmbeds: tf.Tensor2D): tf.Tensor2D;
}

function activation(x: tf.Tensor, act: ClipTowerConfig['hiddenAct']): tf.Tensor {
  switch (act) {
    case 'quick_gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'relu':
      return tf.relu(x);
    default: {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
    }
  }
}

function encoder(p: Map<string, tf.Tensor>, prefix: string, c: ClipTowerConfig, h0: tf.Tensor, maskAdd: tf.Tensor | null): tf.Tensor {
  const [N, L, D] = h0.shape as [number, number, number];
  const H = c.numHeads;
  const hd = D / H;
  const scale = hd ** -0.5;
  const heads = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [N, L, H, hd]), [0, 2, 1, 3]), [N * H, L, hd]);
  let h = h0;
  for (let l = 0; l < c.numLayers; l++) {
    const q0 = `${prefix}.encoder.layers.${l}`;
    const g = (n: string) => req(p, `${q0}.${n}`);
    const x = layerNorm(h, g('layer_norm1.weight'), g('layer_norm1.bias'), c.layerNormEps);
    const q = heads(tf.mul(linear(x, g('self_attn.q_proj.weight'), g('self_attn.q_proj.bias')), scale));
    const k = heads(linear(x, g('self_attn.k_proj.weight'), g('self_attn.k_proj.bias')));
    const v = heads(linear(x, g('self_attn.v_proj.weight'), g('self_attn.v_proj.bias')));
    let scores: tf.Tensor = tf.matMul(q as tf.Tensor3D, k as tf.Tensor3D, false, true);
    if (maskAdd) scores = tf.reshape(tf.add(tf.reshape(scores, [N, H, L, L]), maskAdd), [N * H, L, L]);
    const attn = tf.matMul(tf.softmax(scores) as tf.Tensor3D, v as tf.Tensor3D);
    const merged = tf.reshape(tf.transpose(tf.reshape(attn, [N, H, L, hd]), [0, 2, 1, 3]), [N, L, D]);
    h = tf.add(h, linear(merged, g('self_attn.out_proj.weight'), g('self_attn.out_proj.bias')));
    const y = layerNorm(h, g('layer_norm2.weight'), g('layer_norm2.bias'), c.layerNormEps);
    h = tf.add(h, linear(activation(linear(y, g('mlp.fc1.weight'), g('mlp.fc1.bias')), c.hiddenAct), g('mlp.fc2.weight'), g('mlp.fc2.bias')));
  }
  return h;
}

function toRows(v: number[][] | tf.Tensor2D, what: string): number[][] {
  if (Array.isArray(v)) return v;
  if (v.rank !== 2) throw new SmnError(ModelErrorCode.ModelInput, `${what} must be 2-D [N, L], got ${fmtShape(v.shape)}`, { kind: 'usage' });
  return v.arraySync() as number[][];
}

/** Builds CLIP from a state dict (PyTorch layout) and a parsed config; shapes are checked. */
export function buildClip(cfg: ClipConfig, sd: StateDict, source = '<state dict>', strict = true): ClipModel {
  const specs = clipParamSpecs(cfg);
  const all = [...specs.vision, ...specs.text];
  checkClipStateDict(all, sd, source, strict);
  const layout = (s: ParamSpec) => (s.role === 'conv' ? 'conv' : s.role === 'linear' ? 'linear' : 'plain');
  const params = new Map<string, tf.Tensor>();
  const textParams = new Map<string, tf.Tensor>();
  for (const s of specs.vision) params.set(s.name, toTf(sd.get(s.name)!, layout(s), s.name));
  for (const s of specs.text) textParams.set(s.name, toTf(sd.get(s.name)!, layout(s), s.name));
  const v = cfg.vision;
  const t = cfg.text;
  const grid = Math.floor(v.imageSize / v.patchSize);
  const model: ClipModel = {
    kind: 'clip',
    config: cfg,
    output: 'pooled',
    featureDim: v.hiddenSize,
    params,
    buffers: new Map(),
    textParams,
    apply(p, x, opts = {}) {
      const output = opts.output ?? model.output;
      return clipVision(p, x, v, grid, output);
    },
    encodeText(idsIn, maskIn, opts = {}) {
      return clipEncodeText(textParams, t, idsIn, maskIn, opts);
    },
    logits(img, txt) {
      return tf.tidy(() => {
        const a = tf.div(img, tf.norm(img, 'euclidean', 1, true));
        const b = tf.div(txt, tf.norm(txt, 'euclidean', 1, true));
        return tf.mul(tf.matMul(a, b, false, true), tf.exp(req(textParams, 'logit_scale'))) as tf.Tensor2D;
      });
    },
    dispose() {
      for (const x of params.values()) x.dispose();
      for (const x of textParams.values()) x.dispose();
      params.clear();
      textParams.clear();
    },
  };
  return model;
}

/** Every CLIP tensor present (and, when strict, no other), each of its expected shape. */
function checkClipStateDict(all: ParamSpec[], sd: StateDict, source: string, strict: boolean): void {
  const hint = 'does config.json belong to this weight file?';
  const missing = all.filter((s) => !sd.has(s.name)).map((s) => s.name);
  if (missing.length) {
    throw new SmnError(ModelErrorCode.WeightsMissing, `${source}: ${missing.length} CLIP tensor(s) are missing: ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''} (${hint})`, {
      details: { file: source, missing },
    });
  }
  const known = new Set(all.map((s) => s.name));
  const extra = [...sd.keys()].filter((k) => !known.has(k) && !k.endsWith('position_ids'));
  if (strict && extra.length) {
    throw new SmnError(ModelErrorCode.WeightsExtra, `${source}: ${extra.length} tensor(s) are not part of CLIP: ${extra.slice(0, 6).join(', ')} (${hint} To ignore them, load with strict: false)`, {
      details: { file: source, extra },
    });
  }
  for (const s of all) checkShape(s.name, s.shape, sd.get(s.name)!.shape, hint);
}

/** The vision tower on NHWC images: pooled features, or projected when `output` is not 'pooled'. */
function clipVision(p: Map<string, tf.Tensor>, x: tf.Tensor, v: ClipConfig['vision'], grid: number, output: string): tf.Tensor {
  if (x.rank !== 4 || x.shape[1] !== v.imageSize || x.shape[2] !== v.imageSize || x.shape[3] !== v.numChannels) {
    throw new SmnError(
      ModelErrorCode.ModelInput,
      `CLIP vision input must be NHWC [N,${v.imageSize},${v.imageSize},${v.numChannels}] float32, got ${fmtShape(x.shape)}`,
      { kind: 'usage' },
    );
  }
  return tf.tidy(() => {
    const N = x.shape[0]!;
    const patches = tf.reshape(conv(x, req(p, 'vision_model.embeddings.patch_embedding.weight'), v.patchSize, 0), [N, grid * grid, v.hiddenSize]);
    const cls = tf.tile(tf.reshape(req(p, 'vision_model.embeddings.class_embedding'), [1, 1, v.hiddenSize]), [N, 1, 1]);
    let h: tf.Tensor = tf.add(tf.concat([cls, patches], 1), tf.expandDims(req(p, 'vision_model.embeddings.position_embedding.weight'), 0));
    h = layerNorm(h, req(p, 'vision_model.pre_layrnorm.weight'), req(p, 'vision_model.pre_layrnorm.bias'), v.layerNormEps);
    h = encoder(p, 'vision_model', v, h, null);
    const first = tf.reshape(tf.slice(h, [0, 0, 0], [N, 1, v.hiddenSize]), [N, v.hiddenSize]);
    const pooled = layerNorm(first, req(p, 'vision_model.post_layernorm.weight'), req(p, 'vision_model.post_layernorm.bias'), v.layerNormEps);
    if (output === 'pooled') return pooled;
    return linear(pooled, req(p, 'visual_projection.weight'));
  });
}

/** The text tower ({@link ClipModel.encodeText}): token ids `[N, L]` (and an optional attention mask) to pooled or projected features. */
function clipEncodeText(
  tp: Map<string, tf.Tensor>,
  t: ClipConfig['text'],
  idsIn: Parameters<ClipModel['encodeText']>[0],
  maskIn: Parameters<ClipModel['encodeText']>[1],
  opts: NonNullable<Parameters<ClipModel['encodeText']>[2]>,
): tf.Tensor2D {
  const ids = toRows(idsIn, 'input ids');
  const N = ids.length;
  const L = ids[0]?.length ?? 0;
  if (N === 0 || L === 0 || ids.some((r) => r.length !== L)) {
    throw new SmnError(ModelErrorCode.ModelInput, `input ids must be a non-empty rectangular [N, L] array`, { kind: 'usage' });
  }
  if (L > t.maxPositions) {
    throw new SmnError(ModelErrorCode.ModelInput, `text of ${L} tokens is longer than CLIP's ${t.maxPositions} positions`, { kind: 'usage' });
  }
  for (const r of ids) for (const id of r) if (!Number.isInteger(id) || id < 0 || id >= t.vocabSize) {
    throw new SmnError(ModelErrorCode.ModelInput, `token id ${id} is outside the vocabulary [0, ${t.vocabSize})`, { kind: 'usage' });
  }
  const mask = maskIn === undefined ? null : toRows(maskIn, 'attention mask');
  // pooled position per row (transformers' rule)
  const pos = ids.map((r) => {
    if (t.eosTokenId === 2) return r.indexOf(Math.max(...r));
    const i = r.indexOf(t.eosTokenId);
    return i < 0 ? L - 1 : i;
  });
  return tf.tidy(() => {
    const idT = tf.tensor2d(ids.flat(), [N, L], 'int32');
    let h: tf.Tensor = tf.reshape(tf.gather(req(tp, 'text_model.embeddings.token_embedding.weight'), tf.reshape(idT, [-1])), [N, L, t.hiddenSize]);
    h = tf.add(h, tf.expandDims(tf.slice(req(tp, 'text_model.embeddings.position_embedding.weight'), [0, 0], [L, t.hiddenSize]), 0));
    const NEG = -1e9;
    const causal = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) causal[i * L + j] = NEG;
    let maskAdd: tf.Tensor = tf.tensor4d(causal, [1, 1, L, L]);
    if (mask) {
      const pad = new Float32Array(N * L);
      mask.forEach((r, n) => r.forEach((m, j) => (pad[n * L + j] = m ? 0 : NEG)));
      maskAdd = tf.add(maskAdd, tf.tensor4d(pad, [N, 1, 1, L]));
    }
    h = encoder(tp, 'text_model', t, h, maskAdd);
    h = layerNorm(h, req(tp, 'text_model.final_layer_norm.weight'), req(tp, 'text_model.final_layer_norm.bias'), t.layerNormEps);
    const pooled = tf.gather(tf.reshape(h, [N * L, t.hiddenSize]), tf.tensor1d(pos.map((p, n) => n * L + p), 'int32')) as tf.Tensor2D;
    if ((opts.output ?? 'projected') === 'pooled') return pooled;
    return linear(pooled, req(tp, 'text_projection.weight')) as tf.Tensor2D;
  });
}

/** Creates CLIP from a Hugging Face config object with HF-style random init (normal(0, 0.02)), seeded. */
export function createClip(hfConfig: Record<string, unknown>, seed = 0): ClipModel {
  const cfg = parseClipConfig(hfConfig);
  const specs = clipParamSpecs(cfg);
  const rng = createRng(seed);
  const sd: StateDict = new Map();
  for (const sp of [...specs.vision, ...specs.text]) {
    const n = sp.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (sp.name === 'logit_scale') data[0] = cfg.logitScaleInit;
    else if (sp.role === 'bn_weight') data.fill(1);
    else if (sp.role === 'bias' && !sp.name.includes('embedding')) data.fill(0);
    else for (let i = 0; i < n; i++) data[i] = rng.normal(0, 0.02);
    sd.set(sp.name, { shape: sp.shape, dtype: 'float32', data });
  }
  return buildClip(cfg, sd, '<random init>');
}

/** Exports CLIP's tensors (both towers) as a PyTorch-layout state dict. */
export function clipStateDict(model: ClipModel): StateDict {
  const specs = clipParamSpecs(model.config);
  const sd: StateDict = new Map();
  for (const s of [...specs.vision, ...specs.text]) {
    const t = model.params.get(s.name) ?? model.textParams.get(s.name);
    if (t) sd.set(s.name, fromTf(t, s.role === 'conv' ? 'conv' : s.role === 'linear' ? 'linear' : 'plain'));
  }
  return sd;
}
