import * as tf from '@tensorflow/tfjs-core';
import { SmnError, type Selection } from '@smn/core';
import { createMaskedModel, progressiveK, type MaskedModel, type ScoresInit } from '@smn/subnetworks';
import { clipPrompts, type ClipModel } from '@smn/models';
import { createSwavHead, SwavQueue, type SwavHead } from '@smn/swav';
import type { Batch, DatasetWarning } from '@smn/datasets';
import type { SmnConfig } from '../config/index.js';
import { createOptimizer, groupHyperparams, optimizerOptionsFromConfig, scheduleOptionsFromConfig, type Optimizer, type ScheduleOptions } from '../optim/index.js';
import type { LoopPosition } from '../loop.js';
import { classificationObjective, type Objective } from '../step.js';
import { useFusedKernels } from '../fused-ops.js';
import { loadBackbone, type Backbone } from './backbone.js';
import { ensureDataset, type FetchInputsOptions } from './fetch-inputs.js';
import { loadRunData, type RunData } from './data.js';
import { clipPromptHead, linearHead, maskedHead, type Head } from './head.js';
import { swavObjective } from './swav-objective.js';
import { TrainErrorCode } from '../errors.js';

/** Where the mask rule and the model stand: the reference's `ctx` (epoch for progressive k, step). */
export type ModelPosition = Pick<LoopPosition, 'epoch' | 'step'>;

/** Entries of the learnable state, by kind (see run-folder.ts's RunSummary). */
export interface LearnableCounts {
  /** Backbone weights under a learned mask (the bits of masks.smnmask). */
  maskedWeights: number;
  /** Head weights under a learned mask (cls.fc=masked, pret_submasked; a masked SwAV projection or prototypes). */
  headMaskedWeights: number;
  /** Trained floats: backbone weights (model.pret.backbone=train), heads' weights and biases, SwAV's projection and prototypes. */
  trainedFloats: number;
}

/** Everything one experiment trains and evaluates, built from its config by {@link setUpExperiment}. */
export interface Experiment {
  cfg: SmnConfig;
  /** model.pret.module=swav. */
  swav: boolean;
  backbone: Backbone;
  data: RunData;
  masked: MaskedModel;
  /** The classification head (null for SwAV and cls.fc=''). */
  head: Head | null;
  swavHead: SwavHead | null;
  queue: SwavQueue | null;
  /** Learnable state by checkpoint name: the backbone group (`scores.*`, `trainable.*`) and the head group. */
  vars: { backbone: Map<string, tf.Variable>; head: Map<string, tf.Variable>; all: Map<string, tf.Variable> };
  /** BatchNorm running statistics of the backbone. */
  buffers: Map<string, tf.Variable>;
  optimizer: Optimizer;
  schedules: { backbone: ScheduleOptions; head: ScheduleOptions };
  /** What a training step minimises (and the epoch-end sample forward runs). */
  objective: Objective<Batch>;
  counts: LearnableCounts;
  /** Pooled features [B, D] of images (NHWC), with the masks of `pos`. Caller disposes. */
  features(x: tf.Tensor4D, training: boolean, pos: ModelPosition): tf.Tensor2D;
  dispose(): void;
}

function scoresInitOf(cfg: SmnConfig): ScoresInit {
  const p = cfg.model.pret;
  if (p.kaiming_scores_init) return { kind: 'kaiming-uniform' };
  if (p.init_scores_magnitude) return { kind: 'magnitude', mean: p.init_scores_mean, std: p.init_scores_std, shuffle: p.init_scores_shuffle };
  return { kind: 'normal', mean: p.init_scores_mean, std: p.init_scores_std };
}

/** The reference's parameter selection (main.py, train(); docs/method.md#parameter-selection): train_layers substrings → model.pret.backbone, 'fc' → head. */
function selectionOf(cfg: SmnConfig, backbone: Backbone) {
  const p = cfg.model.pret;
  return (name: string): Selection => {
    const hits = p.train_layers.filter((l) => name.includes(l));
    if (hits.length > 1 && backbone.kind === 'resnet') {
      throw new SmnError(TrainErrorCode.ConfigSelection, `parameter ${name} matches several of model.pret.train_layers (${hits.join(', ')})`, { kind: 'usage' });
    }
    if (hits.length > 0) return [p.backbone, name];
    if (backbone.kind === 'resnet' && name.includes('fc')) return [p.head, name];
    return 'freeze';
  };
}

