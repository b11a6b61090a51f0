/**
 * What a run needs from outside before it starts, fetched through @smn/hub (cache, SMN_MIRROR, HF_ENDPOINT,
 * SMN_OFFLINE, resumable and verified downloads): the backbone's weights named by model.pret.*, and, with
 * main.download, the dataset named by main.dataset, unpacked into main.data_root where the readers look.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isSmnError } from '@smn/core';
import { DatasetErrorCode, loadDataset } from '@smn/datasets';
import { entryForDataset, fetchDataset, fetchFile, fetchFiles, resolveEntry, type FetchOptions } from '@smn/hub';
import { resolveBackboneWeights, type BackboneWeightsSource } from '../config/weights.js';
import type { SmnConfig } from '../config/index.js';

/** Options of {@link fetchBackboneWeights} and {@link ensureDataset}: those of @smn/hub's fetches. */
export type FetchInputsOptions = Pick<FetchOptions, 'env' | 'cacheDir' | 'onProgress' | 'signal' | 'offline'>;

/** The backbone's weights on disk. */
export interface BackboneWeightsPath {
  source: BackboneWeightsSource;
  /**
   * A weight file (`.safetensors`, `.pth`, `.pth.tar`, `.bin`), or a Hugging Face folder for CLIP; undefined for
   * the shipped embedded backbone.
   */
  path: string | undefined;
}

/** Weight files among an entry's files (a Hugging Face repo also holds config.json, tokenizer files, …). */
const WEIGHT_FILE = /\.(safetensors|bin|pth|pt|tar)$/;

/**
 * The local path of the backbone weights of `cfg`: model.pret.weights as given, or the registry entry that the
 * reference's loader names (see resolveBackboneWeights), fetched into the cache on first use and verified on every
 * use. CLIP (model.pret.source=clip) gets the entry's folder (config, weights, tokenizer); a ResNet gets its weight
 * file. Usage error SMN_CONFIG_WEIGHTS_MISSING when nothing is known for the combination; the hub's errors
 * (SMN_HUB_OFFLINE_MISSING, SMN_HUB_HTTP, …) name the URL and the cache path otherwise.
 */
export async function fetchBackboneWeights(cfg: SmnConfig, opts: FetchInputsOptions = {}): Promise<BackboneWeightsPath> {
  const source = resolveBackboneWeights(cfg, opts);
  if (source.kind !== 'registry') return { source, path: source.path };
  if (cfg.model.pret.source === 'clip') return { source, path: await fetchFile(source.name, opts) };
  const files = await fetchFiles(source.name, opts);
  return { source, path: files.find((f) => WEIGHT_FILE.test(basename(f))) ?? files[0]! };
}

/** What {@link ensureDataset} did. */
export interface EnsureDatasetResult {
  dataset: string;
  /** The @smn/hub dataset entry behind main.dataset, when there is one. */
  entry: string | undefined;
  /** Whether files were fetched and unpacked now. */
  fetched: boolean;
  /** Where the files are, when ensureDataset knows. */
  dir: string | undefined;
  /** Why nothing was fetched, for logs ('main.download=0', 'already in place', …). */
  reason: string;
}

/** Whether the reader already finds `name` under `dataRoot` (another layout, Debian's Fashion-MNIST, …). */
async function readerFinds(name: string, dataRoot: string): Promise<boolean> {
  try {
    await loadDataset(name, { dataRoot, split: 'test' });
    return true;
  } catch (err) {
    if (isSmnError(err) && err.code === DatasetErrorCode.NotFound) return false;
    throw err;
  }
}

/**
 * With main.download (the reference's torchvision datasets use download=True), fetches main.dataset into
 * main.data_root in the layout the readers expect, when neither that layout nor any other the reader accepts is
 * there. Call it before the dataset is opened. Datasets without a registry entry (the JSON-split ones, `embedded`,
 * `folder:`) are left to the reader, whose error lists the paths it tried. Offline (SMN_OFFLINE=1) a missing
 * dataset fails with SMN_HUB_OFFLINE_MISSING, naming each file's URL and where to place it.
 */
export async function ensureDataset(cfg: SmnConfig, opts: FetchInputsOptions = {}): Promise<EnsureDatasetResult> {
  const dataset = cfg.main.dataset;
  const entry = entryForDataset(dataset, opts);
  const none = (reason: string, dir?: string): EnsureDatasetResult => ({ dataset, entry, fetched: false, dir, reason });
  if (!cfg.main.download) return none('main.download=0');
  if (!entry) return none(`no registry entry provides '${dataset}'`);
  const unpack = resolveEntry(entry, opts).unpack!;
  const dir = join(resolve(cfg.main.data_root), unpack.into);
  if (unpack.produces.every((p) => existsSync(join(dir, p)))) return none('already in place', dir);
  if (await readerFinds(dataset, cfg.main.data_root)) return none(`the reader finds '${dataset}' under ${cfg.main.data_root}`);
  const r = await fetchDataset(entry, cfg.main.data_root, opts);
  return { dataset, entry, fetched: r.unpacked, dir: r.dir, reason: r.unpacked ? 'fetched' : 'already in place' };
}
