import * as tf from '@tensorflow/tfjs-core';
import { CoreErrorCode, SmnError, fmtShape, isSmnError } from '@smn/core';
import { brotliCompress, brotliDecompress, createSha256, gunzip, gzip } from './_codecs.js';
import { packBits, unpackBits } from './bit-pack.js';
import { SubnetErrorCode } from './errors.js';
import { hashParams } from './hash-params.js';
import type { MaskCompression, MaskData, SaveMasksOptions, SmnmaskHeader } from './types.js';

/** First 8 bytes of every `.smnmask` file: 0x89 then ASCII `SMNMASK` (the high byte catches text-mode copies). */
export const SMNMASK_MAGIC = Uint8Array.from([0x89, ...new TextEncoder().encode('SMNMASK')]);
/** The format version this code writes and reads. */
export const SMNMASK_VERSION = 1;
const PREAMBLE = 16; // magic (8) + version u32 LE (4) + header length u32 LE (4)

const sha256 = (b: Uint8Array): string => `sha256:${createSha256().update(b).hex()}`;
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

async function valuesOf(m: tf.Tensor | MaskData): Promise<{ shape: number[]; values: ArrayLike<number> }> {
  if (m instanceof tf.Tensor) return { shape: [...m.shape], values: (await m.data()) as Float32Array };
  return { shape: [...m.shape], values: m.values };
}

/**
 * Encodes masks as `.smnmask` bytes (format in packages/subnetworks/docs/smnmask.md): magic, version, JSON header, 1 bit per entry
 * (LSB first, tensors in map order, row-major), optionally gzip- or brotli-compressed. 0/1 masks are stored as
 * `binary` (bit = mask); ±1 masks (or `mode: 'flip'`) as `sign` (bit 1 = +1). With `baseParams`, each mask's shape
 * must match the weight of the same name, and the header records `hashParams(baseParams, maskNames)`.
 */
