import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SmnError, atomicWriteFile, fmtShape } from '@smn/core';
import { TrainErrorCode } from './errors.js';

/**
 * A checkpoint: named float32 arrays plus JSON metadata, in one file:
 *
 * ```
 * bytes 0..7    "SMNCKPT1"
 * bytes 8..15   header length H (uint64 little endian)
 * bytes 16..    JSON header { tensors: [{name, shape, offset, length}], meta, payloadBytes, sha256 }
 * then          payload: the float32 data of every tensor, little endian, in header order
 * ```
 * `sha256` covers the payload, so a truncated or corrupted file is refused before anything is restored.
 * Files are written with a temporary file + rename, so the previous checkpoint survives a crash mid-write.
 */
export interface CheckpointData {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  meta: Record<string, unknown>;
}

const MAGIC = 'SMNCKPT1';

export function encodeCheckpoint(ckpt: CheckpointData): Uint8Array {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, t] of ckpt.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new SmnError(TrainErrorCode.CkptShape, `checkpoint tensor "${name}": shape ${fmtShape(t.shape)} has ${n} entries, data has ${t.data.length}`);
    }
    entries.push({ name, shape: t.shape, offset, length: n });
    offset += n * 4;
  }
  const payload = new Uint8Array(offset);
  for (const e of entries) {
    const t = ckpt.tensors.get(e.name)!;
    payload.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), e.offset);
  }
  const sha256 = createHash('sha256').update(payload).digest('hex');
  const header = new TextEncoder().encode(JSON.stringify({ tensors: entries, meta: ckpt.meta, payloadBytes: offset, sha256 }));
  const out = new Uint8Array(16 + header.length + payload.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(header.length), true);
  out.set(header, 16);
  out.set(payload, 16 + header.length);
  return out;
}

export function decodeCheckpoint(buf: Uint8Array, source: string): CheckpointData {
  const bad = (what: string): never => {
    throw new SmnError(TrainErrorCode.CkptCorrupt, `checkpoint ${source} is unusable: ${what}. It was not loaded; use an earlier checkpoint or start a new run.`, {
      details: { file: source },
    });
  };
  if (buf.length < 16 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) bad(`it does not start with ${MAGIC} (not an smn checkpoint)`);
  const hlen = Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(8, true));
  if (16 + hlen > buf.length) bad(`header of ${hlen} bytes but the file has ${buf.length} bytes (truncated)`);
  let header: { tensors: { name: string; shape: number[]; offset: number; length: number }[]; meta: Record<string, unknown>; payloadBytes: number; sha256: string };
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(16, 16 + hlen)));
  } catch (err) {
    return bad(`header is not valid JSON (${(err as Error).message})`);
  }
  const payload = buf.subarray(16 + hlen);
  if (payload.length !== header.payloadBytes) bad(`payload has ${payload.length} bytes, header says ${header.payloadBytes} (truncated)`);
  const sha = createHash('sha256').update(payload).digest('hex');
  if (sha !== header.sha256) bad(`payload checksum ${sha.slice(0, 12)}… does not match ${header.sha256.slice(0, 12)}… (corrupted)`);
  const copy = new Uint8Array(payload); // aligned copy
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of header.tensors) {
    tensors.set(e.name, { shape: e.shape, data: new Float32Array(copy.buffer, e.offset, e.length) });
  }
  return { tensors, meta: header.meta };
}

export async function saveCheckpoint(path: string, ckpt: CheckpointData): Promise<void> {
  await atomicWriteFile(path, encodeCheckpoint(ckpt));
}

export async function loadCheckpoint(path: string): Promise<CheckpointData> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SmnError(TrainErrorCode.CkptNotFound, `cannot read checkpoint ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  return decodeCheckpoint(buf, path);
}
