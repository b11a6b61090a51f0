import { join } from 'node:path';
import { SmnError, fmtShape, pathExists, readNpy } from '@smn/core';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix } from './types.js';

/** The embedding files of a run folder (written by the trainer at the end of a run): `<run>/embeddings/<name>.npy`. */
export const RUN_EMBEDDING_FILES = {
  trainNorm: 'train_norm.npy',
  trainRaw: 'train_raw.npy',
  testNorm: 'test_norm.npy',
  testRaw: 'test_raw.npy',
  trainLabels: 'train_labels.npy',
  testLabels: 'test_labels.npy',
} as const;

export type RunEmbeddingName = keyof typeof RUN_EMBEDDING_FILES;

/** Path of one embedding file of a run folder. */
export function runEmbeddingPath(runDir: string, name: RunEmbeddingName): string {
  return join(runDir, 'embeddings', RUN_EMBEDDING_FILES[name]);
}

/** Reads a 2-D float `.npy` file as a DenseMatrix (float32 stays float32, float64 stays float64). */
export async function readMatrixNpy(path: string): Promise<DenseMatrix> {
  const a = await readNpy(path);
  if (a.shape.length !== 2 || (a.dtype !== 'float32' && a.dtype !== 'float64')) {
    throw new SmnError(
      CascadeErrorCode.File,
      `${path}: expected a 2-D float32/float64 array [N, D] of embeddings, found ${a.dtype} ${fmtShape(a.shape)}`,
    );
  }
  return { rows: a.shape[0]!, cols: a.shape[1]!, data: a.data as Float32Array | Float64Array };
}

/** Reads a 1-D integer `.npy` file (int32 or int64) of labels or cluster ids as an Int32Array. */
export async function readLabelsNpy(path: string): Promise<Int32Array> {
  const a = await readNpy(path);
  if (a.shape.length !== 1 || (a.dtype !== 'int32' && a.dtype !== 'int64' && a.dtype !== 'uint8')) {
    throw new SmnError(CascadeErrorCode.File, `${path}: expected a 1-D int32/int64 array of labels, found ${a.dtype} ${fmtShape(a.shape)}`);
  }
  if (a.data instanceof BigInt64Array) return Int32Array.from(a.data, (v) => Number(v));
  return Int32Array.from(a.data as ArrayLike<number>);
}

/**
 * Reads the named embedding files of a run folder. Missing required files raise an error that names the file and
 * says how to produce it; `optional` names come back undefined when absent.
 */
export async function readRunEmbeddings<R extends RunEmbeddingName, O extends RunEmbeddingName = never>(
  runDir: string,
  required: readonly R[],
  optional: readonly O[] = [],
): Promise<{ [K in R]: K extends 'trainLabels' | 'testLabels' ? Int32Array : DenseMatrix } & {
  [K in O]?: K extends 'trainLabels' | 'testLabels' ? Int32Array : DenseMatrix;
}> {
  const out: Record<string, DenseMatrix | Int32Array> = {};
  const read = async (name: RunEmbeddingName): Promise<DenseMatrix | Int32Array> => {
    const p = runEmbeddingPath(runDir, name);
    return name === 'trainLabels' || name === 'testLabels' ? readLabelsNpy(p) : readMatrixNpy(p);
  };
  for (const name of required) {
    const p = runEmbeddingPath(runDir, name);
    if (!(await pathExists(p))) {
      throw new SmnError(
        CascadeErrorCode.File,
        `run folder ${runDir} has no ${join('embeddings', RUN_EMBEDDING_FILES[name])}; the trainer writes it at the end of a run (or embed the run with main.train=0)`,
        { details: { file: p } },
      );
    }
    out[name] = await read(name);
  }
  for (const name of optional) if (await pathExists(runEmbeddingPath(runDir, name))) out[name] = await read(name);
  return out as never;
}
