import { CoreErrorCode, SmnError } from './errors.js';

/**
 * A restricted Python unpickler (protocols 0-5) that never executes code from the file: every global the pickle
 * names (`GLOBAL`, `STACK_GLOBAL`, `INST`) is resolved through the caller's `findClass`, and anything it does not
 * accept is refused with `SMN_PICKLE_FORBIDDEN`.
 *
 * Python values map to JavaScript as follows:
 * - `None` → `null`, `bool` → `boolean`, `float` → `number`, `int` → `number` (or `bigint` beyond 2^53),
 * - `str` → `string`, `bytes`/`bytearray` → `Uint8Array` (a view into the input when possible),
 * - `list` and `tuple` → `Array` (tuples are frozen), `dict` → `Map` (keys kept as decoded, insertion order kept),
 *   `set`/`frozenset` → `Set`,
 * - a call of an accepted global (`REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `OBJ`, `INST`) → whatever the function returns.
 * - `BUILD` calls `obj.__setstate__(state)` when the object has that function; otherwise a dict state (or the dict part
 *   of a `(dict, slots)` state) is copied onto the object as properties, and any other state is stored as
 *   `obj.__state__`.
 */
export interface UnpickleOptions {
  /** Resolves `module.name` to a function called with the pickled arguments, or undefined to refuse it. */
  findClass(module: string, name: string): ((...args: any[]) => unknown) | undefined;
  /** Resolves a persistent id (`PERSID`/`BINPERSID`, e.g. torch's storage references). Without it they are refused. */
  persistentLoad?(pid: unknown): unknown;
  /**
   * How Python 2 `str` objects (`STRING`, `BINSTRING`, `SHORT_BINSTRING`) are decoded, as Python's
   * `pickle.load(encoding=...)`: 'latin1' (default; byte i → char code i), 'utf8', or 'bytes' (→ Uint8Array).
   */
  encoding?: 'latin1' | 'utf8' | 'bytes';
  /** File name used in error messages. */
  source?: string;
}

const MARK = Symbol('pickle.mark');

/** A helper for callers: turns a latin1 string produced by a Python 2 pickle back into its bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Unpickles `bytes` (a whole pickle stream, protocol 0-5) without executing code. Returns the unpickled value.
 * Throws `SMN_PICKLE_FORBIDDEN` for a global or persistent id the options do not accept, `SMN_PICKLE_INVALID` for a
 * malformed or truncated stream, `SMN_PICKLE_UNSUPPORTED` for opcodes outside this reader (extension registry,
 * out-of-band buffers).
 */
