// trim: what the phone platform does goes out of the model, and the record lets
// the app do it: applying the recorded arithmetic outside the trimmed model must
// give the original model's outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tests/support/errors.h"
#include "tests/support/models.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

using Json = nlohmann::json;

// n deterministic values in about [-1, 1], as ONNX text ("0.841, 0.909, ...").
std::string values_text(int n, double phase = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(fmt::format("{:.3f}", std::sin(1.0 + i * 0.7 + phase)));
  return fmt::format("{}", fmt::join(out, ", "));
}

std::string trim_error(ir::Model& m, const std::string& pipeline) {
  return testing::error_of([&] { testing::run_pipeline(m, pipeline); });
}

// Every element within rtol of the reference, scaled to the reference's range.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double range = 0;
  for (float v : want) range = std::max(range, std::fabs(double(v)));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rtol * std::max(range, 1e-12)) << what << " at " << i;
}

std::vector<float> numbers_of(const Json& j) {
  std::vector<float> out;
  for (const auto& v : j) out.push_back(v.get<float>());
  return out;
}

// NHWC -> NCHW, optionally reversing channels, then x * scale[c] + bias[c]: what the app does.
template <typename T>
ir::Tensor apply_outside(const ir::Tensor& x, bool nhwc, bool reverse, const Json& rec) {
  auto scale = numbers_of(rec["scale"]), bias = numbers_of(rec["bias"]);
  const auto& d = x.dims();
  int64_t n = d[0], c = nhwc ? d[3] : d[1], h = nhwc ? d[1] : d[2], w = nhwc ? d[2] : d[3];
  auto in = x.span<T>();
  std::vector<float> out(static_cast<size_t>(n * c * h * w));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
          int64_t src = reverse ? c - 1 - k : k;
          size_t at = nhwc ? ((b * h + i) * w + j) * c + src : ((b * c + src) * h + i) * w + j;
          out[((b * c + k) * h + i) * w + j] = static_cast<float>(double(in[at]) * scale[k] + bias[k]);
        }
  return ir::Tensor::from<float>({n, c, h, w}, out);
}

std::vector<float> softmax(const std::vector<float>& x) {
  double mx = *std::max_element(x.begin(), x.end()), sum = 0;
  std::vector<float> out;
  for (float v : x) sum += std::exp(v - mx);
  for (float v : x) out.push_back(static_cast<float>(std::exp(v - mx) / sum));
  return out;
}

// ---------- trim(pre) ----------

std::string normalize_model() {
  return fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (uint8[1, 4, 4, 3] image) => (float[1, 2, 4, 4] y)
    <float k255 = {{255.0}}, float[1, 3, 1, 1] mean = {{0.485, 0.456, 0.406}},
     float[1, 3, 1, 1] std = {{0.229, 0.224, 0.225}}, float[2, 3, 3, 3] w = {{{}}}, float[2] b = {{0.1, -0.2}}> {{
      f = Cast<to = 1>(image)
      t = Transpose<perm = [0, 3, 1, 2]>(f)
      s = Div(t, k255)
      c = Sub(s, mean)
      n = Div(c, std)
      y = Conv<pads = [1, 1, 1, 1]>(n, w, b)
    }})",
                     values_text(54));
}

