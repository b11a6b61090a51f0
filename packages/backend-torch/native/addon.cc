// N-API addon: libtorch kernels for the tfjs 'torch' backend.
//
// JS keeps integer handles; each handle names one at::Tensor in a slot table. A handle's tensor has the tfjs logical
// shape (NHWC activations, HWIO filters) but may have any strides: conv filters are re-laid-out once to OHWI memory
// (channels-last OIHW) and the slot is replaced by that view, so later convs on the same handle copy nothing.
// Only device-neutral ATen / torch API is used, so one source builds against CPU-only and CUDA libtorch.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ops.h"

// Every op code of src/ops.ts has its case in a switch below: a code added there without one fails the build.
#pragma GCC diagnostic error "-Wswitch"

namespace {

using smn::BinaryOp;
using smn::DType;
using smn::ReduceOp;
using smn::UnaryOp;

// ---------------------------------------------------------------- state
std::vector<at::Tensor> g_slots;
std::vector<int32_t> g_free;
int64_t g_live = 0;
c10::Device g_device(c10::kCPU);
std::map<std::vector<int64_t>, at::Tensor> g_dummies;  // shape(+format tag) -> empty tensor for convolution_backward

// A code received from JS as its enum (native/ops.h), after checking that the table has it.
template <class E>
E codeAs(int32_t code, int32_t count, const char* table) {
  if (code < 0 || code >= count) throw std::runtime_error(std::string("unknown ") + table + " code " + std::to_string(code));
  return static_cast<E>(code);
}

at::ScalarType scalarOf(DType d) {
  switch (d) {
    case DType::Float32: return at::kFloat;
    case DType::Int32: return at::kInt;
    case DType::Bool: return at::kBool;
  }
  throw std::runtime_error("unknown dtype");
}

DType dtypeOf(at::ScalarType s) {
  return s == at::kFloat ? DType::Float32 : s == at::kInt ? DType::Int32 : DType::Bool;
}

at::TensorOptions opts(DType d) { return at::TensorOptions().dtype(scalarOf(d)).device(g_device); }

// Keep stored dtypes within tfjs's float32/int32/bool.
at::Tensor fixDtype(at::Tensor t) {
  auto s = t.scalar_type();
  if (s == at::kFloat || s == at::kInt || s == at::kBool) return t;
  if (s == at::kLong || s == at::kShort || s == at::kByte || s == at::kChar) return t.to(at::kInt);
  return t.to(at::kFloat);
}

int32_t put(at::Tensor t) {
  t = fixDtype(std::move(t));
  g_live++;
  if (!g_free.empty()) {
    int32_t id = g_free.back();
    g_free.pop_back();
    g_slots[id] = std::move(t);
    return id;
  }
  g_slots.push_back(std::move(t));
  return static_cast<int32_t>(g_slots.size() - 1);
}

at::Tensor& get(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= g_slots.size() || !g_slots[id].defined())
    throw std::runtime_error("torch backend: invalid tensor handle " + std::to_string(id));
  return g_slots[id];
}

// ---------------------------------------------------------------- argument helpers
int32_t I(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
DType DT(const Napi::CallbackInfo& info, size_t i) { return codeAs<DType>(I(info, i), smn::kDTypeCount, "dtype"); }
double D(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool B(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }
std::vector<int64_t> V(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Array>();
  std::vector<int64_t> v(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) v[k] = a.Get(k).As<Napi::Number>().Int64Value();
  return v;
}
at::Tensor T(const Napi::CallbackInfo& info, size_t i) { return get(I(info, i)); }
std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i) {
  auto ids = V(info, i);
  std::vector<at::Tensor> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(get(static_cast<int32_t>(id)));
  return out;
}
Napi::Value Id(Napi::Env env, at::Tensor t) { return Napi::Number::New(env, put(std::move(t))); }
Napi::Value Ids(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto a = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); k++) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, put(ts[k])));
  return a;
}

// Every exported function runs under InferenceMode and turns C++ errors into JS errors.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Wrap(const Napi::CallbackInfo& info) {
  try {
    c10::InferenceMode guard;
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what());
  }
}

// ---------------------------------------------------------------- memory
Napi::Value Upload(const Napi::CallbackInfo& info) {
  auto shape = V(info, 1);
  auto cpu = at::empty(shape, at::TensorOptions().dtype(scalarOf(DT(info, 2))));
  size_t bytes = cpu.numel() * cpu.element_size();
  if (bytes > 0) {
    auto ta = info[0].As<Napi::TypedArray>();
    size_t have = ta.ByteLength();
    if (have != bytes)
      throw std::runtime_error("upload: expected " + std::to_string(bytes) + " bytes for the shape, found " +
                               std::to_string(have));
    auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    std::memcpy(cpu.data_ptr(), src, bytes);
  }
  if (g_device.is_cpu()) return Id(info.Env(), cpu);
  return Id(info.Env(), cpu.to(g_device));
}

Napi::Value Download(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto t = T(info, 0);
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  size_t n = t.numel();
  size_t bytes = n * t.element_size();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(ab.Data(), t.data_ptr(), bytes);
  switch (t.scalar_type()) {
    case at::kFloat: return Napi::Float32Array::New(env, n, ab, 0);
    case at::kInt: return Napi::Int32Array::New(env, n, ab, 0);
    case at::kBool: return Napi::Uint8Array::New(env, n, ab, 0);
    default: throw std::runtime_error("download: unexpected dtype");
  }
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  int32_t id = I(info, 0);
  get(id);
  g_slots[id] = at::Tensor();
  g_free.push_back(id);
  g_live--;
  return info.Env().Undefined();
}

Napi::Value Live(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)g_live); }

Napi::Value Bytes(const Napi::CallbackInfo& info) {
  double b = 0;
  for (auto& t : g_slots)
    if (t.defined()) b += (double)t.numel() * t.element_size();
  return Napi::Number::New(info.Env(), b);
}

