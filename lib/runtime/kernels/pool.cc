// Pooling, float32: MaxPool, AveragePool (1-D and 2-D), GlobalAveragePool,
// GlobalMaxPool.
//
// Windows follow the ONNX rules: pads or auto_pad, strides, dilations (MaxPool),
// ceil_mode (a last window must start inside the input or its begin padding),
// count_include_pad (AveragePool). MaxPool's optional Indices output and
// storage_order=1 are rejected at compile time. Work is split over (n, c) planes.
// MaxPool also takes uint8 and int8 tensors (opset 12), and the quantized
// MaxPool of a QDQ group runs on the bytes (make_qmax_pool, qlut.h).
#include <array>
#include <cmath>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/qlut.h"

namespace pare::rt::kernels {
namespace {

class Pool : public Kernel {
 public:
  // The quantized MaxPool (make_qmax_pool): bytes of type x_type in, each
  // output byte looked up in `table` (unless empty), type y_type out. Cold: it
  // runs once per model, so it is built for size (pare-run, docs/runtime.md).
  [[gnu::cold]] Pool(const KernelInit& init, bool max, std::vector<uint8_t> table = {},
                     DataType x_type = DataType::kUndefined, DataType y_type = DataType::kUndefined)
      : max_(max), table_(std::move(table)), x_type_(x_type), y_type_(y_type), isa_(init.isa) {
    kernel_ = init.attr_ints("kernel_shape");
    strides_ = init.attr_ints("strides");
    pads_ = init.attr_ints("pads");
    dilations_ = init.attr_ints("dilations");
    auto_pad_ = init.attr_string("auto_pad", "NOTSET");
    ceil_ = init.attr_int("ceil_mode", 0) != 0;
    include_pad_ = init.attr_int("count_include_pad", 0) != 0;
    size_t s = kernel_.size();
    if (s == 0 || s > 2) init.reject("kernel_shape must have 1 or 2 dims");
    // Each list is absent (its default) or has a value per spatial axis (pads: a
    // begin and an end); compute() indexes them by axis and divides by strides.
    auto check = [&](const char* name, const std::vector<int64_t>& v, size_t count, int64_t min) {
      if (!v.empty() && v.size() != count)
        init.reject(fmt::format("{} must have {} values for {} spatial axes, has {}", name, count, s, v.size()));
      for (int64_t x : v)
        if (x < min) init.reject(fmt::format("{} must be at least {}, got [{}]", name, min, fmt::join(v, ",")));
    };
    check("kernel_shape", kernel_, s, 1);
    check("strides", strides_, s, 1);
    check("dilations", dilations_, s, 1);
    check("pads", pads_, 2 * s, 0);
    if (max && init.node.outputs().size() > 1 && init.node.output(1)) init.reject("the Indices output is not supported");
    if (init.attr_int("storage_order", 0) != 0) init.reject("storage_order=1 is not supported");
    if (auto_pad_ != "NOTSET" && auto_pad_ != "VALID" && auto_pad_ != "SAME_UPPER" && auto_pad_ != "SAME_LOWER")
      init.reject("unknown auto_pad '" + auto_pad_ + "'");
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    size_t s = kernel_.size();
    bool bytes = max_ && (x.dtype == DataType::kUint8 || x.dtype == DataType::kInt8);
    if ((x.dtype != DataType::kFloat && !bytes) || x.rank() != s + 2)
      compute_error(ctx, max_ ? "input must be float32, uint8 or int8 [N, C, spatial]"
                              : "input must be float32 [N, C, spatial]");
    if (x_type_ != DataType::kUndefined && x.dtype != x_type_) compute_error(ctx, "quantized input of another type");
    bool one_d = s == 1;
    int64_t n = x.dims[0], c = x.dims[1], h = one_d ? 1 : x.dims[2], w = x.dims.back();
    // 1-D as a plane one row high; attributes absent are their defaults.
    using Pair = std::array<int64_t, 2>;
    auto pair = [&](const std::vector<int64_t>& v, size_t at, int64_t absent) {
      if (v.empty()) return Pair{absent, absent};
      return one_d ? Pair{absent, v[at]} : Pair{v[at], v[at + 1]};
    };
    Pair in{h, w}, k = pair(kernel_, 0, 1), st = pair(strides_, 0, 1), di = pair(dilations_, 0, 1);
    Pair pb = pair(pads_, 0, 0), pe = pair(pads_, one_d ? 1 : 2, 0), out{};
    for (int i = 0; i < 2; ++i) {
      int64_t extent = di[i] * (k[i] - 1) + 1;
      if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
        out[i] = (in[i] + st[i] - 1) / st[i];
        int64_t total = std::max<int64_t>(0, (out[i] - 1) * st[i] + extent - in[i]);
        pb[i] = auto_pad_ == "SAME_UPPER" ? total / 2 : total - total / 2;
        pe[i] = total - pb[i];
      } else {
        if (auto_pad_ == "VALID") pb[i] = pe[i] = 0;
        int64_t span = in[i] + pb[i] + pe[i] - extent;
        out[i] = (ceil_ ? (span + st[i] - 1) / st[i] : span / st[i]) + 1;
        if (ceil_ && (out[i] - 1) * st[i] >= in[i] + pb[i]) --out[i];
      }
      if (out[i] < 1) compute_error(ctx, "the pooling window is larger than the padded input");
    }
    std::vector<int64_t> out_dims = one_d ? std::vector<int64_t>{n, c, out[1]} : std::vector<int64_t>{n, c, out[0], out[1]};
    DataType y_type = y_type_ != DataType::kUndefined ? y_type_ : x.dtype;
    TensorView& y = ctx.allocate_output(0, y_type, out_dims);
    Windows win{n, c, h, w, k, st, di, pb, pe, out};
    if (bytes) {
      if (di[0] != 1 || di[1] != 1) compute_error(ctx, "a MaxPool of 8-bit integers with dilations is not supported");
      // int8 as uint8 bytes x ^ 0x80, whose unsigned order is the signed one;
      // the table (or one that flips back) gives the int8 bytes.
      uint8_t flip = x.dtype == DataType::kInt8 ? 0x80 : 0;
      const uint8_t* table = !table_.empty() ? table_.data() : flip ? flip_table().data() : nullptr;
      return max_pool_bytes(ctx, static_cast<const uint8_t*>(x.data), win, flip, table, static_cast<uint8_t*>(y.data));
    }
    if (max_) return max_pool(ctx, x.as<float>(), win, y.as<float>());
    window_pool(ctx, x.as<float>(), win, y.as<float>());
  }

