// Signal processing ops (opset 17): DFT, STFT, HannWindow, HammingWindow,
// BlackmanWindow, MelWeightMatrix.
//
// DFT and STFT are direct O(N^2) transforms in double (a reference, exact to
// rounding; spectrogram front ends of mobile speech models use frames of a few
// hundred samples). Complex values are a trailing dim of 2 (real, imaginary);
// real input has a trailing dim of 1. Each output bin is one sum in index order.
// MACs: 0 (the runner counts weight multiply-accumulates only).
#include <cmath>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

DataType output_type(const KernelInit& init) {
  auto t = static_cast<DataType>(init.attr_int("output_datatype", 1));
  if (!ir::is_valid_dtype(static_cast<int32_t>(t)) || !is_numeric(t) || t == DataType::kBool)
    init.reject("output_datatype must be a numeric type");
  return t;
}

int64_t scalar_int(const KernelContext& ctx, size_t i, const char* what) {
  const TensorView& t = required(ctx, i);
  if (t.numel() != 1) compute_error(ctx, fmt::format("{} must be a scalar", what));
  return read_ints(t)[0];
}

// One transform of `n_in` complex samples re/im (stride `in_stride`) to `n_out`
// bins of a length-`len` DFT (zero-padded or truncated to len).
void dft_1d(const std::vector<double>& re, const std::vector<double>& im, int64_t len, bool inverse, int64_t n_out,
            std::vector<double>& out_re, std::vector<double>& out_im) {
  out_re.assign(static_cast<size_t>(n_out), 0);
  out_im.assign(static_cast<size_t>(n_out), 0);
  int64_t n_in = std::min<int64_t>(len, static_cast<int64_t>(re.size()));
  double sign = inverse ? 1 : -1;
  for (int64_t k = 0; k < n_out; ++k) {
    double sr = 0, si = 0;
    for (int64_t t = 0; t < n_in; ++t) {
      // (k * t) mod len keeps the angle small, so large transforms stay accurate.
      double ang = sign * 2 * M_PI * static_cast<double>((k * t) % len) / static_cast<double>(len);
      double c = std::cos(ang), s = std::sin(ang);
      sr += re[t] * c - im[t] * s;
      si += re[t] * s + im[t] * c;
    }
    if (inverse) {
      sr /= static_cast<double>(len);
      si /= static_cast<double>(len);
    }
    out_re[k] = sr;
    out_im[k] = si;
  }
}

class Dft : public Kernel {
 public:
  explicit Dft(const KernelInit& init)
      : axis_(init.attr_int("axis", 1)), inverse_(init.attr_int("inverse", 0) != 0), onesided_(init.attr_int("onesided", 0) != 0) {
    if (inverse_ && onesided_) init.reject("inverse and onesided together are not supported");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, "input must be float, double or float16");
    if (x.rank() < 2 || (x.dims.back() != 1 && x.dims.back() != 2)) compute_error(ctx, "input must end in a dim of 1 (real) or 2 (complex)");
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis >= rank - 1) compute_error(ctx, fmt::format("axis {} is out of range", axis_));
    int64_t n_sig = x.dims[axis];
    int64_t len = ctx.input(1) && ctx.input(1)->numel() > 0 ? scalar_int(ctx, 1, "dft_length") : n_sig;
    if (len < 1) compute_error(ctx, "dft_length must be >= 1");
    int64_t n_out = onesided_ ? len / 2 + 1 : len;
    std::vector<int64_t> dims = x.dims;
    dims[axis] = n_out;
    dims.back() = 2;
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    int64_t comp = x.dims.back();
    int64_t outer = product(x.dims, 0, static_cast<size_t>(axis)), inner = product(x.dims, static_cast<size_t>(axis) + 1, x.rank() - 1);
    std::vector<double> re(static_cast<size_t>(n_sig)), im(static_cast<size_t>(n_sig)), ore, oim;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        for (int64_t t = 0; t < n_sig; ++t) {
          int64_t off = ((o * n_sig + t) * inner + i) * comp;
          re[t] = get(x, off);
          im[t] = comp == 2 ? get(x, off + 1) : 0;
        }
        dft_1d(re, im, len, inverse_, n_out, ore, oim);
        for (int64_t k = 0; k < n_out; ++k) {
          int64_t off = ((o * n_out + k) * inner + i) * 2;
          put(y, off, ore[k]);
          put(y, off + 1, oim[k]);
        }
      }
  }

 private:
  int64_t axis_;
  bool inverse_, onesided_;
};

