import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, fmtShape, torchLinearInit, type Rng } from '@smn/core';
import { batchNorm, checkShape, conv, fromTf, linear, req, residualAdd, toTf } from './layers.js';
import type { ApplyOptions, FunctionalModel, RawTensor, StateDict } from './types.js';
import { ModelErrorCode } from './errors.js';

/** Supported ResNet depths (torchvision layout). */
export type ResNetDepth = 18 | 34 | 50 | 101;

/** Architecture of a ResNet. */
export interface ResNetConfig {
  depth: ResNetDepth;
  /** Classes of the `fc` head; 0 or undefined = no head (apply returns pooled features). */
  numClasses?: number;
  /** Base width (channels of conv1 and layer1's planes); default 64 as torchvision. */
  width?: number;
  /** 'imagenet' (7×7/2 conv + max pool, default) or 'cifar' (3×3/1 conv, no max pool, for 28-32 px inputs). */
  stem?: 'imagenet' | 'cifar';
}

/** Options of a ResNet's apply. */
export interface ResNetApplyOptions extends ApplyOptions {
  /** 'features' = global-average-pooled vector `[N, C]`; 'logits' = `fc` output `[N, numClasses]`. */
  output?: 'features' | 'logits';
}

/** A functional ResNet (torchvision names). `apply` returns `[N, featureDim]` features or `[N, numClasses]` logits. */
export interface ResNetModel extends FunctionalModel {
  readonly kind: 'resnet';
  readonly config: Required<ResNetConfig>;
  /** Size of the pooled feature vector (512 for 18/34, 2048 for 50/101 at width 64). */
  readonly featureDim: number;
  /** Default output of apply ('logits' when there is a head, else 'features'); settable. */
  output: 'features' | 'logits';
  apply(params: Map<string, tf.Tensor>, x: tf.Tensor, opts?: ResNetApplyOptions): tf.Tensor;
  /** Tensors of the loaded file that the model does not use (e.g. SwAV's `projection_head.*`). */
  ignored: string[];
}

const BLOCKS: Record<ResNetDepth, { bottleneck: boolean; layers: [number, number, number, number] }> = {
  18: { bottleneck: false, layers: [2, 2, 2, 2] },
  34: { bottleneck: false, layers: [3, 4, 6, 3] },
  50: { bottleneck: true, layers: [3, 4, 6, 3] },
  101: { bottleneck: true, layers: [3, 4, 23, 3] },
};

/** One parameter or buffer of the architecture, in PyTorch layout. */
export interface ParamSpec {
  name: string;
  /** PyTorch shape (OIHW for conv, [out,in] for linear). */
  shape: number[];
  role: 'conv' | 'linear' | 'bn_weight' | 'bn_bias' | 'bias' | 'running_mean' | 'running_var' | 'num_batches_tracked';
}

/** The parameters and buffers of a ResNet in torchvision order, with PyTorch shapes (no allocation). */
export function resnetSpecs(cfg: ResNetConfig): ParamSpec[] {
  const { bottleneck, layers } = BLOCKS[cfg.depth] ?? badDepth(cfg.depth);
  const w = cfg.width ?? 64;
  const exp = bottleneck ? 4 : 1;
  const out: ParamSpec[] = [];
  const bn = (p: string, c: number) => {
    out.push({ name: `${p}.weight`, shape: [c], role: 'bn_weight' }, { name: `${p}.bias`, shape: [c], role: 'bn_bias' });
    out.push({ name: `${p}.running_mean`, shape: [c], role: 'running_mean' }, { name: `${p}.running_var`, shape: [c], role: 'running_var' });
    out.push({ name: `${p}.num_batches_tracked`, shape: [], role: 'num_batches_tracked' });
  };
  const convp = (name: string, o: number, i: number, k: number) => out.push({ name: `${name}.weight`, shape: [o, i, k, k], role: 'conv' });
  const k1 = (cfg.stem ?? 'imagenet') === 'cifar' ? 3 : 7;
  convp('conv1', w, 3, k1);
  bn('bn1', w);
  let inplanes = w;
  layers.forEach((nb, li) => {
    const planes = w * 2 ** li;
    for (let b = 0; b < nb; b++) {
      const p = `layer${li + 1}.${b}`;
      const stride = b === 0 && li > 0 ? 2 : 1;
      if (bottleneck) {
        convp(`${p}.conv1`, planes, inplanes, 1);
        bn(`${p}.bn1`, planes);
        convp(`${p}.conv2`, planes, planes, 3);
        bn(`${p}.bn2`, planes);
        convp(`${p}.conv3`, planes * exp, planes, 1);
        bn(`${p}.bn3`, planes * exp);
      } else {
        convp(`${p}.conv1`, planes, inplanes, 3);
        bn(`${p}.bn1`, planes);
        convp(`${p}.conv2`, planes, planes, 3);
        bn(`${p}.bn2`, planes);
      }
      if (b === 0 && (stride !== 1 || inplanes !== planes * exp)) {
        convp(`${p}.downsample.0`, planes * exp, inplanes, 1);
        bn(`${p}.downsample.1`, planes * exp);
      }
      inplanes = planes * exp;
    }
  });
  if (cfg.numClasses) {
    out.push({ name: 'fc.weight', shape: [cfg.numClasses, inplanes], role: 'linear' }, { name: 'fc.bias', shape: [cfg.numClasses], role: 'bias' });
  }
  return out;
}

