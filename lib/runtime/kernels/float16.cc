// float16 arithmetic for the float32 kernels: a bridge that runs a kernel on
// float16 tensors by widening its float16 inputs to float32, letting the kernel
// compute in float32, and rounding its float32 outputs to float16 (round to
// nearest even) at the op boundary. That is what ONNX Runtime's CPU provider
// does for most float16 ops, and it keeps one implementation per op. The same
// bridge runs MaxPool on int8/uint8 (a max is exact in float32).
//
// A node whose inputs hold no float16 (or 8-bit ints, for MaxPool) goes straight
// to its kernel, so float32 models pay nothing. The widened copies live on the
// heap for the duration of the node's compute; they are not counted in the
// arena's peak bytes.
#include <set>
#include <string_view>

#include "lib/base/fp16.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt {
namespace {

// Ops whose kernels compute in float32 and accept float16 through the bridge.
const std::set<std::string_view>& bridged_ops() {
  static const std::set<std::string_view> ops = {
      "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Erf", "Sin", "Cos",
      "Softplus", "Softsign", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Neg", "Abs", "Sign", "Clip",
      "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Mod",
      "Sum", "Mean", "Min", "Max", "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
      "InstanceNormalization", "LayerNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
      "Softmax", "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
      "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp", "ReduceLogSum", "ArgMax", "ArgMin", "TopK", "Resize",
      "Upsample", "LSTM", "GRU"};
  return ops;
}

bool widened(DataType t, bool ints) {
  return t == DataType::kFloat16 || (ints && (t == DataType::kInt8 || t == DataType::kUint8));
}

// The kernel's view of the node: widened inputs, float32 outputs kept aside.
class WideningContext : public KernelContext {
 public:
  WideningContext(KernelContext& outer, bool ints) : outer_(outer), ints_(ints) {
    for (size_t i = 0; i < outer.num_inputs(); ++i) {
      const TensorView* in = outer.input(i);
      inputs_.emplace_back();
      if (!in || !widened(in->dtype, ints)) continue;
      if (narrow_ == DataType::kUndefined) narrow_ = in->dtype;
      auto& buf = buffers_.emplace_back(static_cast<size_t>(in->numel()));
      for (int64_t k = 0; k < in->numel(); ++k) buf[k] = element(*in, k);
      inputs_.back() = TensorView{DataType::kFloat, in->dims, buf.data(), nullptr};
    }
  }
  size_t num_inputs() const override { return outer_.num_inputs(); }
  const TensorView* input(size_t i) const override {
    return inputs_[i].dtype != DataType::kUndefined ? &inputs_[i] : outer_.input(i);
  }
  size_t num_outputs() const override { return outer_.num_outputs(); }
  TensorView& allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims) override {
    if (dtype != DataType::kFloat) return outer_.allocate_output(i, dtype, std::move(dims));
    auto& w = wide_outputs_.emplace_back();
    w.index = i;
    w.buf.resize(static_cast<size_t>(std::max<int64_t>(0, TensorView{dtype, dims, nullptr, nullptr}.numel())));
    w.view = TensorView{DataType::kFloat, std::move(dims), w.buf.data(), nullptr};
    return w.view;
  }
  void* scratch(size_t bytes) override { return outer_.scratch(bytes); }
  int threads() const override { return outer_.threads(); }
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) const override { outer_.parallel_for(n, fn); }
  std::vector<ir::Tensor> run_subgraph(const CompiledGraph& g, const std::vector<ir::Tensor>& feeds) override {
    return outer_.run_subgraph(g, feeds);
  }
  const ir::Node& node() const override { return outer_.node(); }

  // Rounds every float32 output back to the narrow type of the inputs.
  void narrow_outputs() {
    for (auto& w : wide_outputs_) {
      TensorView& y = outer_.allocate_output(w.index, narrow_, w.view.dims);
      for (size_t k = 0; k < w.buf.size(); ++k) store(y, static_cast<int64_t>(k), w.buf[k]);
    }
  }

 private:
  static float element(const TensorView& t, int64_t k) {
    switch (t.dtype) {
      case DataType::kFloat16: return half_to_float(static_cast<const uint16_t*>(t.data)[k]);
      case DataType::kInt8: return static_cast<const int8_t*>(t.data)[k];
      default: return static_cast<const uint8_t*>(t.data)[k];
    }
  }
  static void store(TensorView& t, int64_t k, float v) {
    switch (t.dtype) {
      case DataType::kFloat16: static_cast<uint16_t*>(t.data)[k] = float_to_half(v); break;
      case DataType::kInt8: static_cast<int8_t*>(t.data)[k] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f)); break;
      default: static_cast<uint8_t*>(t.data)[k] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f)); break;
    }
  }
  struct WideOutput {
    size_t index = 0;
    std::vector<float> buf;
    TensorView view;
  };

  KernelContext& outer_;
  bool ints_;
  DataType narrow_ = DataType::kUndefined;
  std::vector<TensorView> inputs_;
  std::vector<std::vector<float>> buffers_;
  std::vector<WideOutput> wide_outputs_;
};

class Float16Bridge : public Kernel {
 public:
  Float16Bridge(std::unique_ptr<Kernel> inner, bool ints) : inner_(std::move(inner)), ints_(ints) {}
  void compute(KernelContext& ctx) override {
    bool any = false;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (const TensorView* in = ctx.input(i); in && widened(in->dtype, ints_)) any = true;
    if (!any) return inner_->compute(ctx);
    WideningContext wide(ctx, ints_);
    inner_->compute(wide);
    wide.narrow_outputs();
  }

 private:
  std::unique_ptr<Kernel> inner_;
  bool ints_;
};

}  // namespace

namespace kernels {

std::unique_ptr<Kernel> bridge_float16(const KernelDef& def, std::unique_ptr<Kernel> k) {
  if (def.domain.empty() && bridged_ops().count(def.op_type))
    return std::make_unique<Float16Bridge>(std::move(k), def.op_type == "MaxPool");
  return k;
}

}  // namespace kernels
}  // namespace pare::rt