ir::Tensor image_u8(std::vector<int64_t> dims) {
  std::vector<uint8_t> v(static_cast<size_t>(ir::checked_numel(dims)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return ir::Tensor::from<uint8_t>(dims, v);
}

TEST(Trim, PreFoldsNormalizationAndTheAppReproducesIt) {
  ir::Model original = testing::model_from_text(normalize_model());
  ir::Tensor image = image_u8({1, 4, 4, 3});
  auto want = rt::Session(original).run({{"image", image}});

  ir::Model m = testing::model_from_text(normalize_model());
  auto stats = testing::run_pipeline(m, "trim(pre)");
  EXPECT_EQ(stats["nodes_removed"], 5);
  EXPECT_EQ(stats["inputs_trimmed"], 1);
  ASSERT_EQ(m.graph->nodes().size(), 1u);
  EXPECT_EQ(m.graph->nodes()[0]->op_type, "Conv");
  ASSERT_EQ(m.graph->inputs.size(), 1u);
  EXPECT_EQ(m.graph->inputs[0]->name(), "image");
  EXPECT_EQ(m.graph->inputs[0]->dtype, ir::DataType::kFloat);
  EXPECT_EQ(m.graph->inputs[0]->shape->str(), "[1,3,4,4]");
  EXPECT_EQ(m.graph->nodes()[0]->input(0), m.graph->inputs[0]);
  EXPECT_NO_THROW(formats::onnx::check_model(m));

  Json rec = Json::parse(m.metadata_value("pare.trim.pre.image"));
  const double mean[] = {0.485, 0.456, 0.406}, stdev[] = {0.229, 0.224, 0.225};
  ASSERT_EQ(rec["scale"].size(), 3u);
  ASSERT_EQ(rec["bias"].size(), 3u);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(rec["scale"][c].get<double>(), 1.0 / (255.0 * stdev[c]), 1e-9) << c;
    EXPECT_NEAR(rec["bias"][c].get<double>(), -mean[c] / stdev[c], 1e-6) << c;
  }
  EXPECT_EQ(rec["channel_order"], "rgb");
  EXPECT_EQ(rec["layout"], "NHWC");
  EXPECT_EQ(rec["input_dtype"], "uint8");
  EXPECT_FALSE(rec.contains("size"));
  EXPECT_EQ(rec["removed"], Json({"Cast", "Transpose", "Div", "Sub", "Div"}));
  EXPECT_TRUE(rec["coreml"].is_null());  // three different scales: Core ML's ImageType has one
  EXPECT_NE(rec["note"].get<std::string>().find("one scale"), std::string::npos);

  // The key property: the app's arithmetic + the trimmed model = the original model.
  auto got = rt::Session(m).run({{"image", apply_outside<uint8_t>(image, true, false, rec)}});
  expect_close(got[0].as_float(), want[0].as_float(), 1e-5, "y");
}

TEST(Trim, PreMetadataIsDeterministic) {
  ir::Model a = testing::model_from_text(normalize_model()), b = testing::model_from_text(normalize_model());
  testing::run_pipeline(a, "trim(pre)");
  testing::run_pipeline(b, "trim(pre)");
  std::string text = a.metadata_value("pare.trim.pre.image");
  EXPECT_EQ(text, b.metadata_value("pare.trim.pre.image"));
  // Sorted keys, 9 significant digits.
  EXPECT_EQ(text.rfind("{\"bias\":[-2.11790397,", 0), 0u) << text;
}

// Per-channel arithmetic before a channel reorder: the recorded scale and bias
// follow the trimmed input's channels, and the order is recorded as bgr.
std::string reorder_model() {
  return fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 4, 4] pixels) => (float[1, 2, 4, 4] y)
    <float half = {{127.5}}, float[3, 1, 1] mean = {{0.1, 0.2, 0.3}}, int64[3] bgr = {{2, 1, 0}},
     float[2, 3, 1, 1] w = {{{}}}> {{
      s = Div(pixels, half)
      c = Sub(s, mean)
      r = Gather<axis = 1>(c, bgr)
      y = Conv(r, w)
    }})",
                     values_text(6));
}