function badDepth(depth: unknown): never {
  throw new SmnError(ModelErrorCode.ModelConfig, `ResNet depth must be one of 18, 34, 50, 101; got ${String(depth)}`, { kind: 'usage' });
}

function normalizeConfig(cfg: ResNetConfig): Required<ResNetConfig> {
  if (!BLOCKS[cfg.depth]) badDepth(cfg.depth);
  const width = cfg.width ?? 64;
  if (!Number.isInteger(width) || width < 1) throw new SmnError(ModelErrorCode.ModelConfig, `ResNet width must be a positive integer, got ${width}`, { kind: 'usage' });
  return { depth: cfg.depth, numClasses: cfg.numClasses ?? 0, width, stem: cfg.stem ?? 'imagenet' };
}

function layoutOf(role: ParamSpec['role']): 'conv' | 'linear' | 'plain' {
  return role === 'conv' ? 'conv' : role === 'linear' ? 'linear' : 'plain';
}

function randomTensor(spec: ParamSpec, rng: Rng): RawTensor {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  switch (spec.role) {
    case 'conv': {
      const [o, , kh, kw] = spec.shape as [number, number, number, number];
      const std = Math.sqrt(2 / (o * kh * kw)); // kaiming_normal_(mode='fan_out', nonlinearity='relu')
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = rng.normal(0, std);
      break;
    }
    case 'linear':
    case 'bias':
      data = torchLinearInit(rng, count, spec.role === 'linear' ? spec.shape[1]! : (spec as ParamSpec & { fanIn: number }).fanIn);
      break;
    case 'bn_weight':
    case 'running_var':
      data = new Float32Array(count).fill(1);
      break;
    default:
      data = new Float32Array(count);
  }
  return { shape: spec.shape, dtype: 'float32', data };
}

/**
 * Builds a ResNet with torchvision's random init (Kaiming-normal fan_out convs, BN weight 1 / bias 0, PyTorch default
 * Linear), seeded. The returned model owns its tensors (`dispose()`).
 */
export function createResNet(cfg: ResNetConfig & { seed: number }): ResNetModel {
  const c = normalizeConfig(cfg);
  const rng = createRng(cfg.seed);
  const specs = resnetSpecs(c);
  const sd: StateDict = new Map();
  const fcIn = specs.find((s) => s.name === 'fc.weight')?.shape[1];
  for (const s of specs) sd.set(s.name, randomTensor(s.role === 'bias' ? Object.assign({}, s, { fanIn: fcIn }) : s, rng));
  return buildResNet(c, sd, '<random init>');
}

/** Options of {@link loadResNet}. */
export interface LoadResNetOptions extends Partial<ResNetConfig> {
  /**
   * Refuse unknown tensors inside the ResNet's modules (`conv1`, `bn1`, `layerN`, `fc`), which mean another
   * architecture (default true). Tensors outside them (SwAV's `projection_head`, DINO's head) are always skipped
   * and listed in `model.ignored`.
   */
  strict?: boolean;
  /** Name prefix to strip (e.g. 'backbone.', 'encoder_q.'); detected from the `conv1.weight` key when omitted. */
  prefix?: string;
}