Napi::Value Meta(const Napi::CallbackInfo& info) {
  // [dtype code, ...shape]
  auto t = T(info, 0);
  auto a = Napi::Array::New(info.Env(), t.dim() + 1);
  a.Set((uint32_t)0, Napi::Number::New(info.Env(), static_cast<int32_t>(dtypeOf(t.scalar_type()))));
  for (int64_t k = 0; k < t.dim(); k++) a.Set((uint32_t)(k + 1), Napi::Number::New(info.Env(), (double)t.size(k)));
  return a;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  std::string dev = info[0].As<Napi::String>();
  int threads = I(info, 1);
  if (dev == "cuda") {
    if (!torch::cuda::is_available()) throw std::runtime_error("device 'cuda' requested but libtorch sees no CUDA device");
    g_device = c10::Device(c10::kCUDA, 0);
    at::globalContext().setBenchmarkCuDNN(true);
  } else {
    g_device = c10::Device(c10::kCPU);
  }
  if (threads > 0) at::set_num_threads(threads);
  g_dummies.clear();
#if defined(__GLIBC__)
  // tfjs keeps a step's activations and gradients alive longer than PyTorch's autograd, and glibc hands large blocks
  // back to the kernel (munmap / heap trim) as soon as they are freed, so every step page-faults its tensors in again.
  // Keep blocks up to 32 MiB in the heap and up to 1 GiB of free heap before trimming (SMN_TORCH_MALLOC=0: off).
  const char* m = std::getenv("SMN_TORCH_MALLOC");
  if (!g_device.is_cuda() && (m == nullptr || std::string(m) != "0")) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
#endif
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("cudaAvailable", torch::cuda::is_available());
  o.Set("cudaDevices", (double)torch::cuda::device_count());
  o.Set("threads", at::get_num_threads());
  o.Set("device", g_device.str());
  o.Set("parallelInfo", at::get_parallel_info());
#ifdef TORCH_VERSION_STR
  o.Set("torchVersion", TORCH_VERSION_STR);
#endif
  return o;
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  if (g_device.is_cuda()) torch::cuda::synchronize();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- elementwise
// Step (the ReLU gradient's mask): x > 0 ? 1 : alpha, NaN stays NaN. One pass on dense CPU float tensors (any
// strides: the output copies them, so both walk memory in the same order); ATen ops elsewhere.
at::Tensor stepOp(const at::Tensor& x, double alpha) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && x.is_non_overlapping_and_dense()) {
    auto out = at::empty_like(x);
    if (out.strides() == x.strides()) {
      const float* src = x.data_ptr<float>();
      float* dst = out.data_ptr<float>();
      const float a = static_cast<float>(alpha);
      at::parallel_for(0, x.numel(), 16384, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          const float v = src[i];
          dst[i] = v > 0.f ? 1.f : (v != v ? v : a);
        }
      });
      return out;
    }
  }
  auto r = at::where(at::gt(x, 0), at::scalar_tensor(1.0, x.options()), at::scalar_tensor(alpha, x.options()));
  return at::where(at::isnan(x), x, r);
}

at::Tensor unaryOp(UnaryOp op, const at::Tensor& x, double a, double b) {
  switch (op) {
    case UnaryOp::Abs: return at::abs(x);
    case UnaryOp::Neg: return at::neg(x);
    case UnaryOp::Exp: return at::exp(x);
    case UnaryOp::Log: return at::log(x);
    case UnaryOp::Sqrt: return at::sqrt(x);
    case UnaryOp::Rsqrt: return at::rsqrt(x);
    case UnaryOp::Square: return at::mul(x, x);
    case UnaryOp::Relu: return at::relu(x);
    case UnaryOp::Relu6: return at::clamp(x, 0, 6);
    case UnaryOp::Step: return stepOp(x, a);
    case UnaryOp::Sigmoid: return at::sigmoid(x);
    case UnaryOp::Tanh: return at::tanh(x);
    case UnaryOp::Sign: return at::sign(x);
    case UnaryOp::Erf: return at::erf(x);
    case UnaryOp::Floor: return at::floor(x);
    case UnaryOp::Ceil: return at::ceil(x);
    case UnaryOp::Round: return at::round(x);
    case UnaryOp::Sin: return at::sin(x);
    case UnaryOp::Cos: return at::cos(x);
    case UnaryOp::Reciprocal: return at::reciprocal(x);
    case UnaryOp::Softplus: return at::softplus(x, 1, 20);
    case UnaryOp::Expm1: return at::expm1(x);
    case UnaryOp::Log1p: return at::log1p(x);
    case UnaryOp::Elu: return at::elu(x);
    case UnaryOp::LeakyRelu: return at::leaky_relu(x, a);
    case UnaryOp::IsNan: return at::isnan(x);
    case UnaryOp::IsInf: return at::isinf(x);
    case UnaryOp::IsFinite: return at::isfinite(x);
    case UnaryOp::LogicalNot: return at::logical_not(x);
    case UnaryOp::ClipByValue: return at::clamp(x, a, b);
    case UnaryOp::Selu: return at::selu(x);
    case UnaryOp::Tan: return at::tan(x);
    case UnaryOp::Asin: return at::asin(x);
    case UnaryOp::Acos: return at::acos(x);
    case UnaryOp::Atan: return at::atan(x);
    case UnaryOp::Sinh: return at::sinh(x);
    case UnaryOp::Cosh: return at::cosh(x);
    case UnaryOp::Asinh: return at::asinh(x);
    case UnaryOp::Acosh: return at::acosh(x);
    case UnaryOp::Atanh: return at::atanh(x);
  }
  throw std::runtime_error("unknown unary op");
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  auto op = codeAs<UnaryOp>(I(info, 0), smn::kUnaryOpCount, "unary op");
  return Id(info.Env(), unaryOp(op, T(info, 1), D(info, 2), D(info, 3)));
}