function buildMasked(cfg: SmnConfig, backbone: Backbone): MaskedModel {
  const p = cfg.model.pret;
  const k = p.prune_progressive ? progressiveK({ mode: p.prune_criterion, k: p.prune_k, epochs: cfg.dl.epochs, kStart: p.prune_k_start }) : p.prune_k;
  return createMaskedModel(backbone.model, {
    select: selectionOf(cfg, backbone),
    scoresInit: scoresInitOf(cfg),
    mode: p.prune_criterion,
    k,
    scale: p.submask_scale,
    seed: cfg.main.seed,
  });
}

async function buildHead(cfg: SmnConfig, backbone: Backbone, data: RunData): Promise<Head | null> {
  const fc = cfg.cls.fc;
  const seed = cfg.main.seed + 1;
  if (fc === 'masked') return maskedHead(backbone.featureDim, data.numClasses, cfg.cls.fc_score_init, seed);
  if (fc === 'linear') return linearHead(backbone.featureDim, data.numClasses, seed);
  if (fc === 'pret' || fc === 'pret_submasked') {
    if (backbone.kind !== 'clip') throw new SmnError(TrainErrorCode.ConfigHead, `cls.fc=${fc} is CLIP's text-embedding head; it needs a CLIP backbone (model.pret.source=clip)`, { kind: 'usage' });
    const clip = backbone.model as ClipModel;
    const { loadClipTokenizer } = await import('@smn/models');
    // Prompts longer than the text tower's positions are truncated (with the end token kept), as CLIPProcessor does.
    const tok = await loadClipTokenizer(backbone.source, clip.config.text.maxPositions); // the folder, given or fetched
    const enc = tok.encode(clipPrompts(data.train.classes));
    const text = tf.tidy(() => clip.encodeText(enc.ids, enc.mask, { output: 'projected' }));
    return clipPromptHead(clip, text, { masked: fc === 'pret_submasked' });
  }
  if (fc === '') return null;
  throw new SmnError(TrainErrorCode.ConfigHead, `cls.fc=${fc} is not supported by smn train yet; use masked, linear, pret or pret_submasked`, { kind: 'usage' });
}

function buildSwav(cfg: SmnConfig, backbone: Backbone): { swavHead: SwavHead; queue: SwavQueue | null } {
  const s = cfg.swav;
  const swavHead = createSwavHead({ inFeatures: backbone.featureDim, featDim: s.feat_dim, nmbPrototypes: s.nmb_prototypes, fc: s.fc, prototypes: s.prototypes, seed: cfg.main.seed + 2 });
  const queue = s.queue_length > 0 ? new SwavQueue({ length: s.queue_length, featDim: s.feat_dim, batchSize: cfg.dl.batch_size, nmbAssign: s.crops_for_assign.length }) : null;
  return { swavHead, queue };
}

const size = (vs: Iterable<tf.Variable>) => [...vs].reduce((a, v) => a + v.size, 0);

function countLearnable(masked: MaskedModel, head: Head | null, swavHead: SwavHead | null): LearnableCounts {
  const headVars = [...(head?.variables ?? new Map<string, tf.Variable>())];
  const headScores = headVars.filter(([n]) => n.startsWith('head.scores.')).map(([, v]) => v);
  const headFloats = headVars.filter(([n]) => !n.startsWith('head.scores.')).map(([, v]) => v);
  // A masked SwAV projection or prototypes learns scores (its variables); linear ones learn floats.
  const protos = new Set(swavHead?.prototypeVariables() ?? []);
  const swavVars = swavHead?.variables() ?? [];
  const swavMasked = swavVars.filter((v) => (protos.has(v) ? swavHead!.prototypesKind : swavHead!.fcKind) === 'masked');
  const swavFloats = swavVars.filter((v) => !swavMasked.includes(v));
  return {
    maskedWeights: size(masked.scores.values()),
    headMaskedWeights: size(headScores) + size(swavMasked),
    trainedFloats: size(masked.trainable.values()) + size(headFloats) + size(swavFloats),
  };
}

