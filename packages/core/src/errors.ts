/**
 * Base class of every error smn raises on purpose. `code` is stable (`SMN_WEIGHTS_SHAPE_MISMATCH`) so programs can
 * branch on it; the message says what failed, what was expected, what was found and how to fix it.
 * The CLI prints `SmnError`s without a stack trace and exits 1 (2 for `kind: 'usage'`).
 */
export class SmnError extends Error {
  readonly code: string;
  /** 'usage' for bad flags/config (exit 2), 'runtime' for everything else (exit 1). */
  readonly kind: 'usage' | 'runtime';
  /** Extra structured facts (file, key, index, expected, found) for programs and JSON output. */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; kind?: 'usage' | 'runtime'; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SmnError';
    this.code = code;
    this.kind = options.kind ?? 'runtime';
    this.details = options.details ?? {};
  }
}

/** True for any SmnError, also across duplicated module instances (checks the brand, not the prototype). */
export function isSmnError(err: unknown): err is SmnError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'SmnError' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}

/** Lazy assert for hot paths: the message is built only when the check fails. */
export function assert(cond: unknown, code: string, message: () => string): asserts cond {
  if (!cond) throw new SmnError(code, message());
}

/** Formats a shape as `[64,3,7,7]` for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Error codes raised by @smn/core (all `SmnError`s). */
export const CoreErrorCode = {
  /** A file to read is missing or unreadable. */
  FileNotFound: 'SMN_FILE_NOT_FOUND',
  /** Not a valid `.npy` file (magic, header, dtype, or data shorter than the shape). */
  NpyInvalid: 'SMN_NPY_INVALID',
  /** `writeNpy`: the shape does not match the data length. */
  NpyShape: 'SMN_NPY_SHAPE',
  /** Not a valid pickle, or a numpy array in it with a bad shape. */
  PickleInvalid: 'SMN_PICKLE_INVALID',
  /** The pickle names a global the caller's `findClass` refuses, or holds a refused persistent reference. */
  PickleForbidden: 'SMN_PICKLE_FORBIDDEN',
  /** A pickle feature this reader does not implement (EXT opcodes, out-of-band buffers). */
  PickleUnsupported: 'SMN_PICKLE_UNSUPPORTED',
  /** Not a valid zip archive, or an entry whose stated sizes are impossible. */
  ZipInvalid: 'SMN_ZIP_INVALID',
  /** An encrypted entry, or a compression method other than stored and deflated. */
  ZipUnsupported: 'SMN_ZIP_UNSUPPORTED',
  /** A zip entry inflates past its stated size. */
  ZipTooLarge: 'SMN_ZIP_TOO_LARGE',
  /** `inflateLimited`: the data inflates past the limit. */
  InflateLimit: 'SMN_INFLATE_LIMIT',
  /** Another live process holds the lock (fail-fast mode). */
  LockHeld: 'SMN_LOCK_HELD',
  /** Waited `timeoutMs` and the holder kept it. */
  LockTimeout: 'SMN_LOCK_TIMEOUT',
  /** The AbortSignal fired while waiting. */
  LockAborted: 'SMN_LOCK_ABORTED',
  /** The lock file is not one this module wrote (unparsable); it is never deleted automatically. */
  LockInvalid: 'SMN_LOCK_INVALID',
  /** Reason of `Lock.signal` when the lock file was found gone or taken over while held. */
  LockLost: 'SMN_LOCK_LOST',
  /** `acquireLock`: an option out of range. */
  LockOption: 'SMN_LOCK_OPTION',
} as const;

export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];
