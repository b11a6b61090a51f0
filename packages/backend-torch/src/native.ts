import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The functions the addon exports (handles are integers naming native tensors; dtype and op codes are those of
 * ops.ts).
 */
export interface NativeTorch {
  upload(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): number;
  download(id: number): Float32Array | Int32Array | Uint8Array;
  free(id: number): void;
  live(): number;
  bytes(): number;
  /** [dtype code, ...shape] */
  meta(id: number): number[];
  init(device: string, threads: number): number;
  info(): { cudaAvailable: boolean; cudaDevices: number; threads: number; device: string; parallelInfo: string; torchVersion?: string };
  sync(): void;
  unary(op: number, x: number, a: number, b: number): number;
  binary(op: number, a: number, b: number): number;
  addN(ids: number[]): number;
  select(c: number, t: number, e: number): number;
  cast(x: number, dtype: number): number;
  reduce(op: number, x: number, axes: number[], keepDims: boolean): number;
  argReduce(isMax: boolean, x: number, axis: number): number;
  softmax(x: number, dim: number): number;
  logSoftmax(x: number, dim: number): number;
  cumsum(x: number, axis: number, exclusive: boolean, reverse: boolean): number;
  reshape(x: number, shape: number[]): number;
  transpose(x: number, perm: number[]): number;
  expand(x: number, shape: number[]): number;
  slice(x: number, begin: number[], size: number[]): number;
  stridedSlice(x: number, begin: number[], end: number[], strides: number[]): number;
  concat(ids: number[], axis: number): number;
  stack(ids: number[], axis: number): number;
  unbind(x: number, axis: number): number[];
  split(x: number, sizes: number[], axis: number): number[];
  flip(x: number, dims: number[]): number;
  tile(x: number, reps: number[]): number;
  pad(x: number, pads: number[], value: number): number;
  fill(shape: number[], value: number, dtype: number): number;
  range(start: number, step: number, count: number, dtype: number): number;
  gather(x: number, indices: number, axis: number): number;
  oneHot(indices: number, depth: number, on: number, off: number, dtype: number): number;
  topk(x: number, k: number): [number, number];
  segmentSum(x: number, segmentIds: number, numSegments: number): number;
  nonzero(x: number): number;
  einsum(equation: string, ids: number[]): number;
  matmul(a: number, b: number, transposeA: boolean, transposeB: boolean): number;
  /** p = [strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW] */
  conv2d(x: number, w: number, p: number[], depthwise: boolean): number;
  conv2dBackpropInput(dy: number, w: number, inputShape: number[], p: number[], depthwise: boolean): number;
  conv2dBackpropFilter(x: number, dy: number, filterShape: number[], p: number[], depthwise: boolean): number;
  /** p = [kernelH, kernelW, strideH, strideW, padTop, padBottom, padLeft, padRight] */
  maxPool(x: number, p: number[]): number;
  maxPoolGrad(dy: number, x: number, p: number[]): number;
  avgPool(x: number, p: number[]): number;
  avgPoolGrad(dy: number, x: number, p: number[]): number;
  batchNorm(x: number, mean: number, variance: number, offset: number, scale: number, eps: number): number;
  /** [y, mean, invStd, biased variance] */
  batchNormTrain(x: number, scale: number, offset: number, eps: number): [number, number, number, number];
  /** [dx, dScale, dOffset] */
  batchNormTrainGrad(dy: number, x: number, scale: number, mean: number, invStd: number, eps: number): [number, number, number];
  /** [y, mean(M)] of W ⊙ M / √mean (mode 0 threshold, 1 flip) */
  maskedWeight(w: number, s: number, k: number, mode: number, scale: boolean): [number, number];
  /** [dS] or [dS, dW] */
  maskedWeightGrad(dy: number, w: number, s: number, mean: number, k: number, mode: number, scale: boolean, weightGrad: boolean): number[];
  /** [p'] or [p', buf'] (buf −1: first step) */
  sgdStep(p: number, g: number, buf: number, lr: number, momentum: number, dampening: number, nesterov: boolean, wd: number, constantWd: boolean): number[];
}

/** Where the addon is looked for: SMN_TORCH_ADDON, else build/Release/smn_torch.node in this package. */
export function addonPath(): string {
  return process.env.SMN_TORCH_ADDON ?? fileURLToPath(new URL('../build/Release/smn_torch.node', import.meta.url));
}

let loaded: { native: NativeTorch } | { error: string } | undefined;

/** Loads the addon once; returns it or the reason it cannot be loaded. */
export function loadNative(): { native: NativeTorch } | { error: string } {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    loaded = { error: `the addon ${path} is not built` };
    return loaded;
  }
  try {
    const require = createRequire(import.meta.url);
    loaded = { native: require(path) as NativeTorch };
  } catch (err) {
    loaded = { error: `the addon ${path} failed to load: ${(err as Error).message}` };
  }
  return loaded;
}
