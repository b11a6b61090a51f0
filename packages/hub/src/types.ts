/** Public types of @smn/hub: registry entries (as in assets/registry.json), options, progress and results. */

/** What an entry holds: one or more weight files, a dataset (with how to unpack it), or files of a Hugging Face repo. */
export type EntryKind = 'weights' | 'dataset' | 'hf-repo';

/**
 * How a file is verified. `source` says where the value was published, so a reader of the registry can check it:
 * - `sha256`: the full digest (e.g. a Hugging Face LFS oid copied into the registry);
 * - `md5`: as listed by torchvision's dataset classes;
 * - `sha256-prefix`: the hex prefix in a torchvision file name (`resnet18-f37072fd.pth`), as torch.hub checks it;
 * - `hf-lfs`: the sha256 the Hugging Face server sends with an LFS file (`X-Linked-Etag`), read at download time;
 *   without one (a mirror that does not send it), the file is trusted on first use.
 * A file without `checksum` is trusted on first use: its sha256 is recorded in the cache manifest and checked on
 * every later use.
 */
export type Checksum =
  | { algo: 'sha256' | 'md5' | 'sha256-prefix'; value: string; source: string }
  | { algo: 'hf-lfs'; source?: string };

/** One file of an entry. */
export interface RegistryFile {
  /** Name under the entry's cache folder (and, for Hugging Face repos, path in the repo). */
  path: string;
  /** Where to download it, tried in order. Derived from `repo`/`revision` for `hf-repo` entries. */
  urls?: string[];
  /** Other repo paths to try, in order, when `path` answers 404 (`hf-repo` only), e.g. `pytorch_model.bin`. */
  alternatives?: string[];
  /** Size in bytes where known: shown by listings, used as the progress total. The checksum is what is verified. */
  size?: number;
  checksum?: Checksum;
}

/** How a dataset entry lands in a data root, in the layout `@smn/datasets` reads. */
export interface UnpackSpec {
  /** `tar.gz`: extract the (single) archive; `files`: copy the files as they are (gzipped IDX stays gzipped). */
  format: 'tar.gz' | 'files';
  /** Folder under the data root ('' for the root itself). */
  into: string;
  /** Paths under `into` that exist once unpacked; all present means nothing to do. */
  produces: string[];
}

/** How the reference names a backbone (`model.pret.source/repo/name`). */
export interface ReferenceName {
  source: string;
  /** torch.hub repository, with or without `:branch`. */
  repo?: string;
  name: string;
}

/** One named entry of the registry. */
export interface RegistryEntry {
  name: string;
  kind: EntryKind;
  description: string;
  homepage?: string;
  license?: string;
  /** `hf-repo`: the repository (`timm/resnet18.a1_in1k`) and revision (default `main`). */
  repo?: string;
  revision?: string;
  /** Reference configs that load this entry. */
  reference?: ReferenceName[];
  /** `dataset`: the `loadDataset` names that read what it unpacks. */
  datasets?: string[];
  files: RegistryFile[];
  unpack?: UnpackSpec;
}

/** A file of a resolved entry: where it is fetched from (after SMN_MIRROR / HF_ENDPOINT) and where it lives. */
export interface ResolvedFile extends RegistryFile {
  /** URLs as the registry gives them (they identify the file in the cache manifest). */
  registryUrls: string[];
  /** URLs actually requested, in order. */
  urls: string[];
  /** Its path in the cache. */
  cachePath: string;
}

export interface ResolvedEntry extends Omit<RegistryEntry, 'files'> {
  files: ResolvedFile[];
  /** The entry's cache folder (`<cache>/<name>`). */
  cacheDir: string;
}

/** Options every function takes. Environment variables are read from `env` (default `process.env`). */
export interface HubOptions {
  /**
   * Read for SMN_CACHE, XDG_CACHE_HOME, SMN_REGISTRY, SMN_MIRROR, HF_ENDPOINT, SMN_OFFLINE, HF_HUB_OFFLINE,
   * HTTPS_PROXY, HTTP_PROXY, NO_PROXY (and their lower-case forms).
   */
  env?: Record<string, string | undefined>;
  /** Overrides SMN_CACHE. */
  cacheDir?: string;
}

/** Reported while a file downloads (at most every 100 ms, and once at the end of each file). */
export interface FetchProgress {
  /** Entry name. */
  name: string;
  /** File path within the entry. */
  file: string;
  url: string;
  /** Bytes on disk so far, resumed bytes included. */
  bytes: number;
  /** Total bytes when the server or the registry says, else undefined. */
  total: number | undefined;
  /** Bytes per second over this attempt. */
  rate: number;
  /** Bytes that were already on disk when this attempt started (a resumed download). */
  resumedFrom: number;
}

export interface FetchOptions extends HubOptions {
  onProgress?: (p: FetchProgress) => void;
  /** Stops the download (the partial file stays, and the next fetch continues it). */
  signal?: AbortSignal;
  /** Overrides SMN_OFFLINE / HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Attempts per URL after a dropped connection or a 5xx answer, each continuing where the last stopped (default 3). */
  retries?: number;
  /** An attempt that receives nothing for this long is dropped and retried (default 60 s). */
  stallMs?: number;
}

/** What `fetchDataset` did. */
export interface DatasetResult {
  name: string;
  /** `<dataRoot>/<into>`. */
  dir: string;
  /** Absolute paths of `unpack.produces`. */
  paths: string[];
  /** False when everything was already in place (nothing fetched or unpacked). */
  unpacked: boolean;
}

/** A line of `listEntries`. */
export interface EntryListing {
  name: string;
  kind: EntryKind;
  description: string;
  /** Sum of the files' known sizes, undefined when any is unknown. */
  size: number | undefined;
  /** Every file is in the cache (not re-verified here). */
  cached: boolean;
  files: Array<{ path: string; url: string; cachePath: string; cached: boolean; size?: number; checksum: string }>;
}
