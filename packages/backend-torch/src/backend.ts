import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SmnError } from '@smn/core';
import { TorchErrorCode } from './errors.js';
import type { NativeTorch } from './native.js';
import { DT, OP_NAMES } from './ops.js';

type DataId = object;
type Values = tf.backend_util.BackendValues;

interface Rec {
  /** Native handle; -1 for string tensors, whose values stay in JS. */
  id: number;
  dtype: tf.DataType;
  shape: number[];
  refCount: number;
  strings?: Uint8Array[];
  /** Native views of this data under other shapes (when a TensorInfo reuses the dataId with another shape). */
  views?: Map<string, number>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function typedFor(values: Values, dtype: tf.DataType): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
}

/**
 * The tfjs `torch` backend: every dataId maps to a native libtorch tensor handle; kernels run in libtorch and their
 * outputs stay native until read. Kernels that have no native version run on a private `cpu` backend instance.
 */
export class TorchBackend extends tf.KernelBackend {
  private readonly data = new Map<DataId, Rec>();
  private cpuBackend: MathBackendCPU | undefined;

  constructor(
    readonly native: NativeTorch,
    readonly device: 'cpu' | 'cuda',
  ) {
    super();
  }

  /** The private cpu backend that runs fallback kernels. */
  get cpu(): MathBackendCPU {
    this.cpuBackend ??= new MathBackendCPU();
    return this.cpuBackend;
  }

  // ------------------------------------------------------------ storage
  override write(values: Values, shape: number[], dtype: tf.DataType): DataId {
    const dataId = {};
    this.data.set(dataId, this.makeRec(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, this.makeRec(values, shape, dtype, refCount));
  }

  private makeRec(values: Values, shape: number[], dtype: tf.DataType, refCount: number): Rec {
    if (dtype === 'string') return { id: -1, dtype, shape, refCount, strings: (values ?? []) as Uint8Array[] };
    if (dtype === 'complex64') {
      throw new SmnError(TorchErrorCode.Dtype, "backend 'torch': complex64 tensors are not supported (float32, int32, bool and string are)", { kind: 'usage' });
    }
    const code = DT[dtype];
    const id = values == null ? this.native.fill(shape, 0, code) : this.native.upload(typedFor(values, dtype), shape, code);
    return { id, dtype, shape, refCount };
  }

  /** Wraps a native handle as a new TensorInfo (shape and dtype read from libtorch). */
  wrap(id: number): tf.TensorInfo {
    const meta = this.native.meta(id);
    const dtype = OP_NAMES.dtype[meta[0]!]!;
    const shape = meta.slice(1);
    const dataId = {};
    this.data.set(dataId, { id, dtype, shape, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** Wraps a native handle whose shape and dtype the caller knows. */
  wrapAs(id: number, shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const dataId = {};
    this.data.set(dataId, { id, dtype, shape, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** Writes JS values as a new TensorInfo. */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Values): tf.TensorInfo {
    const dataId = this.write(values as Values, shape, dtype);
    return { dataId, shape, dtype };
  }

  /** The record of a dataId; data that lives on another backend is moved here first (as tfjs's DataStorage does). */
  private get(dataId: DataId): Rec | undefined {
    let rec = this.data.get(dataId);
    if (rec === undefined) {
      const engine = tf.engine() as unknown as { state: { tensorInfo: WeakMap<DataId, unknown> }; moveData(b: tf.KernelBackend, d: DataId): void };
      if (engine.state.tensorInfo.has(dataId)) {
        engine.moveData(this, dataId);
        rec = this.data.get(dataId);
      }
    }
    return rec;
  }

  /** The native handle of a TensorInfo (a cached reshaped view when the info's shape differs from the stored one). */
  h(t: tf.TensorInfo): number {
    const rec = this.get(t.dataId);
    if (rec === undefined) throw new SmnError(TorchErrorCode.Data, `backend 'torch': tensor data not found (disposed, or it lives on another backend); shape ${JSON.stringify(t.shape)}`);
    if (rec.id < 0) throw new SmnError(TorchErrorCode.Dtype, `backend 'torch': a ${rec.dtype} tensor has no native handle`);
    if (sameShape(rec.shape, t.shape)) return rec.id;
    const key = t.shape.join(',');
    rec.views ??= new Map();
    let v = rec.views.get(key);
    if (v === undefined) {
      v = this.native.reshape(rec.id, t.shape);
      rec.views.set(key, v);
    }
    return v;
  }

  has(dataId: DataId): boolean {
    return this.data.has(dataId);
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    const rec = this.data.get(dataId);
    if (rec) rec.refCount++;
  }

  decRef(dataId: DataId): void {
    const rec = this.data.get(dataId);
    if (rec) rec.refCount--;
  }

  /** Native handles held by this backend's data (ids plus reshaped views); equals native.live() when nothing leaks. */
  nativeHandlesInUse(): number {
    let n = 0;
    for (const rec of this.data.values()) n += (rec.id >= 0 ? 1 : 0) + (rec.views?.size ?? 0);
    return n;
  }

  override numDataIds(): number {
    return this.data.size;
  }

  override readSync(dataId: DataId): Values {
    const rec = this.get(dataId);
    if (rec === undefined) throw new SmnError(TorchErrorCode.Data, "backend 'torch': readSync of a tensor whose data is not here (disposed?)");
    if (rec.id < 0) return rec.strings as Uint8Array[];
    return this.native.download(rec.id);
  }

  override async read(dataId: DataId): Promise<Values> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const rec = this.data.get(dataId);
    if (rec === undefined) return true;
    rec.refCount--;
    if (!force && rec.refCount > 0) return false;
    this.release(rec);
    this.data.delete(dataId);
    return true;
  }

  /** Frees an intermediate TensorInfo made by a kernel. */
  disposeIntermediateTensorInfo(t: tf.TensorInfo): void {
    this.disposeData(t.dataId);
  }

  private release(rec: Rec): void {
    if (rec.id >= 0) this.native.free(rec.id);
    if (rec.views) for (const v of rec.views.values()) this.native.free(v);
    rec.id = -1;
    rec.views = undefined;
  }

  override memory(): { unreliable: boolean; reasons?: string[]; numBytesInTorch: number; numHandles: number } {
    return { unreliable: false, numBytesInTorch: this.native.bytes(), numHandles: this.native.live() };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = performance.now();
    f();
    if (this.device === 'cuda') this.native.sync();
    return { kernelMs: performance.now() - start };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  /** Indices of true entries, [n, rank] int32 (used by tf.whereAsync on some paths). */
  where(condition: tf.Tensor): tf.Tensor2D {
    const id = this.native.nonzero(this.h(condition));
    const meta = this.native.meta(id);
    const values = this.native.download(id);
    this.native.free(id);
    return tf.tensor2d(values as Int32Array, [meta[1]!, meta[2]!], 'int32');
  }

  override dispose(): void {
    for (const rec of this.data.values()) this.release(rec);
    this.data.clear();
    this.cpuBackend?.dispose();
  }
}
