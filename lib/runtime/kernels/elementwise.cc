// Elementwise ops: unary math and activations, binary arithmetic with numpy
// broadcasting, comparisons and logic (bool outputs), variadic Sum/Mean/Min/Max,
// PRelu and Where.
//
// Types: float for math and activations (the runner computes in float32; double
// where the op is plain arithmetic); int32/int64 (and int8/uint8) for arithmetic,
// comparisons, Min/Max, Neg, Abs; bool for And/Or/Xor/Not and comparison results.
// Anything else is rejected at run time with the node named.
// MACs: elementwise ops are counted as 0 (pare counts multiply-accumulate ops only).
#include <cmath>
#include <cstring>

#include "lib/runtime/broadcast.h"
#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernels/chunks.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

// ---------- unary ----------

// Runs row(self, i0, i1) over fixed chunks of [0, n). Not a template, so that
// every op shares one std::function type and only its own loop is compiled per op.
void for_chunks_erased(const KernelContext& ctx, int64_t n, void (*row)(const void*, int64_t, int64_t),
                       const void* self) {
  for_chunks(ctx, n, [&](int64_t i0, int64_t i1) { row(self, i0, i1); });
}

// One unary loop over the tensors of one call: y[i] = f(x[i]).
template <typename F, typename T>
struct UnaryCall {
  const F* f;
  const T* x;
  T* y;
  static void row(const void* self, int64_t i0, int64_t i1) {
    const auto& c = *static_cast<const UnaryCall*>(self);
    const F& f = *c.f;
    for (int64_t i = i0; i < i1; ++i) c.y[i] = f(c.x[i]);
  }
};

template <typename F, typename T>
void map_erased(const KernelContext& ctx, const F& f, const TensorView& x, TensorView& y) {
  UnaryCall<F, T> call{&f, x.as<T>(), y.as<T>()};
  for_chunks_erased(ctx, x.numel(), &UnaryCall<F, T>::row, &call);
}

// y = f(x) for x of the types Ts; F is callable on each of them.
template <typename F, typename... Ts>
class Unary : public Kernel {
 public:
  explicit Unary(F f) : f_(f) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    auto map = [&](auto t) { map_erased<F, decltype(t)>(ctx, f_, x, y); };
    if (!visit_dtype<Ts...>(x.dtype, map)) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
  }

 private:
  F f_;
};

// A double element computed in float by a float function behind a pointer:
// one loop for every float op's double inputs (the runner computes in float32).
struct DoubleInFloat {
  float (*fn)(const void* op, float);
  const void* op;
  double operator()(double v) const { return fn(op, static_cast<float>(v)); }
};

// A float activation or math function; F maps float -> float. The float loop
// is compiled per op (hot, vectorisable); double inputs go through F as a
// plain function, in float too.
template <typename F>
class FloatUnary : public Kernel {
 public:
  explicit FloatUnary(F f) : f_(f) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    if (x.dtype == DataType::kFloat) return map_erased<F, float>(ctx, f_, x, y);
    if (x.dtype != DataType::kDouble) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    map_erased<DoubleInFloat, double>(ctx, DoubleInFloat{&at, &f_}, x, y);
  }

 private:
  static float at(const void* f, float v) { return (*static_cast<const F*>(f))(v); }
  F f_;
};

template <typename F>
std::unique_ptr<Kernel> float_unary(F f) {
  return std::make_unique<FloatUnary<F>>(f);
}

// Neg, Abs, Sign on numbers of any common type.
template <typename F>
std::unique_ptr<Kernel> numeric_unary(F f) {
  return std::make_unique<Unary<F, float, double, int32_t, int64_t, int8_t>>(f);
}

class Not : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kBool) compute_error(ctx, "Not takes bool");
    TensorView& y = ctx.allocate_output(0, DataType::kBool, x.dims);
    map_flat(ctx, x.as<bool>(), y.as<bool>(), x.numel(), [](bool v) { return !v; });
  }
};

