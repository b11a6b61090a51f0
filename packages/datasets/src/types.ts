/** Public types of @smn/datasets. Images are uint8 HWC RGB; batches are float32 NHWC, normalised. */

/** One decoded image: `data` is `height*width*3` bytes, HWC, RGB. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** Where a sample's pixels come from, before decoding: already in memory, or an encoded file on disk. */
export type SampleRef =
  | { kind: 'raw'; image: RawImage }
  | { kind: 'file'; path: string };

/** One split of a dataset. Labels are known without decoding any image. */
export interface ImageDataset {
  /** Dataset name as given to `loadDataset` (e.g. `cifar10pgn`). */
  name: string;
  split: 'train' | 'test';
  /** Class names; index = label. */
  classes: string[];
  /** Number of samples. */
  length: number;
  /** All labels, `length` entries in `[0, classes.length)`. */
  labels: Int32Array;
  /** `[H, W, C]` when every image has the same shape (CIFAR, IDX: C is always 3 after conversion), else undefined. */
  imageShape?: [number, number, number];
  /** Decodes sample `i` to RGB uint8 HWC. Throws SmnError naming the file and index when it cannot. */
  read(i: number): Promise<RawImage>;
  /** Sample `i` before decoding (what worker threads receive); `read(i)` = decode(ref(i)). */
  ref(i: number): SampleRef;
  /** File or folder the split comes from, for error messages. */
  source: string;
}

/** Options of `loadDataset`. */
export interface LoadOptions {
  /** Root under which dataset folders live (`main.data_root`, default `data`, as the reference's `main.data_path`). */
  dataRoot?: string;
  split: 'train' | 'test';
  /**
   * Called for a problem that does not stop loading (an image folder entry that is a FIFO, socket or device, which
   * is skipped). Without it, each distinct warning becomes a Node process warning (`type: 'SmnWarning'`), once.
   */
  onWarning?: (w: DatasetWarning) => void;
}

/** A problem that does not stop loading, e.g. `SMN_DATA_NOT_REGULAR` (skipped files), `SMN_DATA_WORKERS_CAPPED`. */
export interface DatasetWarning {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** Float32 batch of one view: NHWC, normalised. */
export interface ImageBatch {
  images: Float32Array;
  shape: [number, number, number, number];
}

/** A batch from `createLoader`: one view (supervised/eval presets) or several crops (multicrop preset). */
export type Batch =
  | { indices: Int32Array; labels: Int32Array; images: Float32Array; shape: [number, number, number, number] }
  | { indices: Int32Array; labels: Int32Array; crops: ImageBatch[] };

/** Interpolation used by resizes. */
export type Interpolation = 'bilinear' | 'bicubic' | 'nearest';

/** Mean/std per RGB channel, in [0, 1] units. */
export interface NormStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Output of a transform on one image: one view, or a list of crops (multicrop). */
export type TransformOutput = { view: Float32Array; size: [number, number] } | { crops: { data: Float32Array; size: [number, number] }[] };

/** Color jitter strengths, as torchvision's `ColorJitter(brightness, contrast, saturation, hue)`. */
export interface JitterOptions {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/**
 * How a preset runs its pixel steps: 'fast' (the default) fuses the steps after each resize into as few passes as
 * they allow (colour jitter through byte tables, then grayscale, solarize, flip and normalisation in one pass); 'pil'
 * runs them one after the other, as torchvision does. Both resample and blur with PIL's fixed-point arithmetic
 * (src/kernels/pixels.wat), so the outputs are the same bits, as are the random draws.
 */
export type ResampleMode = 'fast' | 'pil';

/** Supervised train pipeline (docs/method.md#augmentations). */
export interface SupervisedPreset {
  preset: 'supervised';
  /** Output side (default 224; use 28/32 for small-image data). */
  size?: number;
  /** RandomResizedCrop scale range (default [1, 1]: only aspect jitter, as the reference). */
  scale?: [number, number];
  ratio?: [number, number];
  interpolation?: Interpolation;
  jitter?: JitterOptions;
  /** Probability of applying the color jitter (default 0.8). */
  jitterP?: number;
  grayscaleP?: number;
  solarizeP?: number;
  flipP?: number;
  /** How the pixel steps run: {@link ResampleMode}. */
  resample?: ResampleMode;
  /** Normalisation (default 'clip'). */
  norm?: 'clip' | 'imagenet' | NormStats;
}

/** Evaluation pipeline: resize shorter side + center crop + normalise. */
export interface EvalPreset {
  preset: 'eval';
  size?: number;
  /** Shorter side before the crop (default = size). */
  resize?: number;
  /** How the pixel steps run: {@link ResampleMode}. */
  resample?: ResampleMode;
  interpolation?: Interpolation;
  norm?: 'clip' | 'imagenet' | NormStats;
}

/** One group of multicrop crops. */
export interface CropGroup {
  count: number;
  size: number;
  scale: [number, number];
}

/** SSL multicrop pipeline (volt/dataset.py, MultiCropDataset), each crop independent. */
export interface MulticropPreset {
  preset: 'multicrop';
  /** Default `[{count:2,size:224,scale:[0.14,1]},{count:6,size:96,scale:[0.05,0.14]}]`. */
  crops?: CropGroup[];
  /**
   * Small-image shortcut: when set and `crops` is not, crops become `2×size` (scale .14–1) and `6×round(size·96/224)`
   * (scale .05–.14).
   */
  size?: number;
  ratio?: [number, number];
  interpolation?: Interpolation;
  jitter?: JitterOptions;
  jitterP?: number;
  grayscaleP?: number;
  blurP?: number;
  blurRadius?: [number, number];
  flipP?: number;
  /** How the pixel steps run: {@link ResampleMode}. */
  resample?: ResampleMode;
  /** Normalisation (default 'imagenet'). */
  norm?: 'clip' | 'imagenet' | NormStats;
}

/** A serialisable transform description (can be sent to worker threads). */
export type PresetSpec = SupervisedPreset | EvalPreset | MulticropPreset;

/** A transform as a function: any custom function works in-process (`workers: 0`) only. */
export type TransformFn = (img: RawImage, rng: import('@smn/core').Rng) => TransformOutput;
