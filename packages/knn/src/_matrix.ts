import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape } from '@smn/core';
import { KNN_ERRORS } from './errors.js';
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
        KNN_ERRORS.shape,
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
  const m = x as HostMatrix;
  if (!(m && m.data instanceof Float32Array && Array.isArray(m.shape) && m.shape.length === 2)) {
    throw new SmnError(
      KNN_ERRORS.shape,
      `${name} must be a tf.Tensor2D or { data: Float32Array, shape: [rows, dim] }; found ${describe(x)}.`,
      { kind: 'usage', details: { name } },
    );
  }
  const [rows, dim] = m.shape;
  if (!Number.isInteger(rows) || !Number.isInteger(dim) || rows < 0 || dim < 1 || m.data.length !== rows * dim) {
    throw new SmnError(
      KNN_ERRORS.shape,
      `${name}: shape ${fmtShape(m.shape)} needs ${rows * dim} values but data has ${m.data.length}.`,
      { kind: 'usage', details: { name, shape: m.shape, length: m.data.length } },
    );
  }
  return {
    rows,
    dim,
    block: (s, e) => tf.tensor2d(m.data.subarray(s * dim, e * dim), [e - s, dim], 'float32'),
  };
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
      throw new SmnError(KNN_ERRORS.labels, `${name} must be a 1-D tensor; found shape ${fmtShape(labels.shape)}.`, {
        kind: 'usage',
      });
    }
    values = await labels.data();
  } else {
    values = labels as ArrayLike<number>;
  }
  if (values.length !== expectedCount) {
    throw new SmnError(
      KNN_ERRORS.labels,
      `${name} has ${values.length} labels but the matrix has ${expectedCount} rows; pass one label per row.`,
      { kind: 'usage', details: { name, expected: expectedCount, found: values.length } },
    );
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new SmnError(
        KNN_ERRORS.labels,
        `${name}[${i}] = ${v} is not a class index in [0, ${numClasses ?? 'inf'}); labels must be integers` +
          (numClasses !== undefined ? ' below numClasses.' : ' >= 0.'),
        { kind: 'usage', details: { name, index: i, found: v, numClasses } },
      );
    }
    out[i] = v;
  }
  return out;
}

/** Rows of `x` at `indices` (ascending or not), as a new matrix of the same kind (tensor → new tensor). */
export function takeRows(x: MatrixInput, indices: Int32Array): MatrixInput {
  if (isTensor(x)) return tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32'))) as tf.Tensor2D;
  const [, dim] = x.shape;
  const out = new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    out.set(x.data.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  return { data: out, shape: [indices.length, dim] };
}