// Clip: bounds are attributes before opset 11, optional scalar inputs after.
class Clip : public Kernel {
 public:
  explicit Clip(const KernelInit& init) : attr_bounds_(init.opset < 11) {
    lo_ = init.attr_float("min", -std::numeric_limits<float>::infinity());
    hi_ = init.attr_float("max", std::numeric_limits<float>::infinity());
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    double lo = attr_bounds_ ? lo_ : -std::numeric_limits<double>::infinity();
    double hi = attr_bounds_ ? hi_ : std::numeric_limits<double>::infinity();
    if (!attr_bounds_) {
      if (const TensorView* m = ctx.input(1)) lo = scalar(ctx, *m);
      if (const TensorView* m = ctx.input(2)) hi = scalar(ctx, *m);
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    auto clip = [&](auto tag) {
      using T = decltype(tag);
      T l = std::isinf(lo) ? std::numeric_limits<T>::lowest() : static_cast<T>(lo);
      T h = std::isinf(hi) ? std::numeric_limits<T>::max() : static_cast<T>(hi);
      map_flat(ctx, x.as<T>(), y.as<T>(), x.numel(), [l, h](T v) { return v < l ? l : (v > h ? h : v); });
    };
    if (!visit_dtype<float, double, int32_t, int64_t, int8_t, uint8_t>(x.dtype, clip))
      compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
  }

 private:
  static double scalar(const KernelContext& ctx, const TensorView& t) {
    if (t.numel() != 1) compute_error(ctx, "min and max must be scalars");
    switch (t.dtype) {
      case DataType::kFloat: return *t.as<float>();
      case DataType::kDouble: return *t.as<double>();
      case DataType::kInt32: return *t.as<int32_t>();
      case DataType::kInt64: return static_cast<double>(*t.as<int64_t>());
      case DataType::kInt8: return *t.as<int8_t>();
      case DataType::kUint8: return *t.as<uint8_t>();
      default: compute_error(ctx, "unsupported bound type");
    }
  }
  bool attr_bounds_;
  float lo_, hi_;
};

// ---------- binary ----------

enum class Bin { kAdd, kSub, kMul, kDiv, kPow, kMin, kMax, kMod, kFMod, kEq, kLt, kGt, kLe, kGe, kAnd, kOr, kXor, kPRelu };

bool is_comparison(Bin op) { return op >= Bin::kEq && op <= Bin::kGe; }
bool is_logic(Bin op) { return op == Bin::kAnd || op == Bin::kOr || op == Bin::kXor; }

// Signed integer arithmetic wraps (two's complement, as numpy and ONNX Runtime
// compute it) instead of overflowing, which C++ leaves undefined.
template <typename T>
T wrap(Bin op, T a, T b) {
  using U = std::make_unsigned_t<T>;
  U x = static_cast<U>(a), y = static_cast<U>(b);
  switch (op) {
    case Bin::kAdd: return static_cast<T>(static_cast<U>(x + y));
    case Bin::kSub: return static_cast<T>(static_cast<U>(x - y));
    default: return static_cast<T>(static_cast<U>(x * y));
  }
}

template <typename T>
T apply(Bin op, T a, T b) {
  constexpr bool kSignedInt = std::is_integral_v<T> && std::is_signed_v<T> && !std::is_same_v<T, bool>;
  switch (op) {
    case Bin::kAdd: if constexpr (kSignedInt) return wrap(op, a, b); else return a + b;
    case Bin::kSub: if constexpr (kSignedInt) return wrap(op, a, b); else return a - b;
    case Bin::kMul: if constexpr (kSignedInt) return wrap(op, a, b); else return a * b;
    case Bin::kDiv:
      // Integer division by zero is refused before the loop (check_divisors);
      // INT_MIN / -1 wraps to INT_MIN as in two's complement (the CPU would trap).
      if constexpr (kSignedInt) {
        if (b == -1) return wrap(Bin::kSub, T{0}, a);
      }
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) return 0;
      }
      return a / b;
    case Bin::kMin: return std::min(a, b);
    case Bin::kMax: return std::max(a, b);
    case Bin::kPRelu: return a < 0 ? static_cast<T>(a * b) : a;
    case Bin::kPow: return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    case Bin::kFMod:
      if constexpr (std::is_floating_point_v<T>) return std::fmod(a, b);
      else if constexpr (kSignedInt) return b == 0 || b == -1 ? 0 : static_cast<T>(a % b);  // INT_MIN % -1 traps
      else return b == 0 ? 0 : static_cast<T>(a % b);
    case Bin::kMod:
      if constexpr (std::is_floating_point_v<T>) {
        T r = std::fmod(a, b);
        return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
      } else {
        if (b == 0) return 0;
        if constexpr (kSignedInt) {
          if (b == -1) return 0;  // INT_MIN % -1 traps; every x % -1 is 0
        }
        T r = static_cast<T>(a % b);
        return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
      }
    default: return 0;
  }
}

