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
