import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SmnError, atomicWriteFile, readNpy } from '@smn/core';
import { centerCrop, groupIndexOfClasses, loadDataset, normStats, resizeShorter } from '@smn/datasets';
import { decodeMasks, hashParams, type SmnmaskHeader } from '@smn/subnetworks';
import { encodeSafetensors, resnetStateDict, type ResNetModel, type StateDict } from '@smn/models';
import { loadCheckpoint } from './checkpoint.js';
import type { SmnConfig } from './config/index.js';
import { TrainErrorCode } from './errors.js';
import { loadBackbone, type Backbone } from './experiment/backbone.js';
import { maskedHead } from './experiment/head.js';
import { readRunClasses, readRunConfig, readRunSummary, runPaths, type RunSummary } from './run-folder.js';

/**
 * A web folder, defined once (docs/web.md): what `smn web export` writes and the page reads.
 *
 * ```
 * manifest.json            what is there: the base, the gallery, each task (WebManifest)
 * base.safetensors         the shared backbone, once (float32, or float16 with --fp16)
 * gallery.bin              test images, uint8 [N, H, W, C] (labels in the manifest)
 * tasks/<id>/masks.smnmask the run's 1-bit masks, the bytes the run wrote
 * tasks/<id>/head.safetensors  the task's head (`head.weight` [D, C], `head.bias` [C]: logits = features·W + b) and
 *                          the BatchNorm statistics it was evaluated with, where they differ from the base's
 * ```
 */
export const WEB_FILES = {
  manifest: 'manifest.json',
  base: 'base.safetensors',
  gallery: 'gallery.bin',
  tasks: 'tasks',
  taskMasks: 'masks.smnmask',
  taskHead: 'head.safetensors',
} as const;

/** One masked layer of a task: how many of its weights the mask keeps. */
export interface WebLayerStats {
  name: string;
  kept: number;
  total: number;
}

/** A task of the web folder: one run, its mask over the shared base and its head. */
export interface WebTask {
  id: string;
  /** The run folder's name. */
  run: string;
  /** What the run did: `supervised masking`, `self-masking + probe`, `linear probe`. */
  method: string;
  /** Where its head comes from: `masked` (the run's masked head, as effective weights), `linear`, `probe`. */
  headKind: 'masked' | 'linear' | 'probe';
  classes: string[];
  /** Test accuracy the run reported (`accuracyKey` of its summary.json). */
  accuracy: number;
  accuracyKey: string;
  /** Mask file (relative to the folder), or null when the backbone is used unmasked. */
  masks: { file: string; bytes: number; baseHash: string | null; scale: boolean; weights: number; kept: number; layers: WebLayerStats[] } | null;
  /** head.safetensors: the head's floats and the BatchNorm statistics (`bnTensors` names, float32). */
  head: { file: string; bytes: number; inFeatures: number; numClasses: number; bnTensors: string[]; bnFloats: number };
  /** Bytes a browser downloads for this task: masks + head. */
  taskBytes: number;
  /**
   * The gallery's labels in this task's classes, where they differ from the gallery's own (a run trained on a label
   * grouping, `main.dataset_labels`); null when the task's classes are the gallery's.
   */
  galleryLabels: number[] | null;
}

/** manifest.json. */
export interface WebManifest {
  format: 'smn-web';
  version: 1;
  createdAt: string;
  base: {
    file: string;
    bytes: number;
    dtype: 'float32' | 'float16';
    /** `sha256:<hex>` of base.safetensors. */
    sha256: string;
    /** The weights file the runs were trained on (its name) and its sha256. */
    source: string;
    sourceSha256: string;
    arch: { kind: 'resnet'; depth: number; width: number; stem: string };
    featureDim: number;
    inputSize: number;
    norm: { mean: number[]; std: number[] };
    /** Entries of the backbone's parameters, and what a fine-tuned float32 copy of them costs per task. */
    params: number;
    fineTunedBytes: number;
  };
  gallery: { file: string; count: number; height: number; width: number; channels: 1 | 3; dataset: string; classes: string[]; labels: number[] } | null;
  tasks: WebTask[];
}