template <typename T>
bool compare(Bin op, T a, T b) {
  switch (op) {
    case Bin::kEq: return a == b;
    case Bin::kLt: return a < b;
    case Bin::kGt: return a > b;
    case Bin::kLe: return a <= b;
    case Bin::kGe: return a >= b;
    case Bin::kAnd: return a && b;
    case Bin::kOr: return a || b;
    case Bin::kXor: return static_cast<bool>(a) != static_cast<bool>(b);
    default: return false;
  }
}

// How a binary op computes one row: y[i] = op(a[i * ia], b[i * ib]) for i in
// [0, n), with element strides ia and ib (0 where an input is broadcast). One
// broadcast driver serves every op and element type through it: the float
// arithmetic that real models spend their time in has a loop of its own per op
// (float_row, vectorised), every other (op, type) pair goes element by element
// through a small function behind a pointer (generic_row), which keeps the
// binary from holding a vectorised loop per op, type and broadcast case
// (1 MB of pare-run's 3 MB when it did; docs/runtime.md, "Size").
struct RowOp {
  void (*row)(const RowOp& op, const void* a, int64_t ia, const void* b, int64_t ib, void* y, int64_t n);
  void (*elem)() = nullptr;  // generic_row's element function, cast back to its type there
};

template <Bin op>
struct FloatOp {
  float operator()(float a, float b) const { return apply(op, a, b); }
};

template <typename F>
void float_row(const RowOp&, const void* a_, int64_t ia, const void* b_, int64_t ib, void* y_, int64_t n) {
  const auto* a = static_cast<const float*>(a_);
  const auto* b = static_cast<const float*>(b_);
  auto* y = static_cast<float*>(y_);
  F f;
  if (ia == 1 && ib == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  } else if (ia == 1 && ib == 0) {
    float bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], bv);
  } else if (ia == 0 && ib == 1) {
    float av = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i * ia], b[i * ib]);
  }
}

template <typename T, typename R>
void generic_row(const RowOp& op, const void* a_, int64_t ia, const void* b_, int64_t ib, void* y_, int64_t n) {
  auto f = reinterpret_cast<R (*)(T, T)>(op.elem);
  const auto* a = static_cast<const T*>(a_);
  const auto* b = static_cast<const T*>(b_);
  auto* y = static_cast<R*>(y_);
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i * ia], b[i * ib]);
}

template <Bin op, typename T>
T arith_elem(T a, T b) {
  return apply(op, a, b);
}
template <Bin op, typename T>
bool bool_elem(T a, T b) {
  return compare(op, a, b);
}

template <typename T>
RowOp generic_arith(Bin op) {
  using Fn = T (*)(T, T);
  static constexpr Fn kElems[] = {
      arith_elem<Bin::kAdd, T>, arith_elem<Bin::kSub, T>, arith_elem<Bin::kMul, T>, arith_elem<Bin::kDiv, T>,
      arith_elem<Bin::kPow, T>, arith_elem<Bin::kMin, T>, arith_elem<Bin::kMax, T>, arith_elem<Bin::kMod, T>,
      arith_elem<Bin::kFMod, T>};
  Fn f = op == Bin::kPRelu ? arith_elem<Bin::kPRelu, T> : kElems[static_cast<int>(op)];
  return {generic_row<T, T>, reinterpret_cast<void (*)()>(f)};
}

template <typename T>
RowOp generic_bool(Bin op) {
  using Fn = bool (*)(T, T);
  static constexpr Fn kElems[] = {bool_elem<Bin::kEq, T>,  bool_elem<Bin::kLt, T>, bool_elem<Bin::kGt, T>,
                                  bool_elem<Bin::kLe, T>,  bool_elem<Bin::kGe, T>, bool_elem<Bin::kAnd, T>,
                                  bool_elem<Bin::kOr, T>,  bool_elem<Bin::kXor, T>};
  return {generic_row<T, bool>, reinterpret_cast<void (*)()>(kElems[static_cast<int>(op) - static_cast<int>(Bin::kEq)])};
}

