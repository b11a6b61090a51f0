// Types of inputs.mjs for the test (the consumer project itself runs the .mjs files untyped).
export interface MaskInput {
  shape: number[];
  values: Uint8Array | Int8Array;
}
export interface TensorInput {
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}
export interface Matrix {
  data: Float32Array;
  shape: [number, number];
}
export interface Inputs {
  masks: Map<string, MaskInput>;
  signMasks: Map<string, MaskInput>;
  tensors: Map<string, TensorInput>;
  metadata: Record<string, string>;
  bank: Matrix;
  bankLabels: Int32Array;
  queries: Matrix;
  knn: { k: number; temperature: number; numClasses: number };
  scores: { data: number[]; shape: [number, number] };
  rngSeed: number;
  image: { width: number; height: number; data: Uint8Array };
  flat: { width: number; height: number; data: Uint8Array };
}
export declare const range: <T>(n: number, f: (i: number) => T) => T[];
export declare function inputs(): Inputs;
