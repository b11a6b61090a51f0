import { CoreErrorCode, SmnError, fmtShape, readZip, unpickle } from '@smn/core';
import { decodeDtype } from './safetensors.js';
import type { RawTensor } from './types.js';
import { ModelErrorCode } from './errors.js';

const STORAGES: Record<string, string> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};
const ELEM: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

class StorageType {
  constructor(readonly kind: string, readonly name: string) {}
}
class StorageRef {
  constructor(readonly kind: string, readonly typeName: string, readonly bytes: Uint8Array) {}
}
/** Marker for an object built by an accepted container global whose value smn does not need (e.g. argparse.Namespace). */
class Opaque {
  constructor(readonly kind: string) {}
}

const TENSOR_MARK = Symbol('rawTensor');
export function isRawTensor(v: unknown): v is RawTensor {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TENSOR_MARK] === true;
}

/**
 * A tensor's shape, strides or offset from the pickle as whole numbers ≥ 0. A negative size would otherwise reach
 * `new Uint8Array(-n)` (a RangeError) or index before the storage; a hand-made or damaged file gets a named error.
 */
function wholeNumbers(v: unknown, what: string, source: string): number[] {
  const list = Array.isArray(v) ? v.map(Number) : [Number.NaN];
  if (!list.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    const shown = Array.isArray(v) ? `[${v.map(String).join(',')}]` : String(v);
    throw new SmnError(
      ModelErrorCode.WeightsBadHeader,
      `${source}: a tensor has ${what} ${shown}; expected whole numbers ≥ 0 (the file is damaged or was not written by torch.save)`,
      { details: { file: source, [what]: shown } },
    );
  }
  return list;
}

function rebuild(storage: unknown, offset: unknown, size: unknown, stride: unknown, source: string): RawTensor {
  if (!(storage instanceof StorageRef)) {
    throw new SmnError(ModelErrorCode.WeightsBadHeader, `${source}: a tensor refers to something that is not a storage`, { details: { file: source } });
  }
  const shape = wholeNumbers(size, 'shape', source);
  const strides = wholeNumbers(stride, 'stride', source);
  const off = wholeNumbers([offset], 'storage offset', source)[0]!;
  if (strides.length !== shape.length) {
    throw new SmnError(ModelErrorCode.WeightsBadHeader, `${source}: a tensor has shape ${fmtShape(shape)} but ${strides.length} strides; expected one per dimension`, {
      details: { file: source, shape, stride: strides },
    });
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const el = ELEM[storage.kind]!;
  const total = storage.bytes.length / el;
  let contiguous = true;
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && strides[d] !== expect) contiguous = false;
    expect *= shape[d]!;
  }
  let maxIndex = off;
  for (let d = 0; d < shape.length; d++) maxIndex += (shape[d]! - 1) * strides[d]!;
  if (count > 0 && maxIndex >= total) {
    throw new SmnError(
      ModelErrorCode.WeightsTruncated,
      `${source}: a tensor of shape ${fmtShape(shape)} reads element ${maxIndex} of a storage with ${total} (truncated file?)`,
      { details: { file: source } },
    );
  }
  let bytes: Uint8Array;
  if (contiguous) {
    bytes = storage.bytes.subarray(off * el, (off + count) * el);
  } else {
    bytes = new Uint8Array(count * el);
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < count; i++) {
      let src = off;
      for (let d = 0; d < shape.length; d++) src += idx[d]! * strides[d]!;
      bytes.set(storage.bytes.subarray(src * el, (src + 1) * el), i * el);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
  }
  const dec = decodeDtype(storage.kind, bytes, count, source);
  const t: RawTensor = { shape, dtype: dec.dtype, sourceDtype: storage.typeName, data: dec.data };
  Object.defineProperty(t, TENSOR_MARK, { value: true });
  return t;
}

/**
 * The globals a PyTorch checkpoint may name: tensor rebuilding, storages and plain containers. Anything else (custom
 * classes, `builtins.eval`, optimizers' objects...) is refused by the unpickler.
 */
function torchGlobals(source: string) {
  return (module: string, name: string): ((...args: any[]) => unknown) | undefined => {
    if (module === 'collections' && name === 'OrderedDict') return (items?: unknown) => (Array.isArray(items) ? new Map(items as [unknown, unknown][]) : new Map());
    if (module === 'torch._utils' && name === '_rebuild_tensor_v2') {
      return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuild(storage, offset, size, stride, source);
    }
    if (module === 'torch._utils' && name === '_rebuild_tensor') {
      return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuild(storage, offset, size, stride, source);
    }
    if (module === 'torch._utils' && name === '_rebuild_parameter') return (data: unknown) => data;
    if (module === 'torch' && name in STORAGES) return Object.assign(() => new StorageType(STORAGES[name]!, `torch.${name}`), { storageKind: STORAGES[name]!, storageName: `torch.${name}` });
    if (module === 'torch' && (name === 'float32' || name === 'float16' || name === 'bfloat16' || name === 'int64')) return () => name;
    if (module === 'torch.serialization' && name === '_get_layout') return () => 'layout';
    if (module === 'torch' && name === 'device') return (d: unknown) => d;
    // Training scripts often store their arguments; keep them as opaque values.
    if (module === 'argparse' && name === 'Namespace') return () => new Opaque('argparse.Namespace');
    if (module === 'builtins' && (name === 'set' || name === 'frozenset')) return (items?: unknown) => new Set(Array.isArray(items) ? items : []);
    if ((module === '_codecs' && name === 'encode') || (module === 'builtins' && name === 'bytes')) return (s?: unknown) => (typeof s === 'string' ? Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff) : new Uint8Array(0));
    if (module === 'numpy.core.multiarray' && name === 'scalar') return () => new Opaque('numpy scalar');
    if (module === 'numpy' && name === 'dtype') return () => new Opaque('numpy dtype');
    return undefined;
  };
}