// The row of `op` on elements of type T (a bool output for comparisons and logic).
template <typename T>
RowOp row_op(Bin op) {
  if constexpr (std::is_same_v<T, bool>) {
    if (is_logic(op) || op == Bin::kEq) return generic_bool<T>(op);
    return {};  // refused by the caller
  } else {
    if (is_comparison(op) || is_logic(op)) return generic_bool<T>(op);
    if constexpr (std::is_same_v<T, float>) {
      switch (op) {
        case Bin::kAdd: return {float_row<FloatOp<Bin::kAdd>>};
        case Bin::kSub: return {float_row<FloatOp<Bin::kSub>>};
        case Bin::kMul: return {float_row<FloatOp<Bin::kMul>>};
        case Bin::kDiv: return {float_row<FloatOp<Bin::kDiv>>};
        case Bin::kMin: return {float_row<FloatOp<Bin::kMin>>};
        case Bin::kMax: return {float_row<FloatOp<Bin::kMax>>};
        case Bin::kPRelu: return {float_row<FloatOp<Bin::kPRelu>>};
        default: break;
      }
    }
    return generic_arith<T>(op);
  }
}

// y[o] = op(a[i], b[j]) with numpy broadcasting, over raw bytes: `es` is the
// inputs' element size and `ys` the output's. Rows of the last axis are the
// unit of work, with whole-tensor fast paths for the common layouts.
void broadcast_rows(const KernelContext& ctx, const RowOp& op, const TensorView& a, const TensorView& b,
                    const TensorView& y, const uint8_t* pa, const uint8_t* pb, uint8_t* py, size_t es, size_t ys,
                    const Epilogue* e = nullptr, Isa isa = Isa::kBaseline) {
  int64_t n = y.numel();
  if (n == 0) return;
  int64_t na = a.numel(), nb = b.numel();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    int64_t ia = na == n ? 1 : 0, ib = nb == n ? 1 : 0;
    for_chunks(ctx, n, [&](int64_t k0, int64_t k1) {
      op.row(op, pa + k0 * ia * es, ia, pb + k0 * ib * es, ib, py + k0 * ys, k1 - k0);
      // While the chunk is in cache: BlazeFace's residual Add -> Relu pairs
      // spent as long in the Relu's own pass over memory as in the Add.
      if (e) e->apply(reinterpret_cast<float*>(py + k0 * ys), k1 - k0, isa);
    });
    return;
  }
  const auto& out = y.dims;
  size_t rank = out.size();
  auto sa = broadcast_strides(a.dims, out), sb = broadcast_strides(b.dims, out);
  int64_t inner = out.back(), rows = n / inner, ia = sa.back(), ib = sb.back();
  ctx.parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, oa = 0, ob = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        int64_t idx = rem % out[d];
        rem /= out[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      op.row(op, pa + oa * es, ia, pb + ob * es, ib, py + r * inner * ys, inner);
      if (e) e->apply(reinterpret_cast<float*>(py + r * inner * ys), inner, isa);
    }
  });
}

// Pow keeps the base's type whatever the exponent's: float ** int64 is common.
// Returns the exponent's elements converted to the base's type `to`.
std::vector<uint8_t> exponent_as(DataType to, const TensorView& e) {
  std::vector<uint8_t> out;
  auto convert = [&](auto t_tag) {
    using T = decltype(t_tag);
    out.resize(static_cast<size_t>(e.numel()) * sizeof(T));
    T* po = reinterpret_cast<T*>(out.data());
    auto copy = [&](auto s_tag) {
      using S = decltype(s_tag);
      for (int64_t i = 0; i < e.numel(); ++i) po[i] = static_cast<T>(e.as<S>()[i]);
    };
    if (!visit_dtype<float, double, int32_t, int64_t, uint32_t, uint64_t>(e.dtype, copy))
      fail("unsupported exponent type {}", ir::name(e.dtype));
  };
  visit_dtype<float, double, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t, uint32_t, uint64_t>(to, convert);
  return out;
}

