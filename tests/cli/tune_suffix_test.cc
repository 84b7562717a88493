// Tune's one-layer variants run from where they differ from the prepared model
// (jobs/tune_suffix.h): the probed tensors must be what a whole run of the
// variant gives, for early, middle and late layers and for the storage and
// static int8 choices; the part run must be smaller for a late layer; and the
// content hashes must tell changed values from unchanged ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "formats/onnx/onnx.h"
#include "jobs/measure.h"
#include "jobs/tune_space.h"
#include "jobs/tune_suffix.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/content_hash.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"

namespace pare {
namespace {

using jobs::FidelityProbe;
using jobs::tune_detail::SuffixRuns;

const std::map<std::string, int64_t> kDims = {
    {"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48}, {"p2o.DynamicDimension.2", 192}};

struct Prepared {
  std::string bytes;
  std::vector<jobs::tune_detail::Layer> layers;
  std::vector<formats::Sample> samples;
};

const Prepared& prepared_classifier() {
  static Prepared p = [] {
    Prepared x;
    ir::Model m = formats::onnx::load_model(testing::kCls);
    passes::PassContext ctx;
    passes::Pipeline::parse(jobs::tune_detail::kPreparation).run(m, ctx, false);
    x.bytes = formats::onnx::serialize_model(m);
    x.layers = jobs::tune_detail::find_layers(m);
    for (uint64_t seed : {1, 2, 3}) x.samples.push_back(rt::random_feed(m, kDims, seed));
    return x;
  }();
  return p;
}

ir::Model parse(const std::string& bytes) { return formats::onnx::load_model_from_bytes(bytes, "prepared", "."); }

// The prepared classifier with `step` applied.
ir::Model variant_of(const std::string& step) {
  const Prepared& p = prepared_classifier();
  ir::Model m = parse(p.bytes);
  passes::PassContext ctx;
  ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return p.samples; };
  passes::Pipeline::parse(step).run(m, ctx, false);
  return m;
}

size_t node_count(const ir::Model& m) { return m.graph->nodes().size(); }

// The largest difference between two lists of tensors, relative to the largest |value|.
double relative_difference(const std::vector<ir::Tensor>& a, const std::vector<ir::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].dims(), b[i].dims()) << i;
    if (a[i].dims() != b[i].dims()) return 1e300;
    auto x = a[i].as_double(), y = b[i].as_double();
    for (size_t k = 0; k < x.size(); ++k) {
      diff = std::max(diff, std::abs(x[k] - y[k]));
      scale = std::max(scale, std::abs(x[k]));
    }
  }
  return scale > 0 ? diff / scale : diff;
}

TEST(TuneSuffix, ChangedPartGivesWhatTheWholeVariantGives) {
  const Prepared& p = prepared_classifier();
  ASSERT_GT(p.layers.size(), 10u);
  SuffixRuns runs(parse(p.bytes), p.samples, int64_t{64} << 20);
  ASSERT_TRUE(runs.usable());
  size_t whole_nodes = node_count(parse(p.bytes));
  std::vector<size_t> picked = {0, p.layers.size() / 2, p.layers.size() - 1};
  int tried = 0;
  for (size_t l : picked) {
    const std::string& label = p.layers[l].label;
    for (std::string step : {"quantize(dtype=int8, weights-only, only=" + label + ")",
                             "palettize(bits=4, only=" + label + ")",
                             "quantize(dtype=int8, calib=samples, only=" + label + ")"}) {
      SCOPED_TRACE(step);
      ir::Model whole;
      try {
        whole = variant_of(step);
      } catch (const Error&) {
        continue;  // too small for the palette, as tune's variants may be
      }
      ++tried;
      FidelityProbe whole_probe(whole);
      rt::Session session(whole);
      ir::Model part = variant_of(step);
      FidelityProbe probe(part);
      auto got = runs.run(part, probe);
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(got->size(), p.samples.size());
      for (size_t s = 0; s < p.samples.size(); ++s) {
        std::vector<ir::Tensor> expected = whole_probe.run(session, p.samples[s]);
        // The same kernels on the same values; only a fusion the cut changes
        // may round differently.
        EXPECT_LE(relative_difference(expected, (*got)[s]), 1e-5) << "sample " << s;
      }
      // The changed part is what was run: past the first layer, less than the whole.
      if (l > 0) EXPECT_LT(node_count(part), node_count(whole)) << label;
      if (l == picked.back()) EXPECT_LT(node_count(part) * 4, whole_nodes) << label;
    }
  }
  EXPECT_GE(tried, 8);
}

TEST(TuneSuffix, UnchangedVariantIsThePreparedModelsOwnRun) {
  const Prepared& p = prepared_classifier();
  SuffixRuns runs(parse(p.bytes), p.samples, int64_t{64} << 20);
  ir::Model same = parse(p.bytes);
  FidelityProbe probe(same);
  auto got = runs.run(same, probe);
  ASSERT_TRUE(got.has_value());
  rt::Session session(same);
  for (size_t s = 0; s < p.samples.size(); ++s)
    EXPECT_EQ(relative_difference(probe.run(session, p.samples[s]), (*got)[s]), 0.0);
}

TEST(TuneSuffix, ContentHashesFollowWhatAValueComputes) {
  const Prepared& p = prepared_classifier();
  ir::Model a = parse(p.bytes), b = parse(p.bytes);
  auto by_name = [](const ir::Model& m) {
    passes::ContentHasher hashes(m, 0, /*with_opset=*/false);
    std::map<std::string, std::string> out;
    for (const auto& n : m.graph->nodes())
      for (const ir::Value* v : n->outputs())
        if (v) out[v->name()] = hashes.of(v);
    return out;
  };
  auto fa = by_name(a);
  EXPECT_EQ(fa, by_name(b)) << "two parses of one model compute the same values";
  // Changing the last layer's weight changes its output and what follows, not what comes before.
  const auto& last = p.layers.back();
  ir::Value* w = b.graph->find_value(last.weight);
  ASSERT_NE(w, nullptr);
  std::vector<float> values = w->constant().as_float();
  values[0] += 1.0f;
  w->set_constant(ir::Tensor::from(w->constant().dims(), values));
  auto fb = by_name(b);
  const ir::Node* layer = nullptr;
  for (const auto& n : b.graph->nodes())
    if (ir::node_label(*n) == last.label) layer = n.get();
  ASSERT_NE(layer, nullptr);
  EXPECT_NE(fa.at(layer->output(0)->name()), fb.at(layer->output(0)->name()));
  EXPECT_EQ(fa.at(layer->input(0)->name()), fb.at(layer->input(0)->name()));
  for (const ir::Value* out : b.graph->outputs) EXPECT_NE(fa.at(out->name()), fb.at(out->name()));
}

}  // namespace
}  // namespace pare
