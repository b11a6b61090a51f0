import * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.js';
import { countFallback } from './profile.js';

type Inputs = tf.NamedTensorInfoMap | tf.TensorInfo[];

/**
 * Runs a tfjs `cpu` kernel for the `torch` backend: the inputs are read from libtorch into a private cpu backend,
 * the cpu kernel runs, and its outputs are written back as native tensors.
 */
export function runFallback(name: string, args: { inputs: Inputs; attrs?: tf.NamedAttrMap; backend: TorchBackend }): tf.TensorInfo | tf.TensorInfo[] {
  const config = tf.getKernel(name, 'cpu');
  if (config === undefined) {
    throw new Error(`backend 'torch': kernel '${name}' has no native version and no cpu fallback`);
  }
  countFallback(name);
  const be = args.backend;
  const cpu = be.cpu;
  const written: object[] = [];
  const toCpu = (t: tf.TensorInfo | null | undefined): tf.TensorInfo | null | undefined => {
    if (t == null) return t;
    const dataId = cpu.write(be.readSync(t.dataId), t.shape, t.dtype);
    written.push(dataId);
    return { dataId, shape: t.shape, dtype: t.dtype };
  };
  let cpuInputs: Inputs;
  if (Array.isArray(args.inputs)) cpuInputs = args.inputs.map((t) => toCpu(t)!);
  else {
    const m: Record<string, tf.TensorInfo> = {};
    for (const [k, v] of Object.entries(args.inputs)) {
      const c = toCpu(v);
      if (c != null) m[k] = c;
    }
    cpuInputs = m;
  }
  let res: tf.TensorInfo | tf.TensorInfo[];
  try {
    res = config.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, attrs: args.attrs ?? {}, backend: cpu });
  } catch (err) {
    for (const d of written) cpu.disposeData(d);
    throw err;
  }
  const outs = Array.isArray(res) ? res : [res];
  const converted = outs.map((o) => {
    if (o.dtype === 'complex64') throw new Error(`backend 'torch': fallback kernel '${name}' returned complex64, which is not supported`);
    const values = cpu.readSync(o.dataId);
    return be.makeTensorInfo(o.shape, o.dtype, values);
  });
  for (const o of outs) cpu.disposeData(o.dataId);
  for (const d of written) cpu.disposeData(d);
  return Array.isArray(res) ? converted : converted[0]!;
}
