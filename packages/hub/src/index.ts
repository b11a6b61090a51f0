export type {
  EntryKind,
  Checksum,
  RegistryFile,
  UnpackSpec,
  ReferenceName,
  RegistryEntry,
  ResolvedFile,
  ResolvedEntry,
  HubOptions,
  FetchProgress,
  FetchOptions,
  DatasetResult,
  EntryListing,
} from './types.js';
export { HubErrorCode, HUB_ERRORS } from './errors.js';
export { cacheDir } from './settings.js';
export { resolveEntry, entryForReference, entryForDataset } from './registry.js';
export { listEntries } from './list.js';
export { fetchFile, fetchFiles } from './fetch-file.js';
export { fetchDataset } from './dataset.js';
