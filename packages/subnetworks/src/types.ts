import type * as tf from '@tensorflow/tfjs-core';
import type { FunctionalModelOf, Selection, SelectionMode } from '@smn/core';

export type { Selection, SelectionMode };

/**
 * What masking needs of a model: the `params` and `apply` of `@smn/core`'s functional contract (PyTorch names, tfjs
 * layouts: conv HWIO `[kh, kw, in, out]`, linear `[in, out]`). A loaded `@smn/models` model is one; its other fields
 * (BatchNorm `buffers`, `dispose`) are ignored by masking.
 */
export type FunctionalModel = Pick<FunctionalModelOf<tf.Tensor>, 'params' | 'apply'>;

/** How a score tensor becomes a mask (the reference's `GetSubnet`, docs/method.md#masks). */
export type MaskMode = 'threshold' | 'topk' | 'flip';

/** Training position passed to `k` schedules. */
export interface MaskContext {
  epoch?: number;
  step?: number;
}

/** `k` as a constant or as a function of the (0-based) epoch and step. */
export type KSchedule = number | ((ctx: { epoch: number; step: number }) => number);

/**
 * Memory layout of a weight tensor, used to find its fan-in for Kaiming initialisation.
 * - `hwio`: conv `[kh, kw, in, out]` (fan_in = kh·kw·in), the layout of `@smn/models`;
 * - `in-out`: linear `[in, out]` (fan_in = in);
 * - `torch`: PyTorch order `[out, in, ...]` (fan_in = shape[1]·prod(shape[2:])), e.g. OIHW or `[out, in]`;
 * - `auto`: rank 4 → `hwio`, rank 2 → `in-out`, any other rank → `torch`.
 */
export type WeightLayout = 'auto' | 'hwio' | 'in-out' | 'torch';

/** Built-in score initialisers (docs/method.md#score-initialisers). */
export type ScoresInit =
  /** Scores ~ N(mean, std). The paper's runs use `{ kind: 'normal', mean: 1, std: 0 }`. */
  | { kind: 'normal'; mean?: number; std?: number }
  /** Every score equals `value`. */
  | { kind: 'constant'; value: number }
  /** Scores = |W| + N(mean, std); with `shuffle`, W's entries are permuted within the tensor first. */
  | { kind: 'magnitude'; mean?: number; std?: number; shuffle?: boolean }
  /**
   * The reference default: 1-D tensors get √5; others U(−1/√fan_in, 1/√fan_in) (PyTorch's Kaiming-uniform with
   * a = √5). `layout` says how to read fan_in from the shape (default `auto`); a function picks it per parameter.
   */
  | { kind: 'kaiming-uniform'; layout?: WeightLayout | ((name: string, shape: readonly number[]) => WeightLayout) };

/** A custom initialiser: returns a new float32 tensor shaped like `weight` (ownership passes to the caller). */
export type ScoresInitFn = (name: string, weight: tf.Tensor) => tf.Tensor;

/** Options of {@link createMaskedModel}. */
export interface MaskedModelOptions {
  /** Called once per parameter, in map order: `'mask'`, `'train'`, `'freeze'` or `[mode, slot]`. */
  select: (name: string, param: tf.Tensor) => Selection;
  /** Default `{ kind: 'kaiming-uniform' }` (the reference's `default_scores_init`). */
  scoresInit?: ScoresInit | ScoresInitFn;
  /** Default `'threshold'`. */
  mode?: MaskMode;
  /** Threshold (threshold, flip) or kept fraction per tensor (topk). Default 0. */
  k?: KSchedule;
  /** Divide masked weights by √mean(mask) (paper Eq. 1). Default true. */
  scale?: boolean;
  /** Seed of the score initialiser. Default 0. */
  seed?: number;
}

/** One parameter of a masked model, in the order of `model.params`. */
export interface MaskedEntry {
  name: string;
  selection: SelectionMode;
  slot: string;
  shape: number[];
}

/** Options of `MaskedModel.apply`. */
export interface MaskedApplyOptions extends MaskContext {
  training?: boolean;
}

/** Statistics of `analyze()`, keyed as the reference logs them (`mean_mask`, `mean_mask_<slot>`, `prune_k`, …). */
export type MaskAnalysis = Record<string, number>;

