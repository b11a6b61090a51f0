import { SmnError } from '@smn/core';
import { parseSafetensors } from './safetensors.js';
import { isLegacyTorch, isRawTensor, isZip, readTorchCheckpoint } from './torch-checkpoint.js';
import type { RawTensor, StateDict } from './types.js';
import { ModelErrorCode } from './errors.js';

/** Keys under which training scripts nest the state dict (torch hub, DINO, MoCo, timm, Lightning). */
const NESTED = ['state_dict', 'model', 'model_state', 'model_state_dict', 'state', 'net', 'network', 'teacher', 'student', 'params'];

/**
 * Extracts a flat state dict (name → tensor) from an unpickled checkpoint: the object itself when its values are
 * tensors, else the first of `state_dict`, `model`, `teacher`, ... that is one (searched recursively). A leading
 * `module.` (DataParallel) is stripped from every name. Throws SMN_WEIGHTS_FORMAT listing the keys found otherwise.
 */
export function findStateDict(obj: unknown, source = '<checkpoint>'): StateDict {
  const isSd = (m: unknown): m is Map<unknown, unknown> =>
    m instanceof Map && m.size > 0 && [...m.values()].every(isRawTensor) && [...m.keys()].every((k) => typeof k === 'string');
  const search = (m: unknown, depth: number): Map<unknown, unknown> | undefined => {
    if (isSd(m)) return m;
    if (!(m instanceof Map) || depth > 3) return undefined;
    for (const k of NESTED) {
      const r = search(m.get(k), depth + 1);
      if (r) return r;
    }
    return undefined;
  };
  const sd = search(obj, 0);
  if (!sd) {
    const keys = obj instanceof Map ? [...obj.keys()].map(String).slice(0, 12).join(', ') : typeof obj;
    throw new SmnError(
      ModelErrorCode.WeightsFormat,
      `${source}: no state dict found (looked at the top level and under ${NESTED.join(', ')}); top-level keys: ${keys}`,
      { details: { file: source } },
    );
  }
  const out: StateDict = new Map();
  for (const [k, v] of sd) {
    if (!isRawTensor(v)) continue;
    out.set((k as string).replace(/^module\./, ''), v as RawTensor);
  }
  return out;
}

/** {@link readWeights} on bytes already in memory; the format is detected from the content. */
export function parseWeights(buf: Uint8Array, source = '<buffer>'): StateDict {
  if (isZip(buf) || isLegacyTorch(buf)) return findStateDict(readTorchCheckpoint(buf, source), source);
  return parseSafetensors(buf, source).tensors;
}
