/** Error codes raised by @smn/hub (all `SmnError`s from @smn/core). */
export const HubErrorCode = {
  /** No registry entry by that name (usage). */
  UnknownName: 'SMN_HUB_UNKNOWN_NAME',
  /** The shipped registry or an SMN_REGISTRY file does not parse or validate (usage). */
  RegistryInvalid: 'SMN_HUB_REGISTRY_INVALID',
  /** Bad options or an entry of the wrong kind for the call (usage). */
  Usage: 'SMN_HUB_USAGE',
  /** The server answered with an HTTP error (404, 403, 5xx after retries). */
  Http: 'SMN_HUB_HTTP',
  /** The server could not be reached (refused, unknown host, reset after retries). */
  Network: 'SMN_HUB_NETWORK',
  /** A downloaded file does not match its checksum; the partial file was deleted. */
  Checksum: 'SMN_HUB_CHECKSUM',
  /** A cached file no longer matches the checksum recorded or published for it. */
  CacheMismatch: 'SMN_HUB_CACHE_MISMATCH',
  /** Offline (SMN_OFFLINE / HF_HUB_OFFLINE) and the file is not in the cache. */
  OfflineMissing: 'SMN_HUB_OFFLINE_MISSING',
  /** Stopped through the AbortSignal; the partial file is kept for the next attempt. */
  Aborted: 'SMN_HUB_ABORTED',
  /** An archive does not extract, or lacks what the registry says it produces. */
  Archive: 'SMN_HUB_ARCHIVE',
} as const;

export type HubErrorCode = (typeof HubErrorCode)[keyof typeof HubErrorCode];

/** @deprecated The same codes under their 0.1 keys; use {@link HubErrorCode}. */
export const HUB_ERRORS = {
  unknown: HubErrorCode.UnknownName,
  registry: HubErrorCode.RegistryInvalid,
  usage: HubErrorCode.Usage,
  http: HubErrorCode.Http,
  network: HubErrorCode.Network,
  checksum: HubErrorCode.Checksum,
  cacheMismatch: HubErrorCode.CacheMismatch,
  offline: HubErrorCode.OfflineMissing,
  aborted: HubErrorCode.Aborted,
  archive: HubErrorCode.Archive,
} as const;
