/** Error codes raised by @smn/hub (all `SmnError`s from @smn/core). */
export const HUB_ERRORS = {
  /** No registry entry by that name (usage). */
  unknown: 'SMN_HUB_UNKNOWN_NAME',
  /** The shipped registry or an SMN_REGISTRY file does not parse or validate (usage). */
  registry: 'SMN_HUB_REGISTRY_INVALID',
  /** Bad options or an entry of the wrong kind for the call (usage). */
  usage: 'SMN_HUB_USAGE',
  /** The server answered with an HTTP error (404, 403, 5xx after retries). */
  http: 'SMN_HUB_HTTP',
  /** The server could not be reached (refused, unknown host, reset after retries). */
  network: 'SMN_HUB_NETWORK',
  /** A downloaded file does not match its checksum; the partial file was deleted. */
  checksum: 'SMN_HUB_CHECKSUM',
  /** A cached file no longer matches the checksum recorded or published for it. */
  cacheMismatch: 'SMN_HUB_CACHE_MISMATCH',
  /** Offline (SMN_OFFLINE / HF_HUB_OFFLINE) and the file is not in the cache. */
  offline: 'SMN_HUB_OFFLINE_MISSING',
  /** Stopped through the AbortSignal; the partial file is kept for the next attempt. */
  aborted: 'SMN_HUB_ABORTED',
  /** An archive does not extract, or lacks what the registry says it produces. */
  archive: 'SMN_HUB_ARCHIVE',
} as const;