 private:
  // The windows of one run: input planes h x w, kernel k, strides, dilations,
  // begin and end padding, and the output plane out[0] x out[1] (2-D; 1-D as h = 1).
  struct Windows {
    int64_t n, c, h, w;
    std::array<int64_t, 2> k, st, di, pb, pe, out;
  };

  // The bytes that flip int8's order back (b ^ 0x80).
  static const std::vector<uint8_t>& flip_table() {
    static const std::vector<uint8_t> table = [] {
      std::vector<uint8_t> t(256);
      for (int b = 0; b < 256; ++b) t[b] = static_cast<uint8_t>(b ^ 0x80);
      return t;
    }();
    return table;
  }

  // MaxPool of floats.
  void max_pool(KernelContext& ctx, const float* px, const Windows& g, float* py) const {
    int64_t planes = g.n * g.c, out_plane = g.out[0] * g.out[1];
    if (g.di[0] == 1 && g.di[1] == 1) {
      int64_t tasks = std::min<int64_t>(ctx.threads(), planes);
      auto* rows = static_cast<float*>(ctx.scratch(sizeof(float) * tasks * g.h * g.out[1]));
      ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          for (int64_t plane = t * planes / tasks; plane < (t + 1) * planes / tasks; ++plane)
            separable_max(px + plane * g.h * g.w, g.h, g.w, g.k, g.st, g.pb, g.out, rows + t * g.h * g.out[1],
                          py + plane * out_plane);
      });
      return;
    }
    window_pool(ctx, px, g, py);
  }

  // MaxPool of bytes (dilation 1), each read as x ^ flip, then with a table
  // each output byte through it (after its plane, while it is in cache). The
  // 2x2 pool of stride 2 has a loop of its own; other windows are read whole,
  // which is slower than separable_max's two passes but keeps pare-run small.
  void max_pool_bytes(KernelContext& ctx, const uint8_t* px, const Windows& g, uint8_t flip, const uint8_t* table,
                      uint8_t* py) const {
    int64_t oh = g.out[0], ow = g.out[1];
    bool pairs = g.k[0] == 2 && g.k[1] == 2 && g.st[0] == 2 && g.st[1] == 2 && g.pb[0] == 0 && g.pb[1] == 0 &&
                 2 * oh <= g.h && 2 * ow <= g.w;
    Isa isa = isa_;
    ctx.parallel_for(g.n * g.c, [&](int64_t p0, int64_t p1) {
      for (int64_t plane = p0; plane < p1; ++plane) {
        uint8_t* ys = py + plane * oh * ow;
        if (pairs) max_pairs(px + plane * g.h * g.w, g.w, oh, ow, flip, ys);
        else max_windows(px + plane * g.h * g.w, g, flip, ys);
        if (table) lookup_bytes(table, ys, ys, oh * ow, isa);
      }
    });
  }
  // Arguments, not captures: a byte store may alias anything, so values read
  // through a closure were reloaded after every output. On x86-64, 16 outputs
  // a step with SSE2 (every x86-64 CPU has it): GCC's own vectorisation of the
  // loop below cost 1.4 KB of pare-run.
  __attribute__((optimize("no-tree-vectorize"))) static void max_pairs(const uint8_t* __restrict xs, int64_t w,
                                                                       int64_t oh, int64_t ow, uint8_t flip,
                                                                       uint8_t* __restrict ys) {
    for (int64_t oy = 0; oy < oh; ++oy) {
      const uint8_t *top = xs + 2 * oy * w, *bottom = top + w;
      uint8_t* y = ys + oy * ow;
      int64_t ox = 0;
#if defined(__SSE2__)
      const __m128i flips = _mm_set1_epi8(static_cast<char>(flip)), low = _mm_set1_epi16(0xff);
      auto pairs = [&](const uint8_t* t, const uint8_t* b) {  // 8 outputs in the low bytes of 8 words
        __m128i m = _mm_max_epu8(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)), flips),
                                 _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), flips));
        return _mm_and_si128(_mm_max_epu8(m, _mm_srli_epi16(m, 8)), low);
      };
      for (; ox + 16 <= ow; ox += 16) {
        __m128i first = pairs(top + 2 * ox, bottom + 2 * ox), second = pairs(top + 2 * ox + 16, bottom + 2 * ox + 16);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + ox), _mm_packus_epi16(first, second));
      }