TEST(Trim, PreRecordsAChannelReorderAsBgr) {
  std::vector<float> px(48);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>((i * 53 + 7) % 256);
  ir::Tensor pixels = ir::Tensor::from<float>({1, 3, 4, 4}, px);
  ir::Model original = testing::model_from_text(reorder_model());
  auto want = rt::Session(original).run({{"pixels", pixels}});

  ir::Model m = testing::model_from_text(reorder_model());
  EXPECT_EQ(testing::run_pipeline(m, "trim(pre)")["nodes_removed"], 3);
  ASSERT_EQ(m.graph->nodes().size(), 1u);
  EXPECT_EQ(m.graph->inputs[0]->name(), "pixels");
  Json rec = Json::parse(m.metadata_value("pare.trim.pre.pixels"));
  EXPECT_EQ(rec["channel_order"], "bgr");
  EXPECT_EQ(rec["layout"], "NCHW");
  EXPECT_EQ(rec["input_dtype"], "float");
  // Trimmed channel 0 is the original channel 2 (blue), whose mean was 0.3.
  EXPECT_EQ(numbers_of(rec["bias"]), (std::vector<float>{-0.3f, -0.2f, -0.1f}));
  EXPECT_EQ(rec["scale"][0].get<double>(), std::stod(fmt::format("{:.9g}", 1 / 127.5)));
  // One scale: Core ML's ImageType can take it, with BGR colour layout.
  ASSERT_TRUE(rec["coreml"].is_object()) << rec.dump();
  EXPECT_EQ(rec["coreml"]["color_layout"], "BGR");
  EXPECT_EQ(rec["coreml"]["blue_bias"].get<float>(), -0.3f);
  EXPECT_EQ(rec["coreml"]["green_bias"].get<float>(), -0.2f);
  EXPECT_EQ(rec["coreml"]["red_bias"].get<float>(), -0.1f);
  EXPECT_EQ(rec["coreml"]["scale"], rec["scale"][0]);
  EXPECT_FALSE(rec.contains("note"));

  auto got = rt::Session(m).run({{"pixels", apply_outside<float>(pixels, false, true, rec)}});
  expect_close(got[0].as_float(), want[0].as_float(), 1e-5, "y");
}

TEST(Trim, PreRecordsTheSizeOfARemovedResize) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 8, 8] x) => (float[1, 3, 4, 4] y)
    <float[0] roi = {}, float[4] scales = {1.0, 1.0, 0.5, 0.5}, float k = {2.0}> {
      r = Resize<mode = "linear">(x, roi, scales)
      m = Mul(r, k)
      y = Relu(m)
    })");
  testing::run_pipeline(m, "trim(pre)");
  EXPECT_EQ(m.graph->inputs[0]->name(), "x");
  EXPECT_EQ(m.graph->inputs[0]->shape->str(), "[1,3,4,4]");
  Json rec = Json::parse(m.metadata_value("pare.trim.pre.x"));
  EXPECT_EQ(rec["size"], Json({4, 4}));
  EXPECT_EQ(rec["scale"], Json({2, 2, 2}));
  EXPECT_EQ(rec["coreml"]["scale"], 2);
  EXPECT_EQ(rec["removed"], Json({"Resize", "Mul"}));
  EXPECT_EQ(m.graph->constants().size(), 0u);  // roi, scales and k went with their nodes
}

TEST(Trim, PreStopsAtASharedTensor) {
  // s feeds two nodes: the chain ends at s, which becomes the input.
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 2, 2] x) => (float[1, 3, 2, 2] y)
    <float k = {0.5}> {
      s = Mul(x, k)
      t = Mul(s, k)
      u = Relu(s)
      y = Add(t, u)
    })");
  EXPECT_EQ(testing::run_pipeline(m, "trim(pre)")["nodes_removed"], 1);
  EXPECT_EQ(m.graph->nodes().size(), 3u);
  EXPECT_NE(m.metadata_value("pare.trim.pre.x").find(R"("scale":[0.5,0.5,0.5])"), std::string::npos);
}

TEST(Trim, PreWithoutPreprocessingFailsClearly) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 2, 2] x) => (float[1, 3, 2, 2] y) {
      y = Relu(x)
    })");
  m.graph->nodes()[0]->name = "act";
  EXPECT_EQ(trim_error(m, "trim(pre)"),
            "in pass 'trim': trim(pre): no preprocessing after input 'x': its first consumer is Relu 'act'");
  ir::Model flat = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 3] x) => (float[2, 3] y) { y = Relu(x) })");
  EXPECT_EQ(trim_error(flat, "trim(pre)"),
            "in pass 'trim': trim(pre): the model has no image-like input (rank 4, float or uint8)");
}

// ---------- trim(post) ----------

std::string classifier_model() {
  return fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 4, 4] x) => (float[1, 5] probs)
    <float[2, 3, 1, 1] w = {{{}}}, float[32, 5] fc = {{{}}}, float[5] fb = {{0.1, 0.2, 0.3, 0.4, 0.5}}> {{
      c = Conv(x, w)
      f = Flatten(c)
      logits = Gemm(f, fc, fb)
      probs = Softmax<axis = 1>(logits)
    }})",
                     values_text(6), values_text(160, 0.3));
}