at::Tensor binaryOp(BinaryOp op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case BinaryOp::Add: return at::add(a, b);
    case BinaryOp::Sub: return at::sub(a, b);
    case BinaryOp::Multiply: return at::mul(a, b);
    case BinaryOp::RealDiv: return at::div(a, b);
    case BinaryOp::Maximum: return at::maximum(a, b);
    case BinaryOp::Minimum: return at::minimum(a, b);
    case BinaryOp::Pow: return at::pow(a, b);
    case BinaryOp::SquaredDifference: { auto d = at::sub(a, b); return at::mul(d, d); }
    case BinaryOp::FloorDiv: return at::floor(at::div(a, b));
    case BinaryOp::Mod: return at::remainder(a, b);
    case BinaryOp::Greater: return at::gt(a, b);
    case BinaryOp::GreaterEqual: return at::ge(a, b);
    case BinaryOp::Less: return at::lt(a, b);
    case BinaryOp::LessEqual: return at::le(a, b);
    case BinaryOp::Equal: return at::eq(a, b);
    case BinaryOp::NotEqual: return at::ne(a, b);
    case BinaryOp::LogicalAnd: return at::logical_and(a, b);
    case BinaryOp::LogicalOr: return at::logical_or(a, b);
    case BinaryOp::Atan2: return at::atan2(a, b);
    case BinaryOp::Prelu: return at::where(at::lt(a, 0), at::mul(a, b), a);  // Prelu(x, alpha)
    case BinaryOp::EluGrad: return at::where(at::lt(b, 0), at::mul(a, at::add(b, 1)), a);  // EluGrad(dy, y)
    case BinaryOp::ReluGrad: return at::threshold_backward(a, b, 0);                        // ReluGrad(dy, x): x > 0 ? dy : 0
  }
  throw std::runtime_error("unknown binary op");
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto op = codeAs<BinaryOp>(I(info, 0), smn::kBinaryOpCount, "binary op");
  return Id(info.Env(), binaryOp(op, T(info, 1), T(info, 2)));
}

// tfjs AddN: the elementwise sum of a list of same-shaped tensors, accumulated in place into a copy of the first.
Napi::Value AddN(const Napi::CallbackInfo& info) {
  auto ts = TL(info, 0);
  at::Tensor acc = ts.at(0).clone();
  for (size_t k = 1; k < ts.size(); k++) acc.add_(ts[k]);
  return Id(info.Env(), acc);
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  return Id(info.Env(), at::where(T(info, 0), T(info, 1), T(info, 2)));
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  DType dt = DT(info, 1);
  if (dt == DType::Int32 && x.is_floating_point()) x = at::trunc(x);  // tfjs casts float→int by truncation
  if (dt == DType::Bool) return Id(info.Env(), at::ne(x, 0));
  return Id(info.Env(), x.to(scalarOf(dt)));
}

// ---------------------------------------------------------------- reductions
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  auto op = codeAs<ReduceOp>(I(info, 0), smn::kReduceOpCount, "reduce op");
  auto x = T(info, 1);
  auto axes = V(info, 2);
  bool keep = B(info, 3);
  at::Tensor r;
  if (axes.empty()) return Id(info.Env(), x.clone());
  switch (op) {
    case ReduceOp::Sum: r = at::sum(x, axes, keep); break;
    case ReduceOp::Mean: r = at::mean(x, axes, keep); break;
    case ReduceOp::Max: r = at::amax(x, axes, keep); break;
    case ReduceOp::Min: r = at::amin(x, axes, keep); break;
    case ReduceOp::Prod: {
      r = x;
      std::vector<int64_t> s = axes;
      std::sort(s.rbegin(), s.rend());
      for (auto ax : s) r = at::prod(r, ax, keep);
      break;
    }
    case ReduceOp::All: {
      r = x;
      std::vector<int64_t> s = axes;
      std::sort(s.rbegin(), s.rend());
      for (auto ax : s) r = at::all(r, ax, keep);
      break;
    }
    case ReduceOp::Any: {
      r = x;
      std::vector<int64_t> s = axes;
      std::sort(s.rbegin(), s.rend());
      for (auto ax : s) r = at::any(r, ax, keep);
      break;
    }
  }
  if (x.scalar_type() == at::kInt && r.scalar_type() != at::kInt) r = r.to(at::kInt);
  return Id(info.Env(), r);
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  bool isMax = B(info, 0);
  auto x = T(info, 1);
  int64_t axis = I(info, 2);
  return Id(info.Env(), isMax ? at::argmax(x, axis) : at::argmin(x, axis));
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Id(info.Env(), at::softmax(T(info, 0), I(info, 1)));
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return Id(info.Env(), at::log_softmax(T(info, 0), I(info, 1)));
}

Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  int64_t axis = I(info, 1);
  bool exclusive = B(info, 2), reverse = B(info, 3);
  if (reverse) x = at::flip(x, {axis});
  auto r = at::cumsum(x, axis);
  if (exclusive) r = at::sub(r, x);
  if (reverse) r = at::flip(r, {axis});
  return Id(info.Env(), r);
}

// ---------------------------------------------------------------- shape ops
Napi::Value Reshape(const Napi::CallbackInfo& info) { return Id(info.Env(), T(info, 0).reshape(V(info, 1))); }
Napi::Value Transpose(const Napi::CallbackInfo& info) { return Id(info.Env(), T(info, 0).permute(V(info, 1))); }
Napi::Value Expand(const Napi::CallbackInfo& info) { return Id(info.Env(), T(info, 0).expand(V(info, 1))); }

Napi::Value Slice(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  auto begin = V(info, 1), size = V(info, 2);
  for (size_t d = 0; d < begin.size(); d++) x = x.narrow(d, begin[d], size[d]);
  return Id(info.Env(), x);
}

