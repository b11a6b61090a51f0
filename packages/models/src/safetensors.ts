import { SmnError, fmtShape } from '@smn/core';
import type { RawTensor, RawDtype } from './types.js';
import { ModelErrorCode } from './errors.js';

const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Half-precision bits → float32 (exact). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decodes one little-endian tensor body to float32 (F32/F16/BF16/F64), int32 (I32/I16/I8/U8/BOOL) or int64. */
export function decodeDtype(dtype: string, bytes: Uint8Array, count: number, where: string): { dtype: RawDtype; data: RawTensor['data'] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (bytes.byteOffset % 4 === 0) return { dtype: 'float32', data: new Float32Array(bytes.buffer, bytes.byteOffset, count) };
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      return { dtype: 'float32', data: out };
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return { dtype: 'float32', data: out };
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return { dtype: 'float32', data: out };
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return { dtype: 'float32', data: out };
    }
    case 'I64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getBigInt64(8 * i, true);
      return { dtype: 'int64', data: out };
    }
    case 'I32':
    case 'I16':
    case 'I8':
    case 'U8':
    case 'BOOL': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] =
          dtype === 'I32' ? dv.getInt32(4 * i, true) : dtype === 'I16' ? dv.getInt16(2 * i, true) : dtype === 'I8' ? dv.getInt8(i) : dv.getUint8(i);
      }
      return { dtype: 'int32', data: out };
    }
    default:
      throw new SmnError(ModelErrorCode.WeightsDtype, `${where}: dtype '${dtype}' is not supported (expected one of ${Object.keys(SIZES).join(', ')})`, {
        details: { dtype },
      });
  }
}

/**
 * The first top-level key of a JSON object text that appears twice, or undefined. JSON.parse keeps the last one
 * silently; the safetensors format (and its reference reader) refuses a header that names a tensor twice.
 */
function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      // A string at depth 1 followed by ':' is a top-level key.
      if (depth === 1 && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = j;
    }
  }
  return undefined;
}

/** Tensors may not share bytes: two names over one range would alias each other (the reference reader refuses it). */
function checkNoOverlap(spans: { name: string; b: number; e: number }[], source: string): void {
  const sorted = spans.filter((s) => s.e > s.b).sort((x, y) => x.b - y.b);
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1]!;
    const cur = sorted[k]!;
    if (cur.b < prev.e) {
      throw new SmnError(
        ModelErrorCode.WeightsBadHeader,
        `${source}: tensors '${prev.name}' (data bytes ${prev.b}-${prev.e}) and '${cur.name}' (${cur.b}-${cur.e}) overlap; each tensor needs its own bytes (damaged or hand-made file)`,
        { details: { file: source, tensors: [prev.name, cur.name] } },
      );
    }
  }
}

