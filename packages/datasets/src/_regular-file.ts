/**
 * Reading only regular files. Opening a FIFO for reading blocks until a writer appears (forever, and in a libuv or
 * sharp thread that no signal interrupts); a character device such as /dev/zero never ends. So every file a reader
 * opens is checked with stat first, then opened with O_NONBLOCK (a FIFO opens at once instead of waiting) and
 * checked again on the open descriptor, which closes the window where the path could be swapped between the two.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { SmnError, isSmnError } from '@smn/core';
import { DatasetErrorCode } from './errors.js';

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** What a path is, in words, for messages: 'a FIFO (named pipe)', 'a socket', 'a directory', ... */
export function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** The error for a path that exists but is not a regular file; `what` says what the file was expected to be. */
export function notRegularError(file: string, kind: string, what: string): SmnError {
  return new SmnError(
    DatasetErrorCode.NotRegular,
    `${file} is ${kind}, not a regular file; expected ${what}. smn reads only regular files (a FIFO, device or socket ` +
      'can block forever or never end): replace it with the file itself.',
    { details: { file, kind } },
  );
}

function notFound(file: string, what: string, err: unknown): SmnError {
  return new SmnError(DatasetErrorCode.NotFound, `cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
}

/** Opening a socket path fails with ENXIO; say it is a socket rather than echo the errno. */
function openError(file: string, what: string, err: unknown): SmnError {
  if ((err as NodeJS.ErrnoException).code === 'ENXIO') return notRegularError(file, 'a socket or a device without a reader', what);
  return notFound(file, what, err);
}

/** Checks a path before opening it (follows symbolic links: a link to a regular file is fine). */
function checkPath(file: string, what: string): Stats {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    throw notFound(file, what, err);
  }
  if (!st.isFile()) throw notRegularError(file, fileKind(st), what);
  return st;
}

/**
 * The bytes of a regular file, never blocking on a FIFO or a device. Errors: `SMN_DATA_NOT_REGULAR` for a FIFO,
 * socket, device or directory, `SMN_DATA_NOT_FOUND` when it cannot be read; `what` names the file's role.
 */
export function readRegularFileSync(file: string, what = 'a file'): Buffer {
  checkPath(file, what);
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (err) {
    throw openError(file, what, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegularError(file, fileKind(st), what);
    return readFileSync(fd);
  } catch (err) {
    if (isSmnError(err)) throw err;
    throw notFound(file, what, err);
  } finally {
    closeSync(fd);
  }
}

/** {@link readRegularFileSync} without blocking the event loop (image files decoded per sample). */
export async function readRegularFile(file: string, what = 'a file'): Promise<Buffer> {
  checkPath(file, what);
  let fh;
  try {
    fh = await open(file, FLAGS);
  } catch (err) {
    throw openError(file, what, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegularError(file, fileKind(st), what);
    return await fh.readFile();
  } catch (err) {
    if (isSmnError(err)) throw err;
    throw notFound(file, what, err);
  } finally {
    await fh.close();
  }
}

/** True for a path that is a regular file (or a link to one); never opens it. */
export function isRegularFile(file: string): { ok: true } | { ok: false; kind: string } {
  try {
    const st = statSync(file);
    return st.isFile() ? { ok: true } : { ok: false, kind: fileKind(st) };
  } catch (err) {
    return { ok: false, kind: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}
