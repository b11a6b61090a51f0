import { readFile } from 'node:fs/promises';
import { CoreErrorCode, SmnError, fmtShape } from './errors.js';
import { atomicWriteFile } from './fs.js';
import { encodeNpy, parseNpy, type NpyArray } from './npy.js';

/** Reads a `.npy` file; errors name the file. */
export async function readNpy(path: string): Promise<NpyArray> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseNpy(buf, path);
}

/** Writes a `.npy` file atomically. */
export async function writeNpy(path: string, arr: NpyArray): Promise<void> {
  const n = arr.shape.reduce((a, b) => a * b, 1);
  if (n !== arr.data.length) {
    throw new SmnError(CoreErrorCode.NpyShape, `writeNpy(${path}): shape ${fmtShape(arr.shape)} has ${n} entries but data has ${arr.data.length}`);
  }
  await atomicWriteFile(path, encodeNpy(arr));
}