/** A ResNet from a state dict in PyTorch layout: what {@link loadResNet} does once the tensors are in memory. */
export function resnetFromStateDict(state: StateDict, opts: LoadResNetOptions, source: string): ResNetModel {
  const sd = stripPrefix(state, opts.prefix, source);
  const cfg = inferResNetConfig(sd, opts, source);
  return buildResNet(cfg, sd, source, opts.strict ?? true);
}

/**
 * `loadResNet` of the browser entry: a ResNet from a state dict already in memory, e.g. `parseWeights(bytes)` of a
 * fetched `.pth` or `.safetensors`. Reading a path needs the Node entry; a string throws
 * `SMN_WEIGHTS_PATH_UNSUPPORTED` (for JavaScript callers, whom the type does not stop).
 */
export async function loadResNetState(state: StateDict, opts: LoadResNetOptions = {}): Promise<ResNetModel> {
  if (typeof (state as unknown) === 'string') {
    throw new SmnError(
      ModelErrorCode.WeightsPathUnsupported,
      `loadResNet("${String(state)}"): the browser build of @smn/models reads no files; fetch the file's bytes and pass ` +
        'parseWeights(bytes) instead, or use the Node entry',
      { kind: 'usage', details: { file: String(state) } },
    );
  }
  return resnetFromStateDict(state, opts, '<state dict>');
}

function stripPrefix(sd: StateDict, prefix: string | undefined, source: string): StateDict {
  let p = prefix;
  if (p === undefined) {
    if (sd.has('conv1.weight')) return sd;
    const k = [...sd.keys()].filter((n) => n.endsWith('conv1.weight') && !n.includes('layer')).sort((a, b) => a.length - b.length)[0];
    if (!k) return sd;
    p = k.slice(0, k.length - 'conv1.weight'.length);
  }
  if (!p) return sd;
  const out: StateDict = new Map();
  for (const [n, t] of sd) if (n.startsWith(p)) out.set(n.slice(p.length), t);
  if (out.size === 0) {
    throw new SmnError(ModelErrorCode.WeightsMissing, `${source}: no tensor name starts with the prefix '${p}'`, { details: { file: source } });
  }
  return out;
}

/** Infers depth / width / stem / classes of a torchvision ResNet from its state dict. */
export function inferResNetConfig(sd: StateDict, given: Partial<ResNetConfig>, source = '<state dict>'): Required<ResNetConfig> {
  const c1 = sd.get('conv1.weight');
  if (!c1) {
    throw new SmnError(ModelErrorCode.WeightsMissing, `${source}: tensor 'conv1.weight' is missing: not a torchvision/timm ResNet state dict (first names: ${[...sd.keys()].slice(0, 5).join(', ')})`, {
      details: { file: source, tensor: 'conv1.weight' },
    });
  }
  const width = given.width ?? c1.shape[0]!;
  const stem = given.stem ?? (c1.shape[2] === 3 ? 'cifar' : 'imagenet');
  let depth = given.depth;
  if (depth === undefined) {
    const bottleneck = sd.has('layer1.0.conv3.weight');
    let n3 = 0;
    while (sd.has(`layer3.${n3}.conv1.weight`)) n3++;
    depth = bottleneck ? (n3 >= 23 ? 101 : 50) : n3 >= 6 ? 34 : 18;
  }
  const fc = sd.get('fc.weight');
  const numClasses = given.numClasses ?? (fc ? fc.shape[0]! : 0);
  return normalizeConfig({ depth, width, stem, numClasses });
}

