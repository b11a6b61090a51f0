// Plain-JS float64 re-implementations of the reference's SwAV step (docs/method.md#swav) used as test oracles (no tfjs).

export type Mat = number[][];

export function transpose(a: Mat): Mat {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}

/** The reference's Sinkhorn-Knopp, literally: Q = exp(o/ε)ᵀ, /sum, iterations of row /K, column /B, ×B, ᵀ. */
export function sinkhornRef(o: Mat, epsilon = 0.05, iterations = 3): Mat {
  let Q = transpose(o).map((r) => r.map((x) => Math.exp(x / epsilon))); // [K, B]
  const K = Q.length;
  const B = Q[0]!.length;
  const total = Q.flat().reduce((a, b) => a + b, 0);
  Q = Q.map((r) => r.map((x) => x / total));
  for (let it = 0; it < iterations; it++) {
    Q = Q.map((r) => {
      const s = r.reduce((a, b) => a + b, 0);
      return r.map((x) => x / s / K);
    });
    const cols = Q[0]!.map((_, j) => Q.reduce((a, r) => a + r[j]!, 0));
    Q = Q.map((r) => r.map((x, j) => x / cols[j]! / B));
  }
  return transpose(Q.map((r) => r.map((x) => x * B)));
}

export function logSoftmaxRows(x: Mat): Mat {
  return x.map((r) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return r.map((v) => v - lse);
  });
}

export function matmulT(a: Mat, b: Mat): Mat {
  // a [n, d] · b[m, d]ᵀ → [n, m]
  return a.map((ra) => b.map((rb) => ra.reduce((s, v, i) => s + v * rb[i]!, 0)));
}

/**
 * SwAV loss of docs/method.md#swav steps 2-5 with linear prototypes W [K, feat]: e is [Σcrops·B, feat] (normalised).
 * `queue[i]` (optional) is prepended to the Sinkhorn input of assignment crop i.
 */
export function swavLossRef(
  e: Mat,
  W: Mat,
  B: number,
  nmbCrops: number[],
  cropsForAssign: number[],
  T = 0.1,
  epsilon = 0.05,
  iterations = 3,
  queue?: Mat[],
): { loss: number; q: Mat[] } {
  const p = matmulT(e, W);
  const total = nmbCrops.reduce((a, b) => a + b, 0);
  const block = (m: Mat, c: number): Mat => m.slice(c * B, (c + 1) * B);
  let loss = 0;
  const qs: Mat[] = [];
  cropsForAssign.forEach((crop, i) => {
    let out = block(p, crop);
    if (queue) out = [...matmulT(queue[i]!, W), ...out];
    const q = sinkhornRef(out, epsilon, iterations).slice(-B);
    qs.push(q);
    let sub = 0;
    for (let v = 0; v < total; v++) {
      if (v === crop) continue;
      const lp = logSoftmaxRows(block(p, v).map((r) => r.map((x) => x / T)));
      let s = 0;
      for (let b = 0; b < B; b++) for (let k = 0; k < W.length; k++) s += q[b]![k]! * lp[b]![k]!;
      sub -= s / B;
    }
    loss += sub / (total - 1);
  });
  return { loss: loss / cropsForAssign.length, q: qs };
}

export function normRows(a: Mat): Mat {
  return a.map((r) => {
    const n = Math.sqrt(r.reduce((s, x) => s + x * x, 0));
    return r.map((x) => x / n);
  });
}
