import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { checkLength, checkMatrix, throwIfAborted } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix, LinearProbe, LinearProbeOptions } from './types.js';

/** Objective value and gradient of the probe at (W, b). */
export interface ProbeObjective {
  loss: number;
  /** ∂f/∂W [D, C] row-major. */
  gradW: Float64Array;
  /** ∂f/∂b [C]. */
  gradB: Float64Array;
}

/** Data of one probe problem, kept on the backend while fitting. Call `dispose()` when done. */
interface ProbeData {
  chunks: { x: tf.Tensor2D; y: tf.Tensor2D; rows: number }[];
  N: number;
  D: number;
  C: number;
  dispose(): void;
}

function uploadProbeData(X: DenseMatrix, labels: ArrayLike<number>, C: number, chunkRows: number): ProbeData {
  const { rows: N, cols: D } = X;
  const chunks: ProbeData['chunks'] = [];
  try {
    for (let r0 = 0; r0 < N; r0 += chunkRows) {
      const r1 = Math.min(N, r0 + chunkRows);
      const sub = X.data.subarray(r0 * D, r1 * D);
      const x = tf.tensor2d(sub instanceof Float32Array ? sub : Float32Array.from(sub), [r1 - r0, D]);
      const lab = new Int32Array(r1 - r0);
      for (let i = r0; i < r1; i++) lab[i - r0] = labels[i]!;
      const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(lab, 'int32'), C), 'float32') as tf.Tensor2D);
      chunks.push({ x, y, rows: r1 - r0 });
    }
  } catch (err) {
    for (const c of chunks) tf.dispose([c.x, c.y]);
    throw err;
  }
  return { chunks, N, D, C, dispose: () => chunks.forEach((c) => tf.dispose([c.x, c.y])) };
}

/** f(θ) = mean softmax cross-entropy + λ/2 (‖W‖² + ‖b‖²) and its gradient; θ = [W row-major (D·C), b (C)]. */
function evaluate(data: ProbeData, theta: Float64Array, lambda: number): Evaluation {
  const { D, C, N } = data;
  const gradW = new Float64Array(D * C);
  const gradB = new Float64Array(C);
  let loss = 0;
  let negEntropy = 0;
  const W = tf.tensor2d(Float32Array.from(theta.subarray(0, D * C)), [D, C]);
  const b = tf.tensor1d(Float32Array.from(theta.subarray(D * C)));
  try {
    for (const { x, y } of data.chunks) {
      const [l, pl, gW, gB] = tf.tidy(() => {
        const z = tf.add(tf.matMul(x, W), b);
        const lse = tf.logSumExp(z, 1, true);
        const lossSum = tf.sum(tf.sub(lse, tf.sum(tf.mul(z, y), 1, true)));
        const logP = tf.sub(z, lse);
        const P = tf.exp(logP);
        const G = tf.div(tf.sub(P, y), N);
        return [lossSum, tf.sum(tf.mul(P, logP)), tf.matMul(x, G, true, false), tf.sum(G, 0)];
      });
      loss += (l.dataSync() as Float32Array)[0]!;
      negEntropy += (pl.dataSync() as Float32Array)[0]!;
      const gw = gW.dataSync();
      for (let i = 0; i < gw.length; i++) gradW[i] = gradW[i]! + (gw[i]!);
      const gb = gB.dataSync();
      for (let i = 0; i < C; i++) gradB[i] = gradB[i]! + (gb[i]!);
      tf.dispose([l, pl, gW, gB]);
    }
  } finally {
    tf.dispose([W, b]);
  }
  loss /= N;
  const grad = new Float64Array(D * C + C);
  let reg = 0;
  let dataGrad2 = 0;
  for (let i = 0; i < D * C; i++) {
    reg += theta[i]! * theta[i]!;
    dataGrad2 += gradW[i]! * gradW[i]!;
    grad[i] = gradW[i]! + lambda * theta[i]!;
  }
  for (let i = 0; i < C; i++) {
    const t = theta[D * C + i]!;
    reg += t * t;
    dataGrad2 += gradB[i]! * gradB[i]!;
    grad[D * C + i] = gradB[i]! + lambda * t;
  }
  const primal = loss + 0.5 * lambda * reg;
  // Fenchel dual at α_i = y_i − p_i (the residuals): D = −(1/N) Σ_i Σ_c p log p − ‖Xᵀ(P − Y)/N‖² / (2λ); the gap
  // P − D ≥ 0 bounds the suboptimality (cyanure's stopping rule, relative gap ≤ tol).
  const dual = -negEntropy / N - dataGrad2 / (2 * lambda);
  return { loss: primal, grad, gap: primal - dual };
}

interface Evaluation {
  loss: number;
  grad: Float64Array;
  /** Duality gap P − D ≥ 0 (up to float32 rounding). */
  gap: number;
}

/**
 * The probe's objective at (W [D, C], b [C]): mean softmax cross-entropy of `X·W + b` plus λ/2 (‖W‖² + ‖b‖²),
 * with its gradient. Exposed for tests and for checking a trained probe.
 */