function buildOptimizer(cfg: SmnConfig, vars: Experiment['vars'], trainSize: number): Pick<Experiment, 'optimizer' | 'schedules'> {
  const hp = groupHyperparams(cfg, trainSize);
  const optimizer = createOptimizer({
    ...optimizerOptionsFromConfig(cfg.dl),
    groups: [
      { name: 'backbone', params: vars.backbone, lr: hp.backbone.lr, weightDecay: hp.backbone.weightDecay },
      { name: 'head', params: vars.head, lr: hp.head.lr, weightDecay: hp.head.weightDecay },
    ],
  });
  return { optimizer, schedules: { backbone: scheduleOptionsFromConfig(cfg.dl, hp.backbone.lr), head: scheduleOptionsFromConfig(cfg.dl, hp.head.lr) } };
}

/**
 * Builds an experiment from its config (main.py, train(); docs/method.md#run-order): the backbone, the data, the masked model, the head (or SwAV's head
 * and queue), the optimizer with its two groups and their schedules, and the objective of a training step. The caller
 * disposes it. Throws usage errors for configs smn cannot run.
 */
export async function setUpExperiment(cfg: SmnConfig, fetch: FetchInputsOptions = {}, load: { onWarning?: (w: DatasetWarning) => void } = {}): Promise<Experiment> {
  const swav = cfg.model.pret.module === 'swav';
  await useFusedKernels();
  // Weights and a dataset named but not on disk are fetched first (main.download, model.pret.* without weights).
  await ensureDataset(cfg, fetch);
  const backbone = await loadBackbone(cfg, fetch);
  const data = await loadRunData(cfg, backbone.inputSize, swav, load);
  const masked = buildMasked(cfg, backbone);
  const head = swav ? null : await buildHead(cfg, backbone, data);
  const { swavHead, queue } = swav ? buildSwav(cfg, backbone) : { swavHead: null, queue: null };
  const swavVars = new Map<string, tf.Variable>((swavHead?.variables() ?? []).map((v, i) => [`swav.var${i}`, v]));
  const backboneVars = new Map<string, tf.Variable>();
  for (const [n, v] of masked.scores) backboneVars.set(`scores.${n}`, v);
  for (const [n, v] of masked.trainable) backboneVars.set(`trainable.${n}`, v);
  const headVars = new Map<string, tf.Variable>([...(head?.variables ?? new Map<string, tf.Variable>()), ...swavVars]);
  const vars = { backbone: backboneVars, head: headVars, all: new Map([...backboneVars, ...headVars]) };
  const features = (x: tf.Tensor4D, training: boolean, pos: ModelPosition) => masked.apply(x, { training, epoch: pos.epoch, step: pos.step }) as tf.Tensor2D;
  const objective = swavHead
    ? swavObjective({ features: (x, pos) => features(x, true, pos), head: swavHead, queue, swav: cfg.swav, backbone: [...backboneVars.values()] })
    : classificationObjective({ logits: (x, pos) => requireHead(head).apply(features(x, true, pos)), numClasses: data.numClasses, variables: [...backboneVars.values(), ...(head?.variables.values() ?? [])] });
  const optim = buildOptimizer(cfg, vars, data.trainIndices.length);
  return {
    cfg,
    swav,
    backbone,
    data,
    masked,
    head,
    swavHead,
    queue,
    vars,
    buffers: backbone.model.buffers,
    ...optim,
    objective,
    counts: countLearnable(masked, head, swavHead),
    features,
    dispose() {
      masked.dispose();
      head?.dispose();
      swavHead?.dispose();
      queue?.dispose();
      optim.optimizer.dispose();
      backbone.model.dispose();
    },
  };
}

function requireHead(head: Head | null): Head {
  if (!head) throw new SmnError(TrainErrorCode.ConfigHead, 'supervised training needs a head (cls.fc)', { kind: 'usage' });
  return head;
}