/** The length field and JSON header of a safetensors file, checked (a truncated file, bad JSON, a name twice). */
function readHeader(buf: Uint8Array, source: string): { header: Record<string, unknown>; hlen: number } {
  const where = source;
  if (buf.length < 8) {
    throw new SmnError(ModelErrorCode.WeightsTruncated, `${where}: the file has ${buf.length} bytes, too short for a safetensors header (truncated?)`, {
      details: { file: source },
    });
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen64 = dv.getBigUint64(0, true);
  if (hlen64 > BigInt(buf.length - 8)) {
    throw new SmnError(
      ModelErrorCode.WeightsTruncated,
      `${where}: the header claims ${hlen64} bytes but the file has only ${buf.length - 8} after the length field (truncated, or not a safetensors file)`,
      { details: { file: source } },
    );
  }
  const hlen = Number(hlen64);
  let header: Record<string, unknown>;
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + hlen));
    header = JSON.parse(text) as Record<string, unknown>;
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('the header is not a JSON object');
  } catch (err) {
    throw new SmnError(ModelErrorCode.WeightsBadHeader, `${where}: the safetensors header is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      details: { file: source },
    });
  }
  const dup = duplicateTopLevelKey(text);
  if (dup !== undefined) {
    throw new SmnError(ModelErrorCode.WeightsBadHeader, `${where}: the header names tensor '${dup}' twice; each name must appear once (damaged or hand-made file)`, {
      details: { file: source, tensor: dup },
    });
  }
  return { header, hlen };
}

/**
 * Parses a safetensors file held in memory. Floating tensors come back as float32 (F16/BF16/F64 converted), integer
 * ones as int32 or int64. The header is checked against the buffer size; errors name `source` and the tensor.
 * F32 tensors whose data is 4-byte aligned are views into `buf` (no copy).
 */
export function parseSafetensors(buf: Uint8Array, source = '<buffer>'): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  const where = source;
  const { header, hlen } = readHeader(buf, source);
  const dataStart = 8 + hlen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, RawTensor>();
  const spans: { name: string; b: number; e: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, infoU] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (infoU ?? {}) as Record<string, string>;
      continue;
    }
    const info = infoU as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const badHeader = (what: string): never => {
      throw new SmnError(ModelErrorCode.WeightsBadHeader, `${where}: tensor '${name}': ${what}`, { details: { file: source, tensor: name } });
    };
    if (!info || typeof info.dtype !== 'string') badHeader('missing dtype');
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) badHeader('shape is not a list of sizes');
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0) || offs[0] > offs[1]) {
      badHeader('data_offsets is not [begin, end]');
    }
    const dtype = info.dtype as string;
    const shape = info.shape as number[];
    const [b, e] = offs as [number, number];
    const count = shape.reduce((x, y) => x * y, 1);
    const size = SIZES[dtype];
    if (size === undefined) {
      throw new SmnError(ModelErrorCode.WeightsDtype, `${where}: tensor '${name}' has dtype '${dtype}', which is not supported (expected F32, F16, BF16, F64 or an integer type)`, {
        details: { file: source, tensor: name, dtype },
      });
    }
    if (e - b !== count * size) {
      badHeader(`shape ${fmtShape(shape)} of ${dtype} needs ${count * size} bytes but data_offsets span ${e - b}`);
    }
    if (e > dataLen) {
      throw new SmnError(
        ModelErrorCode.WeightsTruncated,
        `${where}: tensor '${name}' ends at data byte ${e} but the file holds only ${dataLen} data bytes (truncated download?)`,
        { details: { file: source, tensor: name } },
      );
    }
    spans.push({ name, b, e });
    const dec = decodeDtype(dtype, buf.subarray(dataStart + b, dataStart + e), count, `${where}: tensor '${name}'`);
    tensors.set(name, { shape, dtype: dec.dtype, sourceDtype: dtype, data: dec.data });
  }
  checkNoOverlap(spans, source);
  return { tensors, metadata };
}

/** float32 → IEEE 754 half bits, rounded to nearest even (as numpy's `astype(float16)`); overflow → ±Infinity. */
export function floatToHalf(v: number): number {
  const x = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  // Subnormal halves: the implicit leading 1 joins the mantissa, which shifts right by 14 - e, rounding.
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    return sign | roundShift(mant, shift);
  }
  return sign | ((e << 10) + roundShift(mant, 13));
}

/** `m >>> shift`, rounded to nearest even (a carry into the exponent is right: it is the next half up). */
function roundShift(m: number, shift: number): number {
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && h & 1)) h++;
  return h;
}

/** Options of {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** How float32 tensors are stored: `F32` (default, exact) or `F16` (half the bytes, rounded to nearest even). */
  floatDtype?: 'F32' | 'F16';
}

/** The stored bytes of one tensor body and its safetensors dtype. */
function tensorBody(data: RawTensor['data'], floatDtype: 'F32' | 'F16'): { dtype: string; bytes: Uint8Array } {
  if (data instanceof Float32Array && floatDtype === 'F16') {
    const h = new Uint16Array(data.length);
    for (let i = 0; i < h.length; i++) h[i] = floatToHalf(data[i]!);
    return { dtype: 'F16', bytes: new Uint8Array(h.buffer) };
  }
  const dtype = data instanceof Float32Array ? 'F32' : data instanceof Int32Array ? 'I32' : 'I64';
  return { dtype, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Serialises float32 tensors (and int32/int64 ones) to safetensors bytes, keys sorted as Python's writer does;
 * `floatDtype: 'F16'` stores the float tensors as half precision (read back as float32 by {@link parseSafetensors}).
 */
export function encodeSafetensors(
  tensors: Map<string, Pick<RawTensor, 'shape' | 'data'>>,
  metadata: Record<string, string> = {},
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const bodies: Uint8Array[] = [];
  let off = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((x, y) => x * y, 1);
    if (count !== t.data.length) {
      throw new SmnError(ModelErrorCode.WeightsShapeMismatch, `encodeSafetensors: tensor '${name}' has shape ${fmtShape(t.shape)} (${count} entries) but ${t.data.length} values`);
    }
    const body = tensorBody(t.data, options.floatDtype ?? 'F32');
    header[name] = { dtype: body.dtype, shape: t.shape, data_offsets: [off, off + body.bytes.length] };
    bodies.push(body.bytes);
    off += body.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const b of bodies) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