export function linearProbeObjective(
  X: DenseMatrix,
  labels: ArrayLike<number>,
  W: DenseMatrix,
  b: ArrayLike<number>,
  options: { numClasses: number; lambda: number },
): ProbeObjective {
  checkMatrix(X, 'linearProbeObjective: X');
  checkMatrix(W, 'linearProbeObjective: W');
  const C = options.numClasses;
  const D = X.cols;
  checkLabels(labels, X.rows, C, 'linearProbeObjective');
  const data = uploadProbeData(X, labels, C, 8192);
  try {
    const theta = new Float64Array(D * C + C);
    theta.set(W.data, 0);
    for (let i = 0; i < C; i++) theta[D * C + i] = b[i]!;
    const { loss, grad } = evaluate(data, theta, options.lambda);
    return { loss, gradW: grad.slice(0, D * C), gradB: grad.slice(D * C) };
  } finally {
    data.dispose();
  }
}

function checkLabels(labels: ArrayLike<number>, N: number, C: number, what: string): void {
  checkLength(labels, N, `${what}: labels`, 'X');
  if (!Number.isInteger(C) || C < 2) {
    throw new SmnError(CascadeErrorCode.Option, `${what}: numClasses must be an integer ≥ 2, got ${C}`, { kind: 'usage' });
  }
  for (let i = 0; i < N; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < C)) {
      throw new SmnError(CascadeErrorCode.Shape, `${what}: label ${y} at row ${i} is outside [0, numClasses = ${C})`);
    }
  }
}

/**
 * Fits a multinomial logistic regression `argmax(X·W + b)` on features X [N, D] (volt/linear_probe.py, docs/method.md#probe: L2 λ = 0.01/N on W and the
 * bias, no standardisation) by full-batch L-BFGS. The loss and gradient run as tfjs matmuls over row chunks on the
 * active backend (float32 products, float64 optimiser state).
 *
 * ```ts
 * const probe = fitLinearProbe(trainFeats, trainLabels, { numClasses: 100 });
 * const pred = probe.predict(testFeats); // Int32Array [M]
 * ```
 */
export function fitLinearProbe(X: DenseMatrix, labels: ArrayLike<number>, options: LinearProbeOptions): LinearProbe {
  checkMatrix(X, 'fitLinearProbe: X');
  const { rows: N, cols: D } = X;
  const C = options.numClasses;
  checkLabels(labels, N, C, 'fitLinearProbe');
  const lambda = options.lambda ?? 0.01 / N;
  const maxIter = options.maxIter ?? 500;
  const tol = options.tol ?? 1e-3;
  const m = options.history ?? 10;
  const data = uploadProbeData(X, labels, C, options.chunkRows ?? 8192);
  const P = D * C + C;
  let theta: Float64Array = new Float64Array(P);
  let iterations = 0;
  let converged = false;
  let cur: Evaluation;
  try {
    cur = evaluate(data, theta, lambda);
    const done = (e: Evaluation): boolean => e.gap <= tol * Math.abs(e.loss);
    const memory: LbfgsMemory = { S: [], Y: [], rho: [] };
    for (let it = 1; it <= maxIter; it++) {
      throwIfAborted(options.signal, 'fitLinearProbe');
      const gn = norm(cur.grad);
      if (done(cur)) {
        converged = true;
        break;
      }
      const { d, slope } = lbfgsDirection(cur.grad, gn, memory);
      const { next, nextTheta } = backtrack(data, theta, d, cur, slope, lambda);
      iterations = it;
      if (next === null) break; // no decrease possible in float32: at the solution's precision
      rememberStep(memory, theta, nextTheta, cur.grad, next.grad, m);
      const decrease = cur.loss - next.loss;
      theta = nextTheta;
      cur = next;
      options.onIteration?.({ iteration: it, loss: cur.loss, gradNorm: norm(cur.grad), relativeGap: cur.gap / Math.abs(cur.loss) });
      if (decrease <= 1e-12 * Math.max(1, Math.abs(cur.loss))) break;
    }
    if (!converged) converged = done(cur);
  } finally {
    data.dispose();
  }
  return finishProbe(X, labels, C, theta, cur, iterations, converged);
}

/** L-BFGS's last `m` steps `s`, gradient changes `y` and `1 / (s·y)`, oldest first. */
interface LbfgsMemory {
  S: Float64Array[];
  Y: Float64Array[];
  rho: number[];
}

