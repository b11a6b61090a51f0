import * as tf from '@tensorflow/tfjs-core';
import { activate, addBias, hasZero, isF, kernel, type Info, type NativeKernel } from './native-kernel.js';

const { backend_util } = tf;

/** [strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW], or null if libtorch's output size would differ. */
function convParams(info: tf.backend_util.Conv2DInfo): number[] | null {
  const p = info.padInfo;
  const oh = Math.floor((info.inHeight + p.top + p.bottom - info.effectiveFilterHeight) / info.strideHeight) + 1;
  const ow = Math.floor((info.inWidth + p.left + p.right - info.effectiveFilterWidth) / info.strideWidth) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth || p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0) return null;
  if (info.dataFormat !== 'channelsLast') return null;
  return [info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right, info.dilationHeight, info.dilationWidth];
}

/** [kernelH, kernelW, strideH, strideW, padTop, padBottom, padLeft, padRight], or null (dilated, or sizes differ). */
function poolParams(info: tf.backend_util.Conv2DInfo): number[] | null {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const c = convParams(info);
  if (!c) return null;
  return [info.filterHeight, info.filterWidth, c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!];
}

// ---------------------------------------------------------------- convolutions
/**
 * What the conv kernels read from their attributes: the fields tfjs's Conv2D*, DepthwiseConv2dNative* and
 * Fused*Conv2D attributes share, and the shape each gradient kernel is given. Each kernel below names its tfjs
 * attribute type, which must fit this one.
 */
type ConvAttrs = Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dimRoundingMode'> &
  Partial<Pick<tf.Conv2DAttrs, 'dilations' | 'dataFormat'> & Pick<tf.Conv2DBackpropInputAttrs, 'inputShape'> & Pick<tf.Conv2DBackpropFilterAttrs, 'filterShape'>>;
type ConvInputs = Partial<Record<'x' | 'filter' | 'dy', Info>>;

/** The conv's output (forward), or the gradient of its input or of its filter. */
type ConvPass = 'forward' | 'backpropInput' | 'backpropFilter';

/**
 * The geometry of a conv with input `inShape` and filter `filterShape`, as libtorch's parameters, or null when
 * libtorch cannot compute it. tfjs's cpu kernels compute depthwise convs as NHWC whatever `dataFormat` says; so does
 * this.
 */
function convGeometry(inShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean): { info: tf.backend_util.Conv2DInfo; p: number[] | null } {
  const format = depthwise ? 'channelsLast' : backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC');
  const info = backend_util.computeConv2DInfo(inShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise, format);
  return { info, p: hasZero(inShape) ? null : convParams(info) };
}

/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter (or their depthwise twins) on float32 NHWC tensors. `At` is the
 * tfjs attribute type of the kernel it implements.
 */
function convKernel<At extends ConvAttrs>(pass: ConvPass, depthwise: boolean): NativeKernel {
  return kernel<ConvInputs, At>((inputs, a, be) => {
    const { x, filter, dy } = inputs;
    const [first, second] = pass === 'forward' ? [x, filter] : pass === 'backpropInput' ? [dy, filter] : [x, dy];
    if (!first || !second || !isF(first) || !isF(second)) return null;
    const inShape = pass === 'backpropInput' ? a.inputShape! : x!.shape;
    const filterShape = pass === 'backpropFilter' ? a.filterShape! : filter!.shape;
    const { info, p } = convGeometry(inShape, filterShape, a, depthwise);
    if (!p) return null;
    const n = be.native;
    if (pass === 'forward') return be.wrapAs(n.conv2d(be.h(first), be.h(second), p, depthwise), [...info.outShape], 'float32');
    if (pass === 'backpropInput') return be.wrapAs(n.conv2dBackpropInput(be.h(first), be.h(second), inShape, p, depthwise), [...inShape], 'float32');
    return be.wrapAs(n.conv2dBackpropFilter(be.h(first), be.h(second), filterShape, p, depthwise), [...filterShape], 'float32');
  });
}