// begin/end/strides already normalised in JS (positive strides only, end exclusive)
Napi::Value StridedSlice(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  auto begin = V(info, 1), end = V(info, 2), strides = V(info, 3);
  for (size_t d = 0; d < begin.size(); d++) {
    int64_t n = std::max<int64_t>(0, end[d] - begin[d]);
    if (n == 0) {
      x = x.narrow(d, 0, 0);
      continue;
    }
    x = x.slice(d, begin[d], end[d], strides[d]);
  }
  return Id(info.Env(), x);
}

Napi::Value Concat(const Napi::CallbackInfo& info) { return Id(info.Env(), at::cat(TL(info, 0), I(info, 1))); }
Napi::Value Stack(const Napi::CallbackInfo& info) { return Id(info.Env(), at::stack(TL(info, 0), I(info, 1))); }
Napi::Value Unbind(const Napi::CallbackInfo& info) { return Ids(info.Env(), at::unbind(T(info, 0), I(info, 1))); }
Napi::Value Split(const Napi::CallbackInfo& info) {
  return Ids(info.Env(), at::split_with_sizes(T(info, 0), V(info, 1), I(info, 2)));
}
Napi::Value Flip(const Napi::CallbackInfo& info) { return Id(info.Env(), at::flip(T(info, 0), V(info, 1))); }
Napi::Value Tile(const Napi::CallbackInfo& info) { return Id(info.Env(), T(info, 0).repeat(V(info, 1))); }

// pads: [before0, after0, before1, after1, ...] in tfjs dim order
Napi::Value Pad(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  auto p = V(info, 1);
  double value = D(info, 2);
  std::vector<int64_t> tp;  // torch wants last dim first
  for (int64_t d = (int64_t)p.size() / 2 - 1; d >= 0; d--) {
    tp.push_back(p[2 * d]);
    tp.push_back(p[2 * d + 1]);
  }
  return Id(info.Env(), at::constant_pad_nd(x, tp, value));
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  return Id(info.Env(), at::full(V(info, 0), D(info, 1), opts(DT(info, 2))));
}

Napi::Value Range(const Napi::CallbackInfo& info) {
  // start, step, count, dtype
  double start = D(info, 0), step = D(info, 1);
  int64_t n = I(info, 2);
  auto r = at::arange(n, at::TensorOptions().dtype(at::kDouble).device(g_device)).mul_(step).add_(start);
  return Id(info.Env(), r.to(scalarOf(DT(info, 3))));
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  auto idx = T(info, 1);
  int64_t axis = I(info, 2);
  auto flat = idx.reshape({-1}).to(at::kLong);
  auto r = at::index_select(x, axis, flat);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
  for (auto s : idx.sizes()) shape.push_back(s);
  for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
  return Id(info.Env(), r.reshape(shape));
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  auto idx = T(info, 0).to(at::kLong);
  int64_t depth = I(info, 1);
  double on = D(info, 2), off = D(info, 3);
  DType dt = DT(info, 4);
  auto valid = at::logical_and(at::ge(idx, 0), at::lt(idx, depth));
  auto safe = at::where(valid, idx, at::zeros_like(idx));
  auto oh = at::one_hot(safe, depth);  // long
  oh = at::logical_and(oh.to(at::kBool), valid.unsqueeze(-1));
  auto r = at::where(oh, at::scalar_tensor(on, opts(dt)), at::scalar_tensor(off, opts(dt)));
  return Id(info.Env(), r);
}

Napi::Value TopK(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  int64_t k = I(info, 1);
  auto res = at::topk(x, k, -1, true, true);
  return Ids(info.Env(), {std::get<0>(res), std::get<1>(res)});
}

Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  auto x = T(info, 0);
  auto seg = T(info, 1).reshape({-1}).to(at::kLong);
  int64_t n = I(info, 2);
  std::vector<int64_t> shape{n};
  for (int64_t d = seg.numel() ? 1 : 1; d < x.dim(); d++) shape.push_back(x.size(d));
  auto out = at::zeros(shape, x.options());
  auto valid = at::logical_and(at::ge(seg, 0), at::lt(seg, n));
  if (!valid.all().item<bool>()) {
    auto keep = at::nonzero(valid).reshape({-1});
    out.index_add_(0, seg.index_select(0, keep), x.index_select(0, keep));
  } else {
    out.index_add_(0, seg, x);
  }
  return Id(info.Env(), out);
}

Napi::Value Nonzero(const Napi::CallbackInfo& info) { return Id(info.Env(), at::nonzero(T(info, 0))); }

Napi::Value Einsum(const Napi::CallbackInfo& info) {
  std::string eq = info[0].As<Napi::String>();
  return Id(info.Env(), at::einsum(eq, TL(info, 1)));
}

// ---------------------------------------------------------------- matmul
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  auto a = T(info, 0), b = T(info, 1);
  if (B(info, 2)) a = a.transpose(-1, -2);
  if (B(info, 3)) b = b.transpose(-1, -2);
  return Id(info.Env(), at::matmul(a, b));
}

// ---------------------------------------------------------------- convolution
// HWIO (logical) filter -> OIHW channels-last view; re-lays the slot out once (OHWI memory) when needed.
at::Tensor filterOIHW(int32_t id) {
  at::Tensor& w = get(id);
  auto oihw = w.permute({3, 2, 0, 1});
  if (oihw.is_contiguous(at::MemoryFormat::ChannelsLast)) return oihw;
  oihw = oihw.contiguous(at::MemoryFormat::ChannelsLast);
  w = oihw.permute({2, 3, 1, 0});  // same values, logical HWIO, OHWI memory
  return oihw;
}