function storageKindOf(t: unknown, source: string): { kind: string; name: string } {
  const f = t as { storageKind?: string; storageName?: string };
  if (typeof t === 'function' && f.storageKind) return { kind: f.storageKind, name: f.storageName! };
  if (t instanceof StorageType) return { kind: t.kind, name: t.name };
  throw new SmnError(ModelErrorCode.WeightsDtype, `${source}: a storage has a type smn cannot read (expected torch.FloatStorage, HalfStorage, ...)`, {
    details: { file: source },
  });
}

/** True when the bytes start like a zip archive (`PK\x03\x04`), as PyTorch ≥ 1.6 checkpoints do. */
export function isZip(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
}

/** True when the bytes look like a legacy (PyTorch < 1.6) checkpoint: a pickle stream at the start. */
export function isLegacyTorch(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x80 && buf[1]! >= 2 && buf[1]! <= 5;
}

/**
 * Reads a PyTorch checkpoint (`torch.save` zip format of PyTorch ≥ 1.6, `.pth/.pt/.pth.tar`; also the legacy
 * pre-1.6 format) with the restricted unpickler. Returns the unpickled object: tensors become {@link RawTensor}s,
 * dicts `Map`s. Float tensors are float32. Use {@link findStateDict} to get the state dict out of it.
 */
export function readTorchCheckpoint(buf: Uint8Array, source = '<buffer>'): unknown {
  if (isZip(buf)) return readZipCheckpoint(buf, source);
  if (isLegacyTorch(buf)) return readLegacyCheckpoint(buf, source);
  throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream)`, {
    details: { file: source },
  });
}

function readZipCheckpoint(buf: Uint8Array, source: string): unknown {
  const entries = readZip(buf, source);
  const pkl = [...entries.keys()].find((k) => k.endsWith('/data.pkl') || k === 'data.pkl');
  if (!pkl) {
    throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: zip archive without a data.pkl entry: not a torch.save file`, { details: { file: source } });
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const bo = entries.get(`${prefix}byteorder`);
  if (bo && new TextDecoder().decode(bo.read()).trim() !== 'little') {
    throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: big-endian checkpoints are not supported`, { details: { file: source } });
  }
  const storages = new Map<string, StorageRef>();
  return unpickle(entries.get(pkl)!.read(), {
    source,
    findClass: torchGlobals(source),
    persistentLoad(pid) {
      const p = pid as unknown[];
      if (!Array.isArray(p) || p[0] !== 'storage') {
        throw new SmnError(CoreErrorCode.PickleForbidden, `${source}: unexpected persistent id ${JSON.stringify(String(p?.[0]))}`, { details: { file: source } });
      }
      const { kind, name } = storageKindOf(p[1], source);
      const key = String(p[2]);
      let s = storages.get(key);
      if (!s) {
        const e = entries.get(`${prefix}data/${key}`);
        if (!e) {
          throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: storage '${key}' is missing from the archive (truncated file?)`, { details: { file: source } });
        }
        checkStorageSize(e, p[4], kind, name, key, source);
        s = new StorageRef(kind, name, e.read());
        storages.set(key, s);
      }
      return s;
    },
  });
}

/**
 * torch.save's persistent id `('storage', type, key, location, numel)` declares each storage's element count; the
 * archive entry must hold exactly that many bytes. Checked before the entry is read, so a deflated entry is inflated
 * only to the size the tensors need (and zip.ts stops it at its stated size).
 */
function checkStorageSize(e: { size: number }, numel: unknown, kind: string, name: string, key: string, source: string): void {
  if (numel === undefined) return; // older writers leave it out; the tensors' bounds check still applies
  const n = Number(numel);
  const need = n * ELEM[kind]!;
  if (!Number.isSafeInteger(n) || n < 0 || e.size !== need) {
    throw new SmnError(
      ModelErrorCode.WeightsBadHeader,
      `${source}: storage '${key}' is declared as ${String(numel)} ${name} elements (${need} bytes) but the archive entry holds ${e.size} bytes; ` +
        'the file is damaged or was not written by torch.save',
      { details: { file: source, storage: key, expected: need, found: e.size } },
    );
  }
}

