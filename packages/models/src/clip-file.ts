import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreErrorCode, SmnError } from '@smn/core';
import { buildClip, parseClipConfig, type ClipModel } from './clip.js';
import { readWeights } from './weights-file.js';

/**
 * Loads CLIP from a Hugging Face model folder: `config.json` plus `model.safetensors` (or `pytorch_model.bin`).
 * Errors name the folder and tensor.
 */
export async function loadClip(dir: string, opts: { strict?: boolean } = {}): Promise<ClipModel> {
  let hf: Record<string, unknown>;
  const cfgPath = join(dir, 'config.json');
  try {
    hf = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read the CLIP config ${cfgPath}: ${(err as Error).message} (expected a Hugging Face model folder)`, {
      cause: err,
      details: { file: cfgPath },
    });
  }
  const cfg = parseClipConfig(hf);
  let weights = join(dir, 'model.safetensors');
  try {
    await stat(weights);
  } catch {
    weights = join(dir, 'pytorch_model.bin');
  }
  const sd = await readWeights(weights);
  return buildClip(cfg, sd, weights, opts.strict ?? true);
}