// depthwise HWCM filter -> [C*M, 1, kh, kw]
at::Tensor filterDepthwise(const at::Tensor& w) {
  auto kh = w.size(0), kw = w.size(1), c = w.size(2), m = w.size(3);
  return w.permute({2, 3, 0, 1}).reshape({c * m, 1, kh, kw}).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor nchw(const at::Tensor& x) { return x.permute({0, 3, 1, 2}); }
at::Tensor nhwc(const at::Tensor& x) { return x.permute({0, 2, 3, 1}); }

const at::Tensor& dummy(std::vector<int64_t> shape, at::ScalarType st) {
  auto key = shape;
  key.push_back((int64_t)st);
  auto it = g_dummies.find(key);
  if (it != g_dummies.end()) return it->second;
  auto t = at::empty(shape, at::TensorOptions().dtype(st).device(g_device), at::MemoryFormat::ChannelsLast);
  return g_dummies.emplace(key, t).first->second;
}

struct ConvP {
  int64_t sh, sw, pt, pb, pl, pr, dh, dw;
  bool sym() const { return pt == pb && pl == pr; }
};
ConvP convP(const Napi::CallbackInfo& info, size_t i) {
  auto v = V(info, i);
  if (v.size() != 8) throw std::runtime_error("conv params: expected 8 numbers");
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

// x NHWC, w HWIO (or depthwise HWCM with groups = C)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  auto x = nchw(T(info, 0));
  auto p = convP(info, 2);
  bool depthwise = B(info, 3);
  at::Tensor w = depthwise ? filterDepthwise(T(info, 1)) : filterOIHW(I(info, 1));
  int64_t groups = depthwise ? x.size(1) : 1;
  std::vector<int64_t> pad{p.pt, p.pl};
  if (!p.sym()) {
    x = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, 0);
    pad = {0, 0};
  }
  auto y = at::convolution(x, w, c10::nullopt, {p.sh, p.sw}, pad, {p.dh, p.dw}, false, {0, 0}, groups);
  return Id(info.Env(), nhwc(y));
}

// dy NHWC, w HWIO, inputShape NHWC
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  auto dy = nchw(T(info, 0));
  auto inShape = V(info, 2);
  auto p = convP(info, 3);
  bool depthwise = B(info, 4);
  at::Tensor w = depthwise ? filterDepthwise(T(info, 1)) : filterOIHW(I(info, 1));
  int64_t n = inShape[0], h = inShape[1], wd = inShape[2], c = inShape[3];
  int64_t groups = depthwise ? c : 1;
  bool sym = p.sym();
  int64_t hp = sym ? h : h + p.pt + p.pb, wp = sym ? wd : wd + p.pl + p.pr;
  std::vector<int64_t> pad = sym ? std::vector<int64_t>{p.pt, p.pl} : std::vector<int64_t>{0, 0};
  const at::Tensor& xd = dummy({n, c, hp, wp}, dy.scalar_type());
  auto res = at::convolution_backward(dy, xd, w, c10::nullopt, {p.sh, p.sw}, pad, {p.dh, p.dw}, false, {0, 0}, groups,
                                      {true, false, false});
  auto dx = std::get<0>(res);
  if (!sym) dx = dx.narrow(2, p.pt, h).narrow(3, p.pl, wd);
  return Id(info.Env(), nhwc(dx));
}

// x NHWC, dy NHWC, filterShape HWIO (or HWCM)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  auto x = nchw(T(info, 0));
  auto dy = nchw(T(info, 1));
  auto fs = V(info, 2);
  auto p = convP(info, 3);
  bool depthwise = B(info, 4);
  int64_t kh = fs[0], kw = fs[1], ci = fs[2], co = fs[3];
  int64_t groups = depthwise ? ci : 1;
  std::vector<int64_t> pad{p.pt, p.pl};
  if (!p.sym()) {
    x = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, 0);
    pad = {0, 0};
  }
  std::vector<int64_t> wshape = depthwise ? std::vector<int64_t>{ci * co, 1, kh, kw} : std::vector<int64_t>{co, ci, kh, kw};
  const at::Tensor& wd = dummy(wshape, x.scalar_type());
  auto res = at::convolution_backward(dy, x, wd, c10::nullopt, {p.sh, p.sw}, pad, {p.dh, p.dw}, false, {0, 0}, groups,
                                      {false, true, false});
  auto dw = std::get<1>(res);
  if (depthwise) return Id(info.Env(), dw.reshape({ci, co, kh, kw}).permute({2, 3, 0, 1}));
  return Id(info.Env(), dw.permute({2, 3, 1, 0}));
}

// ---------------------------------------------------------------- pooling
// params: kh, kw, sh, sw, pt, pb, pl, pr
struct PoolP {
  int64_t kh, kw, sh, sw, pt, pb, pl, pr;
  bool sym() const { return pt == pb && pl == pr && pt * 2 <= kh && pl * 2 <= kw; }
};
PoolP poolP(const Napi::CallbackInfo& info, size_t i) {
  auto v = V(info, i);
  if (v.size() != 8) throw std::runtime_error("pool params: expected 8 numbers");
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  auto x = nchw(T(info, 0));
  auto p = poolP(info, 1);
  std::vector<int64_t> pad{p.pt, p.pl};
  if (!p.sym()) {
    x = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, -std::numeric_limits<double>::infinity());
    pad = {0, 0};
  }
  auto y = at::max_pool2d(x, {p.kh, p.kw}, {p.sh, p.sw}, pad);
  return Id(info.Env(), nhwc(y));
}

Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  auto dy = nchw(T(info, 0));
  auto x = nchw(T(info, 1));
  auto p = poolP(info, 2);
  int64_t h = x.size(2), w = x.size(3);
  std::vector<int64_t> pad{p.pt, p.pl};
  bool sym = p.sym();
  if (!sym) {
    x = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, -std::numeric_limits<double>::infinity());
    pad = {0, 0};
  }
  auto yi = at::max_pool2d_with_indices(x, {p.kh, p.kw}, {p.sh, p.sw}, pad);
  auto dx = at::max_pool2d_with_indices_backward(dy, x, {p.kh, p.kw}, {p.sh, p.sw}, pad, {1, 1}, false,
                                                 std::get<1>(yi));
  if (!sym) dx = dx.narrow(2, p.pt, h).narrow(3, p.pl, w);
  return Id(info.Env(), nhwc(dx));
}

