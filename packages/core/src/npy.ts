import { CoreErrorCode, SmnError, fmtShape } from './errors.js';

/** An n-dimensional array as read from or written to a `.npy` file (C order). */
export interface NpyArray {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

const DESCR: Record<string, NpyArray['dtype']> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i4': 'int32',
  '<i8': 'int64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|b1': 'bool',
};
const BYTES: Record<NpyArray['dtype'], number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** Parses a `.npy` buffer (format 1.0-3.0, little endian, C order). `source` names the file in errors. */
export function parseNpy(buf: Uint8Array, source = '<buffer>'): NpyArray {
  const bad = (what: string): never => {
    throw new SmnError(CoreErrorCode.NpyInvalid, `${source}: not a valid .npy file: ${what}`, { details: { file: source } });
  };
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') {
    bad('missing the \\x93NUMPY magic');
  }
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > buf.length) bad(`header length ${hlen} exceeds the file size ${buf.length}`);
  const header = new TextDecoder().decode(buf.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeStr === undefined) bad(`unreadable header ${header.trim()}`);
  if (fortran === 'True') bad('fortran_order arrays are not supported; save with np.ascontiguousarray');
  const dtype = DESCR[descr!];
  if (!dtype) {
    bad(`dtype '${descr}' is not supported (expected one of ${Object.keys(DESCR).join(', ')})`);
  }
  const shape = shapeStr!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const need = n * BYTES[dtype!];
  if (buf.length - off < need) {
    bad(`shape ${fmtShape(shape)} of ${dtype} needs ${need} data bytes but the file has ${buf.length - off} (truncated?)`);
  }
  // A real copy: Node's Buffer#slice is a view into a shared pool, so its .buffer does not start at the data.
  const bytes = new Uint8Array(buf.subarray(off, off + need));
  const ab = bytes.buffer;
  let data: NpyArray['data'];
  switch (dtype!) {
    case 'float32':
      data = new Float32Array(ab, 0, n);
      break;
    case 'float64':
      data = new Float64Array(ab, 0, n);
      break;
    case 'int32':
      data = new Int32Array(ab, 0, n);
      break;
    case 'int64':
      data = new BigInt64Array(ab, 0, n);
      break;
    default:
      data = new Uint8Array(ab, 0, n);
  }
  return { shape, dtype: dtype!, data };
}

/** Serialises an array to `.npy` bytes (format 1.0). */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const descr = Object.entries(DESCR).find(([, v]) => v === arr.dtype)![0];
  const shapeTxt = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeTxt}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const hbytes = new TextEncoder().encode(header);
  const data = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(10 + hbytes.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, hbytes.length, true);
  out.set(hbytes, 10);
  out.set(data, 10 + hbytes.length);
  return out;
}
