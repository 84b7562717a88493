// LSTM and GRU, float32, layout 0 ([seq, batch, ...]), forward, reverse and
// bidirectional, with optional bias, initial states, peepholes (LSTM), clip and
// linear_before_reset (GRU). Activations: the defaults (Sigmoid, Tanh, Tanh) or
// any of Sigmoid, Tanh, Relu per slot; others, layout 1 and input_forget are
// rejected at compile time. sequence_lens must equal the sequence length (ragged
// batches are rejected at run time).
// Gate order as in the spec: LSTM i, o, f, c; GRU z, r, h.
// MACs: per step and direction, batch * gates * hidden * (input + hidden).
#include <cmath>

#include "lib/runtime/kernels/eigen_rows.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

enum class Act { kSigmoid, kTanh, kRelu };

float apply(Act a, float x, float clip) {
  if (clip > 0) x = std::clamp(x, -clip, clip);
  switch (a) {
    case Act::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Act::kTanh: return std::tanh(x);
    default: return x > 0 ? x : 0.0f;
  }
}

struct RnnAttrs {
  int64_t hidden = 0, directions = 1;
  bool reverse = false;
  float clip = 0;
  std::vector<Act> acts;

  RnnAttrs(const KernelInit& init, size_t acts_per_dir, std::vector<Act> defaults) {
    hidden = init.attr_int("hidden_size", 0);
    std::string dir = init.attr_string("direction", "forward");
    if (dir == "bidirectional") directions = 2;
    else if (dir == "reverse") reverse = true;
    else if (dir != "forward") init.reject("unknown direction '" + dir + "'");
    clip = init.attr_float("clip", 0.0f);
    if (init.attr_int("layout", 0) != 0) init.reject("layout=1 is not supported");
    const ir::Attribute* a = init.node.attr("activations");
    if (!a) {
      for (int64_t d = 0; d < directions; ++d) acts.insert(acts.end(), defaults.begin(), defaults.end());
    } else {
      if (a->strings.size() != acts_per_dir * directions) init.reject("wrong number of activations");
      for (const auto& s : a->strings) {
        if (s == "Sigmoid") acts.push_back(Act::kSigmoid);
        else if (s == "Tanh") acts.push_back(Act::kTanh);
        else if (s == "Relu") acts.push_back(Act::kRelu);
        else init.reject("activation '" + s + "' is not supported");
      }
    }
    if (hidden <= 0 && !init.constant(2)) init.reject("hidden_size is required");
  }
};

// Shared input checks; returns seq, batch, input size.
std::array<int64_t, 3> check_inputs(const KernelContext& ctx, int64_t gates, int64_t hidden, int64_t dirs) {
  const TensorView& x = *ctx.input(0);
  const TensorView& w = *ctx.input(1);
  const TensorView& r = *ctx.input(2);
  if (x.dtype != DataType::kFloat || x.rank() != 3) compute_error(ctx, "X must be float32 [seq, batch, input]");
  if (w.dims != std::vector<int64_t>{dirs, gates * hidden, x.dims[2]} || r.dims != std::vector<int64_t>{dirs, gates * hidden, hidden})
    compute_error(ctx, "W or R has the wrong shape");
  if (const TensorView* lens = ctx.input(4))
    for (int64_t v : read_ints(*lens))
      if (v != x.dims[0]) compute_error(ctx, "sequence_lens shorter than the sequence are not supported");
  return {x.dims[0], x.dims[1], x.dims[2]};
}

class Lstm : public Kernel {
 public:
  explicit Lstm(const KernelInit& init) : a_(init, 3, {Act::kSigmoid, Act::kTanh, Act::kTanh}) {
    if (init.attr_int("input_forget", 0) != 0) init.reject("input_forget is not supported");
  }
  void compute(KernelContext& ctx) override {
    int64_t H = a_.hidden, D = a_.directions;
    auto [S, B, I] = check_inputs(ctx, 4, H, D);
    const TensorView* bias = ctx.input(3);
    const TensorView* h0 = ctx.input(5);
    const TensorView* c0 = ctx.input(6);
    const TensorView* peep = ctx.input(7);
    TensorView* y = ctx.num_outputs() > 0 ? &ctx.allocate_output(0, DataType::kFloat, {S, D, B, H}) : nullptr;
    TensorView* yh = ctx.num_outputs() > 1 ? &ctx.allocate_output(1, DataType::kFloat, {D, B, H}) : nullptr;
    TensorView* yc = ctx.num_outputs() > 2 ? &ctx.allocate_output(2, DataType::kFloat, {D, B, H}) : nullptr;
    for (int64_t d = 0; d < D; ++d) {
      ConstMap W(ctx.input(1)->as<float>() + d * 4 * H * I, 4 * H, I);
      ConstMap R(ctx.input(2)->as<float>() + d * 4 * H * H, 4 * H, H);
      RowMajor h = h0 ? RowMajor(ConstMap(h0->as<float>() + d * B * H, B, H)) : RowMajor::Zero(B, H);
      RowMajor c = c0 ? RowMajor(ConstMap(c0->as<float>() + d * B * H, B, H)) : RowMajor::Zero(B, H);
      const float* pb = bias ? bias->as<float>() + d * 8 * H : nullptr;
      const float* pp = peep ? peep->as<float>() + d * 3 * H : nullptr;
      Act f = a_.acts[d * 3], g = a_.acts[d * 3 + 1], hact = a_.acts[d * 3 + 2];
      bool rev = a_.reverse || d == 1;
      for (int64_t step = 0; step < S; ++step) {
        int64_t t = rev ? S - 1 - step : step;
        ConstMap xt(ctx.input(0)->as<float>() + t * B * I, B, I);
        RowMajor gates = xt * W.transpose() + h * R.transpose();
        for (int64_t b = 0; b < B; ++b)
          for (int64_t k = 0; k < H; ++k) {
            auto gate = [&](int gi) {
              float v = gates(b, gi * H + k);
              if (pb) v += pb[gi * H + k] + pb[(4 + gi) * H + k];
              return v;
            };
            float cp = c(b, k);
            float it = apply(f, gate(0) + (pp ? pp[k] * cp : 0), a_.clip);
            float ft = apply(f, gate(2) + (pp ? pp[2 * H + k] * cp : 0), a_.clip);
            float ct = apply(g, gate(3), a_.clip);
            float cn = ft * cp + it * ct;
            float ot = apply(f, gate(1) + (pp ? pp[H + k] * cn : 0), a_.clip);
            c(b, k) = cn;
            h(b, k) = ot * apply(hact, cn, 0);
          }
        if (y) std::copy(h.data(), h.data() + B * H, y->as<float>() + (t * D + d) * B * H);
      }
      if (yh) std::copy(h.data(), h.data() + B * H, yh->as<float>() + d * B * H);
      if (yc) std::copy(c.data(), c.data() + B * H, yc->as<float>() + d * B * H);
    }
  }

