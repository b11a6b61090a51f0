import * as tf from '@tensorflow/tfjs-core';
import { setTrainBatchNorm } from '@smn/models';

/**
 * Picks the fastest implementation of the ops the models build from many small kernels, for the active backend:
 * on `torch`, train-mode BatchNorm becomes one libtorch kernel each way (`fusedBatchNormTrainStats`, which also
 * hands back the batch statistics for the running buffers); elsewhere the plain-ops version stays. Returns whether a
 * fused kernel is in use. Results agree within float32 rounding.
 */
export async function useFusedKernels(): Promise<boolean> {
  if (tf.getBackend() !== 'torch') {
    setTrainBatchNorm(null);
    return false;
  }
  const torch = await import('@smn/backend-torch');
  setTrainBatchNorm(torch.fusedBatchNormTrainStats);
  return true;
}
