/**
 * Every backend name smn accepts (`--backend`, `main.backend`, `SMN_BACKEND`, `useBackend`), `auto` first. Here, below
 * everything, so that the config schema and the CLI name the same list as `@smn/backend` without loading tfjs.
 */
export const BACKEND_NAMES = ['auto', 'torch', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** A backend `useBackend` can choose; `auto` tries `torch` → `tensorflow` → `webgpu` → `wasm` → `cpu`. */
export type BackendName = (typeof BACKEND_NAMES)[number];