 private:
  RnnAttrs a_;
};

class Gru : public Kernel {
 public:
  explicit Gru(const KernelInit& init)
      : a_(init, 2, {Act::kSigmoid, Act::kTanh}), linear_before_reset_(init.attr_int("linear_before_reset", 0) != 0) {}
  void compute(KernelContext& ctx) override {
    int64_t H = a_.hidden, D = a_.directions;
    auto [S, B, I] = check_inputs(ctx, 3, H, D);
    const TensorView* bias = ctx.input(3);
    const TensorView* h0 = ctx.input(5);
    TensorView* y = ctx.num_outputs() > 0 ? &ctx.allocate_output(0, DataType::kFloat, {S, D, B, H}) : nullptr;
    TensorView* yh = ctx.num_outputs() > 1 ? &ctx.allocate_output(1, DataType::kFloat, {D, B, H}) : nullptr;
    for (int64_t d = 0; d < D; ++d) {
      ConstMap W(ctx.input(1)->as<float>() + d * 3 * H * I, 3 * H, I);
      ConstMap R(ctx.input(2)->as<float>() + d * 3 * H * H, 3 * H, H);
      RowMajor h = h0 ? RowMajor(ConstMap(h0->as<float>() + d * B * H, B, H)) : RowMajor::Zero(B, H);
      const float* pb = bias ? bias->as<float>() + d * 6 * H : nullptr;
      Act f = a_.acts[d * 2], g = a_.acts[d * 2 + 1];
      bool rev = a_.reverse || d == 1;
      for (int64_t step = 0; step < S; ++step) {
        int64_t t = rev ? S - 1 - step : step;
        ConstMap xt(ctx.input(0)->as<float>() + t * B * I, B, I);
        RowMajor xw = xt * W.transpose();  // [B, 3H]: the z, r and h parts
        RowMajor hr = h * R.transpose();
        auto wb = [&](int gi, int64_t k) { return pb ? pb[gi * H + k] : 0.0f; };
        auto rb = [&](int gi, int64_t k) { return pb ? pb[(3 + gi) * H + k] : 0.0f; };
        RowMajor z(B, H), r(B, H);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t k = 0; k < H; ++k) {
            z(b, k) = apply(f, xw(b, k) + hr(b, k) + wb(0, k) + rb(0, k), a_.clip);
            r(b, k) = apply(f, xw(b, H + k) + hr(b, H + k) + wb(1, k) + rb(1, k), a_.clip);
          }
        // The candidate: the reset gate applies after (linear_before_reset) or before Rh.
        RowMajor rh;
        if (!linear_before_reset_) rh = r.cwiseProduct(h) * R.middleRows(2 * H, H).transpose();
        RowMajor hn(B, H);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t k = 0; k < H; ++k) {
            float pre = linear_before_reset_ ? xw(b, 2 * H + k) + r(b, k) * (hr(b, 2 * H + k) + rb(2, k)) + wb(2, k)
                                             : xw(b, 2 * H + k) + rh(b, k) + rb(2, k) + wb(2, k);
            float ht = apply(g, pre, a_.clip);
            hn(b, k) = (1 - z(b, k)) * ht + z(b, k) * h(b, k);
          }
        h = hn;
        if (y) std::copy(h.data(), h.data() + B * H, y->as<float>() + (t * D + d) * B * H);
      }
      if (yh) std::copy(h.data(), h.data() + B * H, yh->as<float>() + d * B * H);
    }
  }

 private:
  RnnAttrs a_;
  bool linear_before_reset_;
};

int64_t rnn_macs(const ir::Node& n, const NodeShapes& s, int64_t gates) {
  if (s.inputs.size() < 3 || s.inputs[0].size() != 3 || s.inputs[2].size() != 3) return 0;
  int64_t seq = s.inputs[0][0], batch = s.inputs[0][1], input = s.inputs[0][2];
  int64_t dirs = s.inputs[2][0], hidden = s.inputs[2][2];
  return seq * dirs * batch * gates * hidden * (input + hidden);
}

}  // namespace

std::vector<KernelDef> rnn_kernels() {
  return {
      onnx_op("LSTM", 7, make_kernel<Lstm>, [](const ir::Node& n, const NodeShapes& s) { return rnn_macs(n, s, 4); }),
      onnx_op("GRU", 7, make_kernel<Gru>, [](const ir::Node& n, const NodeShapes& s) { return rnn_macs(n, s, 3); }),
  };
}

}  // namespace pare::rt::kernels