/** Splits the legacy format: magic, protocol, sys_info, object pickle, storage keys pickle, then raw storages. */
function readLegacyCheckpoint(buf: Uint8Array, source: string): unknown {
  // Each pickle is read to its STOP; we need the end offset, so we scan with a tiny wrapper: unpickle the prefix.
  let pos = 0;
  const next = (opts: Parameters<typeof unpickle>[1]): unknown => {
    const end = pickleEnd(buf, pos, source);
    const v = unpickle(buf.subarray(pos, end), opts);
    pos = end;
    return v;
  };
  const plain = { source, findClass: () => undefined };
  const magic = next(plain);
  if (String(magic) !== '119547037146038801333356') {
    throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: not a PyTorch checkpoint (bad magic number)`, { details: { file: source } });
  }
  next(plain); // protocol version
  const sysInfo = next(plain) as Map<string, unknown>;
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
    throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: big-endian checkpoints are not supported`, { details: { file: source } });
  }
  type Pending = { kind: string; name: string; ref: StorageRef | undefined };
  const pending = new Map<string, Pending>();
  const globals = torchGlobals(source);
  // Tensors are rebuilt after the storages are read: rebuild lazily through a proxy storage.
  const lazy: { tensor: RawTensor; storage: Pending; offset: unknown; size: unknown; stride: unknown }[] = [];
  const obj = next({
    source,
    findClass: (m, n) => {
      if (m === 'torch._utils' && (n === '_rebuild_tensor_v2' || n === '_rebuild_tensor')) {
        return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
          const t = { shape: [], dtype: 'float32', data: new Float32Array(0) } as unknown as RawTensor;
          Object.defineProperty(t, TENSOR_MARK, { value: true });
          lazy.push({ tensor: t, storage: storage as Pending, offset, size, stride });
          return t;
        };
      }
      return globals(m, n);
    },
    persistentLoad(pid) {
      const p = pid as unknown[];
      if (!Array.isArray(p) || p[0] !== 'storage') {
        throw new SmnError(CoreErrorCode.PickleForbidden, `${source}: unexpected persistent id`, { details: { file: source } });
      }
      const { kind, name } = storageKindOf(p[1], source);
      const key = String(p[2]);
      let s = pending.get(key);
      if (!s) {
        s = { kind, name, ref: undefined };
        pending.set(key, s);
      }
      if (p[5] !== null && p[5] !== undefined) {
        throw new SmnError(ModelErrorCode.WeightsFormat, `${source}: storage views of legacy checkpoints are not supported; re-save with PyTorch ≥ 1.6`, {
          details: { file: source },
        });
      }
      return s;
    },
  });
  const keys = next(plain) as unknown[];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const k of keys) {
    const s = pending.get(String(k));
    if (pos + 8 > buf.length) throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: storage '${k}' is cut off (truncated file?)`, { details: { file: source } });
    const n = Number(dv.getBigInt64(pos, true));
    pos += 8;
    const el = ELEM[s?.kind ?? 'U8']!;
    if (n < 0) throw new SmnError(ModelErrorCode.WeightsBadHeader, `${source}: storage '${k}' states ${n} elements; expected a count ≥ 0 (damaged file?)`, { details: { file: source } });
    if (pos + n * el > buf.length) throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: storage '${k}' needs ${n * el} bytes past the file end (truncated file?)`, { details: { file: source } });
    if (s) s.ref = new StorageRef(s.kind, s.name, buf.subarray(pos, pos + n * el));
    pos += n * el;
  }
  for (const l of lazy) {
    const ref = l.storage.ref;
    if (!ref) throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: a tensor's storage is missing`, { details: { file: source } });
    Object.assign(l.tensor, rebuild(ref, l.offset, l.size, l.stride, source));
  }
  return obj;
}

/** Finds the end of the pickle stream that starts at `start` by walking opcodes (no evaluation). */
function pickleEnd(buf: Uint8Array, start: number, source: string): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = start;
  const lineEnd = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: pickle stream is cut off`, { details: { file: source } });
    p = e + 1;
  };
  const fixed: Record<number, number> = {
    0x80: 1, 0x95: 8, 0x4a: 4, 0x4b: 1, 0x4d: 2, 0x47: 8, 0x71: 1, 0x72: 4, 0x68: 1, 0x6a: 4, 0x82: 1, 0x83: 2, 0x84: 4,
  };
  while (p < buf.length) {
    const op = buf[p++]!;
    if (op === 0x2e) return p;
    if (op in fixed) p += fixed[op]!;
    else if (op === 0x8a || op === 0x43 || op === 0x55 || op === 0x8c) p += 1 + buf[p]!;
    else if (op === 0x8b || op === 0x42 || op === 0x54 || op === 0x58) p += 4 + dv.getUint32(p, true);
    else if (op === 0x8d || op === 0x8e || op === 0x96) p += 8 + Number(dv.getBigUint64(p, true));
    else if (op === 0x63 || op === 0x69) {
      lineEnd();
      lineEnd();
    } else if ([0x49, 0x4c, 0x46, 0x53, 0x56, 0x50, 0x70, 0x67].includes(op)) lineEnd();
  }
  throw new SmnError(ModelErrorCode.WeightsTruncated, `${source}: pickle stream has no STOP (truncated file?)`, { details: { file: source } });
}
