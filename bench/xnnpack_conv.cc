// Evaluates XNNPACK (Debian's libxnnpack-dev) as a backend for pare's hot op,
// Conv, against pare's own kernels, on the Conv nodes of a real model:
//   pare_xnnpack_bench MODEL [--dim NAME=VALUE ...] [--runs N]
// Every Conv with constant weights is timed alone, one thread each, on the
// shapes one run of the model gives it: in pare's runner (a one-node model,
// NCHW) and as an XNNPACK NHWC operator. XNNPACK's time leaves out the
// NCHW<->NHWC transposes an NCHW runner would add, so it is its best case.
// Rounds alternate pare and XNNPACK per node; the medians are summed per model.
// Built only when XNNPACK is installed (CMake target pare_xnnpack_bench); never
// run by the tests.
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace {

using pare::ir::Tensor;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

template <typename F>
double time_ms(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct ConvNode {
  const pare::ir::Node* node;
  std::vector<int64_t> x_dims, y_dims;
};

// A one-node model holding `n` with its constant inputs.
pare::ir::Model one_conv(const pare::ir::Node& n, const std::vector<int64_t>& x_dims, int64_t opset) {
  pare::ir::Model m;
  m.opsets = {{"", opset}};
  pare::ir::Graph& g = *m.graph;
  pare::ir::Value* x = g.add_value("x");
  x->dtype = pare::ir::DataType::kFloat;
  x->shape = pare::ir::Shape::of(x_dims);
  g.inputs.push_back(x);
  std::vector<pare::ir::Value*> ins = {x, g.add_constant("w", n.inputs()[1]->constant())};
  if (n.inputs().size() > 2 && n.inputs()[2]) ins.push_back(g.add_constant("b", n.inputs()[2]->constant()));
  pare::ir::Node* c = g.add_node("Conv", ins, {"y"});
  c->attrs = n.attrs;
  g.outputs.push_back(c->output(0));
  return m;
}

// XNNPACK's operator for `n` (NHWC, weights reordered to OHWI), or nullptr.
xnn_operator_t xnn_conv(const pare::ir::Node& n, const std::vector<int64_t>& x_dims) {
  const Tensor& w = n.inputs()[1]->constant();
  auto wd = w.dims();
  int64_t m = wd[0], cg = wd[1], kh = wd[2], kw = wd[3], group = n.attr_int("group", 1);
  auto strides = n.attr_ints("strides", {1, 1}), dil = n.attr_ints("dilations", {1, 1});
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  uint32_t flags = auto_pad == "SAME_UPPER" ? XNN_FLAG_TENSORFLOW_SAME_PADDING : 0;
  if (flags) pads = {0, 0, 0, 0};
  if (group > 1 && cg == 1 && m == group) flags |= XNN_FLAG_DEPTHWISE_CONVOLUTION;
  int64_t mg = m / group;
  std::vector<float> ohwi(w.numel());
  auto src = w.span<float>();
  for (int64_t o = 0; o < m; ++o)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) ohwi[((o * kh + i) * kw + j) * cg + c] = src[((o * cg + c) * kh + i) * kw + j];
  std::vector<float> bias(m, 0.0f);
  if (n.inputs().size() > 2 && n.inputs()[2]) bias = n.inputs()[2]->constant().as_float();
  xnn_operator_t op = nullptr;
  auto status = xnn_create_convolution2d_nhwc_f32(
      pads[0], pads[3], pads[2], pads[1], kh, kw, strides[0], strides[1], dil[0], dil[1], group, cg, mg, cg * group, m,
      ohwi.data(), bias.data(), -INFINITY, INFINITY, flags, &op);
  return status == xnn_status_success ? op : nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pare_xnnpack_bench MODEL [--dim NAME=VALUE ...] [--runs N]\n");
    return 2;
  }
  std::map<std::string, int64_t> dims;
  int runs = 15;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--runs") runs = std::stoi(value);
    if (flag == "--dim") dims[value.substr(0, value.find('='))] = std::stoll(value.substr(value.find('=') + 1));
  }
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "pare_xnnpack_bench: XNNPACK does not support this CPU\n");
    return 2;
  }
  pare::ir::Model model = pare::formats::onnx::load_model(argv[1]);
  pare::rt::Session whole(model);
  whole.run(pare::rt::random_feed(model, dims));
  std::vector<ConvNode> convs;
  const auto& st = whole.last_stats();
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const pare::ir::Node& n = *st.nodes[i];
    if (n.op_type == "Conv" && n.inputs()[1]->is_constant() && st.shapes[i].inputs[0].size() == 4)
      convs.push_back({&n, st.shapes[i].inputs[0], st.shapes[i].outputs[0]});
  }
  double pare_total = 0, xnn_total = 0;
  std::mt19937 rng(1);
  std::printf("| node | x | W | pare ms | XNNPACK ms |\n|---|---|---|---:|---:|\n");
  for (const auto& c : convs) {
    pare::ir::Model one = one_conv(*c.node, c.x_dims, model.opset(""));
    pare::rt::Session s(one);
    int64_t xn = 1, yn = 1;
    for (int64_t d : c.x_dims) xn *= d;
    for (int64_t d : c.y_dims) yn *= d;
    std::vector<float> xv(xn);
    for (auto& v : xv) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    std::map<std::string, Tensor> feed = {{"x", Tensor::from<float>(c.x_dims, xv)}};
    xnn_operator_t op = xnn_conv(*c.node, c.x_dims);
    if (!op) {
      std::fprintf(stderr, "pare_xnnpack_bench: XNNPACK refused node '%s'\n", c.node->name.c_str());
      continue;
    }
    std::vector<float> y(yn);
    xnn_setup_convolution2d_nhwc_f32(op, c.x_dims[0], c.x_dims[2], c.x_dims[3], xv.data(), y.data(), nullptr);
    std::vector<double> tp, tx;
    for (int i = 0; i < 2; ++i) {
      s.run(feed);
      xnn_run_operator(op, nullptr);
    }
    for (int i = 0; i < runs; ++i) {
      tp.push_back(time_ms([&] { s.run(feed); }));
      tx.push_back(time_ms([&] { xnn_run_operator(op, nullptr); }));
    }
    xnn_delete_operator(op);
    double p = median(tp), x = median(tx);
    pare_total += p;
    xnn_total += x;
    const auto& wd = c.node->inputs()[1]->constant().dims();
    std::printf("| %s | %lldx%lldx%lld | %lldx%lldx%lldx%lld g%lld | %.3f | %.3f |\n", c.node->name.c_str(),
                (long long)c.x_dims[1], (long long)c.x_dims[2], (long long)c.x_dims[3], (long long)wd[0],
                (long long)wd[1], (long long)wd[2], (long long)wd[3], (long long)c.node->attr_int("group", 1), p, x);
  }
  std::printf("\nTOTAL %s: %zu Conv nodes, pare %.3f ms, XNNPACK %.3f ms, pare/XNNPACK %.2f\n", argv[1], convs.size(),
              pare_total, xnn_total, pare_total / xnn_total);
  return 0;
}