TEST(Trim, PostRemovesTheSoftmaxAndKeepsTheOutputName) {
  auto x = rt::random_inputs(testing::model_from_text(classifier_model()), {})[0];
  ir::Model original = testing::model_from_text(classifier_model());
  auto want = rt::Session(original).run({{"x", x}});

  ir::Model m = testing::model_from_text(classifier_model());
  auto stats = testing::run_pipeline(m, "trim(post)");
  EXPECT_EQ(stats["nodes_removed"], 1);
  EXPECT_EQ(stats["outputs_trimmed"], 1);
  ASSERT_EQ(m.graph->outputs.size(), 1u);
  EXPECT_EQ(m.graph->outputs[0]->name(), "probs");
  EXPECT_EQ(m.graph->outputs[0]->producer()->op_type, "Gemm");
  for (const auto& n : m.graph->nodes()) EXPECT_NE(n->op_type, "Softmax");
  EXPECT_EQ(m.graph->outputs[0]->shape->str(), "[1,5]");
  EXPECT_EQ(m.metadata_value("pare.trim.post.probs"), R"({"axis":1,"op":"Softmax"})");
  EXPECT_NO_THROW(formats::onnx::check_model(m));

  auto got = rt::Session(m).run({{"x", x}});
  expect_close(softmax(got[0].as_float()), want[0].as_float(), 1e-5, "probs");
}

TEST(Trim, PostRecordsTopKAndArgMax) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 6] x) => (int64[2, 1] best, float[2, 3] top)
    <int64[1] k = {3}> {
      a = Relu(x)
      best = ArgMax<axis = 1>(a)
      b = Neg(x)
      top, idx = TopK<axis = -1>(b, k)
    })");
  EXPECT_EQ(testing::run_pipeline(m, "trim(post)")["outputs_trimmed"], 2);
  EXPECT_EQ(m.metadata_value("pare.trim.post.best"), R"({"axis":1,"keepdims":1,"op":"ArgMax"})");
  EXPECT_EQ(m.metadata_value("pare.trim.post.top"),
            R"({"axis":-1,"k":3,"largest":1,"op":"TopK","output":"values","sorted":1})");
  EXPECT_EQ(m.graph->outputs[0]->name(), "best");
  EXPECT_EQ(m.graph->outputs[0]->producer()->op_type, "Relu");
  EXPECT_EQ(m.graph->outputs[0]->dtype, ir::DataType::kFloat);  // the scores, no longer the index
  EXPECT_EQ(m.graph->outputs[1]->name(), "top");
  EXPECT_EQ(m.graph->outputs[1]->producer()->op_type, "Neg");
  EXPECT_EQ(m.graph->outputs[1]->shape->str(), "[2,6]");
}

TEST(Trim, PostFailsWhenNoOutputEndsInSuchAnOp) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 3] x) => (float[2, 3] y, float[2, 3] p) {
      y = Relu(x)
      p = Softmax(y)
    })");
  // p's Softmax reads y, which is itself an output: the app could not get y back.
  std::string e = trim_error(m, "trim(post)");
  EXPECT_NE(e.find("trim(post): no graph output ends in Softmax, LogSoftmax, Sigmoid, ArgMax or TopK"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("'y' comes from an unnamed Relu"), std::string::npos) << e;
  EXPECT_NE(e.find("whose input 'y' is also used elsewhere"), std::string::npos) << e;
}

// ---------- trim(front) ----------

constexpr const char* kChain = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[2, 3] x) => (float[2, 3] y)
  <float[2, 3] w = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}> {
    a = Relu(x)
    b = Mul(a, w)
    c = Neg(b)
    y = Add(c, b)
  })";