#endif
      for (; ox < ow; ++ox) {
        uint8_t a = top[2 * ox] ^ flip, b = top[2 * ox + 1] ^ flip;
        uint8_t c = bottom[2 * ox] ^ flip, d = bottom[2 * ox + 1] ^ flip;
        y[ox] = std::max(std::max(a, b), std::max(c, d));
      }
    }
  }
  // A window is a few bytes wide: vectorising its loops would only add code.
  __attribute__((noinline, optimize("no-tree-vectorize"))) static void max_windows(const uint8_t* xs, const Windows& g,
                                                                                    uint8_t flip, uint8_t* ys) {
    const int64_t h = g.h, w = g.w, oh = g.out[0], ow = g.out[1], kh = g.k[0], kw = g.k[1];
    const int64_t sh = g.st[0], sw = g.st[1], pt = g.pb[0], pl = g.pb[1];
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        int m = 0;
        for (int64_t iy = std::max<int64_t>(0, oy * sh - pt); iy < std::min(h, oy * sh - pt + kh); ++iy)
          for (int64_t ix = std::max<int64_t>(0, ox * sw - pl); ix < std::min(w, ox * sw - pl + kw); ++ix)
            m = std::max(m, xs[iy * w + ix] ^ flip);
        ys[oy * ow + ox] = static_cast<uint8_t>(m);
      }
  }

  // Each window read whole: AveragePool, and MaxPool with dilations.
  void window_pool(KernelContext& ctx, const float* px, const Windows& g, float* py) const {
    ctx.parallel_for(g.n * g.c, [&](int64_t b, int64_t e) {
      const auto &k = g.k, &st = g.st, &di = g.di, &pb = g.pb, &pe = g.pe;
      int64_t h = g.h, w = g.w;
      for (int64_t plane = b; plane < e; ++plane) {
        const float* xs = px + plane * h * w;
        float* ys = py + plane * g.out[0] * g.out[1];
        for (int64_t oy = 0; oy < g.out[0]; ++oy)
          for (int64_t ox = 0; ox < g.out[1]; ++ox) {
            float acc = max_ ? -std::numeric_limits<float>::infinity() : 0.0f;
            int64_t count = 0, padded = 0;
            for (int64_t i = 0; i < k[0]; ++i) {
              int64_t iy = oy * st[0] - pb[0] + i * di[0];
              for (int64_t j = 0; j < k[1]; ++j) {
                int64_t ix = ox * st[1] - pb[1] + j * di[1];
                bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                // count_include_pad counts the explicit padding, not the overhang ceil_mode adds.
                if (!inside && iy < h + pe[0] && ix < w + pe[1]) ++padded;
                if (!inside) continue;
                float v = xs[iy * w + ix];
                if (max_) acc = std::max(acc, v);
                else acc += v;
                ++count;
              }
            }
            if (!max_) acc /= static_cast<float>(include_pad_ ? count + padded : std::max<int64_t>(count, 1));
            ys[oy * g.out[1] + ox] = acc;
          }
      }
    });
  }

  // One plane of max pooling with dilation 1, separably: the maximum over each
  // window's columns for every input row (into `rows`, h x ow), then over its
  // rows. Both start from -inf and take std::max in the window's row-major
  // order, so the result is the per-window loop's (NaN ignored, of equal
  // values the first), and the inner loops vectorise: the per-window loop took
  // 10% of BlazeFace's time and was 17x ONNX Runtime's on M-LSD's heat map.
  static void separable_max(const float* xs, int64_t h, int64_t w, const std::array<int64_t, 2>& k,
                            const std::array<int64_t, 2>& st, const std::array<int64_t, 2>& pb,
                            const std::array<int64_t, 2>& out, float* rows, float* ys) {
    constexpr float kLowest = -std::numeric_limits<float>::infinity();
    int64_t oh = out[0], ow = out[1];
    if (k[0] == 2 && k[1] == 2 && st[0] == 2 && st[1] == 2 && pb[0] == 0 && pb[1] == 0 && 2 * oh <= h && 2 * ow <= w) {
      // The common 2x2 pool with every window inside: one pass, in the same
      // order (BlazeFace's pools took 1.8x ONNX Runtime's time in two).
      for (int64_t oy = 0; oy < oh; ++oy) {
        const float *top = xs + 2 * oy * w, *bottom = top + w;
        float* yr = ys + oy * ow;
        for (int64_t ox = 0; ox < ow; ++ox) {
          float m = std::max(std::max(kLowest, top[2 * ox]), top[2 * ox + 1]);
          yr[ox] = std::max(std::max(m, bottom[2 * ox]), bottom[2 * ox + 1]);
        }
      }
      return;
    }
    for (int64_t iy = 0; iy < h; ++iy) {
      const float* xr = xs + iy * w;
      float* hr = rows + iy * ow;
      std::fill(hr, hr + ow, kLowest);
      for (int64_t j = 0; j < k[1]; ++j) {
        int64_t shift = j - pb[1];  // ix = ox * st + shift
        auto [lo, hi] = strided_range(shift, st[1], ow, w);
        if (st[1] == 1) {
          for (int64_t ox = lo; ox < hi; ++ox) hr[ox] = std::max(hr[ox], xr[ox + shift]);
        } else {
          for (int64_t ox = lo; ox < hi; ++ox) hr[ox] = std::max(hr[ox], xr[ox * st[1] + shift]);
        }
      }
    }
    for (int64_t oy = 0; oy < oh; ++oy) {
      float* yr = ys + oy * ow;
      std::fill(yr, yr + ow, kLowest);
      for (int64_t i = 0; i < k[0]; ++i) {
        int64_t iy = oy * st[0] - pb[0] + i;
        if (iy < 0 || iy >= h) continue;
        const float* hr = rows + iy * ow;
        for (int64_t ox = 0; ox < ow; ++ox) yr[ox] = std::max(yr[ox], hr[ox]);
      }
    }
  }

  bool max_;
  std::vector<uint8_t> table_;  // make_qmax_pool's
  DataType x_type_, y_type_;
  Isa isa_;
  std::vector<int64_t> kernel_, strides_, pads_, dilations_;
  std::string auto_pad_;
  bool ceil_, include_pad_;
};

