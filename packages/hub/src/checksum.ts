/** Digests of files on disk and the registry's checksum rules. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Checksum } from './types.js';

export interface Digests {
  sha256: string;
  md5: string | undefined;
  size: number;
}

/** sha256 (always: the cache manifest records it) and md5 (when asked) of a file, in one pass. */
export async function hashFile(path: string, md5 = false): Promise<Digests> {
  const sha = createHash('sha256');
  const m = md5 ? createHash('md5') : undefined;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    sha.update(chunk as Buffer);
    m?.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: sha.digest('hex'), md5: m?.digest('hex'), size };
}

/** A checksum with a fixed value (not `hf-lfs`, whose value arrives with the download). */
export type FixedChecksum = Extract<Checksum, { value: string }>;

export function isFixed(c: Checksum | undefined): c is FixedChecksum {
  return c !== undefined && c.algo !== 'hf-lfs';
}

/** What the file's digests show for `c`, in the checksum's own terms. */
export function found(c: FixedChecksum, d: Digests): string {
  return c.algo === 'md5' ? d.md5! : d.sha256;
}

export function matches(c: FixedChecksum, d: Digests): boolean {
  return c.algo === 'sha256-prefix' ? d.sha256.startsWith(c.value) : found(c, d) === c.value;
}

/** `md5 c58f30108f718f92721af3b95e74349a (torchvision.datasets.CIFAR10.tgz_md5)`. */
export function describe(c: FixedChecksum): string {
  const what = c.algo === 'sha256-prefix' ? `sha256 starting with ${c.value}` : `${c.algo} ${c.value}`;
  return `${what} (${c.source})`;
}