// tfjs averages over the in-bounds pixels only.
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  auto x = nchw(T(info, 0));
  auto p = poolP(info, 1);
  if (p.sym()) {
    auto y = at::avg_pool2d(x, {p.kh, p.kw}, {p.sh, p.sw}, {p.pt, p.pl}, false, false);
    return Id(info.Env(), nhwc(y));
  }
  auto xp = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, 0);
  auto sum = at::avg_pool2d(xp, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, 1);
  auto ones = at::constant_pad_nd(at::ones({1, 1, x.size(2), x.size(3)}, x.options()), {p.pl, p.pr, p.pt, p.pb}, 0);
  auto cnt = at::avg_pool2d(ones, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, 1);
  return Id(info.Env(), nhwc(at::div(sum, cnt)));
}

// tfjs's AvgPoolGrad (cpu, wasm, webgl) divides by the whole window size, even where the forward pass averaged
// fewer in-bounds pixels; matched here so every backend trains alike.
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  auto dy = nchw(T(info, 0));
  auto x = nchw(T(info, 1));
  auto p = poolP(info, 2);
  if (p.sym()) {
    auto dx = at::avg_pool2d_backward(dy, x, {p.kh, p.kw}, {p.sh, p.sw}, {p.pt, p.pl}, false, true, c10::nullopt);
    return Id(info.Env(), nhwc(dx));
  }
  int64_t h = x.size(2), w = x.size(3);
  auto xp = at::constant_pad_nd(x, {p.pl, p.pr, p.pt, p.pb}, 0);
  auto dxp = at::avg_pool2d_backward(dy, xp, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, c10::nullopt);
  return Id(info.Env(), nhwc(dxp.narrow(2, p.pt, h).narrow(3, p.pl, w)));
}

// ---------------------------------------------------------------- normalisation
// x, mean, variance, offset (-1: none), scale (-1: none), eps — all broadcast against x (tfjs FusedBatchNorm)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  auto x = T(info, 0), mean = T(info, 1), var = T(info, 2);
  int32_t off = I(info, 3), sc = I(info, 4);
  double eps = D(info, 5);
  // y = x·a + b with a = scale/sqrt(var+eps), b = offset − mean·a: the small tensors are combined first, so the
  // activation is read and written once.
  auto a = at::rsqrt(at::add(var, eps));
  if (sc >= 0) a = at::mul(a, get(sc));
  auto b = at::neg(at::mul(mean, a));
  if (off >= 0) b = at::add(b, get(off));
  if (a.numel() < x.numel() && b.numel() < x.numel()) return Id(info.Env(), at::addcmul(b, x, a));
  return Id(info.Env(), at::add(at::mul(x, a), b));
}

// Train-mode batch norm over every axis but the last (channels) one: PyTorch's native_batch_norm on the
// channels-last view. Returns [y, mean, invStd] (mean and invStd are [C]).
at::Tensor chanFirst(const at::Tensor& x) {
  if (x.dim() == 4) return nchw(x);
  if (x.dim() == 2) return x;
  throw std::runtime_error("batchNormTrain: expected a rank-2 or rank-4 input");
}
at::Tensor chanLast(const at::Tensor& x) { return x.dim() == 4 ? nhwc(x) : x; }

Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  auto x = chanFirst(T(info, 0));
  auto g = T(info, 1), b = T(info, 2);
  double eps = D(info, 3);
  auto r = at::native_batch_norm(x, g, b, c10::nullopt, c10::nullopt, true, 0.0, eps);
  // The biased batch variance too (for the running statistics): 1/invstd² − eps, on C values.
  auto var = std::get<2>(r).pow(-2).sub_(eps);
  return Ids(info.Env(), {chanLast(std::get<0>(r)), std::get<1>(r), std::get<2>(r), var});
}

Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  auto dy = chanFirst(T(info, 0));
  auto x = chanFirst(T(info, 1));
  auto g = T(info, 2), mean = T(info, 3), invstd = T(info, 4);
  double eps = D(info, 5);
  auto r = at::native_batch_norm_backward(dy, x, g, c10::nullopt, c10::nullopt, mean, invstd, true, eps,
                                          {true, true, true});
  return Ids(info.Env(), {chanLast(std::get<0>(r)), std::get<1>(r), std::get<2>(r)});
}

// ---------------------------------------------------------------- masked weights (W ⊙ M / √mean M)
// The mask-and-scale step of @smn/subnetworks' maskedWeight, fused: forward reads W and S once to count the mask and
// once to write the weight; backward reads dy, W and S once for Σ dy·W·M and once to write the score gradient. tfjs
// ops need ~13 passes forward and ~10 backward over every masked weight. mode 0: M = [S > k]; mode 1: M = ±1.
// On CPU the loops run in W's memory order (conv filters are stored OHWI under their HWIO shape); elsewhere the same
// arithmetic runs as ATen ops.
std::vector<int64_t> memOrder(const at::Tensor& t) {
  std::vector<int64_t> p(t.dim());
  for (int64_t i = 0; i < t.dim(); i++) p[i] = i;
  std::stable_sort(p.begin(), p.end(), [&](int64_t a, int64_t b) { return t.stride(a) > t.stride(b); });
  return p;
}
std::vector<int64_t> inversePerm(const std::vector<int64_t>& p) {
  std::vector<int64_t> q(p.size());
  for (size_t i = 0; i < p.size(); i++) q[p[i]] = static_cast<int64_t>(i);
  return q;
}
constexpr int64_t kGrain = 16384;