export async function encodeMasks(masks: Map<string, tf.Tensor | MaskData>, opts: SaveMasksOptions = {}): Promise<{ bytes: Uint8Array; header: SmnmaskHeader }> {
  const items: { name: string; shape: number[]; values: ArrayLike<number> }[] = [];
  for (const [name, m] of masks) {
    const v = await valuesOf(m);
    if (v.values.length !== numel(v.shape)) {
      throw new SmnError(
        SubnetErrorCode.MaskMismatch,
        `mask "${name}" has ${v.values.length} values but its shape ${fmtShape(v.shape)} needs ${numel(v.shape)}`,
        { details: { name } },
      );
    }
    items.push({ name, ...v });
  }
  let hasNegative = false;
  for (const it of items) {
    if (it.values instanceof Uint8Array) continue; // cannot hold negative values
    for (let i = 0; i < it.values.length && !hasNegative; i++) if (it.values[i]! < 0) hasNegative = true;
    if (hasNegative) break;
  }
  if (hasNegative && opts.mode !== undefined && opts.mode !== 'flip') {
    throw new SmnError(SubnetErrorCode.MaskValues, `masks contain negative values but mode is '${opts.mode}'; only flip masks are ±1`, {
      kind: 'usage',
    });
  }
  const encoding: SmnmaskHeader['encoding'] = opts.mode === 'flip' || hasNegative ? 'sign' : 'binary';

  let baseHash: string | null = null;
  if (opts.baseParams) {
    checkAgainstBase(opts.baseParams, items, '<saveMasks>');
    baseHash = await hashParams(opts.baseParams, items.map((i) => i.name));
  }

  const totalBits = items.reduce((a, it) => a + it.values.length, 0);
  const packed = new Uint8Array(Math.ceil(totalBits / 8));
  let offset = 0;
  for (const it of items) {
    const bad = packBits(it.values, packed, offset, encoding);
    if (bad >= 0) {
      throw new SmnError(
        SubnetErrorCode.MaskValues,
        `mask "${it.name}" has value ${it.values[bad]} at flat index ${bad}; ${encoding === 'binary' ? 'expected 0 or 1' : 'flip masks hold only -1 or +1'}`,
        { details: { name: it.name, index: bad, value: it.values[bad] } },
      );
    }
    offset += it.values.length;
  }

  const compression: MaskCompression = opts.compress === true ? 'gzip' : opts.compress === false || opts.compress === undefined ? 'none' : opts.compress;
  const payload = compress(packed, compression);
  const header: SmnmaskHeader = {
    format: 'smnmask',
    version: 1,
    encoding,
    bitOrder: 'lsb-first',
    mode: opts.mode ?? (encoding === 'sign' ? 'flip' : null),
    k: opts.k ?? null,
    baseHash,
    compression,
    tensors: items.map((i) => ({ name: i.name, shape: i.shape })),
    packedBytes: packed.length,
    payloadBytes: payload.length,
    payloadSha256: sha256(payload),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(PREAMBLE + json.length + payload.length);
  bytes.set(SMNMASK_MAGIC, 0);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(8, SMNMASK_VERSION, true);
  dv.setUint32(12, json.length, true);
  bytes.set(json, PREAMBLE);
  bytes.set(payload, PREAMBLE + json.length);
  return { bytes, header };
}

function compress(packed: Uint8Array, how: MaskCompression): Uint8Array {
  if (how === 'none') return packed;
  if (how === 'gzip') return gzip(packed);
  if (how === 'brotli') return brotliCompress(packed);
  throw new SmnError(SubnetErrorCode.BadOption, `unknown compression '${String(how)}'; expected true, false, 'gzip' or 'brotli'`, {
    kind: 'usage',
  });
}

/** Throws `SMN_MASK_MISMATCH` unless every mask has a base weight of its name and shape. */
export function checkAgainstBase(base: Map<string, tf.Tensor>, items: readonly { name: string; shape: readonly number[] }[], file: string): void {
  for (const it of items) {
    const w = base.get(it.name);
    if (w === undefined) {
      throw new SmnError(
        SubnetErrorCode.MaskMismatch,
        `${file}: mask "${it.name}" has no weight of that name in the base parameters (${base.size} entries)`,
        { details: { file, name: it.name } },
      );
    }
    if (!tf.util.arraysEqual(w.shape, it.shape as number[])) {
      throw new SmnError(
        SubnetErrorCode.MaskMismatch,
        `${file}: mask "${it.name}" has shape ${fmtShape(it.shape)} but the base weight has shape ${fmtShape(w.shape)}`,
        { details: { file, name: it.name, maskShape: it.shape, weightShape: w.shape } },
      );
    }
  }
}

/**
 * Most mask entries a `.smnmask` file may declare unless {@link DecodeMasksOptions.maxEntries} says more: 2^30
 * (1.07 G entries, 134 MB of packed bits, 1 GB unpacked), 2.5× all of CLIP ViT-L/14 and 45× ResNet-50. The header
 * is the only size a reader has before it allocates, so a file may not declare more than this by default.
 */
export const MAX_MASK_ENTRIES = 2 ** 30;

/** Options of {@link decodeMasks}. */
export interface DecodeMasksOptions {
  /** Refuse files that declare more mask entries than this (`SMN_MASK_FILE_TOO_LARGE`). Default {@link MAX_MASK_ENTRIES}. */
  maxEntries?: number;
  /** Check every mask's name and shape against these weights from the header, before anything is decompressed. */
  baseParams?: Map<string, tf.Tensor>;
}

type Fail = (code: string, msg: string, details?: Record<string, unknown>) => never;

/**
 * Decodes `.smnmask` bytes; `source` names the file in errors. Checks magic, version, lengths, the payload's
 * sha256 and the decompressed size, and throws `SMN_MASK_FILE_INVALID`, `_TRUNCATED` or `_CORRUPT` saying what was
 * expected and found. The header's tensors say how many packed bytes to expect; a compressed payload is inflated
 * only up to that size (`SMN_MASK_FILE_TOO_LARGE` past it, or when the header declares more than `maxEntries`).
 * Masks come back as plain arrays (0/1 `Uint8Array`, or ±1 `Int8Array` for sign encoding).
 */
export function decodeMasks(bytes: Uint8Array, source = '<buffer>', opts: DecodeMasksOptions = {}): { header: SmnmaskHeader; masks: Map<string, MaskData> } {
  const fail: Fail = (code, msg, details = {}) => {
    throw new SmnError(code, `${source}: ${msg}`, { details: { file: source, ...details } });
  };
  const { header, payload } = readHeader(bytes, source, fail);
  checkDeclaredSize(header, opts.maxEntries ?? MAX_MASK_ENTRIES, fail);
  if (opts.baseParams) checkAgainstBase(opts.baseParams, header.tensors, source);
  checkPayload(header, payload, fail);
  const packed = decompress(header, payload, source, fail);
  if (packed.length !== header.packedBytes) {
    fail(
      SubnetErrorCode.FileCorrupt,
      `corrupt: the packed mask bits are ${packed.length} bytes; the header's ${header.tensors.length} tensors need ${header.packedBytes}`,
    );
  }
  const masks = new Map<string, MaskData>();
  let offset = 0;
  for (const t of header.tensors) {
    const n = numel(t.shape);
    masks.set(t.name, { shape: [...t.shape], values: unpackBits(packed, offset, n, header.encoding) });
    offset += n;
  }
  return { header, masks };
}

/** Magic, version, header length and the JSON header (validated); the rest of the bytes are the payload. */
function readHeader(bytes: Uint8Array, source: string, fail: Fail): { header: SmnmaskHeader; payload: Uint8Array } {
  if (bytes.length < PREAMBLE) {
    if (bytes.length >= 8 && !SMNMASK_MAGIC.every((b, i) => bytes[i] === b)) fail(SubnetErrorCode.FileInvalid, 'not a .smnmask file (wrong magic)');
    fail(SubnetErrorCode.FileTruncated, `file is ${bytes.length} bytes; a .smnmask file has at least ${PREAMBLE}`, { found: bytes.length });
  }
  if (!SMNMASK_MAGIC.every((b, i) => bytes[i] === b)) {
    fail(SubnetErrorCode.FileInvalid, `not a .smnmask file: expected magic ${hex(SMNMASK_MAGIC)}, found ${hex(bytes.subarray(0, 8))}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SMNMASK_VERSION) {
    fail(SubnetErrorCode.FileInvalid, `format version ${version} is not supported; this smn reads version ${SMNMASK_VERSION}`, { version });
  }
  const hlen = dv.getUint32(12, true);
  if (PREAMBLE + hlen > bytes.length) {
    fail(SubnetErrorCode.FileTruncated, `truncated: the header is ${hlen} bytes but only ${bytes.length - PREAMBLE} follow the preamble`, {
      expected: hlen,
      found: bytes.length - PREAMBLE,
    });
  }
  let header: SmnmaskHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE, PREAMBLE + hlen))) as SmnmaskHeader;
  } catch (cause) {
    throw new SmnError(SubnetErrorCode.FileCorrupt, `${source}: corrupt: the header is not valid JSON`, { cause, details: { file: source } });
  }
  validateHeader(header, fail);
  return { header, payload: bytes.subarray(PREAMBLE + hlen) };
}

/**
 * The header's tensors against its own packedBytes and the entry cap, before any allocation: every later size (the
 * decompression limit, the unpacked arrays) comes from these numbers.
 */
function checkDeclaredSize(header: SmnmaskHeader, maxEntries: number, fail: Fail): void {
  const totalBits = header.tensors.reduce((a, t) => a + numel(t.shape), 0);
  if (!(totalBits <= maxEntries)) {
    fail(
      SubnetErrorCode.FileTooLarge,
      `the header declares ${totalBits} mask entries in ${header.tensors.length} tensors, more than the ${maxEntries} this reader accepts ` +
        '(maxEntries); if the file is genuine, pass a larger maxEntries',
      { declared: totalBits, limit: maxEntries },
    );
  }
  if (header.packedBytes !== Math.ceil(totalBits / 8)) {
    fail(
      SubnetErrorCode.FileCorrupt,
      `corrupt: the header's ${header.tensors.length} tensors need ${Math.ceil(totalBits / 8)} packed bytes but it says packedBytes ${header.packedBytes}`,
      { expected: Math.ceil(totalBits / 8), found: header.packedBytes },
    );
  }
}

/** The payload's length and sha256 against the header. */
function checkPayload(header: SmnmaskHeader, payload: Uint8Array, fail: Fail): void {
  if (payload.length < header.payloadBytes) {
    fail(SubnetErrorCode.FileTruncated, `truncated: expected a payload of ${header.payloadBytes} bytes after the header, found ${payload.length}`, {
      expected: header.payloadBytes,
      found: payload.length,
    });
  }
  if (payload.length > header.payloadBytes) {
    fail(SubnetErrorCode.FileCorrupt, `corrupt: expected a payload of ${header.payloadBytes} bytes, found ${payload.length} (trailing data)`, {
      expected: header.payloadBytes,
      found: payload.length,
    });
  }
  const found = sha256(payload);
  if (found !== header.payloadSha256) {
    fail(SubnetErrorCode.FileCorrupt, `corrupt: payload checksum expected ${header.payloadSha256}, found ${found}`, {
      expected: header.payloadSha256,
      found,
    });
  }
}

/** The packed bits, inflated to at most the header's packedBytes: a gzip or brotli bomb stops there. */
function decompress(header: SmnmaskHeader, payload: Uint8Array, source: string, fail: Fail): Uint8Array {
  const limit = header.packedBytes;
  try {
    if (header.compression === 'gzip') return gunzip(payload, limit);
    if (header.compression === 'brotli') return brotliDecompress(payload, source, undefined, limit);
    return payload;
  } catch (cause) {
    if (isSmnError(cause) && cause.code === CoreErrorCode.InflateLimit) {
      const inflated = (cause.details as { inflated?: number }).inflated;
      return fail(
        SubnetErrorCode.FileTooLarge,
        `the ${header.compression} payload inflates past the ${limit} bytes the header's tensors need` +
          `${inflated !== undefined ? ` (stopped after ${inflated})` : ''}; the file is damaged or built to exhaust memory: do not use it`,
        { limit, ...(inflated !== undefined ? { inflated } : {}) },
      );
    }
    if (isSmnError(cause)) throw cause;
    throw new SmnError(SubnetErrorCode.FileCorrupt, `${source}: corrupt: the ${header.compression} payload cannot be decompressed`, {
      cause,
      details: { file: source },
    });
  }
}

function validateHeader(h: SmnmaskHeader, fail: Fail): void {
  const bad = (what: string): never => fail(SubnetErrorCode.FileCorrupt, `corrupt header: ${what}`);
  if (h === null || typeof h !== 'object' || h.format !== 'smnmask') bad(`expected format 'smnmask', found ${JSON.stringify((h as { format?: unknown })?.format)}`);
  if (h.encoding !== 'binary' && h.encoding !== 'sign') bad(`unknown encoding ${JSON.stringify(h.encoding)}`);
  if (h.bitOrder !== 'lsb-first') bad(`unknown bit order ${JSON.stringify(h.bitOrder)}`);
  if (!['none', 'gzip', 'brotli'].includes(h.compression)) bad(`unknown compression ${JSON.stringify(h.compression)}`);
  if (!Array.isArray(h.tensors)) bad('tensors is not a list');
  const names = new Set<string>();
  for (const t of h.tensors) {
    if (typeof t?.name !== 'string' || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      bad(`bad tensor entry ${JSON.stringify(t)}`);
    }
    if (names.has(t.name)) bad(`tensor "${t.name}" appears twice`);
    names.add(t.name);
  }
  for (const key of ['packedBytes', 'payloadBytes'] as const) {
    if (!Number.isInteger(h[key]) || h[key] < 0) bad(`${key} is ${JSON.stringify(h[key])}`);
  }
  if (typeof h.payloadSha256 !== 'string') bad('payloadSha256 is missing');
}
