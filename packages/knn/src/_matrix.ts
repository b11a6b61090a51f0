import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape, type DenseMatrix } from '@smn/core';
import { KnnErrorCode } from './errors.js';
import type { HostMatrix, LabelsInput, MatrixInput } from './types.js';

/** Internal view of a matrix argument: its shape and a way to get row blocks as tensors. */
export interface MatrixView {
  rows: number;
  dim: number;
  /** Rows [start, end) as a new `[end-start, dim]` float32 tensor (the caller disposes it). */
  block(start: number, end: number): tf.Tensor2D;
}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** Validates a matrix argument (`name` is used in errors) and returns a view on it. */
export function viewMatrix(x: MatrixInput, name: string): MatrixView {
  if (isTensor(x)) {
    if (x.rank !== 2) {
      throw new SmnError(
        KnnErrorCode.Shape,
        `${name} must be a 2-D tensor [rows, dim]; found shape ${fmtShape(x.shape)}. Reshape it to [rows, dim].`,
        { kind: 'usage', details: { name, found: x.shape } },
      );
    }
    const [rows, dim] = x.shape as [number, number];
    return {
      rows,
      dim,
      block: (s, e) => {
        const b = tf.slice(x, [s, 0], [e - s, dim]);
        if (b.dtype === 'float32') return b;
        const c = tf.cast(b, 'float32');
        b.dispose();
        return c;
      },
    };
  }
  const { rows, cols: dim, data } = hostMatrix(x, name);
  return {
    rows,
    dim,
    block: (s, e) => {
      const rows = data.subarray(s * dim, e * dim);
      // float64 rows are rounded to float32 block by block (the same values as rounding the whole matrix first).
      return tf.tensor2d(rows instanceof Float32Array ? rows : Float32Array.from(rows), [e - s, dim], 'float32');
    },
  };
}

/** A host matrix argument as a checked DenseMatrix (the deprecated `{ data, shape }` form is read as one). */
function hostMatrix(x: unknown, name: string): DenseMatrix {
  const h = x as Partial<DenseMatrix & HostMatrix> | null;
  const isData = (d: unknown): d is DenseMatrix['data'] => d instanceof Float32Array || d instanceof Float64Array;
  let m: DenseMatrix;
  if (h && isData(h.data) && typeof h.rows === 'number' && typeof h.cols === 'number') m = { rows: h.rows, cols: h.cols, data: h.data };
  else if (h && isData(h.data) && Array.isArray(h.shape) && h.shape.length === 2) m = { rows: h.shape[0], cols: h.shape[1], data: h.data };
  else {
    throw new SmnError(
      KnnErrorCode.Shape,
      `${name} must be a tf.Tensor2D or { rows, cols, data: Float32Array } (a DenseMatrix); found ${describe(x)}.`,
      { kind: 'usage', details: { name } },
    );
  }
  const { rows, cols } = m;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1 || m.data.length !== rows * cols) {
    throw new SmnError(
      KnnErrorCode.Shape,
      `${name}: shape ${fmtShape([rows, cols])} needs ${rows * cols} values but data has ${m.data.length}.`,
      { kind: 'usage', details: { name, shape: [rows, cols], length: m.data.length } },
    );
  }
  return m;
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return 'a plain array';
  if (ArrayBuffer.isView(x)) return `a bare ${x.constructor.name} without a shape`;
  return typeof x === 'object' ? `an object with keys [${Object.keys(x).join(', ')}]` : typeof x;
}

/** Reads labels into an Int32Array, checking count, integrality and range. */
export async function readLabels(
  labels: LabelsInput,
  expectedCount: number,
  name: string,
  numClasses: number | undefined,
): Promise<Int32Array> {
  let values: ArrayLike<number>;
  if (isTensor(labels)) {
    if (labels.rank !== 1) {
      throw new SmnError(KnnErrorCode.Labels, `${name} must be a 1-D tensor; found shape ${fmtShape(labels.shape)}.`, {
        kind: 'usage',
      });
    }
    values = await labels.data();
  } else {
    values = labels as ArrayLike<number>;
  }
  if (values.length !== expectedCount) {
    throw new SmnError(
      KnnErrorCode.Labels,
      `${name} has ${values.length} labels but the matrix has ${expectedCount} rows; pass one label per row.`,
      { kind: 'usage', details: { name, expected: expectedCount, found: values.length } },
    );
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new SmnError(
        KnnErrorCode.Labels,
        `${name}[${i}] = ${v} is not a class index in [0, ${numClasses ?? 'inf'}); labels must be integers` +
          (numClasses !== undefined ? ' below numClasses.' : ' >= 0.'),
        { kind: 'usage', details: { name, index: i, found: v, numClasses } },
      );
    }
    out[i] = v;
  }
  return out;
}

/** Rows of `x` at `indices` (ascending or not): a new tensor for a tensor, a new DenseMatrix of the same dtype otherwise. */
export function takeRows(x: MatrixInput, indices: Int32Array): MatrixInput {
  if (isTensor(x)) return tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32'))) as tf.Tensor2D;
  const { cols, data } = hostMatrix(x, 'knn embeddings');
  const out = data instanceof Float64Array ? new Float64Array(indices.length * cols) : new Float32Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    out.set(data.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return { rows: indices.length, cols, data: out };
}