function buildResNet(cfg: Required<ResNetConfig>, sd: StateDict, source: string, strict = true): ResNetModel {
  const specs = resnetSpecs(cfg);
  const hint = `was the file saved for resnet${cfg.depth} with width ${cfg.width}${cfg.numClasses ? ` and ${cfg.numClasses} classes` : ''}?`;
  const known = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => !sd.has(s.name) && s.role !== 'num_batches_tracked').map((s) => s.name);
  if (missing.length) {
    throw new SmnError(
      ModelErrorCode.WeightsMissing,
      `${source}: ${missing.length} tensor(s) of resnet${cfg.depth} are missing: ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''} (${hint})`,
      { details: { file: source, missing } },
    );
  }
  // Tensors outside the ResNet's own modules (SwAV's projection_head / prototypes, DINO's head, ...) are skipped and
  // listed in `model.ignored`; unknown tensors inside them (a deeper layer3, ...) mean a different architecture.
  const outside = [...sd.keys()].filter((k) => !known.has(k) && !/^(conv1|bn1|layer\d+|fc)\./.test(k));
  if (strict) {
    const extra = [...sd.keys()].filter((k) => !known.has(k) && !outside.includes(k) && !(k.startsWith('fc.') && !cfg.numClasses));
    if (extra.length) {
      throw new SmnError(
        ModelErrorCode.WeightsExtra,
        `${source}: ${extra.length} tensor(s) are not part of resnet${cfg.depth}: ${extra.slice(0, 6).join(', ')}${extra.length > 6 ? ', ...' : ''} (${hint} To ignore them, load with strict: false / --no-strict)`,
        { details: { file: source, extra } },
      );
    }
  }
  for (const s of specs) {
    const t = sd.get(s.name);
    if (t) checkShape(s.name, s.shape, t.shape, hint);
  }
  const params = new Map<string, tf.Tensor>();
  const buffers = new Map<string, tf.Variable>();
  for (const s of specs) {
    if (s.role === 'running_mean' || s.role === 'running_var') {
      const t = toTf(sd.get(s.name)!, 'plain', s.name);
      buffers.set(s.name, tf.variable(t, false, `${s.name}_${uid()}`));
      t.dispose();
    } else if (s.role === 'num_batches_tracked') {
      const t = sd.get(s.name);
      const v = t ? Number(t.data[0] ?? 0) : 0;
      const init = tf.scalar(v, 'int32');
      buffers.set(s.name, tf.variable(init, false, `${s.name}_${uid()}`));
      init.dispose();
    } else {
      params.set(s.name, toTf(sd.get(s.name)!, layoutOf(s.role), s.name));
    }
  }
  const model = makeModel(cfg, params, buffers);
  model.ignored = [...sd.keys()].filter((k) => !known.has(k));
  return model;
}

let uidCounter = 0;
function uid(): string {
  return `${Date.now().toString(36)}_${(uidCounter++).toString(36)}`;
}

