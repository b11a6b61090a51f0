import type { Rng } from './rng.js';

/**
 * `count` values of PyTorch's default `nn.Linear` init, drawn in order from `rng`: `kaiming_uniform_(a=√5)` gives the
 * weight a bound of `gain·√(3/fan_in)` with `gain = √(2/(1+5))`, i.e. U(−1/√fan_in, 1/√fan_in), and the bias gets
 * the same bound. Weights are drawn in PyTorch's `[out, in]` order; transpose afterwards for an `[in, out]` layout.
 */
export function torchLinearInit(rng: Rng, count: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}