// ONNX leaves integer division by zero undefined and the CPU traps on it
// (SIGFPE): refuse it with the node named, whether at run time or while
// folding constants. (Integer Mod by zero yields 0, as it always has here.)
void check_divisors(KernelContext& ctx, const TensorView& b, const uint8_t* pb) {
  if (!ir::is_integer(b.dtype)) return;
  size_t es = ir::size_of(b.dtype);
  for (int64_t i = 0; i < b.numel(); ++i) {
    bool zero = true;
    for (size_t k = 0; k < es; ++k) zero = zero && pb[i * es + k] == 0;
    if (zero) compute_error(ctx, fmt::format("integer division by zero (divisor element {})", i));
  }
}

// The row of `op` for elements of `dtype`, or {} when the type is not computed.
RowOp row_for(Bin op, DataType dtype) {
  RowOp r{};
  auto pick = [&](auto t) { r = row_op<decltype(t)>(op); };
  visit_dtype<float, double, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t, uint32_t, uint64_t, bool>(dtype, pick);
  return r;
}

class Binary : public Kernel {
 public:
  explicit Binary(Bin op) : op_(op) {}
  // Before opset 7, broadcast=1 with `axis` aligns B with A starting at that axis
  // (without `axis`, at the end, as numpy does).
  // Not inlined: every op's factory would copy the Epilogue (2.5 KB of pare-run).
  __attribute__((noinline)) Binary(Bin op, const KernelInit& init) : op_(op), isa_(init.isa) {
    // The session fuses what follows a float Add (an activation, steps, a QDQ
    // round trip; never per-channel factors) into it.
    if (init.epilogue) epilogue_ = *init.epilogue;
    if (init.opset < 7 && init.attr_int("broadcast", 0) != 0 && init.node.has_attr("axis"))
      legacy_axis_ = init.attr_int("axis", 0);
    // PRelu before opset 7 takes a per-channel slope [C] for an input [N, C, ...].
    legacy_prelu_ = op == Bin::kPRelu && init.opset < 7;
  }
  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    TensorView b = *ctx.input(1);
    int64_t legacy_axis = legacy_axis_;
    if (legacy_prelu_ && b.rank() == 1 && a.rank() > 2 && b.dims[0] == a.dims[1]) legacy_axis = 1;
    if (legacy_axis >= 0) {
      int64_t axis = normalize_axis(legacy_axis, static_cast<int64_t>(a.rank()));
      std::vector<int64_t> dims(axis, 1);
      dims.insert(dims.end(), b.dims.begin(), b.dims.end());
      while (dims.size() < a.rank()) dims.push_back(1);
      b.dims = dims;
    }
    if (a.dtype != b.dtype && op_ != Bin::kPow && op_ != Bin::kPRelu)
      compute_error(ctx, fmt::format("inputs have different types ({} and {})", ir::name(a.dtype), ir::name(b.dtype)));
    std::vector<int64_t> out_dims;
    try {
      out_dims = broadcast_shapes(a.dims, b.dims);
    } catch (const Error& e) {
      compute_error(ctx, e.message());
    }
    DataType out_type = is_comparison(op_) || is_logic(op_) ? DataType::kBool : a.dtype;
    TensorView& y = ctx.allocate_output(0, out_type, out_dims);
    RowOp row = row_for(op_, a.dtype);
    if (!row.row) {
      if (a.dtype == DataType::kBool) compute_error(ctx, "bool inputs are only supported for And, Or, Xor and Equal");
      compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(a.dtype)));
    }
    const auto* pb = static_cast<const uint8_t*>(b.data);
    std::vector<uint8_t> converted;
    if (b.dtype != a.dtype && a.dtype != DataType::kBool) {
      converted = exponent_as(a.dtype, b);
      pb = converted.data();
    }
    if (op_ == Bin::kDiv) check_divisors(ctx, b, pb);
    bool fused = !epilogue_.none();  // a fused chain always computes something
    if (fused && out_type != DataType::kFloat) compute_error(ctx, "a fused activation needs float32 inputs");
    broadcast_rows(ctx, row, a, b, y, static_cast<const uint8_t*>(a.data), pb, static_cast<uint8_t*>(y.data),
                   ir::size_of(a.dtype), ir::size_of(out_type), fused ? &epilogue_ : nullptr, isa_);
  }

 private:
  Bin op_;
  Isa isa_;
  Epilogue epilogue_;  // what the session fused after it; none() otherwise
  int64_t legacy_axis_ = -1;
  bool legacy_prelu_ = false;
};

