import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreErrorCode, SmnError } from '@smn/core';
import { readFileOrThrow } from './safetensors-file.js';
import type { StateDict } from './types.js';
import { parseWeights } from './weights.js';

/**
 * Reads a weight file into a state dict in PyTorch layout: `.safetensors`, a PyTorch checkpoint (`.pth`, `.pt`,
 * `.pth.tar`, zip or legacy format, read with the restricted unpickler), or a Hugging Face model folder
 * (`model.safetensors`). Floats come back as float32.
 */
export async function readWeights(path: string): Promise<StateDict> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'model.safetensors');
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
  const buf = await readFileOrThrow(file);
  return parseWeights(buf, file);
}