// The sum of n floats in double, in eight interleaved partial sums (lane i % 8)
// added at the end: one chain of dependent additions cost four cycles per
// element (GlobalAveragePool took 9% of the PP-OCR classifier's time); eight
// chains vectorise. The order is fixed, so results do not depend on threads.
double plane_sum(const float* x, int64_t n) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  for (int l = 0; i < n; ++i, ++l) lanes[l] += x[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

class GlobalPool : public Kernel {
 public:
  explicit GlobalPool(bool max) : max_(max) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat || x.rank() < 3) compute_error(ctx, "input must be float32 [N, C, spatial...]");
    std::vector<int64_t> out_dims(x.rank(), 1);
    out_dims[0] = x.dims[0];
    out_dims[1] = x.dims[1];
    int64_t planes = x.dims[0] * x.dims[1], inner = planes ? x.numel() / planes : 0;
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    ctx.parallel_for(planes, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const float* xs = px + p * inner;
        if (max_) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < inner; ++i) m = std::max(m, xs[i]);
          py[p] = m;
        } else {
          py[p] = static_cast<float>(plane_sum(xs, inner) / inner);
        }
      }
    });
  }

 private:
  bool max_;
};

}  // namespace

// Q(MaxPool(DQ(x))) = table(MaxPool(x)) over the bytes: dequantizing never
// lowers an order (uint8 unsigned, int8 signed) and the table (qlut_table with
// no activation) never decreases, so the window's largest byte gives its
// largest value's byte. The group (qdq_groups.cc) makes sure every window holds
// an input element, so padding never decides.
[[gnu::cold]] std::unique_ptr<Kernel> make_qmax_pool(const KernelInit& init, const QLutSpec& spec) {
  for (const QTensorParams* p : {&spec.x, &spec.y})
    if (p->type != DataType::kUint8 && p->type != DataType::kInt8) init.reject("quantized MaxPool: not 8-bit");
  std::vector<uint8_t> table = qlut_table(spec), bytes(256);
  // The kernel's bytes are x ^ 0x80 for int8 (Pool::compute); one scale and
  // zero point from uint8 to uint8 needs no table at all.
  uint8_t flip = spec.x.type == DataType::kInt8 ? 0x80 : 0;
  bool identity = true;
  for (int b = 0; b < 256; ++b) {
    bytes[b] = table[b ^ flip];
    identity = identity && bytes[b] == b;
  }
  if (identity) bytes.clear();
  return std::make_unique<Pool>(init, true, std::move(bytes), spec.x.type, spec.y.type);
}

std::vector<KernelDef> pool_kernels() {
  return {
      onnx_op("MaxPool", 1, make_kernel<Pool, true>),
      onnx_op("AveragePool", 1, make_kernel<Pool, false>),
      onnx_op("GlobalAveragePool", 1, make_fixed_kernel<GlobalPool, false>),
      onnx_op("GlobalMaxPool", 1, make_fixed_kernel<GlobalPool, true>),
  };
}

}  // namespace pare::rt::kernels