/** FusedConv2D / FusedDepthwiseConv2D: the forward conv, then bias and activation on the native result. */
function fusedConvKernel<At extends ConvAttrs & Pick<tf.FusedConv2DAttrs, 'activation' | 'leakyreluAlpha'>>(depthwise: boolean): NativeKernel {
  return kernel<tf.FusedConv2DInputs, At>(({ x, filter, bias, preluActivationWeights }, a, be) => {
    if (!isF(x) || !isF(filter)) return null;
    const { info, p } = convGeometry(x.shape, filter.shape, a, depthwise);
    if (!p) return null;
    const id = addBias(be, be.native.conv2d(be.h(x), be.h(filter), p, depthwise), bias);
    const out = activate(be, id, a.activation, preluActivationWeights, a.leakyreluAlpha);
    if (out === null) {
      be.native.free(id);
      return null;
    }
    return be.wrapAs(out, [...info.outShape], 'float32');
  });
}

// ---------------------------------------------------------------- pooling
/** What the pooling kernels read from tfjs's MaxPool*, AvgPool* attributes (AvgPoolGrad has no rounding mode). */
type PoolAttrs = Pick<tf.MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>;

function poolKernel<At extends PoolAttrs>(kind: 'max' | 'avg'): NativeKernel {
  return kernel<tf.MaxPoolInputs, At>(({ x }, a, be) => {
    if (!isF(x)) return null;
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const p = poolParams(info);
    if (!p || hasZero(x.shape)) return null;
    const id = kind === 'max' ? be.native.maxPool(be.h(x), p) : be.native.avgPool(be.h(x), p);
    return be.wrapAs(id, [...info.outShape], 'float32');
  });
}

function poolGradKernel<At extends PoolAttrs>(kind: 'max' | 'avg'): NativeKernel {
  return kernel<tf.MaxPoolGradInputs, At>(({ dy, input }, a, be) => {
    if (!isF(dy) || !isF(input)) return null;
    const rounding = kind === 'max' ? a.dimRoundingMode : undefined;
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, rounding);
    const p = poolParams(info);
    if (!p || hasZero(input.shape)) return null;
    const id = kind === 'max' ? be.native.maxPoolGrad(be.h(dy), be.h(input), p) : be.native.avgPoolGrad(be.h(dy), be.h(input), p);
    return be.wrapAs(id, [...input.shape], 'float32');
  });
}

/** The convolution and pooling kernels, by tfjs kernel name. */
export const convKernels: Record<string, NativeKernel> = {
  Conv2D: convKernel<tf.Conv2DAttrs>('forward', false),
  Conv2DBackpropInput: convKernel<tf.Conv2DBackpropInputAttrs>('backpropInput', false),
  Conv2DBackpropFilter: convKernel<tf.Conv2DBackpropFilterAttrs>('backpropFilter', false),
  DepthwiseConv2dNative: convKernel<tf.DepthwiseConv2dNativeAttrs>('forward', true),
  DepthwiseConv2dNativeBackpropInput: convKernel<tf.DepthwiseConv2dNativeBackpropInputAttrs>('backpropInput', true),
  DepthwiseConv2dNativeBackpropFilter: convKernel<tf.DepthwiseConv2dNativeBackpropFilterAttrs>('backpropFilter', true),
  FusedConv2D: fusedConvKernel<tf.FusedConv2DAttrs>(false),
  FusedDepthwiseConv2D: fusedConvKernel<tf.FusedDepthwiseConv2DAttrs>(true),
  MaxPool: poolKernel<tf.MaxPoolAttrs>('max'),
  AvgPool: poolKernel<tf.AvgPoolAttrs>('avg'),
  MaxPoolGrad: poolGradKernel<tf.MaxPoolGradAttrs>('max'),
  AvgPoolGrad: poolGradKernel<tf.AvgPoolGradAttrs>('avg'),
};