/** Options of {@link exportWeb}. */
export interface WebExportOptions {
  /** Run folders, one task each (in this order). */
  runs: readonly string[];
  /** The web folder (created; files in it are replaced). */
  out: string;
  /** Write the base as float16 (half the bytes; masks are still checked against the float32 weights). Default false. */
  fp16?: boolean;
  /** Test images in gallery.bin (the first N of the first run's test split); 0 = none. Default 1000. */
  gallery?: number;
  /** Progress lines. */
  onLog?: (line: string) => void;
}

/** What {@link exportWeb} wrote. */
export interface WebExportResult {
  manifest: WebManifest;
  /** Every file written, relative to `out`, with its bytes. */
  files: { file: string; bytes: number }[];
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A task id from a run folder's name: lower case, `%` → `pct`, other characters outside [a-z0-9_-] → `-`. */
export function webTaskId(run: string): string {
  return basename(run.replace(/[/\\]+$/, '')).toLowerCase().replace(/%/g, 'pct').replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'task';
}

/** What export needs of one run folder, read and checked before anything is written. */
interface RunInput {
  dir: string;
  id: string;
  cfg: SmnConfig;
  summary: RunSummary;
  classes: string[];
  maskBytes: Uint8Array | null;
  maskHeader: SmnmaskHeader | null;
  maskLayers: WebLayerStats[];
  probe: { W: Float32Array; b: Float32Array } | null;
  ckpt: Awaited<ReturnType<typeof loadCheckpoint>> | null;
}

const unsupported = (dir: string, why: string, fix: string): SmnError =>
  new SmnError(TrainErrorCode.WebRunUnsupported, `cannot export run ${dir} to the web: ${why}; ${fix}`, { kind: 'usage', details: { run: dir } });

async function readRunInput(dir: string): Promise<RunInput> {
  const p = runPaths(dir);
  const cfg = await readRunConfig(dir, { doing: 'export' });
  const summary = await readRunSummary(dir);
  const classes = await readRunClasses(dir);
  const pret = cfg.model.pret;
  if (pret.source === 'clip' || pret.name.includes('clip')) throw unsupported(dir, 'it has a CLIP backbone', 'the web page runs ResNet backbones (docs/web.md)');
  if (cfg.main.train && pret.backbone === 'train') {
    throw unsupported(dir, 'it fine-tunes the backbone (model.pret.backbone=train): its weights are not the shared base', 'export masked runs (submask, submask_lin) or probes of the frozen backbone');
  }
  const masked = cfg.main.train && pret.backbone === 'mask';
  if (!masked && cfg.main.load_checkpoint) {
    // Its features come from another run's checkpoint (masks, statistics), which this run folder does not hold.
    throw unsupported(dir, `it evaluates the checkpoint of another run (main.load_checkpoint=${cfg.main.load_checkpoint})`, 'export that run instead');
  }
  let maskBytes: Uint8Array | null = null;
  let maskHeader: SmnmaskHeader | null = null;
  const maskLayers: WebLayerStats[] = [];
  if (masked) {
    if (!existsSync(p.masks)) throw unsupported(dir, `it has no ${basename(p.masks)}`, 'finish the run (smn train --resume)');
    maskBytes = new Uint8Array(await readFile(p.masks));
    const { header, masks } = decodeMasks(maskBytes, p.masks);
    if (header.encoding !== 'binary') throw unsupported(dir, `its masks are ${header.encoding} masks (model.pret.prune_criterion=flip)`, 'the page applies 0/1 masks');
    maskHeader = header;
    for (const [name, m] of masks) {
      let kept = 0;
      for (let i = 0; i < m.values.length; i++) kept += m.values[i]!;
      maskLayers.push({ name, kept, total: m.values.length });
    }
  }
  const ckpt = existsSync(p.checkpoint) ? await loadCheckpoint(p.checkpoint) : null;
  if (!ckpt && (masked || (cfg.main.update_bn && !cfg.main.train))) {
    // A run without training keeps no checkpoint, so statistics recomputed by main.update_bn are lost.
    throw unsupported(dir, `it has no ${basename(p.checkpoint)} with the BatchNorm statistics it was evaluated with (main.train=0 with main.update_bn=1 keeps none)`, 'export the run that trained the mask, or a probe run with main.update_bn=0');
  }
  const probe = existsSync(p.probeWeights) ? { W: (await readNpy(p.probeWeights)).data as Float32Array, b: (await readNpy(p.probeBias)).data as Float32Array } : null;
  return { dir, id: webTaskId(dir), cfg, summary, classes, maskBytes, maskHeader, maskLayers, probe, ckpt };
}

/** The head whose logits the run reported: its probe when the probe replaced the head (SwAV, no training, no head), else its trained head. */
async function headOf(r: RunInput, featureDim: number): Promise<{ kind: WebTask['headKind']; W: Float32Array; b: Float32Array; accuracyKey: string }> {
  const swav = r.cfg.model.pret.module === 'swav';
  const C = r.classes.length;
  const probeReplaces = swav || !r.cfg.main.train || !r.cfg.cls.fc;
  if (probeReplaces) {
    if (!r.probe) throw unsupported(r.dir, 'it has no trained head and no probe (main.probe=0)', 'run it with main.probe=1');
    return { kind: 'probe', W: r.probe.W, b: r.probe.b, accuracyKey: 'training/probe/accuracy' };
  }
  const get = (name: string) => {
    const t = r.ckpt?.tensors.get(`var/${name}`);
    if (!t) throw unsupported(r.dir, `its checkpoint has no ${name}`, 'finish the run with this version of smn');
    return t;
  };
  if (r.cfg.cls.fc === 'linear') return { kind: 'linear', W: Float32Array.from(get('head.weight').data), b: Float32Array.from(get('head.bias').data), accuracyKey: 'training/test/accuracy' };
  if (r.cfg.cls.fc === 'masked') {
    // The reference's MaskedLinear: a seeded random weight (setup.ts: seed main.seed + 1) under the learnt mask. Its
    // effective weight is what the head multiplies features by: the head applied to the identity gives it exactly.
    const head = maskedHead(featureDim, C, r.cfg.cls.fc_score_init, r.cfg.main.seed + 1);
    try {
      for (const [name, v] of head.variables) {
        const t = get(name);
        v.assign(tf.tensor(t.data, t.shape));
      }
      const W = tf.tidy(() => head.apply(tf.eye(featureDim) as tf.Tensor2D));
      const data = Float32Array.from(await W.data());
      W.dispose();
      return { kind: 'masked', W: data, b: new Float32Array(C), accuracyKey: 'training/test/accuracy' };
    } finally {
      head.dispose();
    }
  }
  throw unsupported(r.dir, `its head cls.fc=${r.cfg.cls.fc} is not one the page runs`, 'use cls.fc=masked or linear, or a probe');
}

const methodOf = (r: RunInput, kind: WebTask['headKind']): string =>
  r.cfg.model.pret.module === 'swav' ? 'self-masking + probe' : r.maskBytes ? 'supervised masking' : kind === 'probe' ? 'linear probe' : 'frozen backbone';

/** Backbones loaded by export, by their `model.pret` config (each disposed at the end). */
type BaseCache = Map<string, { backbone: Backbone; sha: string }>;

/** The base of a run: its backbone, loaded once per weights file; the file's sha256 identifies it. */
async function baseOf(cfg: SmnConfig, cache: BaseCache): Promise<{ backbone: Backbone; sha: string }> {
  const key = JSON.stringify(cfg.model.pret);
  const hit = cache.get(key);
  if (hit) return hit;
  const backbone = await loadBackbone(cfg);
  const sha = sha256(new Uint8Array(await readFile(backbone.source)));
  const v = { backbone, sha };
  cache.set(key, v);
  return v;
}

/** Reads every run folder (checked), giving each a task id unique in the folder (`-2`, `-3`, … on a clash). */
async function readRunInputs(runs: readonly string[]): Promise<RunInput[]> {
  const inputs: RunInput[] = [];
  const ids = new Set<string>();
  for (const dir of runs) {
    const r = await readRunInput(dir);
    let id = r.id;
    for (let i = 2; ids.has(id); i++) id = `${r.id}-${i}`;
    ids.add(id);
    inputs.push({ ...r, id });
  }
  return inputs;
}

/** Checks that every run was trained on the first run's base: same weights file, masks made for those weights, same feature size. */
async function checkOneBase(inputs: RunInput[], base: { backbone: Backbone; sha: string }, cache: BaseCache): Promise<void> {
  const first = inputs[0]!;
  const model = base.backbone.model as ResNetModel;
  for (const r of inputs) {
    const b = await baseOf(r.cfg, cache);
    if (b.sha !== base.sha) {
      throw new SmnError(
        TrainErrorCode.WebBaseMismatch,
        `runs ${first.dir} and ${r.dir} were trained on different base weights (${basename(base.backbone.source)} ${base.sha} and ${basename(b.backbone.source)} ${b.sha}); ` +
          'a web folder shares one base between its tasks: export them to separate folders',
        { kind: 'usage', details: { runs: [first.dir, r.dir], hashes: [base.sha, b.sha] } },
      );
    }
    if (r.maskHeader?.baseHash) {
      const found = await hashParams(model.params, r.maskHeader.tensors.map((t) => t.name));
      if (found !== r.maskHeader.baseHash) {
        throw new SmnError(
          TrainErrorCode.WebBaseMismatch,
          `the masks of run ${r.dir} were made for other base weights than those of run ${first.dir}: ${runPaths(r.dir).masks} expects ${r.maskHeader.baseHash}, ` +
            `${basename(base.backbone.source)} hashes to ${found} on those tensors; export runs of one base together`,
          { kind: 'usage', details: { runs: [first.dir, r.dir], hashes: [r.maskHeader.baseHash, found] } },
        );
      }
    }
    if (r.summary.featureDim !== model.featureDim) throw unsupported(r.dir, `its features have ${r.summary.featureDim} dimensions, the base's ${model.featureDim}`, 'export runs of one base together');
  }
}

/** Writes a file of the web folder and records its size. */
type WriteFile = (rel: string, bytes: Uint8Array | string) => Promise<void>;

/**
 * Writes one task: its head with the BatchNorm statistics it was evaluated with (its checkpoint's, where they differ
 * from the base's: main.update_bn recomputes and saves them) and its masks, byte for byte.
 */
async function writeTask(r: RunInput, model: ResNetModel, baseBuffers: Map<string, Float32Array>, write: WriteFile): Promise<Omit<WebTask, 'galleryLabels'>> {
  const head = await headOf(r, model.featureDim);
  const C = r.classes.length;
  const dir = `${WEB_FILES.tasks}/${r.id}`;
  const headSd: StateDict = new Map();
  headSd.set('head.weight', { shape: [model.featureDim, C], dtype: 'float32', data: head.W });
  headSd.set('head.bias', { shape: [C], dtype: 'float32', data: head.b });
  const bnTensors: string[] = [];
  let bnFloats = 0;
  for (const [name, baseData] of baseBuffers) {
    const t = r.ckpt?.tensors.get(`buf/${name}`);
    if (!t || t.data.every((x, i) => Object.is(x, baseData[i]))) continue;
    headSd.set(name, { shape: t.shape, dtype: 'float32', data: Float32Array.from(t.data) });
    bnTensors.push(name);
    bnFloats += t.data.length;
  }
  const headBytes = encodeSafetensors(headSd);
  await write(`${dir}/${WEB_FILES.taskHead}`, headBytes);
  let masks: WebTask['masks'] = null;
  if (r.maskBytes && r.maskHeader) {
    await write(`${dir}/${WEB_FILES.taskMasks}`, r.maskBytes);
    const weights = r.maskLayers.reduce((a, l) => a + l.total, 0);
    masks = {
      file: `${dir}/${WEB_FILES.taskMasks}`,
      bytes: r.maskBytes.length,
      baseHash: r.maskHeader.baseHash,
      scale: r.cfg.model.pret.submask_scale,
      weights,
      kept: r.maskLayers.reduce((a, l) => a + l.kept, 0) / weights,
      layers: r.maskLayers,
    };
  }
  return {
    id: r.id,
    run: basename(r.dir),
    method: methodOf(r, head.kind),
    headKind: head.kind,
    classes: r.classes,
    accuracy: r.summary.metrics[head.accuracyKey] ?? r.summary.metrics['training/test/accuracy'] ?? NaN,
    accuracyKey: head.accuracyKey,
    masks,
    head: { file: `${dir}/${WEB_FILES.taskHead}`, bytes: headBytes.length, inFeatures: model.featureDim, numClasses: C, bnTensors, bnFloats },
    taskBytes: (masks?.bytes ?? 0) + headBytes.length,
  };
}

/**
 * `smn web export`: the base backbone once, then each run's masks, head and BatchNorm statistics, a gallery of test
 * images and manifest.json, into `out` (layout: {@link WEB_FILES}; docs/web.md). Every run is read and checked first:
 * runs trained on different base weights (the weight files differ, or a mask's header hash does not match the base)
 * are refused with SMN_WEB_BASE_MISMATCH naming both runs and hashes; fine-tuned runs and runs whose evaluation cannot
 * be reproduced from their files with SMN_WEB_RUN_UNSUPPORTED. Both are usage errors. Nothing is written before.
 */
export async function exportWeb(opts: WebExportOptions): Promise<WebExportResult> {
  if (opts.runs.length === 0) throw new SmnError(TrainErrorCode.WebRunUnsupported, 'smn web export needs at least one run folder', { kind: 'usage' });
  const log = opts.onLog ?? (() => {});
  const inputs = await readRunInputs(opts.runs);
  const cache: BaseCache = new Map();
  try {
    const first = inputs[0]!;
    const base = await baseOf(first.cfg, cache);
    if (base.backbone.kind !== 'resnet') throw unsupported(first.dir, 'its backbone is not a ResNet', 'the web page runs ResNet backbones');
    const model = base.backbone.model as ResNetModel;
    await checkOneBase(inputs, base, cache);

    const files: { file: string; bytes: number }[] = [];
    const write: WriteFile = async (rel, bytes) => {
      await atomicWriteFile(join(opts.out, rel), bytes);
      files.push({ file: rel, bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length });
    };
    await mkdir(opts.out, { recursive: true });

    // The base: the backbone's parameters and BatchNorm statistics, in PyTorch layout (as the weight file it came from).
    const meta = { smn: JSON.stringify({ what: 'smn web export base', source: basename(base.backbone.source), sourceSha256: base.sha }) };
    const baseBytes = encodeSafetensors(resnetStateDict(model), meta, { floatDtype: opts.fp16 ? 'F16' : 'F32' });
    await write(WEB_FILES.base, baseBytes);
    const params = [...model.params.values()].reduce((a, t) => a + t.size, 0);
    log(`base: ${baseBytes.length.toLocaleString('en-US')} bytes (${opts.fp16 ? 'float16' : 'float32'}, ${params.toLocaleString('en-US')} parameters)`);

    const baseBuffers = new Map<string, Float32Array>();
    for (const [name, v] of model.buffers) if (v.dtype === 'float32') baseBuffers.set(name, (await v.data()) as Float32Array);
    const gallery = await writeGallery(first.cfg, base.backbone.inputSize, opts.gallery ?? 1000, write);
    const tasks: WebTask[] = [];
    for (const r of inputs) {
      const task = { ...(await writeTask(r, model, baseBuffers, write)), galleryLabels: galleryLabelsFor(r.cfg, gallery) };
      tasks.push(task);
      log(`task ${task.id}: ${task.run}: mask ${(task.masks?.bytes ?? 0).toLocaleString('en-US')} B, head + BatchNorm ${task.head.bytes.toLocaleString('en-US')} B, accuracy ${(100 * task.accuracy).toFixed(1)}%`);
    }

    const norm = normStats('clip');
    const manifest: WebManifest = {
      format: 'smn-web',
      version: 1,
      createdAt: new Date().toISOString(),
      base: {
        file: WEB_FILES.base,
        bytes: baseBytes.length,
        dtype: opts.fp16 ? 'float16' : 'float32',
        sha256: sha256(baseBytes),
        source: basename(base.backbone.source),
        sourceSha256: base.sha,
        arch: { kind: 'resnet', depth: model.config.depth, width: model.config.width, stem: model.config.stem },
        featureDim: model.featureDim,
        inputSize: base.backbone.inputSize,
        norm: { mean: [...norm.mean], std: [...norm.std] },
        params,
        fineTunedBytes: 4 * params,
      },
      gallery,
      tasks,
    };
    await write(WEB_FILES.manifest, JSON.stringify(manifest) + '\n');
    return { manifest, files };
  } finally {
    for (const { backbone } of cache.values()) backbone.model.dispose();
  }
}

/** The gallery's labels in the classes of a run trained on a label grouping (`main.dataset_labels`); null for any other run. */
function galleryLabelsFor(cfg: SmnConfig, gallery: WebManifest['gallery']): number[] | null {
  const grouping = cfg.main.dataset_labels;
  if (!gallery || grouping === '') return null;
  const groupOf = groupIndexOfClasses(gallery.classes, grouping, gallery.dataset);
  return gallery.labels.map((l) => groupOf[l]!);
}

/** gallery.bin: the first `n` test images of the first run's dataset at the backbone's input size, uint8 HWC (one channel when gray). */
async function writeGallery(cfg: SmnConfig, size: number, n: number, write: WriteFile): Promise<WebManifest['gallery']> {
  if (n <= 0) return null;
  const name = cfg.main.dataset.replace(/^multicrop_/, '');
  const ds = await loadDataset(name, { dataRoot: cfg.main.data_root, split: 'test' });
  const count = Math.min(n, ds.length);
  const images: Uint8Array[] = [];
  let gray = true;
  for (let i = 0; i < count; i++) {
    let img = await ds.read(i);
    // The eval preset's geometry (Resize shorter side, CenterCrop); a no-op for images already at the input size.
    if (img.height !== size || img.width !== size) img = centerCrop(resizeShorter(img, size), size);
    const d = img.data;
    for (let p = 0; gray && p < d.length; p += 3) if (d[p] !== d[p + 1] || d[p] !== d[p + 2]) gray = false;
    images.push(d);
  }
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(count * size * size * channels);
  images.forEach((d, i) => {
    if (channels === 3) out.set(d, i * d.length);
    else for (let p = 0, o = i * size * size; p < d.length; p += 3, o++) out[o] = d[p]!;
  });
  await write(WEB_FILES.gallery, out);
  return { file: WEB_FILES.gallery, count, height: size, width: size, channels, dataset: name, classes: ds.classes, labels: Array.from(ds.labels.subarray(0, count)) };
}

/** Reads a web folder's manifest.json (checked for its format). */
export async function readWebManifest(dir: string): Promise<WebManifest> {
  const p = join(dir, WEB_FILES.manifest);
  if (!existsSync(p)) throw new SmnError(TrainErrorCode.WebRunUnsupported, `${resolve(dir)} has no ${WEB_FILES.manifest}: is it a folder written by smn web export?`, { kind: 'usage', details: { file: p } });
  const m = JSON.parse(await readFile(p, 'utf8')) as WebManifest;
  if (m.format !== 'smn-web' || m.version !== 1) throw new SmnError(TrainErrorCode.WebRunUnsupported, `${p} is not an smn web manifest (format ${String(m.format)}, version ${String(m.version)})`, { kind: 'usage', details: { file: p } });
  return m;
}