double maskMean(const at::Tensor& s, float k, int mode) {
  int64_t n = s.numel();
  if (n == 0) return 0.0;
  if (!s.is_cpu()) {
    auto on = at::gt(s, k).sum().item<int64_t>();
    return mode == 0 ? double(on) / n : double(2 * on - n) / n;
  }
  auto sc = s.contiguous();
  const float* ps = sc.data_ptr<float>();
  int64_t on = at::parallel_reduce(0, n, kGrain, int64_t(0), [&](int64_t b, int64_t e, int64_t acc) {
    int32_t part = 0;  // a block of kGrain fits in int32: vectorisable
    for (int64_t i = b; i < e; i++) part += ps[i] > k ? 1 : 0;
    return acc + part;
  }, std::plus<int64_t>());
  return mode == 0 ? double(on) / n : double(2 * on - n) / n;
}

// The mask as a float tensor (ATen ops, any device): [S > k], or ±1 for mode 1.
at::Tensor maskOf(const at::Tensor& s, float k, int mode) {
  auto mask = at::gt(s, k).to(at::kFloat);
  return mode == 1 ? mask.mul(2).sub_(1) : mask;
}

float invScale(double m, int64_t n, bool scale) {
  if (!scale) return 1.0f;
  return static_cast<float>(1.0 / std::sqrt(std::max(std::fabs(m), 1.0 / double(std::max<int64_t>(n, 1)))));
}

// w, s, k, mode, scale -> [y, mean(M)]
Napi::Value MaskedWeight(const Napi::CallbackInfo& info) {
  // A rank-4 weight is a conv filter: store it once in the order convolutions want (OHWI), so the masked filter is
  // written in that order too and the conv that reads it copies nothing.
  if (get(I(info, 0)).dim() == 4) filterOIHW(I(info, 0));
  auto w = T(info, 0), s = T(info, 1);
  float k = static_cast<float>(D(info, 2));
  int mode = I(info, 3);
  bool scale = B(info, 4);
  int64_t n = w.numel();
  double m = maskMean(s, k, mode);
  float inv = invScale(m, n, scale);
  auto mean = at::scalar_tensor(m, at::TensorOptions().dtype(at::kFloat).device(w.device()));
  if (!w.is_cpu()) {
    auto mask = maskOf(s, k, mode);
    return Ids(info.Env(), {w.mul(mask).mul_(inv), mean});
  }
  auto perm = memOrder(w);
  auto wp = w.permute(perm).contiguous(), sp = s.permute(perm).contiguous();
  auto yp = at::empty_like(wp);
  const float *pw = wp.data_ptr<float>(), *ps = sp.data_ptr<float>();
  float* py = yp.data_ptr<float>();
  float off = mode == 1 ? -inv : 0.0f;
  at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) py[i] = pw[i] * (ps[i] > k ? inv : off);
  });
  return Ids(info.Env(), {yp.permute(inversePerm(perm)), mean});
}

// dy, w, s, mean(M), k, mode, scale, weightGrad -> [dS] or [dS, dW]
//   dS = dy·W/√d − (1/(2N))·d^(−3/2)·flows·Σ dy·W·M,  dW = dy·M/√d   (d = max(|m|, 1/N), flows = sign(m)·[|m| > 1/2N])
Napi::Value MaskedWeightGrad(const Napi::CallbackInfo& info) {
  auto dy = T(info, 0), w = T(info, 1), s = T(info, 2);
  double m = T(info, 3).item<double>();
  float k = static_cast<float>(D(info, 4));
  int mode = I(info, 5);
  bool scale = B(info, 6), wantW = B(info, 7);
  int64_t n = w.numel();
  float inv = invScale(m, n, scale);
  double flows = (std::fabs(m) > 0.5 / double(std::max<int64_t>(n, 1))) ? (m > 0 ? 1.0 : -1.0) : 0.0;
  if (!w.is_cpu()) {
    auto mask = maskOf(s, k, mode);
    auto gw = dy.mul(w);
    auto gs = gw.mul(inv);
    if (scale) {
      double coef = gw.mul(mask).sum().item<double>() * double(inv) * inv * inv * flows * 0.5 / double(n);
      gs.sub_(coef);
    }
    if (!wantW) return Ids(info.Env(), {gs});
    return Ids(info.Env(), {gs, dy.mul(mask).mul_(inv)});
  }
  auto perm = memOrder(w);
  auto ip = inversePerm(perm);
  auto wp = w.permute(perm).contiguous(), sp = s.permute(perm).contiguous(), dp = dy.permute(perm).contiguous();
  const float *pw = wp.data_ptr<float>(), *ps = sp.data_ptr<float>(), *pd = dp.data_ptr<float>();
  double coef = 0.0;
  if (scale && flows != 0.0) {
    // 8 float lanes over blocks of 1024 (vectorisable), combined in double.
    float neg = mode == 1 ? -1.0f : 0.0f;
    double dot = at::parallel_reduce(0, n, kGrain, 0.0, [&](int64_t b, int64_t e, double acc) {
      for (int64_t i0 = b; i0 < e; i0 += 1024) {
        int64_t i1 = std::min(e, i0 + 1024), i = i0;
        float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (; i + 8 <= i1; i += 8)
          for (int j = 0; j < 8; j++) lanes[j] += pd[i + j] * pw[i + j] * (ps[i + j] > k ? 1.0f : neg);
        for (; i < i1; i++) lanes[0] += pd[i] * pw[i] * (ps[i] > k ? 1.0f : neg);
        acc += double(lanes[0] + lanes[1] + lanes[2] + lanes[3]) + double(lanes[4] + lanes[5] + lanes[6] + lanes[7]);
      }
      return acc;
    }, std::plus<double>());
    coef = dot * double(inv) * inv * inv * flows * 0.5 / double(n);
  }
  auto gsp = at::empty_like(wp);
  float* pgs = gsp.data_ptr<float>();
  float c = static_cast<float>(coef);
  at::Tensor gwp;
  float* pgw = nullptr;
  if (wantW) {
    gwp = at::empty_like(wp);
    pgw = gwp.data_ptr<float>();
  }
  float off = mode == 1 ? -inv : 0.0f;
  at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      pgs[i] = pd[i] * pw[i] * inv - c;
      if (pgw) pgw[i] = pd[i] * (ps[i] > k ? inv : off);
    }
  });
  if (!wantW) return Ids(info.Env(), {gsp.permute(ip)});
  return Ids(info.Env(), {gsp.permute(ip), gwp.permute(ip)});
}

