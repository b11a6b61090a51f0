import { randomBytes } from 'node:crypto';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder is written, fsynced and renamed over the
 * target, so a crash (even `kill -9`) leaves either the old file or the new one, never a half-written file.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w').catch((err: unknown) => {
    throw namingTarget(err, path, tmp);
  });
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw namingTarget(err, path, tmp);
  }
  await fh.close();
  await rename(tmp, path);
}

/**
 * A write error names the file the caller asked for: Node's ENOSPC from a write carries no path at all, and an
 * EACCES from opening names the temporary file, which the user never chose.
 */
function namingTarget(err: unknown, path: string, tmp: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && (e.path === undefined || e.path === tmp)) e.path = path;
  return err;
}

/** Whether `path` exists and is accessible (file or folder). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
