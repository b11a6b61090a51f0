import { SmnError } from '@smn/core';
import { CascadeErrorCode } from './errors.js';

/** Storage of a cascade's masks against one fp32 copy of the backbone (Table 3's β/32, 6β/32). */
export interface CascadeStorage {
  /** 1 bit per masked parameter per model. */
  maskBits: number;
  /** β: the backbone's parameters in fp32 (what one fine-tuned copy costs). */
  fp32Bits: number;
  /** maskBits / fp32Bits (6/32 = 0.1875 for a dispatcher and 5 experts masking every weight). */
  fraction: number;
  /** The ratio written as Table 3 does when every parameter is masked (`6β/32`), else as a fraction of β. */
  label: string;
}

/**
 * Mask storage of a cascade of `models` masks (dispatcher + experts) vs one fp32 copy of the backbone. PCA and
 * mixture parameters are excluded, as in Table 3.
 *
 * ```ts
 * cascadeStorage({ maskedParamsPerModel: 23.5e6, models: 6 }).label; // '6β/32'
 * ```
 */
export function cascadeStorage(options: { maskedParamsPerModel: number; models: number; totalParams?: number }): CascadeStorage {
  const { maskedParamsPerModel: m, models } = options;
  const total = options.totalParams ?? m;
  if (!(m > 0) || !(Number.isInteger(models) && models > 0) || !(total >= m)) {
    throw new SmnError(
      CascadeErrorCode.Option,
      `cascadeStorage: expected maskedParamsPerModel > 0, an integer models > 0 and totalParams ≥ maskedParamsPerModel; got ${m}, ${models}, ${total}`,
      { kind: 'usage' },
    );
  }
  const maskBits = m * models;
  const fp32Bits = total * 32;
  const fraction = maskBits / fp32Bits;
  const label = m === total ? `${models === 1 ? '' : models}β/32` : `${fraction.toPrecision(3)}β`;
  return { maskBits, fp32Bits, fraction, label };
}
