// What the consumer's computations (consumer/compute.mjs) must give, from the file formats' specifications and the
// methods' formulas, written here independently of the packages under test.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { inputs, type MaskInput, type TensorInput } from '../consumer/inputs.mjs';

/** The JSON the consumer writes (compute.mjs `compute()`). */
export interface ComputeResult {
  backend: string;
  smnmask: {
    binary: { hex: string; header: Record<string, unknown>; back: MaskJson; backHeader: Record<string, unknown> };
    sign: { hex: string; header: Record<string, unknown>; back: MaskJson };
    gzip: { bytes: number; compression: string; back: MaskJson };
  };
  safetensors: {
    hex: string;
    metadata: Record<string, string>;
    back: Record<string, { shape: number[]; dtype: string; data: (number | string)[] }>;
  };
  knn: { predictions: number[]; scores: number[]; numClasses: number; k: number };
  sinkhorn: { shape: [number, number]; iterations3: number[]; iterations200: number[] };
  rng: { next: number[]; int: number[] };
  datasets: { crop: string; blur: string; flatCrop: number[]; flatBlur: number[]; supervised: number[] };
  leakedTensors: number;
}
type MaskJson = Record<string, { shape: number[]; values: number[] }>;

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** packages/subnetworks/docs/smnmask.md: bit i of the stream is bit (i mod 8) of byte ⌊i/8⌋; binary: bit = mask value; sign: bit = (value = +1). */
export function packedBits(masks: Map<string, MaskInput>, encoding: 'binary' | 'sign'): Uint8Array {
  const all = [...masks.values()].flatMap((m) => Array.from(m.values));
  const out = new Uint8Array(Math.ceil(all.length / 8));
  // binary: bit = mask value (0/1); sign: bit 1 = +1, bit 0 = −1. Either way the bit is set exactly where v is 1.
  all.forEach((v, i) => {
    if (v === 1) out[i >> 3]! |= 1 << (i & 7);
  });
  void encoding;
  return out;
}

/** A `.smnmask` file: magic 0x89 'SMNMASK', u32 LE version 1, u32 LE header length, JSON header, payload. */
export function checkSmnmask(
  hex: string,
  masks: Map<string, MaskInput>,
  want: { encoding: 'binary' | 'sign'; mode: string; k: number | null },
): void {
  const bytes = fromHex(hex);
  expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, ...Buffer.from('SMNMASK', 'ascii')]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(dv.getUint32(8, true)).toBe(1);
  const headerLength = dv.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as Record<string, unknown>;
  const payload = bytes.subarray(16 + headerLength);
  const packed = packedBits(masks, want.encoding);
  expect(Array.from(payload)).toEqual(Array.from(packed));
  expect(header).toMatchObject({
    format: 'smnmask',
    version: 1,
    encoding: want.encoding,
    bitOrder: 'lsb-first',
    mode: want.mode,
    k: want.k,
    baseHash: null,
    compression: 'none',
    tensors: [...masks].map(([name, m]) => ({ name, shape: m.shape })),
    packedBytes: packed.length,
    payloadBytes: packed.length,
    payloadSha256: sha256(packed),
  });
  expect(bytes.length).toBe(16 + headerLength + packed.length);
}

/** Decoded masks equal the inputs, value by value (decoding gives 0/1 or ±1). */
export function checkMaskValues(back: MaskJson, masks: Map<string, MaskInput>): void {
  expect(Object.keys(back)).toEqual([...masks.keys()]);
  for (const [name, m] of masks) expect(back[name]).toEqual({ shape: m.shape, values: Array.from(m.values) });
}

const DTYPE: Record<string, string> = { Float32Array: 'F32', Int32Array: 'I32', BigInt64Array: 'I64' };

/** safetensors: u64 LE header length N, N bytes of JSON (keys sorted, data_offsets into the body), the body; 8 + N is a multiple of 8. */
export function checkSafetensors(hex: string, tensors: Map<string, TensorInput>, metadata: Record<string, string>): void {
  const bytes = fromHex(hex);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  expect((8 + n) % 8).toBe(0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const { __metadata__: meta, ...entries } = header as Record<string, unknown>;
  expect(meta).toEqual(metadata);
  const names = [...tensors.keys()].sort();
  expect(Object.keys(entries).sort()).toEqual(names);
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const le = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength); // the machine is little-endian
    expect(header[name]).toEqual({ dtype: DTYPE[t.data.constructor.name], shape: t.shape, data_offsets: [offset, offset + le.length] });
    expect(Array.from(bytes.subarray(8 + n + offset, 8 + n + offset + le.length))).toEqual(Array.from(le));
    offset += le.length;
  }
  expect(bytes.length).toBe(8 + n + offset);
}

/** Weighted kNN (docs/method.md#knn): cosine similarities, the k most similar bank rows vote exp(sim / T) for their class. */
export function knnExpected(): { predictions: number[]; scores: number[] } {
  const { bank, bankLabels, queries, knn } = inputs();
  const rows = (m: { data: Float32Array; shape: [number, number] }): number[][] =>
    Array.from({ length: m.shape[0] }, (_, i) => {
      const r = Array.from(m.data.subarray(i * m.shape[1], (i + 1) * m.shape[1]));
      const norm = Math.hypot(...r);
      return r.map((v) => v / norm);
    });
  const b = rows(bank);
  const predictions: number[] = [];
  const scores: number[] = [];
  for (const q of rows(queries)) {
    const sims = b.map((r, j) => ({ j, sim: r.reduce((a, v, d) => a + v * q[d]!, 0) })).sort((x, y) => y.sim - x.sim);
    const votes = new Array<number>(knn.numClasses).fill(0);
    for (const { j, sim } of sims.slice(0, knn.k)) votes[bankLabels[j]!]! += Math.exp(sim / knn.temperature);
    predictions.push(votes.indexOf(Math.max(...votes)));
    scores.push(...votes);
  }
  return { predictions, scores };
}

