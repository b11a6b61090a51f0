// Reads .npy files. Works around @smn/core's readNpy (at 0527d80), which passes a Node Buffer to parseNpy: Buffer's
// slice() is a view, so the typed array was built over the start of the file (the header) instead of its data.
import { readFile } from 'node:fs/promises';
import { SmnError, parseNpy, type NpyArray } from '@smn/core';

export async function readNpyFile(path: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SmnError('SMN_FILE_NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