/** A functional model whose selected weights are replaced by `W ⊙ M(S) / √mean(M)` with learnable scores S. */
export interface MaskedModel<M extends FunctionalModel = FunctionalModel> {
  /** The wrapped model (its params are never modified). */
  readonly model: M;
  readonly mode: MaskMode;
  readonly scale: boolean;
  /** Every parameter with its selection and slot, in `model.params` order. */
  readonly entries: readonly MaskedEntry[];
  /** Learnable scores, one per masked parameter, shaped like it. */
  readonly scores: Map<string, tf.Variable>;
  /** Parameters selected `'train'`, as variables initialised from the model's values. */
  readonly trainable: Map<string, tf.Variable>;
  /** `scores` then `trainable` values, for an optimizer's var list. */
  variables(): tf.Variable[];
  /** The value of k at this position (0 if no context). */
  k(ctx?: MaskContext): number;
  /**
   * Runs the model on the effective weights. Differentiable w.r.t. `scores` and `trainable` (straight-through).
   * The caller owns the returned tensor; the effective weights made for this call are disposed before returning.
   */
  apply(x: tf.Tensor, opts?: MaskedApplyOptions): tf.Tensor;
  /**
   * The parameter map passed to `model.apply`: masked names → `W ⊙ M / √mean(M)`, trainable → the variable's
   * value, frozen → the original. Every tensor in the map is new (clones share memory): dispose them all, or call
   * inside `tf.tidy`.
   */
  effectiveParams(ctx?: MaskContext): Map<string, tf.Tensor>;
  /** Current masks (float32, 0/1 or ±1 for flip), keyed by parameter name; the caller disposes them. */
  masks(ctx?: MaskContext): Map<string, tf.Tensor>;
  /** The reference's `analyze()`: overall and per-slot mask and score statistics, `{}` when nothing is masked. */
  analyze(ctx?: MaskContext): MaskAnalysis;
  /** Disposes scores and trainable variables (not the wrapped model's params). */
  dispose(): void;
}

/** Options of {@link createMaskedLinear}. */
export interface MaskedLinearOptions {
  /** Every score starts at this value (reference `cls.fc_score_init`, default 1.0). */
  scoreInit?: number;
  /** Seed of the frozen random weight. Default 0. */
  seed?: number;
}

/** A masked linear head: frozen random weight `[in, out]`, learnable scores, threshold 0, scaled. */
export interface MaskedLinear extends MaskedModel {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The frozen weight `[in, out]` ~ U(±1/√in). */
  readonly weight: tf.Tensor2D;
}

/** A mask held in plain memory (no tensor), e.g. read from a `.smnmask` file or built by a program. */
export interface MaskData {
  shape: number[];
  /** Row-major values: 0/1, or −1/+1 for flip masks. */
  values: Uint8Array | Int8Array | Float32Array;
}

/** Compression of the bit-packed payload of a `.smnmask` file. */
export type MaskCompression = 'none' | 'gzip' | 'brotli';

/** Options of {@link saveMasks} and {@link encodeMasks}. */
export interface SaveMasksOptions {
  /** The base weights the masks apply to: their hash goes in the header and shapes are checked. */
  baseParams?: Map<string, tf.Tensor>;
  /** `true` = gzip. Default false. */
  compress?: boolean | MaskCompression;
  /** Recorded in the header. `'flip'` stores sign bits; otherwise inferred from the values. */
  mode?: MaskMode;
  /** Recorded in the header. */
  k?: number;
}

/** The JSON header of a `.smnmask` file (see docs/smnmask.md). */
export interface SmnmaskHeader {
  format: 'smnmask';
  version: 1;
  /** `binary`: bit 1 = weight kept (mask 1), 0 = removed. `sign`: bit 1 = +1, 0 = −1. */
  encoding: 'binary' | 'sign';
  /** Always `lsb-first`: bit i of the stream is bit (i mod 8) of byte ⌊i/8⌋. */
  bitOrder: 'lsb-first';
  mode: MaskMode | null;
  k: number | null;
  /** `sha256:<hex>` of the base weights named in `tensors` (see `hashParams`), or null. */
  baseHash: string | null;
  compression: MaskCompression;
  /** Tensors in payload order; each one's entries row-major in its stored layout, no padding between tensors. */
  tensors: { name: string; shape: number[] }[];
  /** Bytes of the packed bit stream before compression: ⌈Σ numel / 8⌉. */
  packedBytes: number;
  /** Bytes of the payload as stored (after compression). */
  payloadBytes: number;
  /** `sha256:<hex>` of the stored payload. */
  payloadSha256: string;
}

/** Options of {@link loadMasks}. */
export interface LoadMasksOptions {
  /**
   * When given, every mask must have a weight of its name and shape (checked from the header, before the payload is
   * decompressed) and the file's base hash must match these weights (names taken from the file).
   */
  baseParams?: Map<string, tf.Tensor>;
  /** Refuse files that declare more mask entries than this (`SMN_MASK_FILE_TOO_LARGE`); default `MAX_MASK_ENTRIES` (2^30). */
  maxEntries?: number;
}
