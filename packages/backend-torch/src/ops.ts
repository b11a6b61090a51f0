/**
 * The addon's dtype and op codes, written only here: a code is the name's index in its list. The addon includes
 * native/ops.h, generated from these lists by scripts/ops-header.ts (test/ops.test.ts fails when it is stale), and an
 * op added here without its case in the addon's switch fails the build. Names are tfjs kernel names where one exists.
 */
export const OP_NAMES = {
  dtype: ['float32', 'int32', 'bool'],
  unary: [
    'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Relu', 'Relu6', 'Step',
    'Sigmoid', 'Tanh', 'Sign', 'Erf', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Reciprocal',
    'Softplus', 'Expm1', 'Log1p', 'Elu', 'LeakyRelu', 'IsNan', 'IsInf', 'IsFinite', 'LogicalNot', 'ClipByValue',
    'Selu', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh',
  ],
  binary: [
    'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'FloorDiv', 'Mod',
    'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'Atan2', 'Prelu',
    'EluGrad', 'ReluGrad',
  ],
  reduce: ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'All', 'Any'],
} as const;

export type OpGroup = keyof typeof OP_NAMES;
export type DTypeName = (typeof OP_NAMES.dtype)[number];
export type UnaryOp = (typeof OP_NAMES.unary)[number];
export type BinaryOp = (typeof OP_NAMES.binary)[number];
export type ReduceOp = (typeof OP_NAMES.reduce)[number];

type Codes<N extends readonly string[]> = { readonly [K in N[number]]: number };

function codes<N extends readonly string[]>(names: N): Codes<N> {
  return Object.fromEntries(names.map((n, i) => [n, i])) as Codes<N>;
}

/** dtype codes (tfjs dtype name → code). */
export const DT = codes(OP_NAMES.dtype);
export const UNARY = codes(OP_NAMES.unary);
export const BINARY = codes(OP_NAMES.binary);
export const REDUCE = codes(OP_NAMES.reduce);
