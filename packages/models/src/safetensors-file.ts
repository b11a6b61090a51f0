import { readFile } from 'node:fs/promises';
import { CoreErrorCode, SmnError, atomicWriteFile } from '@smn/core';
import { encodeSafetensors, parseSafetensors } from './safetensors.js';
import type { RawTensor } from './types.js';

/** Reads a `.safetensors` file (see {@link parseSafetensors}). */
export async function readSafetensors(path: string): Promise<Map<string, RawTensor>> {
  return parseSafetensors(await readFileOrThrow(path), path).tensors;
}

/** Writes tensors to a `.safetensors` file atomically (F32 for float data). */
export async function writeSafetensors(path: string, tensors: Map<string, Pick<RawTensor, 'shape' | 'data'>>, metadata: Record<string, string> = {}): Promise<void> {
  await atomicWriteFile(path, encodeSafetensors(tensors, metadata));
}

/** Reads a whole file; a missing file is SMN_FILE_NOT_FOUND naming it. */
export async function readFileOrThrow(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
}