/** The search direction d = −H·g by the two-loop recursion, or steepest descent (and a cleared memory) if that is not a descent direction. */
function lbfgsDirection(grad: Float64Array, gn: number, memory: LbfgsMemory): { d: Float64Array; slope: number } {
  const { S, Y, rho } = memory;
  // Two-loop recursion: d = −H·g.
  const d = Float64Array.from(grad);
  const alpha = new Array<number>(S.length);
  for (let i = S.length - 1; i >= 0; i--) {
    alpha[i] = rho[i]! * dot(S[i]!, d);
    axpy(-alpha[i]!, Y[i]!, d);
  }
  const last = S.length - 1;
  const gamma = last >= 0 ? dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!) : 1 / gn;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * (gamma);
  for (let i = 0; i < S.length; i++) {
    const beta = rho[i]! * dot(Y[i]!, d);
    axpy(alpha[i]! - beta, S[i]!, d);
  }
  for (let i = 0; i < d.length; i++) d[i] = -d[i]!;
  let slope = dot(grad, d);
  if (!(slope < 0)) {
    // Not a descent direction (numerical trouble): restart from steepest descent.
    S.length = 0;
    Y.length = 0;
    rho.length = 0;
    for (let i = 0; i < d.length; i++) d[i] = -grad[i]! / gn;
    slope = dot(grad, d);
  }
  return { d, slope };
}

/** Backtracking line search along `d` (Armijo, c1 = 1e-4, at most 30 halvings); `next` is null when no step decreases the loss. */
function backtrack(
  data: ProbeData,
  theta: Float64Array,
  d: Float64Array,
  cur: Evaluation,
  slope: number,
  lambda: number,
): { next: Evaluation | null; nextTheta: Float64Array } {
  // Backtracking line search (Armijo, c1 = 1e-4).
  let step = 1;
  let next: Evaluation | null = null;
  let nextTheta = theta;
  for (let ls = 0; ls < 30; ls++) {
    nextTheta = Float64Array.from(theta);
    axpy(step, d, nextTheta);
    const cand = evaluate(data, nextTheta, lambda);
    if (Number.isFinite(cand.loss) && cand.loss <= cur.loss + 1e-4 * step * slope) {
      next = cand;
      break;
    }
    step *= 0.5;
  }
  return { next, nextTheta };
}

/** Adds the step (s, y) to the memory when its curvature s·y is positive, keeping the last `m`. */
function rememberStep(
  memory: LbfgsMemory,
  theta: Float64Array,
  nextTheta: Float64Array,
  grad: Float64Array,
  nextGrad: Float64Array,
  m: number,
): void {
  const { S, Y, rho } = memory;
  const P = theta.length;
  const s = new Float64Array(P);
  const y = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    s[i] = nextTheta[i]! - theta[i]!;
    y[i] = nextGrad[i]! - grad[i]!;
  }
  const sy = dot(s, y);
  if (sy > 1e-12 * norm(s) * norm(y)) {
    S.push(s);
    Y.push(y);
    rho.push(1 / sy);
    if (S.length > m) {
      S.shift();
      Y.shift();
      rho.shift();
    }
  }
}

/** The fitted probe from the final θ: float32 W and b, its predictors and its training accuracy. */
function finishProbe(
  X: DenseMatrix,
  labels: ArrayLike<number>,
  C: number,
  theta: Float64Array,
  cur: Evaluation,
  iterations: number,
  converged: boolean,
): LinearProbe {
  const { rows: N, cols: D } = X;
  const W: DenseMatrix = { rows: D, cols: C, data: Float32Array.from(theta.subarray(0, D * C)) };
  const b = Float32Array.from(theta.subarray(D * C));
  const decision = (Xq: DenseMatrix): DenseMatrix => probeLogits(Xq, W, b);
  const predict = (Xq: DenseMatrix): Int32Array => argmaxRows(decision(Xq));
  const trainPred = predict(X);
  let correct = 0;
  for (let i = 0; i < N; i++) if (trainPred[i] === labels[i]) correct++;
  return { W, b, loss: cur.loss, relativeGap: cur.gap / Math.abs(cur.loss), iterations, converged, trainAccuracy: correct / N, predict, decision };
}

/** Logits X·W + b [M, C] (float32), computed in row chunks. */
export function probeLogits(X: DenseMatrix, W: DenseMatrix, b: Float32Array): DenseMatrix {
  checkMatrix(X, 'linear probe input', W.rows);
  const { rows: M, cols: D } = X;
  const C = W.cols;
  const out = new Float32Array(M * C);
  const Wt = tf.tensor2d(W.data instanceof Float32Array ? W.data : Float32Array.from(W.data), [D, C]);
  const bt = tf.tensor1d(b);
  try {
    const chunk = 8192;
    for (let r0 = 0; r0 < M; r0 += chunk) {
      const r1 = Math.min(M, r0 + chunk);
      const sub = X.data.subarray(r0 * D, r1 * D);
      const z = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(sub instanceof Float32Array ? sub : Float32Array.from(sub), [r1 - r0, D]), Wt), bt));
      out.set(z.dataSync() as Float32Array, r0 * C);
      z.dispose();
    }
  } finally {
    tf.dispose([Wt, bt]);
  }
  return { rows: M, cols: C, data: out };
}

/** Argmax of each row of a matrix. */
export function argmaxRows(Z: DenseMatrix): Int32Array {
  const out = new Int32Array(Z.rows);
  for (let i = 0; i < Z.rows; i++) {
    let best = 0;
    for (let c = 1; c < Z.cols; c++) if (Z.data[i * Z.cols + c]! > Z.data[i * Z.cols + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}
function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] = y[i]! + (alpha * x[i]!);
}