// ---------------------------------------------------------------- optimizer
// One SGD step in one pass (torch.optim.SGD, and the reference's constant-wd variant):
//   d = g + wd·p (or + wd with constantWd); buf = d on the first step, else m·buf + (1 − dampening)·d;
//   d = nesterov ? d + m·buf : buf; p' = p − lr·d.
// p, g, buf (-1: none yet), lr, m, dampening, nesterov, wd, constantWd -> [p'] (m = 0) or [p', buf']. The loop runs in
// g's memory order and the outputs keep it, so a parameter whose gradient arrives in a conv filter's order (scores of
// masked filters) is copied once, on its first step, and never again.
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  auto p = T(info, 0), g = T(info, 1);
  int32_t bufId = I(info, 2);
  float lr = static_cast<float>(D(info, 3)), m = static_cast<float>(D(info, 4)), damp = static_cast<float>(D(info, 5));
  bool nesterov = B(info, 6);
  float wd = static_cast<float>(D(info, 7));
  bool constantWd = B(info, 8);
  bool first = bufId < 0;
  if (!p.is_cpu()) {
    auto d = wd == 0.0f ? g : (constantWd ? g.add(wd) : g.add(p, wd));
    if (m == 0.0f) return Ids(info.Env(), {p.sub(d, lr)});
    auto buf = first ? d.clone() : get(bufId).mul(m).add_(d, 1.0f - damp);
    auto step = nesterov ? d.add(buf, m) : buf;
    return Ids(info.Env(), {p.sub(step, lr), buf});
  }
  auto perm = memOrder(g);
  auto gp = g.permute(perm).contiguous(), pp = p.permute(perm).contiguous();
  at::Tensor bp = first ? at::Tensor() : get(bufId).permute(perm).contiguous();
  auto np = at::empty_like(gp);
  at::Tensor nb = m != 0.0f ? at::empty_like(gp) : at::Tensor();
  const float *pg = gp.data_ptr<float>(), *ppv = pp.data_ptr<float>(), *pb = first ? nullptr : bp.data_ptr<float>();
  float *pnp = np.data_ptr<float>(), *pnb = m != 0.0f ? nb.data_ptr<float>() : nullptr;
  at::parallel_for(0, gp.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float d = pg[i] + (wd == 0.0f ? 0.0f : constantWd ? wd : wd * ppv[i]);
      if (pnb) {
        float bu = pb ? m * pb[i] + (1.0f - damp) * d : d;
        pnb[i] = bu;
        d = nesterov ? d + m * bu : bu;
      }
      pnp[i] = ppv[i] - lr * d;
    }
  });
  auto ip = inversePerm(perm);
  if (!pnb) return Ids(info.Env(), {np.permute(ip)});
  return Ids(info.Env(), {np.permute(ip), nb.permute(ip)});
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
#define EXPORT(name, fn) exports.Set(name, Napi::Function::New<Wrap<fn>>(env, name))
  EXPORT("upload", Upload);
  EXPORT("download", Download);
  EXPORT("free", Free);
  EXPORT("live", Live);
  EXPORT("bytes", Bytes);
  EXPORT("meta", Meta);
  EXPORT("init", Init);
  EXPORT("info", Info);
  EXPORT("sync", Sync);
  EXPORT("unary", Unary);
  EXPORT("binary", Binary);
  EXPORT("addN", AddN);
  EXPORT("select", Select);
  EXPORT("cast", Cast);
  EXPORT("reduce", Reduce);
  EXPORT("argReduce", ArgReduce);
  EXPORT("softmax", Softmax);
  EXPORT("logSoftmax", LogSoftmax);
  EXPORT("cumsum", Cumsum);
  EXPORT("reshape", Reshape);
  EXPORT("transpose", Transpose);
  EXPORT("expand", Expand);
  EXPORT("slice", Slice);
  EXPORT("stridedSlice", StridedSlice);
  EXPORT("concat", Concat);
  EXPORT("stack", Stack);
  EXPORT("unbind", Unbind);
  EXPORT("split", Split);
  EXPORT("flip", Flip);
  EXPORT("tile", Tile);
  EXPORT("pad", Pad);
  EXPORT("fill", Fill);
  EXPORT("range", Range);
  EXPORT("gather", Gather);
  EXPORT("oneHot", OneHot);
  EXPORT("topk", TopK);
  EXPORT("segmentSum", SegmentSum);
  EXPORT("nonzero", Nonzero);
  EXPORT("einsum", Einsum);
  EXPORT("matmul", MatMul);
  EXPORT("conv2d", Conv2D);
  EXPORT("conv2dBackpropInput", Conv2DBackpropInput);
  EXPORT("conv2dBackpropFilter", Conv2DBackpropFilter);
  EXPORT("maxPool", MaxPool);
  EXPORT("maxPoolGrad", MaxPoolGrad);
  EXPORT("avgPool", AvgPool);
  EXPORT("avgPoolGrad", AvgPoolGrad);
  EXPORT("batchNorm", BatchNorm);
  EXPORT("batchNormTrain", BatchNormTrain);
  EXPORT("batchNormTrainGrad", BatchNormTrainGrad);
  EXPORT("maskedWeight", MaskedWeight);
  EXPORT("maskedWeightGrad", MaskedWeightGrad);
  EXPORT("sgdStep", SgdStep);
#undef EXPORT
  return exports;
}

NODE_API_MODULE(smn_torch, InitModule)
