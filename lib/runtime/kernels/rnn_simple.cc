// RNN (the plain Elman cell): H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), forward,
// reverse or bidirectional, layout 0 ([seq, batch, ...]) or 1 ([batch, seq, ...]),
// optional bias, initial_h and per-batch sequence_lens (steps past a sequence's
// length leave Y at 0 and H unchanged). Activations Tanh (default), Relu,
// Sigmoid, optional clip. float32/double in double arithmetic, each output
// element one sum in index order. MACs: seq * directions * batch * hidden *
// (input + hidden).
#include <cmath>
#include <cstring>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

enum class SimpleRnnAct { kTanh, kRelu, kSigmoid };

class Rnn : public Kernel {
 public:
  explicit Rnn(const KernelInit& init)
      : hidden_(init.attr_int("hidden_size", 0)), layout_(init.attr_int("layout", 0)), clip_(init.attr_float("clip", 0.0f)) {
    std::string dir = init.attr_string("direction", "forward");
    if (dir == "bidirectional") dirs_ = 2;
    else if (dir == "reverse") reverse_ = true;
    else if (dir != "forward") init.reject(fmt::format("unknown direction '{}'", dir));
    if (layout_ != 0 && layout_ != 1) init.reject("layout must be 0 or 1");
    const ir::Attribute* a = init.node.attr("activations");
    std::vector<std::string> names = a ? a->strings : std::vector<std::string>(static_cast<size_t>(dirs_), "Tanh");
    if (static_cast<int64_t>(names.size()) != dirs_) init.reject("activations must name one function per direction");
    for (const auto& n : names) {
      if (n == "Tanh") acts_.push_back(SimpleRnnAct::kTanh);
      else if (n == "Relu") acts_.push_back(SimpleRnnAct::kRelu);
      else if (n == "Sigmoid") acts_.push_back(SimpleRnnAct::kSigmoid);
      else init.reject(fmt::format("activation '{}' is not supported (Tanh, Relu, Sigmoid)", n));
    }
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& w = required(ctx, 1);
    const TensorView& r = required(ctx, 2);
    if (!is_real(x.dtype) || x.rank() != 3) compute_error(ctx, "X must be a float tensor of rank 3");
    int64_t seq = layout_ ? x.dims[1] : x.dims[0], batch = layout_ ? x.dims[0] : x.dims[1], in = x.dims[2];
    int64_t h = w.rank() == 3 ? w.dims[1] : 0;
    if (hidden_ > 0 && h != hidden_) compute_error(ctx, "W does not match hidden_size");
    if (w.dims != std::vector<int64_t>{dirs_, h, in} || r.dims != std::vector<int64_t>{dirs_, h, h})
      compute_error(ctx, fmt::format("W must be [{}, {}, {}] and R [{}, {}, {}]", dirs_, h, in, dirs_, h, h));
    const TensorView* b = ctx.input(3);
    if (b && b->numel() == 0) b = nullptr;
    if (b && b->dims != std::vector<int64_t>{dirs_, 2 * h}) compute_error(ctx, "B must be [directions, 2 * hidden]");
    const TensorView* lens = ctx.input(4);
    if (lens && lens->numel() == 0) lens = nullptr;
    if (lens && lens->numel() != batch) compute_error(ctx, "sequence_lens must have one entry per batch");
    const TensorView* h0 = ctx.input(5);
    if (h0 && h0->numel() == 0) h0 = nullptr;
    if (h0 && h0->numel() != dirs_ * batch * h) compute_error(ctx, "initial_h has the wrong size");
    std::vector<int64_t> ydims = layout_ ? std::vector<int64_t>{batch, seq, dirs_, h} : std::vector<int64_t>{seq, dirs_, batch, h};
    std::vector<int64_t> hdims = layout_ ? std::vector<int64_t>{batch, dirs_, h} : std::vector<int64_t>{dirs_, batch, h};
    TensorView& y = ctx.allocate_output(0, x.dtype, ydims);
    std::vector<double> yv(static_cast<size_t>(y.numel()), 0.0), hv(static_cast<size_t>(dirs_ * batch * h), 0.0);
    auto xoff = [&](int64_t t, int64_t bi) { return (layout_ ? bi * seq + t : t * batch + bi) * in; };
    auto yoff = [&](int64_t t, int64_t d, int64_t bi) { return (layout_ ? (bi * seq + t) * dirs_ + d : (t * dirs_ + d) * batch + bi) * h; };
    auto hoff = [&](int64_t d, int64_t bi) { return (layout_ ? bi * dirs_ + d : d * batch + bi) * h; };
    for (int64_t d = 0; d < dirs_; ++d) {
      bool rev = reverse_ || d == 1;
      for (int64_t bi = 0; bi < batch; ++bi) {
        int64_t len = lens ? get_int(*lens, bi) : seq;
        if (len < 0 || len > seq) compute_error(ctx, fmt::format("sequence length {} is out of [0, {}]", len, seq));
        std::vector<double> state(static_cast<size_t>(h)), next(static_cast<size_t>(h));
        // initial_h is laid out like Y_h: [dirs, batch, h] (layout 0) or [batch, dirs, h].
        for (int64_t j = 0; j < h; ++j) state[j] = h0 ? get(*h0, hoff(d, bi) + j) : 0.0;
        for (int64_t s = 0; s < len; ++s) {
          int64_t t = rev ? len - 1 - s : s;
          for (int64_t j = 0; j < h; ++j) {
            double acc = b ? get(*b, d * 2 * h + j) + get(*b, d * 2 * h + h + j) : 0.0;
            for (int64_t k = 0; k < in; ++k) acc += get(x, xoff(t, bi) + k) * get(w, (d * h + j) * in + k);
            for (int64_t k = 0; k < h; ++k) acc += state[k] * get(r, (d * h + j) * h + k);
            if (clip_ > 0) acc = std::clamp<double>(acc, -clip_, clip_);
            next[j] = activate(acts_[d], acc);
          }
          state.swap(next);
          for (int64_t j = 0; j < h; ++j) yv[yoff(t, d, bi) + j] = state[j];
        }
        for (int64_t j = 0; j < h; ++j) hv[hoff(d, bi) + j] = state[j];
      }
    }
    for (size_t k = 0; k < yv.size(); ++k) put(y, static_cast<int64_t>(k), yv[k]);
    if (ctx.num_outputs() > 1) {
      TensorView& yh = ctx.allocate_output(1, x.dtype, hdims);
      for (size_t k = 0; k < hv.size(); ++k) put(yh, static_cast<int64_t>(k), hv[k]);
    }
  }

 private:
  static double activate(SimpleRnnAct a, double v) {
    switch (a) {
      case SimpleRnnAct::kTanh: return std::tanh(v);
      case SimpleRnnAct::kRelu: return v > 0 ? v : 0;
      default: return 1 / (1 + std::exp(-v));
    }
  }
  int64_t hidden_, layout_;
  float clip_;
  int64_t dirs_ = 1;
  bool reverse_ = false;
  std::vector<SimpleRnnAct> acts_;
};

int64_t rnn_macs(const ir::Node&, const NodeShapes& s) {
  if (s.inputs.size() < 3 || s.inputs[0].size() != 3 || s.inputs[1].size() != 3) return 0;
  const auto& x = s.inputs[0];
  const auto& w = s.inputs[1];
  // seq * batch is x[0] * x[1] in either layout.
  return x[0] * x[1] * w[0] * w[1] * (w[2] + w[1]);
}

}  // namespace

std::vector<KernelDef> rnn_simple_kernels() {
  return {
      onnx_op("RNN", 7, make_kernel<Rnn>, rnn_macs),
  };
}

}  // namespace pare::rt::kernels
