/** The work one sample needs (decode + transform), shared by the in-process path and the worker threads. */
import { SmnError, isSmnError } from '@smn/core';
import { decodeImage } from './decode.js';
import { compileSampleTransform, sampleRng } from './presets.js';
import type { PresetSpec, RawImage, SampleRef, TransformFn, TransformOutput } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** A sample sent to a worker. */
export interface TaskItem {
  index: number;
  ref: SampleRef;
}

/** Result of one sample: the views, or a serialisable error. */
export type TaskResult =
  | { index: number; ok: true; out: TransformOutput }
  | { index: number; ok: false; error: { code: string; message: string; details: Record<string, unknown> } };

const cache = new Map<string, TransformFn>();

/** Compiles (and caches) a preset spec as the loader runs it (`compileSampleTransform`). */
export function transformFor(spec: PresetSpec): TransformFn {
  const key = JSON.stringify(spec);
  let fn = cache.get(key);
  if (!fn) {
    fn = compileSampleTransform(spec);
    cache.set(key, fn);
  }
  return fn;
}

/** Decodes (if needed) and transforms one sample with the RNG of (seed, epoch, index). Never throws. */
export async function runSample(
  item: TaskItem,
  fn: TransformFn,
  seed: number,
  epoch: number,
  source: string,
): Promise<TaskResult> {
  try {
    let img: RawImage;
    if (item.ref.kind === 'file') img = await decodeImage(item.ref.path, `${item.ref.path} (index ${item.index} of ${source})`);
    else img = item.ref.image;
    return { index: item.index, ok: true, out: fn(img, sampleRng(seed, epoch, item.index)) };
  } catch (err) {
    const e = isSmnError(err)
      ? err
      : new SmnError(DatasetErrorCode.Decode, `sample ${item.index} of ${source}: transform failed: ${(err as Error)?.message ?? String(err)}`, {
          cause: err,
        });
    return {
      index: item.index,
      ok: false,
      error: { code: e.code, message: e.message, details: { ...e.details, index: item.index, source } },
    };
  }
}

/** The transferable buffers of a result. */
export function transferables(r: TaskResult): ArrayBuffer[] {
  if (!r.ok) return [];
  if ('view' in r.out) return [r.out.view.buffer as ArrayBuffer];
  return r.out.crops.map((c) => c.data.buffer as ArrayBuffer);
}