// Sum, Mean, Min, Max over any number of broadcast inputs: the first input
// broadcast into y, then y = op(y, input k) in order, with the binary rows.
class Variadic : public Kernel {
 public:
  Variadic(Bin op, bool mean) : op_(op), mean_(mean) {}
  void compute(KernelContext& ctx) override {
    std::vector<int64_t> dims = ctx.input(0)->dims;
    for (size_t k = 1; k < ctx.num_inputs(); ++k) dims = broadcast_shapes(dims, ctx.input(k)->dims);
    const TensorView& first = *ctx.input(0);
    TensorView& y = ctx.allocate_output(0, first.dtype, dims);
    if (first.dtype == DataType::kBool || !row_for(op_, first.dtype).row)
      compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(first.dtype)));
    size_t es = ir::size_of(y.dtype);
    auto* py = static_cast<uint8_t*>(y.data);
    const auto* p0 = static_cast<const uint8_t*>(first.data);
    for_each_broadcast<1>(ctx, y.dims, {&first.dims},
                          [&](int64_t o, int64_t i) { std::memcpy(py + o * es, p0 + i * es, es); });
    RowOp row = row_for(op_, y.dtype);
    for (size_t k = 1; k < ctx.num_inputs(); ++k) {
      const TensorView& in = *ctx.input(k);
      if (in.dtype != y.dtype) compute_error(ctx, "inputs have different types");
      broadcast_rows(ctx, row, y, in, y, py, static_cast<const uint8_t*>(in.data), py, es, es);
    }
    if (mean_) {
      // y / count, with count in y's type (integer division for integers).
      uint8_t count[8] = {};
      auto fill = [&](auto t) {
        auto c = static_cast<decltype(t)>(ctx.num_inputs());
        std::memcpy(count, &c, sizeof c);
      };
      visit_dtype<float, double, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t, uint32_t, uint64_t>(y.dtype, fill);
      TensorView scalar{y.dtype, {}, count};
      broadcast_rows(ctx, row_for(Bin::kDiv, y.dtype), y, scalar, y, py, count, py, es, es);
    }
  }

 private:
  Bin op_;
  bool mean_;
};

class Where : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& c = *ctx.input(0);
    const TensorView& x = *ctx.input(1);
    const TensorView& y = *ctx.input(2);
    if (c.dtype != DataType::kBool || x.dtype != y.dtype) compute_error(ctx, "Where takes a bool condition and two inputs of one type");
    auto dims = broadcast_shapes(broadcast_shapes(c.dims, x.dims), y.dims);
    TensorView& out = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    const bool* pc = c.as<bool>();
    const auto* px = static_cast<const uint8_t*>(x.data);
    const auto* py = static_cast<const uint8_t*>(y.data);
    auto* po = static_cast<uint8_t*>(out.data);
    for_each_broadcast<3>(ctx, dims, {&c.dims, &x.dims, &y.dims}, [&](int64_t o, int64_t i, int64_t j, int64_t k) {
      std::memcpy(po + o * es, pc[i] ? px + j * es : py + k * es, es);
    });
  }
};

float erf_f(float x) { return std::erf(x); }

template <Bin op>
std::unique_ptr<Kernel> binary(const KernelInit& init) {
  return std::make_unique<Binary>(op, init);
}

}  // namespace

