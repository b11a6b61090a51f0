export {
  SmnError,
  isSmnError,
  assert,
  fmtShape,
  CoreErrorCode,
  createRng,
  type Rng,
  parseNpy,
  encodeNpy,
  type NpyArray,
  unpickle,
  numpyGlobals,
  latin1Bytes,
  type UnpickleOptions,
  type PickledNdarray,
  readZip,
  inflateLimited,
  DEFLATE_MAX_RATIO,
  type ZipEntry,
  FusedKernel,
  BACKEND_NAMES,
  type BackendName,
  type DenseMatrix,
  torchLinearInit,
  type SelectionMode,
  type Selection,
  type ApplyOptions,
  type FunctionalModelOf,
} from './browser.js';
// Node only: these read or write files.
export { atomicWriteFile, pathExists } from './fs.js';
export { readNpy, writeNpy } from './npy-file.js';
export { DOCS_BASE_URL, docsUrl } from './docs-url.js';
export { acquireLock, readLock, LOCK_ERRORS, type Lock, type LockInfo, type LockOptions } from './lock.js';
