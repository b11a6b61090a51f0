/**
 * A row-major matrix held in JS memory: entry (r, c) is `data[r * cols + c]`, `data.length === rows * cols`.
 * The one host-matrix type of smn: embeddings (float32), fitted parameters (float64), kNN banks and queries.
 */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
}
