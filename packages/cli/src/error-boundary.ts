/**
 * The CLI's error boundary: an error that escaped a command becomes a named `SmnError` when it is an environment or
 * input problem (a file-system error, a JSON or YAML file that does not parse), so the user gets the path, what went
 * wrong and a fix, exit 2 for a path they gave (missing, not a folder) and 1 for the machine (permissions, disk full),
 * and no stack trace. Anything else stays an unexpected error: those are bugs to report.
 */
import { statSync } from 'node:fs';
import { SmnError, isSmnError } from '@smn/core';

/** Error codes the boundary gives to errors that escape a command (listed in the README of @smn/cli). */
export const BOUNDARY_ERRORS = {
  /** ENOENT: a path (or its folder) does not exist. Usage (exit 2). */
  NOT_FOUND: 'SMN_FS_NOT_FOUND',
  /** ENOTDIR, or EEXIST from creating a folder where a file is: a path goes through a file. Usage (exit 2). */
  NOT_A_DIR: 'SMN_FS_NOT_A_DIR',
  /** EISDIR: a folder where a file was expected. Usage (exit 2). */
  IS_A_DIR: 'SMN_FS_IS_A_DIR',
  /** EEXIST: the path exists and may not be replaced. Usage (exit 2). */
  EXISTS: 'SMN_FS_EXISTS',
  /** EACCES, EPERM: permission denied. Runtime (exit 1). */
  PERMISSION: 'SMN_FS_PERMISSION',
  /** EROFS: a read-only file system. Runtime (exit 1). */
  READ_ONLY: 'SMN_FS_READ_ONLY',
  /** ENOSPC, EDQUOT: the disk or quota is full. Runtime (exit 1). */
  NO_SPACE: 'SMN_FS_NO_SPACE',
  /** EMFILE, ENFILE: too many open files. Runtime (exit 1). */
  TOO_MANY_FILES: 'SMN_FS_TOO_MANY_FILES',
  /** A JSON file that does not parse. Runtime (exit 1): such files are written by smn or downloaded. */
  PARSE_JSON: 'SMN_PARSE_JSON',
  /** A YAML file that does not parse (an alias bomb included). Usage (exit 2): YAML files are configs. */
  PARSE_YAML: 'SMN_PARSE_YAML',
} as const;

type Errno = NodeJS.ErrnoException & { dest?: string };

/** What each errno means for the user: the code, exit kind, what happened to `path`, and what to do. */
const ERRNO: Record<string, { code: string; kind: 'usage' | 'runtime'; what: (p: string) => string; fix: string }> = {
  ENOENT: { code: BOUNDARY_ERRORS.NOT_FOUND, kind: 'usage', what: (p) => `${p} does not exist`, fix: 'check the path (and create its folder first if it is an output)' },
  ENOTDIR: {
    code: BOUNDARY_ERRORS.NOT_A_DIR,
    kind: 'usage',
    what: (p) => `a part of ${p} is a file, not a folder`,
    fix: 'choose a path under a folder (or move the file that is in the way)',
  },
  EISDIR: { code: BOUNDARY_ERRORS.IS_A_DIR, kind: 'usage', what: (p) => `${p} is a folder`, fix: 'give the path of a file (e.g. DIR/name.ext)' },
  EEXIST: { code: BOUNDARY_ERRORS.EXISTS, kind: 'usage', what: (p) => `${p} already exists`, fix: 'remove it or choose another path' },
  EACCES: { code: BOUNDARY_ERRORS.PERMISSION, kind: 'runtime', what: (p) => `permission denied on ${p}`, fix: 'check its permissions (and its folder\'s), or choose another path' },
  EROFS: { code: BOUNDARY_ERRORS.READ_ONLY, kind: 'runtime', what: (p) => `${p} is on a read-only file system`, fix: 'write to a folder on a writable disk' },
  ENOSPC: { code: BOUNDARY_ERRORS.NO_SPACE, kind: 'runtime', what: (p) => `no space left on the disk of ${p}`, fix: 'free space there or write elsewhere; the files written before are intact' },
  EMFILE: {
    code: BOUNDARY_ERRORS.TOO_MANY_FILES,
    kind: 'runtime',
    what: (p) => `too many open files (at ${p})`,
    fix: 'raise the limit (ulimit -n) or use fewer --workers',
  },
};
ERRNO.EPERM = ERRNO.EACCES!;
ERRNO.EDQUOT = { ...ERRNO.ENOSPC!, what: (p) => `the disk quota is full at ${p}` };
ERRNO.ENFILE = ERRNO.EMFILE!;

function isDirectory(p: string): boolean | undefined {
  try {
    return statSync(p).isDirectory();
  } catch {
    return undefined;
  }
}

/** A Node file-system error as a named SmnError; undefined when `err` is not one. */
function fromErrno(err: Errno): SmnError | undefined {
  if (typeof err.code !== 'string' || typeof err.syscall !== 'string') return undefined;
  let entry = ERRNO[err.code];
  if (!entry) return undefined;
  const path = err.path ?? err.dest ?? '(no path given)';
  // mkdir -p over a file fails with EEXIST: say the path goes through a file, which is what the user must fix.
  if (err.code === 'EEXIST' && err.syscall === 'mkdir' && isDirectory(path) === false) entry = ERRNO.ENOTDIR!;
  const target = err.code === 'EEXIST' && entry === ERRNO.ENOTDIR ? `${path} is a file, not a folder` : entry.what(path);
  return new SmnError(entry.code, `${target} (${err.syscall} ${err.code}); ${entry.fix}`, {
    kind: entry.kind,
    cause: err,
    details: { path, errno: err.code, syscall: err.syscall },
  });
}

/** A JSON or YAML parse error as a named SmnError; undefined for other errors. */
function fromParseError(err: Error): SmnError | undefined {
  if (err instanceof SyntaxError && /JSON/.test(err.message)) {
    return new SmnError(
      BOUNDARY_ERRORS.PARSE_JSON,
      `a JSON file does not parse (${err.message}); it is damaged or cut short: restore or re-create it (for a run file, run the step that writes it again)`,
      { cause: err },
    );
  }
  if (err.name === 'YAMLParseError' || (err instanceof ReferenceError && /alias/i.test(err.message))) {
    return new SmnError(BOUNDARY_ERRORS.PARSE_YAML, `a YAML file does not parse (${err.message}); fix the file (aliases *name must not expand without bound)`, {
      kind: 'usage',
      cause: err,
    });
  }
  return undefined;
}

/**
 * The error to print for something a command threw: the SmnError itself, a named SmnError for a file-system or
 * parse error (also when one is the cause of a plain Error), or undefined for a bug (printed with its stack).
 */
export function namedError(err: unknown): SmnError | undefined {
  if (isSmnError(err)) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const named = fromErrno(err as Errno) ?? (err instanceof Error ? fromParseError(err) : undefined);
  if (named) return named;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err ? namedError(cause) : undefined;
}