/**
 * SwAV's Sinkhorn-Knopp in float64, the reference's steps: Q = exp(o/ε)ᵀ (K × B); Q /= ΣQ; per iteration
 * Q /= row sums; Q /= K; Q /= column sums; Q /= B; finally Q *= B and transpose back to [B, K].
 */
export function sinkhornExpected(iterations: number, epsilon = 0.05): number[] {
  const { scores } = inputs();
  const [B, K] = scores.shape;
  let Q = Array.from({ length: K }, (_, k) => Array.from({ length: B }, (_, b) => Math.exp(scores.data[b * K + k]! / epsilon)));
  const total = Q.flat().reduce((a, v) => a + v, 0);
  Q = Q.map((r) => r.map((v) => v / total));
  for (let it = 0; it < iterations; it++) {
    Q = Q.map((r) => {
      const s = r.reduce((a, v) => a + v, 0);
      return r.map((v) => v / s / K);
    });
    const cols = Array.from({ length: B }, (_, b) => Q.reduce((a, r) => a + r[b]!, 0));
    Q = Q.map((r) => r.map((v, b) => v / cols[b]! / B));
  }
  return Array.from({ length: B * K }, (_, i) => Q[i % K]![Math.floor(i / K)]! * B);
}

/** Every check of one runtime's results against the formulas above. */
export function checkComputeResult(r: ComputeResult): void {
  const inp = inputs();
  expect(r.backend).toBe('cpu');
  expect(r.leakedTensors).toBe(0);

  // Pixels (Pillow's bits are checked in @smn/datasets' own tests): sizes, and a flat image stays flat.
  expect(r.datasets.crop).toHaveLength(9 * 9 * 3 * 2);
  expect(r.datasets.blur).toHaveLength(inp.image.data.length * 2);
  expect(r.datasets.blur).not.toBe(Array.from(inp.image.data, (b) => b.toString(16).padStart(2, '0')).join(''));
  expect([r.datasets.flatCrop, r.datasets.flatBlur]).toEqual([[77], [77]]);
  expect(r.datasets.supervised).toHaveLength(12 * 12 * 3);

  checkSmnmask(r.smnmask.binary.hex, inp.masks, { encoding: 'binary', mode: 'threshold', k: 0 });
  checkMaskValues(r.smnmask.binary.back, inp.masks);
  expect(r.smnmask.binary.backHeader).toEqual(r.smnmask.binary.header);
  checkSmnmask(r.smnmask.sign.hex, inp.signMasks, { encoding: 'sign', mode: 'flip', k: null });
  checkMaskValues(r.smnmask.sign.back, inp.signMasks);
  expect(r.smnmask.gzip.compression).toBe('gzip');
  checkMaskValues(r.smnmask.gzip.back, inp.masks);

  checkSafetensors(r.safetensors.hex, inp.tensors, inp.metadata);
  expect(r.safetensors.metadata).toEqual(inp.metadata);
  for (const [name, t] of inp.tensors) {
    const back = r.safetensors.back[name]!;
    expect({ ...back, data: back.data.map((v) => (typeof v === 'number' ? v + 0 : v)) }).toEqual({
      shape: t.shape,
      dtype: t.data instanceof Float32Array ? 'float32' : t.data instanceof Int32Array ? 'int32' : 'int64',
      // JSON has no −0 (the bytes above keep its sign bit): −0 + 0 is +0.
      data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v + 0)),
    });
  }

  const knn = knnExpected();
  expect(knn.predictions).toEqual([0, 1, 2, 1]); // the answer the bank was built for (a check of the formula itself)
  expect(r.knn.predictions).toEqual(knn.predictions);
  expect(r.knn.k).toBe(inp.knn.k);
  expect(r.knn.numClasses).toBe(inp.knn.numClasses);
  expect(r.knn.scores).toHaveLength(knn.scores.length);
  r.knn.scores.forEach((s, i) => expect(Math.abs(s - knn.scores[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(knn.scores[i]!))));

  const [B, K] = r.sinkhorn.shape;
  const s3 = sinkhornExpected(3);
  r.sinkhorn.iterations3.forEach((v, i) => expect(Math.abs(v - s3[i]!)).toBeLessThanOrEqual(1e-5));
  // Marginals: after the last column step every sample row sums to 1; after many iterations every prototype column to B/K.
  for (const q of [r.sinkhorn.iterations3, r.sinkhorn.iterations200]) {
    for (let b = 0; b < B; b++) expect(Math.abs(q.slice(b * K, (b + 1) * K).reduce((a, v) => a + v, 0) - 1)).toBeLessThanOrEqual(1e-5);
  }
  for (let k = 0; k < K; k++) {
    const col = Array.from({ length: B }, (_, b) => r.sinkhorn.iterations200[b * K + k]!).reduce((a, v) => a + v, 0);
    expect(Math.abs(col - B / K)).toBeLessThanOrEqual(1e-4);
  }
  const s200 = sinkhornExpected(200);
  r.sinkhorn.iterations200.forEach((v, i) => expect(Math.abs(v - s200[i]!)).toBeLessThanOrEqual(1e-5));

  expect(r.rng.next.every((v) => v >= 0 && v < 1)).toBe(true);
  expect(r.rng.int.every((v) => Number.isInteger(v) && v >= 0 && v < 1000)).toBe(true);
  expect(new Set(r.rng.next).size).toBe(r.rng.next.length);
}
