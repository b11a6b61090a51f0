export { SmnError, isSmnError, assert, fmtShape } from './errors.js';
export { createRng, type Rng } from './rng.js';
export { atomicWriteFile } from './fs.js';
export { parseNpy, readNpy, encodeNpy, writeNpy, type NpyArray } from './npy.js';