class Stft : public Kernel {
 public:
  explicit Stft(const KernelInit& init) : onesided_(init.attr_int("onesided", 1) != 0) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, "signal must be float, double or float16");
    if (x.rank() != 3 || (x.dims[2] != 1 && x.dims[2] != 2)) compute_error(ctx, "signal must be [batch, length, 1 or 2]");
    int64_t step = scalar_int(ctx, 1, "frame_step");
    const TensorView* window = ctx.input(2);
    if (window && window->numel() == 0) window = nullptr;
    int64_t flen = ctx.input(3) && ctx.input(3)->numel() > 0 ? scalar_int(ctx, 3, "frame_length") : (window ? window->numel() : 0);
    if (flen < 1 || step < 1) compute_error(ctx, "frame_length (or a window) and frame_step must be >= 1");
    if (window && window->numel() != flen) compute_error(ctx, "the window length differs from frame_length");
    int64_t batch = x.dims[0], n = x.dims[1], comp = x.dims[2];
    if (n < flen) compute_error(ctx, "the signal is shorter than one frame");
    bool onesided = onesided_ && comp == 1;
    int64_t frames = (n - flen) / step + 1, bins = onesided ? flen / 2 + 1 : flen;
    TensorView& y = ctx.allocate_output(0, x.dtype, {batch, frames, bins, 2});
    std::vector<double> re(static_cast<size_t>(flen)), im(static_cast<size_t>(flen)), ore, oim;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t f = 0; f < frames; ++f) {
        for (int64_t t = 0; t < flen; ++t) {
          double wv = window ? get(*window, t) : 1.0;
          int64_t off = (b * n + f * step + t) * comp;
          re[t] = get(x, off) * wv;
          im[t] = comp == 2 ? get(x, off + 1) * wv : 0;
        }
        dft_1d(re, im, flen, false, bins, ore, oim);
        for (int64_t k = 0; k < bins; ++k) {
          put(y, ((b * frames + f) * bins + k) * 2, ore[k]);
          put(y, ((b * frames + f) * bins + k) * 2 + 1, oim[k]);
        }
      }
  }

 private:
  bool onesided_;
};

enum class WindowShape { kHann, kHamming, kBlackman };

class WindowOp : public Kernel {
 public:
  WindowOp(const KernelInit& init, WindowShape w) : w_(w), type_(output_type(init)), periodic_(init.attr_int("periodic", 1) != 0) {}
  void compute(KernelContext& ctx) override {
    int64_t n = scalar_int(ctx, 0, "size");
    if (n < 0) compute_error(ctx, "size must be >= 0");
    TensorView& y = ctx.allocate_output(0, type_, {n});
    double den = periodic_ ? static_cast<double>(n) : static_cast<double>(n - 1);
    for (int64_t i = 0; i < n; ++i) {
      double a = den > 0 ? 2 * M_PI * i / den : 0, v;
      switch (w_) {
        case WindowShape::kHann: v = 0.5 - 0.5 * std::cos(a); break;
        case WindowShape::kHamming: v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * std::cos(a); break;
        default: v = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a); break;
      }
      put(y, i, v);
    }
  }

 private:
  WindowShape w_;
  DataType type_;
  bool periodic_;
};

// Triangular filters on the mel scale, following the spec's reference arithmetic
// (bin edges floored to whole DFT bins).
class MelWeightMatrix : public Kernel {
 public:
  explicit MelWeightMatrix(const KernelInit& init) : type_(output_type(init)) {}
  void compute(KernelContext& ctx) override {
    int64_t mels = scalar_int(ctx, 0, "num_mel_bins"), dft = scalar_int(ctx, 1, "dft_length"), rate = scalar_int(ctx, 2, "sample_rate");
    double lo = get(required(ctx, 3), 0), hi = get(required(ctx, 4), 0);
    if (mels < 1 || dft < 1 || rate < 1 || lo < 0 || hi <= lo) compute_error(ctx, "invalid mel filter parameters");
    int64_t bins = dft / 2 + 1;
    auto mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
    // The spec's reference (and ONNX Runtime) divide the mel range by num_mel_bins + 2.
    double mlo = mel(lo), step = (mel(hi) - mlo) / static_cast<double>(mels + 2);
    std::vector<int64_t> edge(static_cast<size_t>(mels + 2));
    for (int64_t i = 0; i < mels + 2; ++i) {
      double hz = 700 * (std::pow(10, (i * step + mlo) / 2595) - 1);
      edge[i] = static_cast<int64_t>(std::floor((dft + 1) * hz / rate));
    }
    TensorView& y = ctx.allocate_output(0, type_, {bins, mels});
    std::vector<double> w(static_cast<size_t>(bins * mels), 0);
    auto at = [&](int64_t j, int64_t i) -> double& {
      if (j < 0 || j >= bins) compute_error(ctx, "a mel band edge lies beyond the DFT bins");
      return w[j * mels + i];
    };
    for (int64_t i = 0; i < mels; ++i) {
      int64_t l = edge[i], c = edge[i + 1], r = edge[i + 2];
      if (c == l) at(c, i) = 1;
      else
        for (int64_t j = l; j <= c; ++j) at(j, i) = static_cast<double>(j - l) / static_cast<double>(c - l);
      if (r > c)
        for (int64_t j = c; j < r; ++j) at(j, i) = static_cast<double>(r - j) / static_cast<double>(r - c);
    }
    for (size_t k = 0; k < w.size(); ++k) put(y, static_cast<int64_t>(k), w[k]);
  }

 private:
  DataType type_;
};

}  // namespace

std::vector<KernelDef> signal_kernels() {
  return {
      onnx_op("DFT", 17, make_kernel<Dft>),
      onnx_op("STFT", 17, make_kernel<Stft>),
      onnx_op("HannWindow", 17, make_kernel<WindowOp, WindowShape::kHann>),
      onnx_op("HammingWindow", 17, make_kernel<WindowOp, WindowShape::kHamming>),
      onnx_op("BlackmanWindow", 17, make_kernel<WindowOp, WindowShape::kBlackman>),
      onnx_op("MelWeightMatrix", 17, make_kernel<MelWeightMatrix>),
  };
}

}  // namespace pare::rt::kernels
