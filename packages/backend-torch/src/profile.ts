/** Per-kernel call counts of the `torch` backend. */
export interface TorchProfile {
  /** Calls that ran in libtorch, by kernel name. */
  native: Record<string, number>;
  /** Calls that ran on the fallback `cpu` kernels, by kernel name. */
  fallback: Record<string, number>;
  nativeCalls: number;
  fallbackCalls: number;
}

const nativeCounts = new Map<string, number>();
const fallbackCounts = new Map<string, number>();

export function countNative(name: string): void {
  nativeCounts.set(name, (nativeCounts.get(name) ?? 0) + 1);
}

export function countFallback(name: string): void {
  fallbackCounts.set(name, (fallbackCounts.get(name) ?? 0) + 1);
}

/** Counts of native vs fallback kernel calls since the last reset (or process start). */
export function torchProfile(options: { reset?: boolean } = {}): TorchProfile {
  const native = Object.fromEntries([...nativeCounts].sort((a, b) => b[1] - a[1]));
  const fallback = Object.fromEntries([...fallbackCounts].sort((a, b) => b[1] - a[1]));
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const out = { native, fallback, nativeCalls: sum(nativeCounts), fallbackCalls: sum(fallbackCounts) };
  if (options.reset) resetTorchProfile();
  return out;
}

/** Zeroes the counts of torchProfile(). */
export function resetTorchProfile(): void {
  nativeCounts.clear();
  fallbackCounts.clear();
}
