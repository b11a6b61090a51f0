import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel } from '@smn/core';
import { setTrainBatchNorm } from '@smn/models';

/**
 * Lets training use the fused kernels the active backend registers under @smn/core's `FusedKernel` names (`torch`
 * registers them all). Masks and SGD look theirs up on every call; this drops a `setTrainBatchNorm` choice, so
 * train-mode BatchNorm is one kernel each way where the backend has it and plain ops elsewhere. Returns whether the
 * backend has the fused BatchNorm. Results agree with plain ops within float32 rounding.
 */
export async function useFusedKernels(): Promise<boolean> {
  setTrainBatchNorm('auto');
  return tf.getKernel(FusedKernel.batchNormTrain, tf.getBackend()) !== undefined;
}