TEST(Trim, FrontDropsEverythingBeforeTheTensor) {
  ir::Tensor x = ir::Tensor::from<float>({2, 3}, {1, -2, 3, -4, 5, -6});
  ir::Model original = testing::model_from_text(kChain);
  auto seen = rt::Session(original).run_capture({{"x", x}}, {"b", "y"});

  ir::Model m = testing::model_from_text(kChain);
  auto stats = testing::run_pipeline(m, "trim(front=b, vision=face-rectangles)");
  EXPECT_EQ(stats["nodes_removed"], 2);
  ASSERT_EQ(m.graph->inputs.size(), 1u);
  EXPECT_EQ(m.graph->inputs[0]->name(), "b");
  EXPECT_EQ(m.graph->nodes().size(), 2u);
  EXPECT_EQ(m.graph->constants().size(), 0u);
  EXPECT_EQ(m.metadata_value("pare.trim.front"),
            R"({"apple_request":"VNDetectFaceRectanglesRequest","input":{"dtype":"float","name":"b","shape":[2,3]},)"
            R"("tensor":"b","vision":"face-rectangles"})");
  auto got = rt::Session(m).run({{"b", seen.at("b")}});
  EXPECT_EQ(got[0].as_float(), seen.at("y").as_float());
  // The canonical form of the step names the mode.
  EXPECT_EQ(Pipeline::parse("trim(front=b, vision=saliency)").str(), "trim(what=front,front=b,vision=saliency)");
}

TEST(Trim, FrontErrorsNameTheProblem) {
  ir::Model m = testing::model_from_text(kChain);
  EXPECT_EQ(trim_error(m, "trim(front=bb)"),
            "in pass 'trim': trim(front=bb): there is no tensor named 'bb' (did you mean 'b'?)");
  EXPECT_EQ(trim_error(m, "trim(front=x)"),
            "in pass 'trim': trim(front=x): 'x' is already a graph input: there is nothing before it");
  EXPECT_EQ(trim_error(m, "trim(front=w)"), "in pass 'trim': trim(front=w): 'w' is a constant, not a tensor to cut at");
  EXPECT_EQ(m.graph->nodes().size(), 4u);  // failures leave the model alone

  std::string e = testing::error_of([] { Pipeline::parse("trim(front=b, vision=faces)"); });
  EXPECT_NE(e.find("option 'vision' takes one of face-rectangles, face-landmarks, text-rectangles, "
                   "human-rectangles, image-feature-print, saliency, none, got 'faces'"),
            std::string::npos)
      << e;

  // A cut that leaves an output undefined: y also needs a, which comes from x.
  ir::Model skip = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 3] x) => (float[2, 3] y) {
      a = Relu(x)
      b = Neg(a)
      y = Add(a, b)
    })");
  EXPECT_EQ(trim_error(skip, "trim(front=b)"),
            "in pass 'trim': trim(front=b): the outputs also need input 'x', which is not among the inputs given to "
            "cut");
  ir::Model sub = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] x) => (float[2] y) {
      y = If(c) < then_branch = t () => (float[2] t_out) { t_out = Neg(x) },
                  else_branch = e () => (float[2] e_out) { e_out = Abs(x) } >
    })");
  EXPECT_EQ(trim_error(sub, "trim(front=t_out)"),
            "in pass 'trim': trim(front=t_out): 't_out' is inside a subgraph; cut and split work on the main graph");
}

TEST(Trim, ModesAndOptionsMustAgree) {
  ir::Model m = testing::model_from_text(kChain);
  EXPECT_EQ(trim_error(m, "trim"),
            "in pass 'trim': trim: say what to remove: trim(pre), trim(post) or trim(front=TENSOR, vision=REQUEST)");
  EXPECT_EQ(trim_error(m, "trim(pre, front=b)"),
            "in pass 'trim': trim(pre) does not take front=; trim(front=TENSOR) removes everything before TENSOR");
  EXPECT_EQ(trim_error(m, "trim(post, vision=saliency)"),
            "in pass 'trim': trim(post) does not take vision=; it goes with trim(front=TENSOR, vision=REQUEST)");
}

// ---------- real models ----------