std::vector<KernelDef> elementwise_kernels() {
  using I = const KernelInit&;
  return {
      onnx_op("Relu", 1, [](I) { return float_unary([](float x) { return x > 0 ? x : 0.0f; }); }),
      onnx_op("Sigmoid", 1, [](I) { return float_unary([](float x) { return 1.0f / (1.0f + std::exp(-x)); }); }),
      onnx_op("Tanh", 1, [](I) { return float_unary([](float x) { return std::tanh(x); }); }),
      onnx_op("Exp", 1, [](I) { return float_unary([](float x) { return std::exp(x); }); }),
      onnx_op("Log", 1, [](I) { return float_unary([](float x) { return std::log(x); }); }),
      onnx_op("Sqrt", 1, [](I) { return float_unary([](float x) { return std::sqrt(x); }); }),
      onnx_op("Reciprocal", 1, [](I) { return float_unary([](float x) { return 1.0f / x; }); }),
      onnx_op("Floor", 1, [](I) { return float_unary([](float x) { return std::floor(x); }); }),
      onnx_op("Ceil", 1, [](I) { return float_unary([](float x) { return std::ceil(x); }); }),
      onnx_op("Round", 11, [](I) { return float_unary([](float x) { return std::nearbyint(x); }); }),
      onnx_op("Erf", 9, [](I) { return float_unary(erf_f); }),
      onnx_op("Sin", 7, [](I) { return float_unary([](float x) { return std::sin(x); }); }),
      onnx_op("Cos", 7, [](I) { return float_unary([](float x) { return std::cos(x); }); }),
      onnx_op("Softplus", 1, [](I) { return float_unary([](float x) { return x > 20 ? x : std::log1p(std::exp(x)); }); }),
      onnx_op("Softsign", 1, [](I) { return float_unary([](float x) { return x / (1 + std::fabs(x)); }); }),
      onnx_op("HardSigmoid", 1, [](I init) {
         float alpha = init.attr_float("alpha", 0.2f), beta = init.attr_float("beta", 0.5f);
         return float_unary([alpha, beta](float x) { return std::max(0.0f, std::min(1.0f, alpha * x + beta)); });
       }),
      onnx_op("HardSwish", 14, [](I) {
         return float_unary([](float x) { return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)); });
       }),
      onnx_op("LeakyRelu", 1, [](I init) {
         float alpha = init.attr_float("alpha", 0.01f);
         return float_unary([alpha](float x) { return x < 0 ? alpha * x : x; });
       }),
      onnx_op("Elu", 1, [](I init) {
         float alpha = init.attr_float("alpha", 1.0f);
         return float_unary([alpha](float x) { return x < 0 ? alpha * (std::exp(x) - 1) : x; });
       }),
      onnx_op("Selu", 1, [](I init) {
         float alpha = init.attr_float("alpha", 1.67326319217681884765625f), gamma = init.attr_float("gamma", 1.05070102214813232421875f);
         return float_unary([alpha, gamma](float x) { return x <= 0 ? gamma * (alpha * std::exp(x) - alpha) : gamma * x; });
       }),
      onnx_op("Neg", 1, [](I) { return numeric_unary([](auto x) { return static_cast<decltype(x)>(-x); }); }),
      onnx_op("Abs", 1, [](I) { return numeric_unary([](auto x) { return x < 0 ? static_cast<decltype(x)>(-x) : x; }); }),
      onnx_op("Sign", 9, [](I) { return numeric_unary([](auto x) { return static_cast<decltype(x)>((x > 0) - (x < 0)); }); }),
      onnx_op("Not", 1, make_fixed_kernel<Not>),
      onnx_op("Clip", 1, make_kernel<Clip>),
      onnx_op("Add", 1, binary<Bin::kAdd>),
      onnx_op("Sub", 1, binary<Bin::kSub>),
      onnx_op("Mul", 1, binary<Bin::kMul>),
      onnx_op("Div", 1, binary<Bin::kDiv>),
      onnx_op("Pow", 1, binary<Bin::kPow>),
      onnx_op("PRelu", 1, binary<Bin::kPRelu>),
      onnx_op("Equal", 1, binary<Bin::kEq>),
      onnx_op("Less", 1, binary<Bin::kLt>),
      onnx_op("Greater", 1, binary<Bin::kGt>),
      onnx_op("LessOrEqual", 12, binary<Bin::kLe>),
      onnx_op("GreaterOrEqual", 12, binary<Bin::kGe>),
      onnx_op("And", 1, binary<Bin::kAnd>),
      onnx_op("Or", 1, binary<Bin::kOr>),
      onnx_op("Xor", 1, binary<Bin::kXor>),
      onnx_op("Mod", 10, [](I init) -> std::unique_ptr<Kernel> {
         return std::make_unique<Binary>(init.attr_int("fmod", 0) ? Bin::kFMod : Bin::kMod);
       }),
      onnx_op("Sum", 1, make_fixed_kernel<Variadic, Bin::kAdd, false>),
      onnx_op("Mean", 1, make_fixed_kernel<Variadic, Bin::kAdd, true>),
      onnx_op("Min", 1, make_fixed_kernel<Variadic, Bin::kMin, false>),
      onnx_op("Max", 1, make_fixed_kernel<Variadic, Bin::kMax, false>),
      onnx_op("Where", 9, make_fixed_kernel<Where>),
  };
}

}  // namespace pare::rt::kernels
