// The browser entry: everything that works on bytes and numbers, with no Node built-in in its import graph.
// index.ts (the Node entry) re-exports all of it and adds the functions that take file paths.
export { SmnError, isSmnError, assert, fmtShape, CoreErrorCode } from './errors.js';
export { createRng, type Rng } from './rng.js';
export { parseNpy, encodeNpy, type NpyArray } from './npy.js';
export { unpickle, numpyGlobals, latin1Bytes, type UnpickleOptions, type PickledNdarray } from './pickle.js';
export { readZip, inflateLimited, DEFLATE_MAX_RATIO, type ZipEntry } from './zip.js';
export { FusedKernel } from './kernels.js';
export { BACKEND_NAMES, type BackendName } from './backends.js';
export type { DenseMatrix } from './matrix.js';
export { torchLinearInit } from './linear-init.js';
export type { SelectionMode, Selection, ApplyOptions, FunctionalModelOf } from './model.js';
export { DOCS_BASE_URL, docsUrl } from './docs-url.js';
