// Entry of the browser bundle (esbuild, platform browser): tfjs-core with its cpu backend, then the same
// computations as Node's node-check.mjs. The page reads window.__smnResult (or window.__smnError).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { compute } from './compute.mjs';

try {
  await tf.setBackend('cpu');
  await tf.ready();
  window.__smnResult = await compute();
} catch (err) {
  window.__smnError = String(err?.stack ?? err);
}
