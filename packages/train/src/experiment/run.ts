import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SmnError, writeNpy } from '@smn/core';
import { createLoader, type Batch } from '@smn/datasets';
import { createMaskedModel, progressiveK, saveMasks, type MaskedModel, type ScoresInit } from '@smn/subnetworks';
import { clipPrompts, withCumulativeBatchNorm, type ClipModel } from '@smn/models';
import { knnMemTrainAccuracy, knnSelfAccuracy } from '@smn/knn';
import { createSwavHead, swavLoss, SwavQueue, type SwavHead } from '@smn/swav';
import { fitLinearProbe } from '@smn/cascade';
import type { SmnConfig } from '../config/index.js';
import { configToYaml } from '../config/index.js';
import { createOptimizer, groupHyperparams, lrAt, optimizerOptionsFromConfig, scheduleOptionsFromConfig, type Optimizer } from '../optim/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from '../checkpoint.js';
import { MetricsLog, readMetrics } from '../metrics.js';
import { runLoop, type LoopCallbacks, type LoopPosition } from '../loop.js';
import { writeRunReport } from './run-report.js';
import { useFusedKernels } from '../fused-ops.js';
import { loadBackbone, type Backbone } from './backbone.js';
import { clipPromptHead, linearHead, maskedHead, type Head } from './head.js';
import { classificationMetrics, embedSplit, l2normalizeRows, loadRunData, type Embedded, type RunData } from './data.js';

/** What a caller can watch while a run goes (the CLI hangs progress bars here). */
export interface RunEvents extends LoopCallbacks {
  /** A phase starts: 'train', 'validate', 'embed train', 'embed test', 'probe', ... */
  onPhase?(phase: string, total?: number): void;
  onProgress?(phase: string, done: number, total: number): void;
  onLog?(line: string): void;
}

export interface RunOptions {
  config: SmnConfig;
  runDir: string;
  /** Command-line overrides, saved in overrides.yaml. */
  overrides?: string[];
  /** Continue from runDir/last.ckpt. */
  resume?: boolean;
  signal?: AbortSignal;
  /** Worker threads for data loading (default 1). */
  workers?: number;
  events?: RunEvents;
}

export interface RunResult {
  runDir: string;
  completed: boolean;
  /** Last value of every metric. */
  metrics: Record<string, number>;
  /** Bytes of masks.smnmask (0 when nothing is masked). */
  maskBytes: number;
  /** Masked / trained entry counts. */
  maskedEntries: number;
  trainedEntries: number;
  badSamples: number;
  seconds: number;
  featureDim: number;
  numClasses: number;
}

const CKPT = 'last.ckpt';

function scoresInitOf(cfg: SmnConfig): ScoresInit {
  const p = cfg.model.pret;
  if (p.kaiming_scores_init) return { kind: 'kaiming-uniform' };
  if (p.init_scores_magnitude) return { kind: 'magnitude', mean: p.init_scores_mean, std: p.init_scores_std, shuffle: p.init_scores_shuffle };
  return { kind: 'normal', mean: p.init_scores_mean, std: p.init_scores_std };
}

