import type * as tf from '@tensorflow/tfjs-core';
import type { ApplyOptions, FunctionalModelOf, Selection, SelectionMode } from '@smn/core';

export type { ApplyOptions, SelectionMode };

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

/**
 * A loaded model: `@smn/core`'s functional contract (params, buffers, apply, dispose; PyTorch names, tfjs layouts)
 * over tfjs tensors. `@smn/subnetworks` masks the `params`/`apply` part of the same definition.
 */
export type FunctionalModel = FunctionalModelOf<tf.Tensor, tf.Variable>;

/** What a parameter selection rule returns: a mode, or a mode and a slot name for analysis groups. */
export type SelectionResult = Selection;

/** A parameter selection rule `(name, param) => mode | [mode, slot]`, as in the reference. */
export type ParameterSelection = (name: string, param: { shape: readonly number[] }) => SelectionResult;
