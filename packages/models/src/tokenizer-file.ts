import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreErrorCode, SmnError } from '@smn/core';
import { createClipTokenizer, type ClipTokenizer } from './tokenizer.js';

/** Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from a Hugging Face model folder. */
export async function loadClipTokenizer(dir: string, maxLength = 77): Promise<ClipTokenizer> {
  const path = join(dir, 'tokenizer.json');
  let json: object;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as object;
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${path}: ${(err as Error).message} (the CLIP text tower needs the model's tokenizer.json)`, {
      cause: err,
      details: { file: path },
    });
  }
  let cfg: Record<string, unknown> = {};
  try {
    cfg = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // optional
  }
  return createClipTokenizer(json, cfg, maxLength);
}
