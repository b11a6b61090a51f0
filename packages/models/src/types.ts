import type * as tf from '@tensorflow/tfjs-core';

/** Element type of a tensor read from a weight file (floats are always converted to float32). */
export type RawDtype = 'float32' | 'int32' | 'int64';

/** A tensor read from a weight file, in the file's (PyTorch) layout, C order. */
export interface RawTensor {
  shape: number[];
  dtype: RawDtype;
  /** The dtype as stored in the file (`F16`, `BF16`, `torch.FloatStorage`, ...), for inspection. */
  sourceDtype?: string;
  data: Float32Array | Int32Array | BigInt64Array;
}

/** A state dict: PyTorch parameter/buffer names → tensors in PyTorch layout. */
export type StateDict = Map<string, RawTensor>;

/** Options of a model's `apply`. */
export interface ApplyOptions {
  /** Training mode: BatchNorm uses batch statistics and updates the running buffers. Default false. */
  training?: boolean;
}

/**
 * A model as a function of a parameter map (see ARCHITECTURE.md). Parameter names are PyTorch's; layouts are
 * converted once at load: conv OIHW → HWIO `[kh,kw,in,out]`, linear `[out,in]` → `[in,out]`.
 */
export interface FunctionalModel {
  /** Learnable-able parameters (owned by the model; `dispose()` frees them). */
  params: Map<string, tf.Tensor>;
  /** BatchNorm running statistics (`running_mean`, `running_var`, `num_batches_tracked`), updated in training mode. */
  buffers: Map<string, tf.Variable>;
  /** Runs the model on `x` (NHWC float32). The caller disposes the result. Usable inside `tf.grad`. */
  apply(params: Map<string, tf.Tensor>, x: tf.Tensor, opts?: ApplyOptions): tf.Tensor;
  /** Frees params and buffers. */
  dispose(): void;
}

/** What a parameter selection rule returns (SPEC §1.3): a mode, or a mode and a slot name for analysis groups. */
export type SelectionMode = 'mask' | 'freeze' | 'train';
export type SelectionResult = SelectionMode | [SelectionMode, string];
/** A parameter selection rule `(name, param) => mode | [mode, slot]`, as in the reference. */
export type ParameterSelection = (name: string, param: { shape: readonly number[] }) => SelectionResult;
