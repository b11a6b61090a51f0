import type * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.js';
import { BINARY, UNARY } from './ops.js';

export type Info = tf.TensorInfo;
type Args = { inputs: tf.NamedTensorInfoMap | Info[]; attrs: tf.NamedAttrMap; backend: TorchBackend };
/** A native kernel: returns its outputs, or null to hand the call to the cpu fallback (unsupported dtype, shape…). */
export type NativeKernel = (args: Args) => Info | Info[] | null;

/**
 * tfjs declares most kernel inputs as `Pick<NamedTensorInfoMap, …>`, each possibly undefined; the engine always passes
 * the required ones. Inputs declared optional (`bias?`) stay optional.
 */
type Given<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/**
 * A native kernel written against the inputs and attributes tfjs declares for the kernel it implements
 * (`tf.SumInputs`, `tf.SumAttrs`, …): the engine hands both over untyped.
 */
export function kernel<In = tf.NamedTensorInfoMap, At = object>(fn: (inputs: Given<In>, attrs: At, be: TorchBackend) => Info | Info[] | null): NativeKernel {
  return (args) => fn(args.inputs as unknown as Given<In>, args.attrs as unknown as At, args.backend);
}

export const F32: readonly tf.DataType[] = ['float32'];
export const F32_I32: readonly tf.DataType[] = ['float32', 'int32'];

export const isF = (t: Info): boolean => t.dtype === 'float32';
export const isI = (t: Info): boolean => t.dtype === 'int32';
export const isB = (t: Info): boolean => t.dtype === 'bool';

export function hasZero(shape: readonly number[]): boolean {
  return shape.some((d) => d === 0);
}

/** The same data under a new TensorInfo (Identity, and Cast to the same dtype), as tfjs-backend-cpu shares it. */
export function identity(be: TorchBackend, x: Info): Info {
  be.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function reshapeTo(be: TorchBackend, x: Info, shape: number[]): Info {
  return be.wrapAs(be.native.reshape(be.h(x), shape), shape, x.dtype);
}

/** Applies a tfjs fused activation to a native handle, freeing the input handle; returns the new handle. */
export function activate(be: TorchBackend, id: number, activation: tf.fused.Activation | undefined, prelu: Info | undefined, alpha: number | undefined): number | null {
  const n = be.native;
  let out: number;
  switch (activation ?? 'linear') {
    case 'linear':
      return id;
    case 'relu':
      out = n.unary(UNARY.Relu, id, 0, 0);
      break;
    case 'relu6':
      out = n.unary(UNARY.Relu6, id, 0, 0);
      break;
    case 'elu':
      out = n.unary(UNARY.Elu, id, 0, 0);
      break;
    case 'sigmoid':
      out = n.unary(UNARY.Sigmoid, id, 0, 0);
      break;
    case 'leakyrelu':
      out = n.unary(UNARY.LeakyRelu, id, alpha ?? 0.2, 0);
      break;
    case 'prelu':
      if (!prelu) return null;
      out = n.binary(BINARY.Prelu, id, be.h(prelu));
      break;
    default:
      return null;
  }
  n.free(id);
  return out;
}

/** id + bias (freeing id), or id itself without a bias. */
export function addBias(be: TorchBackend, id: number, bias: Info | undefined): number {
  if (!bias) return id;
  const out = be.native.binary(BINARY.Add, id, be.h(bias));
  be.native.free(id);
  return out;
}
