/**
 * The CLI's error boundary: an error that escaped a command becomes a named `SmnError` when it is an environment or
 * input problem (a file-system error, a JSON or YAML file that does not parse), so the user gets the path, what went
 * wrong and a fix, exit 2 for a path they gave (missing, not a folder) and 1 for the machine (permissions, disk full),
 * and no stack trace. Anything else stays an unexpected error: those are bugs to report.
 */
import { statSync } from 'node:fs';
import { SmnError, isSmnError } from '@smn/core';
import { CliErrorCode } from './errors.js';

type Errno = NodeJS.ErrnoException & { dest?: string };

/** What each errno means for the user: the code, exit kind, what happened to `path`, and what to do. */
const ERRNO: Record<string, { code: string; kind: 'usage' | 'runtime'; what: (p: string) => string; fix: string }> = {
  ENOENT: { code: CliErrorCode.FsNotFound, kind: 'usage', what: (p) => `${p} does not exist`, fix: 'check the path (and create its folder first if it is an output)' },
  ENOTDIR: {
    code: CliErrorCode.FsNotADir,
    kind: 'usage',
    what: (p) => `a part of ${p} is a file, not a folder`,
    fix: 'choose a path under a folder (or move the file that is in the way)',
  },
  EISDIR: { code: CliErrorCode.FsIsADir, kind: 'usage', what: (p) => `${p} is a folder`, fix: 'give the path of a file (e.g. DIR/name.ext)' },
  EEXIST: { code: CliErrorCode.FsExists, kind: 'usage', what: (p) => `${p} already exists`, fix: 'remove it or choose another path' },
  EACCES: { code: CliErrorCode.FsPermission, kind: 'runtime', what: (p) => `permission denied on ${p}`, fix: 'check its permissions (and its folder\'s), or choose another path' },
  EROFS: { code: CliErrorCode.FsReadOnly, kind: 'runtime', what: (p) => `${p} is on a read-only file system`, fix: 'write to a folder on a writable disk' },
  ENOSPC: { code: CliErrorCode.FsNoSpace, kind: 'runtime', what: (p) => `no space left on the disk of ${p}`, fix: 'free space there or write elsewhere; the files written before are intact' },
  EMFILE: {
    code: CliErrorCode.FsTooManyFiles,
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
      CliErrorCode.ParseJson,
      `a JSON file does not parse (${err.message}); it is damaged or cut short: restore or re-create it (for a run file, run the step that writes it again)`,
      { cause: err },
    );
  }
  if (err.name === 'YAMLParseError' || (err instanceof ReferenceError && /alias/i.test(err.message))) {
    return new SmnError(CliErrorCode.ParseYaml, `a YAML file does not parse (${err.message}); fix the file (aliases *name must not expand without bound)`, {
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
