// Generated from src/ops.ts by scripts/ops-header.ts; do not edit (test/ops.test.ts checks that it is current).
#pragma once
#include <cstdint>

namespace smn {

enum class DType : int32_t {
  Float32 = 0,
  Int32 = 1,
  Bool = 2,
};
constexpr int32_t kDTypeCount = 3;

enum class UnaryOp : int32_t {
  Abs = 0,
  Neg = 1,
  Exp = 2,
  Log = 3,
  Sqrt = 4,
  Rsqrt = 5,
  Square = 6,
  Relu = 7,
  Relu6 = 8,
  Step = 9,
  Sigmoid = 10,
  Tanh = 11,
  Sign = 12,
  Erf = 13,
  Floor = 14,
  Ceil = 15,
  Round = 16,
  Sin = 17,
  Cos = 18,
  Reciprocal = 19,
  Softplus = 20,
  Expm1 = 21,
  Log1p = 22,
  Elu = 23,
  LeakyRelu = 24,
  IsNan = 25,
  IsInf = 26,
  IsFinite = 27,
  LogicalNot = 28,
  ClipByValue = 29,
  Selu = 30,
  Tan = 31,
  Asin = 32,
  Acos = 33,
  Atan = 34,
  Sinh = 35,
  Cosh = 36,
  Asinh = 37,
  Acosh = 38,
  Atanh = 39,
};
constexpr int32_t kUnaryOpCount = 40;

enum class BinaryOp : int32_t {
  Add = 0,
  Sub = 1,
  Multiply = 2,
  RealDiv = 3,
  Maximum = 4,
  Minimum = 5,
  Pow = 6,
  SquaredDifference = 7,
  FloorDiv = 8,
  Mod = 9,
  Greater = 10,
  GreaterEqual = 11,
  Less = 12,
  LessEqual = 13,
  Equal = 14,
  NotEqual = 15,
  LogicalAnd = 16,
  LogicalOr = 17,
  Atan2 = 18,
  Prelu = 19,
  EluGrad = 20,
  ReluGrad = 21,
};
constexpr int32_t kBinaryOpCount = 22;

enum class ReduceOp : int32_t {
  Sum = 0,
  Mean = 1,
  Max = 2,
  Min = 3,
  Prod = 4,
  All = 5,
  Any = 6,
};
constexpr int32_t kReduceOpCount = 7;

}  // namespace smn
