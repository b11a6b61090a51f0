import { SmnError } from '@smn/core';
import { tf } from './tf.js';

export type BackendName = 'auto' | 'torch' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** The tfjs backend now active. */
  name: Exclude<BackendName, 'auto'>;
  /** Why each earlier candidate of `auto` was skipped. */
  skipped: { name: string; reason: string }[];
}

/** Selects and initialises a tfjs backend (minimal version: cpu only; the full version lands with issue 2). */
export async function useBackend(name: BackendName = (process.env.SMN_BACKEND as BackendName) ?? 'auto'): Promise<BackendChoice> {
  if (name !== 'cpu' && name !== 'auto') {
    throw new SmnError('SMN_BACKEND_UNAVAILABLE', `backend '${name}' is not available yet`, { kind: 'usage' });
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', skipped: [] };
}