// BlazeFace takes NHWC floats and transposes them first: that Transpose is its preprocessing.
TEST(Trim, PreOnBlazeFaceRemovesTheLayoutTranspose) {
  std::string path = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  ir::Model original = formats::onnx::load_model(path);
  ir::Tensor x = rt::random_inputs(original, {})[0];
  auto want = rt::Session(original).run({{"input:0", x}});

  ir::Model m = formats::onnx::load_model(path);
  auto stats = testing::run_pipeline(m, "trim(pre)");
  EXPECT_EQ(stats["nodes_removed"], 1);
  EXPECT_EQ(m.graph->inputs[0]->name(), "input:0");
  EXPECT_EQ(m.graph->inputs[0]->shape->str(), "[1,3,128,128]");
  EXPECT_EQ(m.graph->inputs[0]->uses()[0].node->op_type, "Conv");
  Json rec = Json::parse(m.metadata_value("pare.trim.pre.input:0"));
  EXPECT_EQ(rec["layout"], "NHWC");
  EXPECT_EQ(rec["removed"], Json({"Transpose"}));
  EXPECT_EQ(rec["scale"], Json({1, 1, 1}));
  EXPECT_EQ(rec["bias"], Json({0, 0, 0}));
  EXPECT_NO_THROW(formats::onnx::check_model(m));

  auto got = rt::Session(m).run({{"input:0", apply_outside<float>(x, true, false, rec)}});
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i].as_float(), want[i].as_float(), 1e-5, "output");
}

constexpr const char* kClassifier = "ch_ppocr_mobile_v2.0_cls_infer.onnx";

ir::Tensor cls_input(const ir::Model& m) {
  return rt::random_inputs(m, {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48},
                               {"p2o.DynamicDimension.2", 192}})[0];
}

TEST(Trim, PPOcrClassifierHasNoPreprocessingAndEndsInSoftmax) {
  std::string path = testing::testdata_model(kClassifier);
  ir::Model m = formats::onnx::load_model(path);
  EXPECT_EQ(trim_error(m, "trim(pre)"),
            "in pass 'trim': trim(pre): no preprocessing after input 'x': its first consumer is Conv 'p2o.Conv.0'");

  ir::Model original = formats::onnx::load_model(path);
  ir::Tensor x = cls_input(original);
  auto want = rt::Session(original).run({{"x", x}});
  auto stats = testing::run_pipeline(m, "trim(post)");
  EXPECT_EQ(stats["nodes_removed"], 1);
  EXPECT_EQ(m.graph->outputs[0]->name(), "softmax_0.tmp_0");
  EXPECT_EQ(m.graph->outputs[0]->producer()->op_type, "Add");
  EXPECT_EQ(m.metadata_value("pare.trim.post.softmax_0.tmp_0"), R"({"axis":1,"op":"Softmax"})");
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  auto got = rt::Session(m).run({{"x", x}});
  expect_close(softmax(got[0].as_float()), want[0].as_float(), 1e-5, "softmax_0.tmp_0");
}

TEST(Trim, FrontOnThePPOcrClassifier) {
  std::string path = testing::testdata_model(kClassifier);
  const std::string middle = "relu_1.tmp_0";
  ir::Model original = formats::onnx::load_model(path);
  ir::Tensor x = cls_input(original);
  auto seen = rt::Session(original).run_capture({{"x", x}}, {middle, "softmax_0.tmp_0"});

  ir::Model m = formats::onnx::load_model(path);
  auto stats = testing::run_pipeline(m, "trim(front=" + middle + ", vision=text-rectangles)");
  EXPECT_GT(stats["nodes_removed"], 0);
  ASSERT_EQ(m.graph->inputs.size(), 1u);
  EXPECT_EQ(m.graph->inputs[0]->name(), middle);
  Json rec = Json::parse(m.metadata_value("pare.trim.front"));
  EXPECT_EQ(rec["vision"], "text-rectangles");
  EXPECT_EQ(rec["apple_request"], "VNDetectTextRectanglesRequest");
  EXPECT_EQ(rec["input"]["dtype"], "float");
  EXPECT_EQ(rec["input"]["shape"].size(), 4u);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  auto got = rt::Session(m).run({{middle, seen.at(middle)}});
  expect_close(got[0].as_float(), seen.at("softmax_0.tmp_0").as_float(), 1e-6, "softmax_0.tmp_0");
}

}  // namespace
}  // namespace pare::passes
