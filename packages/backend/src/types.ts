import type { BackendName } from '@smn/core';

// The names are @smn/core's BACKEND_NAMES, shared with the config schema and the CLI.
export type { BackendName };

/** A concrete backend (what `auto` resolves to). */
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

/** Why a candidate backend was not used. */
export interface SkippedBackend {
  name: ConcreteBackendName;
  reason: string;
}

/** What `useBackend` chose. */
export interface BackendChoice {
  /** The smn backend now active; the tfjs backend of the same name is `tf.getBackend()`. */
  name: ConcreteBackendName;
  /** For `auto`: why each earlier candidate was skipped (in order). Empty for an explicit choice. */
  skipped: SkippedBackend[];
  /** What it runs on: `cuda:0`, `cpu`, the GPU adapter's description, `wasm simd`, ... */
  device?: string;
}

/** Options of `useBackend`. */
export interface UseBackendOptions {
  /** For `torch`: `cuda` or `cpu` (default: CUDA when libtorch has it, else CPU). */
  device?: 'cpu' | 'cuda';
  /**
   * Free saved tensors and intermediate gradients during the backward pass, as PyTorch's autograd does (default true;
   * `SMN_LEAN_BACKPROP=0` turns it off). Same numbers; a training step's peak memory drops by about half.
   */
  leanBackprop?: boolean;
}