// Long by design: a dispatch loop over the pickle opcodes, where one switch is the clearest form of an interpreter.
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const source = options.source ?? '<buffer>';
  const encoding = options.encoding ?? 'latin1';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = 0;
  const stack: unknown[] = [];
  const metastack: unknown[][] = [];
  let cur = stack;
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });

  const invalid = (what: string): never => {
    throw new SmnError(CoreErrorCode.PickleInvalid, `${source}: not a valid pickle: ${what} (at byte ${pos})`, {
      details: { file: source, offset: pos },
    });
  };
  const need = (k: number): void => {
    if (pos + k > n) invalid(`truncated: needs ${k} more bytes but the stream ends at ${n}`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`length ${v} is too large`);
    return Number(v);
  };
  const take = (k: number): Uint8Array => {
    need(k);
    const v = bytes.subarray(pos, pos + k);
    pos += k;
    return v;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) invalid('truncated: missing end of line');
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (cur.length === 0) invalid('stack underflow');
    return cur.pop();
  };
  const top = (): unknown => {
    if (cur.length === 0) invalid('stack underflow');
    return cur[cur.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = cur;
    if (metastack.length === 0) invalid('MARK expected but not found');
    cur = metastack.pop()!;
    return items;
  };
  const push = (v: unknown): void => {
    cur.push(v);
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) invalid(`memo key ${i} was never stored`);
    return memo.get(i);
  };
  const decodeStr = (b: Uint8Array): string | Uint8Array => {
    if (encoding === 'bytes') return b;
    if (encoding === 'utf8') return utf8.decode(b);
    return latin1(b);
  };
  const resolve = (module: string, name: string): ((...args: any[]) => unknown) => {
    const fn = options.findClass(module, name);
    if (typeof fn !== 'function') {
      throw new SmnError(
        CoreErrorCode.PickleForbidden,
        `${source}: the pickle asks for the Python global '${module}.${name}', which this reader does not allow ` +
          `(only tensor/array rebuilding and container globals are accepted; smn never runs code from a file). ` +
          `If the file is trusted, convert it to safetensors with Python first.`,
        { details: { file: source, global: `${module}.${name}` } },
      );
    }
    return fn;
  };
  const callable = (v: unknown, op: string): ((...args: any[]) => unknown) => {
    if (typeof v !== 'function') invalid(`${op} on a value that is not an accepted global`);
    return v as (...args: any[]) => unknown;
  };
  const asArgs = (v: unknown, op: string): unknown[] => {
    if (!Array.isArray(v)) invalid(`${op} arguments are not a tuple`);
    return v as unknown[];
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (d instanceof Map) d.set(k, v);
    else if (d !== null && typeof d === 'object' && typeof (d as { __setitem__?: unknown }).__setitem__ === 'function') {
      (d as { __setitem__(k: unknown, v: unknown): void }).__setitem__(k, v);
    } else invalid('SETITEM on a value that is not a dict');
  };
  const appendTo = (l: unknown, items: unknown[]): void => {
    if (Array.isArray(l)) {
      if (Object.isFrozen(l)) invalid('APPEND to a tuple');
      for (const it of items) l.push(it);
    } else if (l !== null && typeof l === 'object' && typeof (l as { append?: unknown }).append === 'function') {
      for (const it of items) (l as { append(v: unknown): void }).append(it);
    } else invalid('APPEND on a value that is not a list');
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) {
      throw new SmnError(CoreErrorCode.PickleForbidden, `${source}: the pickle holds a persistent reference, which this reader does not accept here`, {
        details: { file: source },
      });
    }
    return options.persistentLoad(pid);
  };
  const tuple = (items: unknown[]): unknown[] => Object.freeze(items) as unknown[];
  const intFromText = (s: string): number | bigint | boolean => {
    const t = s.trim().replace(/L$/, '');
    if (t === '01') return true;
    if (t === '00') return false;
    if (!/^[-+]?\d+$/.test(t)) invalid(`bad integer literal '${s}'`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const build = (obj: unknown, state: unknown): void => {
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) invalid('BUILD on a value that is not an object');
    const o = obj as Record<string, unknown> & { __setstate__?: (s: unknown) => void };
    if (typeof o.__setstate__ === 'function') {
      o.__setstate__(state);
      return;
    }
    let dict: unknown = state;
    let slots: unknown = null;
    if (Array.isArray(state) && state.length === 2 && (state[0] === null || state[0] instanceof Map)) {
      dict = state[0];
      slots = state[1];
    }
    const assign = (m: unknown): boolean => {
      if (!(m instanceof Map)) return false;
      for (const [k, v] of m) {
        if (typeof k !== 'string' || k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
        o[k] = v;
      }
      return true;
    };
    if (dict === null || assign(dict)) {
      if (slots !== null && !assign(slots)) o.__state__ = state;
      return;
    }
    o.__state__ = state;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) invalid('protocol newer than 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP '.'
        if (cur.length === 0) invalid('STOP with an empty stack');
        return cur[cur.length - 1];
      case 0x28: // MARK '('
        metastack.push(cur);
        cur = [];
        break;
      case 0x30: // POP '0'
        if (cur.length === 0 && metastack.length > 0) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        push(top());
        break;
      // ---- constants and numbers
      case 0x4e: // NONE 'N'
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT 'J'
        push(i32());
        break;
      case 0x4b: // BININT1 'K'
        push(u8());
        break;
      case 0x4d: // BININT2 'M'
        push(u16());
        break;
      case 0x8a: // LONG1
        push(longFromBytes(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const k = i32();
        if (k < 0) invalid('negative LONG4 length');
        push(longFromBytes(take(k)));
        break;
      }
      case 0x49: // INT 'I'
        push(intFromText(line()));
        break;
      case 0x4c: // LONG 'L'
        push(intFromText(line()));
        break;
      case 0x46: {
        // FLOAT 'F'
        const s = line().trim();
        const v = Number(s);
        if (Number.isNaN(v) && !/^[-+]?nan$/i.test(s)) invalid(`bad float literal '${s}'`);
        push(v);
        break;
      }
      case 0x47: // BINFLOAT 'G' (big endian)
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      // ---- strings and bytes
      case 0x58: // BINUNICODE 'X'
        push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(take(u64())));
        break;
      case 0x56: // UNICODE 'V' (raw-unicode-escape)
        push(rawUnicodeEscape(line()));
        break;
      case 0x42: // BINBYTES 'B'
        push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()));
        break;
      case 0x96: // BYTEARRAY8
        push(Uint8Array.prototype.slice.call(take(u64())));
        break;
      case 0x54: {
        // BINSTRING 'T'
        const k = i32();
        if (k < 0) invalid('negative BINSTRING length');
        push(decodeStr(take(k)));
        break;
      }
      case 0x55: // SHORT_BINSTRING 'U'
        push(decodeStr(take(u8())));
        break;
      case 0x53: {
        // STRING 'S' (quoted repr)
        const s = line().trim();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) invalid('STRING is not quoted');
        push(decodeStr(pyEscapeDecode(s.slice(1, -1))));
        break;
      }
      // ---- containers
      case 0x7d: // EMPTY_DICT '}'
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST ']'
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE ')'
        push(tuple([]));
        break;
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE 't'
        push(tuple(popMark()));
        break;
      case 0x6c: // LIST 'l'
        push(popMark());
        break;
      case 0x64: {
        // DICT 'd'
        const items = popMark();
        if (items.length % 2) invalid('DICT with an odd number of items');
        const m = new Map();
        for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
        push(m);
        break;
      }
      case 0x91: // FROZENSET
        push(new Set(popMark()));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) invalid('ADDITEMS on a value that is not a set');
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x61: {
        // APPEND 'a'
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS 'e'
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM 's'
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS 'u'
        const items = popMark();
        if (items.length % 2) invalid('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      // ---- memo
      case 0x70: // PUT 'p'
        memo.set(Number(intFromText(line())), top());
        break;
      case 0x71: // BINPUT 'q'
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET 'g'
        push(memoGet(Number(intFromText(line()))));
        break;
      case 0x68: // BINGET 'h'
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET 'j'
        push(memoGet(u32()));
        break;
      // ---- globals and object construction
      case 0x63: {
        // GLOBAL 'c'
        const module = line();
        const name = line();
        push(resolve(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') invalid('STACK_GLOBAL with non-string names');
        push(resolve(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE 'R'
        const args = asArgs(pop(), 'REDUCE');
        const fn = callable(pop(), 'REDUCE');
        push(fn(...args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = asArgs(pop(), 'NEWOBJ');
        const cls = callable(pop(), 'NEWOBJ');
        push(cls(...args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = asArgs(pop(), 'NEWOBJ_EX');
        const cls = callable(pop(), 'NEWOBJ_EX');
        push(kwargs instanceof Map && kwargs.size > 0 ? cls(...args, kwargs) : cls(...args));
        break;
      }
      case 0x6f: {
        // OBJ 'o'
        const items = popMark();
        if (items.length === 0) invalid('OBJ without a class');
        const cls = callable(items[0], 'OBJ');
        push(cls(...items.slice(1)));
        break;
      }
      case 0x69: {
        // INST 'i'
        const module = line();
        const name = line();
        const args = popMark();
        push(resolve(module, name)(...args));
        break;
      }
      case 0x62: {
        // BUILD 'b'
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x50: // PERSID 'P'
        push(persistent(line()));
        break;
      case 0x51: // BINPERSID 'Q'
        push(persistent(pop()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        throw new SmnError(CoreErrorCode.PickleUnsupported, `${source}: the pickle uses the copyreg extension registry (EXT opcodes), which this reader does not support`, {
          details: { file: source },
        });
      case 0x97:
      case 0x98:
        throw new SmnError(CoreErrorCode.PickleUnsupported, `${source}: the pickle uses out-of-band buffers (protocol 5 NEXT_BUFFER), which this reader does not support`, {
          details: { file: source },
        });
      default:
        pos -= 1;
        invalid(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  const CH = 8192;
  for (let i = 0; i < b.length; i += CH) s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + CH)));
  return s;
}

/** Decodes Python's raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes). */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) =>
    String.fromCodePoint(parseInt((a ?? b)!, 16)),
  );
}

/** Decodes the body of a Python 2 str repr (backslash escapes) into bytes. */
function pyEscapeDecode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const d = s[++i];
    switch (d) {
      case 'n':
        out.push(10);
        break;
      case 't':
        out.push(9);
        break;
      case 'r':
        out.push(13);
        break;
      case '\\':
        out.push(92);
        break;
      case "'":
        out.push(39);
        break;
      case '"':
        out.push(34);
        break;
      case 'x':
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
        break;
      default:
        if (d !== undefined && /[0-7]/.test(d)) {
          let j = i;
          while (j < i + 3 && j < s.length && /[0-7]/.test(s[j]!)) j++;
          out.push(parseInt(s.slice(i, j), 8) & 0xff);
          i = j - 1;
        } else {
          out.push(92);
          if (d !== undefined) out.push(d.charCodeAt(0) & 0xff);
        }
    }
  }
  return Uint8Array.from(out);
}

/** A numpy array rebuilt from a pickle by {@link numpyGlobals}: C-order data, dtype as in `.npy` files. */
export interface PickledNdarray {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'int16' | 'uint16' | 'bool';
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array;
}

const NP_DTYPES: Record<string, PickledNdarray['dtype']> = {
  f4: 'float32', f8: 'float64', i4: 'int32', i8: 'int64', u1: 'uint8', i1: 'int8', i2: 'int16', u2: 'uint16', b1: 'bool',
  float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64', uint8: 'uint8', int8: 'int8', int16: 'int16',
  uint16: 'uint16', bool: 'bool',
};
const NP_BYTES: Record<PickledNdarray['dtype'], number> = {
  float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, int8: 1, int16: 2, uint16: 2, bool: 1,
};

function typedFrom(dtype: PickledNdarray['dtype'], raw: Uint8Array, count: number): PickledNdarray['data'] {
  const need = count * NP_BYTES[dtype];
  const b = new Uint8Array(need); // own, aligned copy (Buffer#slice would be a view)
  b.set(raw.subarray(0, need));
  switch (dtype) {
    case 'float32':
      return new Float32Array(b.buffer, 0, count);
    case 'float64':
      return new Float64Array(b.buffer, 0, count);
    case 'int32':
      return new Int32Array(b.buffer, 0, count);
    case 'int64':
      return new BigInt64Array(b.buffer, 0, count);
    case 'int8':
      return new Int8Array(b.buffer, 0, count);
    case 'int16':
      return new Int16Array(b.buffer, 0, count);
    case 'uint16':
      return new Uint16Array(b.buffer, 0, count);
    default:
      return b;
  }
}

/**
 * A `findClass` for pickles of numpy arrays (e.g. the CIFAR-10/100 "python version" batches, Python 2 or 3):
 * accepts `numpy.core.multiarray._reconstruct`, `numpy.ndarray`, `numpy.dtype`, `numpy.core.multiarray.scalar`
 * (also under `numpy._core`) and `_codecs.encode`, and nothing else. Arrays come back as {@link PickledNdarray}
 * (little-endian, C order; others are refused). Combine with your own globals by falling back to it.
 *
 * ```ts
 * const batch = unpickle(bytes, { findClass: numpyGlobals(), encoding: 'bytes', source: file }) as Map<unknown, unknown>;
 * ```
 */
export function numpyGlobals(source = '<buffer>'): UnpickleOptions['findClass'] {
  const bad = (what: string): never => {
    throw new SmnError(CoreErrorCode.PickleInvalid, `${source}: unsupported numpy array in pickle: ${what}`, { details: { file: source } });
  };
  const asBytes = (v: unknown): Uint8Array => (typeof v === 'string' ? latin1Bytes(v) : v instanceof Uint8Array ? v : bad('array data is not bytes'));
  const makeDtype = (spec: unknown): { name: PickledNdarray['dtype'] | undefined; order: string; spec: string; __setstate__(s: unknown): void } => {
    const s = typeof spec === 'string' ? spec : spec instanceof Uint8Array ? latin1(spec) : String(spec);
    const d = {
      name: NP_DTYPES[s.replace(/^[<>|=]/, '')],
      order: '<',
      spec: s,
      __setstate__(state: unknown) {
        if (Array.isArray(state) && typeof state[1] === 'string') d.order = state[1];
        else if (Array.isArray(state) && state[1] instanceof Uint8Array) d.order = latin1(state[1]);
      },
    };
    return d;
  };
  const makeArray = (): PickledNdarray & { __setstate__(s: unknown): void } => {
    const a = {
      shape: [] as number[],
      dtype: 'uint8' as PickledNdarray['dtype'],
      data: new Uint8Array(0) as PickledNdarray['data'],
      __setstate__(state: unknown) {
        if (!Array.isArray(state) || state.length < 5) bad('ndarray state is not (version, shape, dtype, fortran, data)');
        const [, shape, dt, fortran, raw] = state as [unknown, unknown, ReturnType<typeof makeDtype>, unknown, unknown];
        if (!Array.isArray(shape)) bad('shape is not a tuple');
        if (fortran) bad('Fortran-order arrays');
        if (!dt || !dt.name) bad(`dtype '${dt?.spec}'`);
        if (dt.order === '>' && NP_BYTES[dt.name!] > 1) bad('big-endian data');
        const dims = (shape as unknown[]).map(Number);
        // A negative or fractional size would reach `new Uint8Array(-n)` as a RangeError; name it instead.
        if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape ${JSON.stringify(shape)} has a dimension that is not a whole number ≥ 0`);
        const count = dims.reduce((x, y) => x * y, 1);
        const bytes = asBytes(raw);
        if (bytes.length < count * NP_BYTES[dt.name!]) bad(`data holds ${bytes.length} bytes, shape ${JSON.stringify(shape)} needs ${count * NP_BYTES[dt.name!]}`);
        a.shape = dims;
        a.dtype = dt.name!;
        a.data = typedFrom(dt.name!, bytes, count);
      },
    };
    return a;
  };
  return (module, name) => {
    const mod = module.replace(/^numpy\._core/, 'numpy.core');
    if (mod === 'numpy.core.multiarray' && name === '_reconstruct') return () => makeArray();
    if (mod === 'numpy' && name === 'ndarray') return () => makeArray();
    if (mod === 'numpy' && name === 'dtype') return (spec: unknown) => makeDtype(spec);
    if (mod === 'numpy.core.multiarray' && name === 'scalar') {
      return (dt: ReturnType<typeof makeDtype>, raw: unknown) => {
        if (!dt?.name) bad('scalar dtype');
        const v = typedFrom(dt.name!, asBytes(raw), 1)[0]!;
        return typeof v === 'bigint' ? Number(v) : v;
      };
    }
    if ((module === '_codecs' && name === 'encode')) {
      return (s: unknown) => (typeof s === 'string' ? latin1Bytes(s) : s);
    }
    return undefined;
  };
}