/** The reference's parameter selection (SPEC §3 step 6): train_layers substrings → model.pret.backbone, 'fc' → head. */
function selectionOf(cfg: SmnConfig, backbone: Backbone) {
  const p = cfg.model.pret;
  return (name: string): 'freeze' | ['mask' | 'train' | 'freeze', string] => {
    const hits = p.train_layers.filter((l) => name.includes(l));
    if (hits.length > 1 && backbone.kind === 'resnet') {
      throw new SmnError('SMN_CONFIG_SELECTION', `parameter ${name} matches several of model.pret.train_layers (${hits.join(', ')})`, { kind: 'usage' });
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
    if (backbone.kind !== 'clip') throw new SmnError('SMN_CONFIG_HEAD', `cls.fc=${fc} is CLIP's text-embedding head; it needs a CLIP backbone (model.pret.source=clip)`, { kind: 'usage' });
    const clip = backbone.model as ClipModel;
    const { loadClipTokenizer } = await import('@smn/models');
    // Prompts longer than the text tower's positions are truncated (with the end token kept), as CLIPProcessor does.
    const tok = await loadClipTokenizer(cfg.model.pret.weights ?? '', clip.config.text.maxPositions);
    const enc = tok.encode(clipPrompts(data.train.classes));
    const text = tf.tidy(() => clip.encodeText(enc.ids, enc.mask, { output: 'projected' }));
    return clipPromptHead(clip, text, { masked: fc === 'pret_submasked' });
  }
  if (fc === '') return null;
  throw new SmnError('SMN_CONFIG_HEAD', `cls.fc=${fc} is not supported by smn train yet; use masked, linear, pret or pret_submasked`, { kind: 'usage' });
}

/** Wraps tensors of a named-variable map for checkpoints. */
async function varsToCkpt(prefix: string, vars: Map<string, tf.Variable | tf.Tensor>, into: CheckpointData['tensors']): Promise<void> {
  for (const [name, v] of vars) into.set(`${prefix}${name}`, { shape: v.shape.slice(), data: new Float32Array(await v.data()) });
}

function restoreVars(prefix: string, vars: Map<string, tf.Variable>, ckpt: CheckpointData, strict: boolean, source: string, skipped: string[]): void {
  for (const [name, v] of vars) {
    const t = ckpt.tensors.get(`${prefix}${name}`);
    if (!t) {
      if (strict) throw new SmnError('SMN_CKPT_MISSING', `checkpoint ${source} has no tensor "${prefix}${name}" (set main.strict_load_checkpoint=0 to load what matches)`);
      skipped.push(`${prefix}${name} (missing)`);
      continue;
    }
    if (t.shape.join(',') !== v.shape.join(',')) {
      if (strict) throw new SmnError('SMN_CKPT_SHAPE', `checkpoint ${source}: "${prefix}${name}" has shape [${t.shape}] but the model has [${v.shape}]`);
      skipped.push(`${prefix}${name} (shape)`);
      continue;
    }
    tf.tidy(() => v.assign(tf.tensor(v.dtype === 'int32' ? Int32Array.from(t.data) : t.data, t.shape, v.dtype)));
  }
}

/**
 * Runs one experiment of the reference (SPEC §3, §5): supervised masking or fine-tuning with a head
 * (`model.pret.module=classifier`) or self-supervised masking with SwAV (`module=swav`), then the final test, kNN
 * against the train bank, embeddings, optional linear probe, masks and report, all in `runDir`.
 */
export async function runExperiment(opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const cfg = opts.config;
  const ev = opts.events ?? {};
  const runDir = opts.runDir;
  const workers = opts.workers ?? 1;
  const swav = cfg.model.pret.module === 'swav';
  await mkdir(runDir, { recursive: true });
  const ckptPath = join(runDir, CKPT);
  let resumeFrom: CheckpointData | undefined;
  if (opts.resume) {
    if (!existsSync(ckptPath)) throw new SmnError('SMN_RESUME_NO_CKPT', `cannot resume ${runDir}: it has no ${CKPT} (the run may have stopped before its first checkpoint)`, { kind: 'usage' });
    resumeFrom = await loadCheckpoint(ckptPath);
  } else {
    await writeFile(join(runDir, 'config.yaml'), configToYaml(cfg));
    await writeFile(join(runDir, 'overrides.yaml'), (opts.overrides ?? []).map((o) => `- ${JSON.stringify(o)}`).join('\n') + '\n');
  }

  await useFusedKernels();
  const backbone = await loadBackbone(cfg);
  const data = await loadRunData(cfg, backbone.inputSize, swav);
  const masked = buildMasked(cfg, backbone);
  const head = swav ? null : await buildHead(cfg, backbone, data);
  const B = cfg.dl.batch_size;
  const swavHead: SwavHead | null = swav
    ? createSwavHead({ inFeatures: backbone.featureDim, featDim: cfg.swav.feat_dim, nmbPrototypes: cfg.swav.nmb_prototypes, fc: cfg.swav.fc, prototypes: cfg.swav.prototypes, seed: cfg.main.seed + 2 })
    : null;
  const queue = swav && cfg.swav.queue_length > 0 ? new SwavQueue({ length: cfg.swav.queue_length, featDim: cfg.swav.feat_dim, batchSize: B, nmbAssign: cfg.swav.crops_for_assign.length }) : null;
  const swavVars = new Map<string, tf.Variable>((swavHead?.variables() ?? []).map((v, i) => [`swav.var${i}`, v]));

  // Named learnable state: backbone group (scores, trained weights) and head group.
  const backboneVars = new Map<string, tf.Variable>();
  for (const [n, v] of masked.scores) backboneVars.set(`scores.${n}`, v);
  for (const [n, v] of masked.trainable) backboneVars.set(`trainable.${n}`, v);
  const headVars = new Map<string, tf.Variable>([...(head?.variables ?? new Map<string, tf.Variable>()), ...swavVars]);
  const buffers = (backbone.model as { buffers: Map<string, tf.Variable> }).buffers;
  const maskedEntries = [...masked.scores.values()].reduce((a, v) => a + v.size, 0);
  const trainedEntries = [...masked.trainable.values()].reduce((a, v) => a + v.size, 0) + [...headVars.values()].reduce((a, v) => a + v.size, 0);

  const hp = groupHyperparams({ dl: cfg.dl, cls: cfg.cls } as Parameters<typeof groupHyperparams>[0], data.trainIndices.length);
  const optimizer: Optimizer = createOptimizer({
    ...optimizerOptionsFromConfig(cfg.dl as Parameters<typeof optimizerOptionsFromConfig>[0]),
    groups: [
      { name: 'backbone', params: backboneVars, lr: hp.backbone.lr, weightDecay: hp.backbone.weightDecay },
      { name: 'head', params: headVars, lr: hp.head.lr, weightDecay: hp.head.weightDecay },
    ],
  });
  const sched = {
    backbone: scheduleOptionsFromConfig(cfg.dl as Parameters<typeof scheduleOptionsFromConfig>[0], hp.backbone.lr),
    head: scheduleOptionsFromConfig(cfg.dl as Parameters<typeof scheduleOptionsFromConfig>[0], hp.head.lr),
  };

  const byVarName = new Map<string, string>();
  for (const [n, v] of [...backboneVars, ...headVars]) byVarName.set(v.name, n);

  let badSamples = 0;
  const onBadSample = (e: SmnError) => {
    badSamples++;
    ev.onLog?.(`skipped a bad sample: ${e.message}`);
  };

  // ---- initialise from another run, or resume this one ----
  const metrics = new MetricsLog(join(runDir, 'metrics.jsonl'));
  let start: LoopPosition = { epoch: 0, batch: 0, step: 0 };
  let epochLoss = { sum: 0, n: 0 };
  const allVars = new Map<string, tf.Variable>([...backboneVars, ...headVars]);
  if (resumeFrom) {
    const skipped: string[] = [];
    restoreVars('var/', allVars, resumeFrom, true, ckptPath, skipped);
    restoreVars('buf/', buffers, resumeFrom, true, ckptPath, skipped);
    const m = resumeFrom.meta as { epoch: number; batch: number; step: number; epochLoss: { sum: number; n: number }; optimizer: unknown; queue?: unknown; badSamples?: number };
    start = { epoch: m.epoch, batch: m.batch, step: m.step };
    epochLoss = m.epochLoss;
    badSamples = m.badSamples ?? 0;
    const optState = m.optimizer as ReturnType<Optimizer['getState']>;
    for (const [pname, p] of Object.entries(optState.params)) {
      for (const slot of Object.keys(p.slots)) {
        const t = resumeFrom.tensors.get(`opt/${pname}/${slot}`);
        if (!t) throw new SmnError('SMN_CKPT_CORRUPT', `checkpoint ${ckptPath} lacks optimizer slot ${pname}/${slot}`);
        p.slots[slot] = { shape: t.shape, data: t.data };
      }
    }
    optimizer.setState(optState);
    if (queue && m.queue) {
      const q = m.queue as { length: number; featDim: number; use: boolean; filling: boolean; n: number };
      queue.load({ ...q, data: Array.from({ length: q.n }, (_, i) => resumeFrom!.tensors.get(`queue/${i}`)!.data) } as Parameters<SwavQueue['load']>[0]);
    }
    // metrics.jsonl keeps the epochs the checkpoint covers; a torn or later tail is dropped.
    const kept = await readMetrics(join(runDir, 'metrics.jsonl'), start.epoch - 1);
    await writeFile(join(runDir, 'metrics.jsonl.tmp'), kept.map((r) => JSON.stringify(r) + '\n').join(''));
    await rename(join(runDir, 'metrics.jsonl.tmp'), join(runDir, 'metrics.jsonl'));
    metrics.records.push(...kept);
    ev.onLog?.(`resumed ${runDir} at epoch ${start.epoch}, batch ${start.batch} (step ${start.step})`);
  } else {
    await writeFile(join(runDir, 'metrics.jsonl'), '');
    if (cfg.main.load_checkpoint) {
      const file = [cfg.main.load_checkpoint, join(cfg.main.checkpoint_path, cfg.main.load_checkpoint)].find((p) => existsSync(p)) ?? cfg.main.load_checkpoint;
      const src = await loadCheckpoint(existsSync(join(file, CKPT)) ? join(file, CKPT) : file);
      const skipped: string[] = [];
      restoreVars('var/', allVars, src, cfg.main.strict_load_checkpoint, file, skipped);
      restoreVars('buf/', buffers, src, cfg.main.strict_load_checkpoint, file, skipped);
      ev.onLog?.(`initialised from ${file}${skipped.length ? `; not loaded: ${skipped.join(', ')}` : ''}`);
    }
  }

  const saveCkpt = async (pos: LoopPosition, finished: boolean) => {
    const tensors: CheckpointData['tensors'] = new Map();
    await varsToCkpt('var/', allVars, tensors);
    await varsToCkpt('buf/', buffers, tensors);
    const optState = optimizer.getState();
    for (const [pname, p] of Object.entries(optState.params)) {
      for (const [slot, s] of Object.entries(p.slots)) {
        tensors.set(`opt/${pname}/${slot}`, { shape: s.shape, data: s.data });
        (p.slots as Record<string, unknown>)[slot] = { shape: s.shape };
      }
    }
    let queueMeta: unknown;
    if (queue) {
      const qs = await queue.state();
      qs.data.forEach((d, i) => tensors.set(`queue/${i}`, { shape: [qs.length, qs.featDim], data: d }));
      queueMeta = { length: qs.length, featDim: qs.featDim, use: qs.use, filling: qs.filling, n: qs.data.length };
    }
    await saveCheckpoint(ckptPath, {
      tensors,
      meta: { format: 'smn-run', version: 1, ...pos, finished, epochLoss, badSamples, optimizer: optState, queue: queueMeta, config: cfg, savedAt: new Date().toISOString() },
    });
  };

  const ctxAt = (pos: { epoch: number; step: number }) => ({ epoch: pos.epoch, step: pos.step });
  const features = (x: tf.Tensor4D, training: boolean, pos: { epoch: number; step: number }) =>
    masked.apply(x, { training, ...ctxAt(pos) }) as tf.Tensor2D;

  const evalFeatures = async (ds: 'train' | 'test', indices: Int32Array, withLogits: boolean, pos: { epoch: number; step: number }): Promise<Embedded> => {
    const split = ds === 'train' ? data.train : data.test;
    ev.onPhase?.(`embed ${ds}`, indices.length);
    return embedSplit(
      split,
      indices,
      data.evalPreset,
      {
        features: (x) => features(x, false, pos),
        ...(withLogits && head ? { logits: (f: tf.Tensor2D) => head.apply(f) } : {}),
      },
      { batchSize: Math.max(B, 128), workers, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (d, t) => ev.onProgress?.(`embed ${ds}`, d, t), onBadSample },
    );
  };
  const allTest = Int32Array.from({ length: data.test.length }, (_, i) => i);

  const analysis = (pos: { epoch: number; step: number }) => {
    const a: Record<string, number> = {};
    for (const [k, v] of Object.entries(masked.analyze(ctxAt(pos)))) a[`model_analysis/${k}`] = v;
    for (const [k, v] of Object.entries(head?.analyze() ?? {})) a[`model_analysis/head_${k}`] = v;
    return a;
  };

  // ---- the training step ----
  const nmbCrops = cfg.swav.nmb_crops;
  const stepFn = async (batch: Batch, pos: LoopPosition): Promise<number> => {
    const ctx = ctxAt(pos);
    let vars: tf.Variable[];
    let lossFn: () => tf.Scalar;
    if (swavHead) {
      if (!('crops' in batch)) throw new SmnError('SMN_TRAIN_INTERNAL', 'SwAV needs multi-crop batches');
      swavHead.normalizePrototypes();
      const trainableHead = new Set(swavHead.trainableVariables(pos.step, cfg.swav.freeze_prototypes_niters));
      vars = [...backboneVars.values(), ...[...swavVars.values()].filter((v) => trainableHead.has(v))];
      const bs = batch.labels.length;
      lossFn = () => {
        // Consecutive crops of equal size go through the backbone together (SPEC §4.3 step 2).
        const outs: tf.Tensor2D[] = [];
        let i = 0;
        while (i < batch.crops.length) {
          let j = i;
          while (j < batch.crops.length && batch.crops[j]!.shape[1] === batch.crops[i]!.shape[1]) j++;
          const x = tf.concat(batch.crops.slice(i, j).map((c) => tf.tensor4d(c.images, c.shape)), 0);
          outs.push(features(x, true, pos));
          i = j;
        }
        const h = tf.concat(outs, 0);
        const { embeddings, scores } = swavHead.apply(h);
        return swavLoss({
          embeddings,
          scores,
          prototypes: (e) => swavHead.prototypeScores(e),
          batchSize: bs,
          nmbCrops,
          cropsForAssign: cfg.swav.crops_for_assign,
          temperature: cfg.swav.temperature,
          epsilon: cfg.swav.epsilon,
          iterations: cfg.swav.sinkhorn_iterations,
          queue,
        }).loss;
      };
    } else {
      if (!('images' in batch)) throw new SmnError('SMN_TRAIN_INTERNAL', 'supervised training needs single-view batches');
      if (!head) throw new SmnError('SMN_CONFIG_HEAD', 'supervised training needs a head (cls.fc)', { kind: 'usage' });
      vars = [...backboneVars.values(), ...(head.variables.values() ?? [])];
      lossFn = () => {
        const x = tf.tensor4d(batch.images, batch.shape);
        const logits = head.apply(features(x, true, pos));
        const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), data.numClasses);
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      };
    }
    const { value, grads } = tf.variableGrads(lossFn, vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(byVarName.get(vn) ?? vn, g);
    optimizer.step(named);
    for (const g of Object.values(grads)) g.dispose();
    const loss = (await value.data())[0]!;
    value.dispose();
    if (!Number.isFinite(loss)) {
      throw new SmnError('SMN_TRAIN_DIVERGED', `the loss became ${loss} at epoch ${pos.epoch}, batch ${pos.batch}; lower dl.lr (now ${cfg.dl.lr}) or check the data`);
    }
    epochLoss.sum += loss;
    epochLoss.n += 1;
    return loss;
  };

  // ---- the loop ----
  let completed = true;
  const epochs = cfg.dl.epochs;
  if (cfg.main.train) {
    ev.onPhase?.('train', epochs);
    const result = await runLoop<Batch>({
      epochs,
      start,
      ...(opts.signal ? { signal: opts.signal } : {}),
      batchesInEpoch: () => Math.ceil(data.trainIndices.length / B),
      batches: (epoch, skip) =>
        createLoader(data.train, {
          batchSize: B,
          shuffle: cfg.dl.shuffle,
          seed: cfg.main.seed,
          epoch,
          indices: data.trainIndices,
          transform: data.trainPreset,
          workers,
          startBatch: skip,
          onBadSample,
        }),
      beginEpoch: (epoch) => {
        optimizer.setLr('backbone', lrAt(epoch, sched.backbone));
        optimizer.setLr('head', lrAt(epoch, sched.head));
        queue?.startEpoch(epoch, cfg.swav.epoch_queue_starts);
      },
      step: stepFn,
      endEpoch: async (epoch, pos) => {
        const m: Record<string, number> = {
          'training/train/loss': epochLoss.n ? epochLoss.sum / epochLoss.n : NaN,
          'training/lr/backbone': lrAt(epoch, sched.backbone),
          'training/lr/head': lrAt(epoch, sched.head),
        };
        for (const [k, v] of Object.entries(analysis(pos))) m[`training/val/${k}`] = v;
        if (swav) {
          if (cfg.cls.knn_eval) {
            const te = await evalFeatures('test', allTest, false, pos);
            m['training/val/knn_accuracy'] = (await knnSelfAccuracy({ shape: [te.rows, te.dim] as const, data: te.features }, te.labels, { numClasses: data.numClasses, seed: cfg.main.seed })).accuracy;
            if (cfg.cls.mem_train_every_epoch) {
              const tr = await evalFeatures('train', data.bankIndices, false, pos);
              m['training/val/knn_accuracy_mem_train'] = (await knnMemTrainAccuracy({ shape: [te.rows, te.dim] as const, data: te.features }, te.labels, { shape: [tr.rows, tr.dim] as const, data: tr.features }, tr.labels, { numClasses: data.numClasses })).accuracy;
            }
          }
        } else if (cfg.main.validate || cfg.main.test) {
          const te = await evalFeatures('test', allTest, true, pos);
          const c = classificationMetrics(te.logits!.data, te.logits!.cols, te.labels);
          m['training/val/accuracy'] = c.accuracy;
          m['training/val/loss'] = c.loss;
        }
        m['data/bad_samples'] = badSamples;
        await metrics.log(epoch, pos.step, m);
        epochLoss = { sum: 0, n: 0 };
        await saveCkpt({ epoch: epoch + 1, batch: 0, step: pos.step }, epoch + 1 >= epochs);
        return m;
      },
      interrupted: async (pos) => {
        await saveCkpt(pos, false);
        ev.onLog?.(`interrupted: checkpoint saved at epoch ${pos.epoch}, batch ${pos.batch}; continue with smn train --resume ${runDir}`);
      },
      ...(ev.onEpochBegin ? { onEpochBegin: ev.onEpochBegin } : {}),
      ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
      ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
    });
    completed = result.completed;
    start = result.position;
  }

  const final: Record<string, number> = {};
  let maskBytes = 0;
  if (completed) {
    const pos = { epoch: Math.max(0, (cfg.main.train ? epochs : start.epoch) - 1), step: start.step };
    // ---- optional: BatchNorm statistics of the unaugmented train images (main.update_bn) ----
    if (cfg.main.update_bn && buffers.size > 0) {
      await withCumulativeBatchNorm(() =>
        embedSplit(data.train, data.bankIndices, data.evalPreset, { features: (x) => features(x, true, pos) }, {
          batchSize: Math.max(B, 128),
          workers,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (d, t) => ev.onProgress?.('update bn', d, t),
          onBadSample,
        }),
      );
      // An interrupted pass leaves partial statistics in memory only: the checkpoint keeps the trained ones, and a
      // resumed run recomputes them from the first batch.
      if (!opts.signal?.aborted) {
        if (cfg.main.train) await saveCkpt({ epoch: epochs, batch: 0, step: start.step }, true);
        ev.onLog?.(`BatchNorm statistics recomputed on ${data.bankIndices.length} unaugmented train images`);
      }
    }
    // ---- test: accuracy, kNN against the train bank, embeddings (SPEC §7.1) ----
    if (cfg.main.test || cfg.main.probe) {
      const te = await evalFeatures('test', allTest, !swav, pos);
      const tr = await evalFeatures('train', data.bankIndices, false, pos);
      if (te.logits) {
        const c = classificationMetrics(te.logits.data, te.logits.cols, te.labels);
        final['training/test/accuracy'] = c.accuracy;
        final['training/test/loss'] = c.loss;
      }
      if (cfg.cls.knn_analysis || swav) {
        const k = Math.min(200, tr.rows);
        final['training/test/knn_accuracy_mem_train'] = (
          await knnMemTrainAccuracy({ shape: [te.rows, te.dim] as const, data: te.features }, te.labels, { shape: [tr.rows, tr.dim] as const, data: tr.features }, tr.labels, { numClasses: data.numClasses, k })
        ).accuracy;
      }
      const emb = join(runDir, 'embeddings');
      await mkdir(emb, { recursive: true });
      await writeNpy(join(emb, 'train_raw.npy'), { shape: [tr.rows, tr.dim], dtype: 'float32', data: tr.features });
      await writeNpy(join(emb, 'train_norm.npy'), { shape: [tr.rows, tr.dim], dtype: 'float32', data: l2normalizeRows(tr.features, tr.dim) });
      await writeNpy(join(emb, 'test_raw.npy'), { shape: [te.rows, te.dim], dtype: 'float32', data: te.features });
      await writeNpy(join(emb, 'test_norm.npy'), { shape: [te.rows, te.dim], dtype: 'float32', data: l2normalizeRows(te.features, te.dim) });
      await writeNpy(join(emb, 'train_labels.npy'), { shape: [tr.rows], dtype: 'int32', data: tr.labels });
      await writeNpy(join(emb, 'test_labels.npy'), { shape: [te.rows], dtype: 'int32', data: te.labels });
      await writeNpy(join(emb, 'train_indices.npy'), { shape: [data.bankIndices.length], dtype: 'int32', data: data.bankIndices });
      await writeFile(join(emb, 'classes.json'), JSON.stringify(data.train.classes) + '\n');
      // ---- linear probe on unaugmented features (SPEC §7.2) ----
      if (cfg.main.probe) {
        ev.onPhase?.('probe', cfg.lp.max_iter);
        const probe = fitLinearProbe({ rows: tr.rows, cols: tr.dim, data: tr.features }, tr.labels, {
          numClasses: data.numClasses,
          lambda: cfg.lp.lambda_scaled / tr.rows,
          maxIter: cfg.lp.max_iter,
          tol: cfg.lp.tol,
          onIteration: (i) => ev.onProgress?.('probe', i.iteration, cfg.lp.max_iter),
        });
        const pred = probe.predict({ rows: te.rows, cols: te.dim, data: te.features });
        let ok = 0;
        for (let i = 0; i < te.rows; i++) if (pred[i] === te.labels[i]) ok++;
        final['training/probe/train_accuracy'] = probe.trainAccuracy;
        final['training/probe/accuracy'] = ok / te.rows;
        // The reference reports the probe through validation when the probe is the head (SPEC §5.D, §5.E): an
        // untrained head's accuracy would be meaningless, so the probe replaces it.
        if (swav || !cfg.main.train || !head) {
          final['training/val/accuracy'] = ok / te.rows;
          final['training/test/accuracy'] = ok / te.rows;
          delete final['training/test/loss'];
        }
        await writeNpy(join(runDir, 'probe_W.npy'), { shape: [tr.dim, data.numClasses], dtype: 'float32', data: Float32Array.from(probe.W.data) });
        await writeNpy(join(runDir, 'probe_b.npy'), { shape: [data.numClasses], dtype: 'float32', data: probe.b });
      }
    }
    for (const [k, v] of Object.entries(analysis(pos))) final[`training/test/${k}`] = v;
    final['data/bad_samples'] = badSamples;
    await metrics.log(cfg.main.train ? epochs : 0, start.step, final);
    // ---- masks: 1 bit per masked weight ----
    if (masked.scores.size > 0) {
      const ms = masked.masks(ctxAt(pos));
      const base = new Map<string, tf.Tensor>([...ms.keys()].map((n) => [n, backbone.model.params.get(n)!]));
      maskBytes = (await saveMasks(join(runDir, 'masks.smnmask'), ms, { baseParams: base, compress: 'gzip', mode: cfg.model.pret.prune_criterion, k: masked.k(ctxAt(pos)) })).bytes;
      for (const t of ms.values()) t.dispose();
    }
    await writeRunReport(runDir, cfg, metrics.records);
  }

  const lastMetrics: Record<string, number> = {};
  for (const r of metrics.records) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'epoch' && k !== 'step') lastMetrics[k] = v;

  masked.dispose();
  head?.dispose();
  swavHead?.dispose();
  queue?.dispose();
  optimizer.dispose();
  backbone.model.dispose();
  return {
    runDir,
    completed,
    metrics: lastMetrics,
    maskBytes,
    maskedEntries,
    trainedEntries,
    badSamples,
    seconds: (Date.now() - t0) / 1000,
    featureDim: backbone.featureDim,
    numClasses: data.numClasses,
  };
}