function makeModel(cfg: Required<ResNetConfig>, params: Map<string, tf.Tensor>, buffers: Map<string, tf.Variable>): ResNetModel {
  const { bottleneck, layers } = BLOCKS[cfg.depth];
  const featureDim = cfg.width * 8 * (bottleneck ? 4 : 1);
  const model: ResNetModel = {
    kind: 'resnet',
    config: cfg,
    featureDim,
    output: cfg.numClasses ? 'logits' : 'features',
    ignored: [],
    params,
    buffers,
    apply(p, x, opts = {}) {
      const training = opts.training ?? false;
      const output = opts.output ?? model.output;
      if (x.rank !== 4 || x.shape[3] !== 3) {
        throw new SmnError(ModelErrorCode.ModelInput, `ResNet input must be NHWC [N,H,W,3] float32, got ${fmtShape(x.shape)}`, { kind: 'usage' });
      }
      if (output === 'logits' && !p.has('fc.weight')) {
        throw new SmnError(ModelErrorCode.ModelConfig, `this ResNet has no fc head: use output 'features' or withHead(model, numClasses, seed)`, { kind: 'usage' });
      }
      // Each block in its own tidy, and the block's input freed once used. In inference the peak is then a few
      // activations rather than all of them. Under a gradient the tape keeps its own clones of the tensors a gradient
      // needs, so what is freed here is what no gradient reads (as in PyTorch's autograd); the rest lives until the
      // backward pass reaches it (see @smn/backend's lean backprop).
      const stage = (prev: tf.Tensor, f: () => tf.Tensor): tf.Tensor => {
        const next = tf.tidy(f);
        if (prev !== x) prev.dispose();
        return next;
      };
      return tf.tidy(() => {
        const bn = (h: tf.Tensor, name: string) => batchNorm(h, req(p, `${name}.weight`), req(p, `${name}.bias`), buffers, name, training);
        let h: tf.Tensor = stage(x, () => {
          const s = tf.relu(bn(cfg.stem === 'cifar' ? conv(x, req(p, 'conv1.weight'), 1, 1) : conv(x, req(p, 'conv1.weight'), 2, 3), 'bn1'));
          return cfg.stem !== 'cifar' ? tf.maxPool(s as tf.Tensor4D, 3, 2, 1) : s;
        });
        layers.forEach((nb, li) => {
          for (let b = 0; b < nb; b++) h = stage(h, () => {
            const pre = `layer${li + 1}.${b}`;
            const stride = b === 0 && li > 0 ? 2 : 1;
            let y: tf.Tensor;
            if (bottleneck) {
              y = tf.relu(bn(conv(h, req(p, `${pre}.conv1.weight`), 1, 0), `${pre}.bn1`));
              y = tf.relu(bn(conv(y, req(p, `${pre}.conv2.weight`), stride, 1), `${pre}.bn2`));
              y = bn(conv(y, req(p, `${pre}.conv3.weight`), 1, 0), `${pre}.bn3`);
            } else {
              y = tf.relu(bn(conv(h, req(p, `${pre}.conv1.weight`), stride, 1), `${pre}.bn1`));
              y = bn(conv(y, req(p, `${pre}.conv2.weight`), 1, 1), `${pre}.bn2`);
            }
            const ds = p.get(`${pre}.downsample.0.weight`);
            const idn = ds ? bn(conv(h, ds, stride, 0), `${pre}.downsample.1`) : h;
            return tf.relu(residualAdd(y, idn));
          });
        });
        const feats = tf.mean(h, [1, 2]);
        if (output === 'features') return feats;
        return linear(feats, req(p, 'fc.weight'), req(p, 'fc.bias'));
      });
    },
    dispose() {
      for (const t of params.values()) t.dispose();
      for (const v of buffers.values()) v.dispose();
      params.clear();
      buffers.clear();
    },
  };
  return model;
}

/**
 * Returns a ResNet with its `fc` head replaced by a fresh PyTorch-default-initialised one of `numClasses` outputs
 * (seeded), or dropped when `numClasses` is 0. The backbone tensors and buffers move to the new model: `model` must not
 * be used afterwards (its old head is disposed).
 */
export function withHead(model: ResNetModel, numClasses: number, seed: number): ResNetModel {
  const cfg = { ...model.config, numClasses };
  const params = new Map(model.params);
  params.get('fc.weight')?.dispose();
  params.get('fc.bias')?.dispose();
  params.delete('fc.weight');
  params.delete('fc.bias');
  if (numClasses > 0) {
    const rng = createRng(seed);
    const fanIn = model.featureDim;
    const w = torchLinearInit(rng, numClasses * fanIn, fanIn);
    const b = torchLinearInit(rng, numClasses, fanIn);
    params.set('fc.weight', toTf({ shape: [numClasses, fanIn], dtype: 'float32', data: w }, 'linear', 'fc.weight'));
    params.set('fc.bias', tf.tensor1d(b));
  }
  const buffers = new Map(model.buffers);
  model.params.clear();
  model.buffers.clear();
  return makeModel(cfg, params, buffers);
}

/** Exports a ResNet's params and buffers as a PyTorch-layout state dict (e.g. for {@link writeSafetensors}). */
export function resnetStateDict(model: ResNetModel): StateDict {
  const sd: StateDict = new Map();
  for (const s of resnetSpecs(model.config)) {
    const t = model.params.get(s.name) ?? model.buffers.get(s.name);
    if (!t) continue;
    if (s.role === 'num_batches_tracked') {
      sd.set(s.name, { shape: [], dtype: 'int64', data: BigInt64Array.from([BigInt(t.dataSync()[0]!)]) });
    } else sd.set(s.name, fromTf(t, layoutOf(s.role)));
  }
  return sd;
}
