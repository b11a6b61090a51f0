export { SmnError, isSmnError, assert, fmtShape } from './errors.js';
export { createRng, type Rng } from './rng.js';
export { atomicWriteFile, pathExists } from './fs.js';
export { parseNpy, readNpy, encodeNpy, writeNpy, type NpyArray } from './npy.js';
export { unpickle, numpyGlobals, latin1Bytes, type UnpickleOptions, type PickledNdarray } from './pickle.js';
export { readZip, type ZipEntry } from './zip.js';
export { FusedKernel } from './kernels.js';
export { DOCS_BASE_URL, docsUrl } from './docs-url.js';
