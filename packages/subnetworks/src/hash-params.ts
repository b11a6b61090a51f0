import type * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { createSha256 } from './_codecs.js';
import { SubnetErrorCode } from './errors.js';

/**
 * `sha256:<hex>` of a parameter map, independent of insertion order: for each name in sorted (UTF-16 code unit)
 * order it hashes the UTF-8 name, a 0 byte, the rank and each dimension as uint32 little-endian, then the values
 * as float32 little-endian bytes (other dtypes are converted to float32). Used by `.smnmask` files to tie masks to
 * the weights they were learned on. `names` restricts the hash to these entries (all must exist).
 */
export async function hashParams(params: Map<string, tf.Tensor>, names?: readonly string[]): Promise<string> {
  const keys = [...(names ?? params.keys())].sort();
  const h = createSha256();
  const utf8 = new TextEncoder();
  for (const name of keys) {
    const t = params.get(name);
    if (t === undefined) {
      throw new SmnError(SubnetErrorCode.MaskMismatch, `hashParams: no parameter named "${name}" in the map (${params.size} entries)`, {
        details: { name },
      });
    }
    h.update(utf8.encode(name));
    h.update(new Uint8Array([0]));
    const dims = new DataView(new ArrayBuffer(4 * (t.rank + 1)));
    [t.rank, ...t.shape].forEach((d, i) => dims.setUint32(4 * i, d, true));
    h.update(new Uint8Array(dims.buffer));
    const data = await t.data();
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    // Float32Array bytes are in platform order; every platform tfjs runs on (Node, browsers) is little-endian.
    h.update(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
  }
  return `sha256:${h.hex()}`;
}
