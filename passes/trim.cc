// trim: remove model stages the phone platform already does, and record exactly
// what was removed (model metadata, JSON) so the app does it outside the model.
//
// trim(pre): the preprocessing after each image-like graph input (rank 4, float
// or uint8): a chain of single-consumer Cast (to float), Mul/Div by a constant,
// Add/Sub of a constant (scalar or per channel), Transpose NHWC->NCHW, a Gather
// [2,1,0] on the channel axis and Resize with constant scales or sizes.
//   Before:  x(uint8 NHWC) -> Cast -> Transpose -> Div(255) -> Sub(mean) -> Div(std) -> Conv
//   After:   x(float NCHW) -> Conv
// The arithmetic folds into y = x * scale[c] + bias[c] per channel (c counts the
// trimmed input's channels); the new input keeps the original input's name.
// Metadata `pare.trim.pre.<input>` = {"scale", "bias", "channel_order" (bgr: the
// trimmed input wants the original's channels reversed), "layout" and
// "input_dtype" of the original input, "size" [H, W] if a Resize went, "removed"
// (the op types, in order), "coreml": Core ML ImageType's scale and per-colour
// biases, or null with a "note" when one scale cannot express it}.
//
// trim(post): a Softmax, LogSoftmax, Sigmoid, ArgMax or TopK producing a graph
// output whose input nothing else reads. The output becomes the op's input and
// keeps the output's name; `pare.trim.post.<output>` = {"op", and its attributes}.
//
// trim(front=TENSOR, vision=REQUEST): everything before TENSOR goes (cut with
// inputs={TENSOR}); Apple Vision's REQUEST produces what the model now takes
// (docs/vision.md). `pare.trim.front` = {"tensor", "vision", "input": {"name",
// "dtype", "shape"}} (plus "apple_request", the Vision class).
//
// Numbers in the metadata are printed with 9 significant digits and keys are
// sorted, so the same model always gives the same text.
#include <algorithm>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "passes/cut.h"
#include "passes/pass.h"

namespace pare::passes {
namespace {

using Json = nlohmann::json;

// A number as JSON with 9 significant digits (so the text is deterministic and short).
Json number(double v) {
  if (v == 0) v = 0;  // no "-0"
  return Json::parse(fmt::format("{:.9g}", v));
}

Json numbers(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push_back(number(v));
  return out;
}

Json shape_json(const std::optional<ir::Shape>& shape) {
  if (!shape) return nullptr;
  Json out = Json::array();
  for (const auto& d : shape->dims) {
    if (d.is_known()) out.push_back(d.value);
    else if (!d.symbol.empty()) out.push_back(d.symbol);
    else out.push_back(nullptr);
  }
  return out;
}

std::string node_text(const ir::Node& n) {
  return n.name.empty() ? "an unnamed " + n.op_type : fmt::format("{} '{}'", n.op_type, n.name);
}

size_t count_nodes(ir::Model& model) {
  size_t n = 0;
  ir::for_each_graph(*model.graph, [&](ir::Graph& g) { n += g.nodes().size(); });
  return n;
}

// The one main-graph node that reads `v` (a plain ONNX op), or nullptr.
ir::Node* sole_consumer(ir::Graph& g, const ir::Value* v) {
  if (v->uses().size() != 1 || v->is_graph_output()) return nullptr;
  ir::Node* n = v->uses()[0].node;
  if (n->owner() != &g || !n->domain.empty() || n->outputs().size() != 1 || !n->output(0)) return nullptr;
  return n;
}

// ---------- trim(pre) ----------

const std::vector<std::string> kPreOps = {"Cast", "Mul", "Div", "Add", "Sub", "Transpose", "Gather", "Resize"};

// The preprocessing chain after one input, folded as it is walked.
struct PreChain {
  int64_t opset = 0;
  std::vector<ir::Dim> dims;  // of the current tensor
  int ch = 1;                 // its channel axis
  ir::DataType dtype = ir::DataType::kUndefined;
  std::vector<double> scale{1.0}, bias{0.0};  // one entry (uniform) or one per channel
  bool reversed = false;                      // a channel reorder [2,1,0] happened (odd times)
  std::optional<std::pair<int64_t, int64_t>> size;  // H, W after a Resize
  std::vector<ir::Node*> nodes;
  std::vector<std::string> ops;

  int64_t channels() const { return dims[ch].is_known() ? dims[ch].value : 0; }
  bool nhwc() const { return ch == 3; }

  // The constant's value per channel (one value if scalar), or nothing when its
  // broadcast is not per channel of the current tensor.
  std::optional<std::vector<double>> per_channel(const ir::Value* v) const {
    if (!v || !v->is_constant()) return std::nullopt;
    const ir::Tensor& t = v->constant();
    if (!ir::is_float(t.dtype()) || t.rank() > 4 || t.numel() == 0) return std::nullopt;
    if (t.numel() == 1) return t.as_double();
    int64_t c = channels();
    if (c <= 0 || t.numel() != c) return std::nullopt;
    size_t offset = 4 - t.rank();
    for (size_t i = 0; i < t.rank(); ++i)
      if (t.dims()[i] != (static_cast<int>(offset + i) == ch ? c : 1)) return std::nullopt;
    return t.as_double();
  }

  // Composes y = f(x) after the affine so far; false (and no change) if not finite.
  template <typename F>
  bool compose(const std::vector<double>& c, F f) {
    size_t n = std::max({scale.size(), bias.size(), c.size()});
    auto at = [](const std::vector<double>& v, size_t i) { return v.size() == 1 ? v[0] : v[i]; };
    std::vector<double> s(n), b(n);
    for (size_t i = 0; i < n; ++i) {
      auto [si, bi] = f(at(scale, i), at(bias, i), at(c, i));
      if (!std::isfinite(si) || !std::isfinite(bi)) return false;
      s[i] = si;
      b[i] = bi;
    }
    scale = std::move(s);
    bias = std::move(b);
    return true;
  }

  // Folds node `n`, which reads the current tensor `cur`; false if it is not preprocessing.
  bool absorb(ir::Node* n, ir::Value* cur) {
    const std::string& op = n->op_type;
    if (op == "Cast") {
      if (n->attr_int("to", 0) != static_cast<int64_t>(ir::DataType::kFloat)) return false;
      dtype = ir::DataType::kFloat;
      return true;
    }
    if (op == "Mul" || op == "Div" || op == "Add" || op == "Sub") {
      if (dtype != ir::DataType::kFloat || n->inputs().size() != 2) return false;
      bool cur_first = n->input(0) == cur;
      auto c = per_channel(cur_first ? n->input(1) : n->input(0));
      if (!c) return false;
      if (op == "Mul") return compose(*c, [](double s, double b, double k) { return std::pair{s * k, b * k}; });
      if (op == "Add") return compose(*c, [](double s, double b, double k) { return std::pair{s, b + k}; });
      if (op == "Div") {
        if (!cur_first) return false;  // k / x is not affine
        return compose(*c, [](double s, double b, double k) { return std::pair{s / k, b / k}; });
      }
      if (cur_first) return compose(*c, [](double s, double b, double k) { return std::pair{s, b - k}; });
      return compose(*c, [](double s, double b, double k) { return std::pair{-s, k - b}; });
    }
    if (op == "Transpose") {
      if (!nhwc() || n->attr_ints("perm") != std::vector<int64_t>{0, 3, 1, 2}) return false;
      dims = {dims[0], dims[3], dims[1], dims[2]};
      ch = 1;
      return true;
    }
    if (op == "Gather") {
      int64_t axis = n->attr_int("axis", 0);
      if (axis < 0) axis += 4;
      const ir::Value* idx = n->input(1);
      if (axis != ch || !idx || !idx->is_constant() || !ir::is_integer(idx->constant().dtype())) return false;
      if (idx->constant().as_int64() != std::vector<int64_t>{2, 1, 0} || idx->constant().rank() != 1) return false;
      if (channels() != 3 && channels() != 0) return false;
      auto reorder = [](std::vector<double>& v) {
        if (v.size() == 3) std::reverse(v.begin(), v.end());
      };
      reorder(scale);
      reorder(bias);
      dims[ch] = ir::Dim::known(3);
      reversed = !reversed;
      return true;
    }
    if (op == "Resize") {
      if (dtype != ir::DataType::kFloat || n->has_attr("axes")) return false;
      if (n->attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize") return false;
      const ir::Value* scales = n->input(opset < 11 ? 1 : 2);
      const ir::Value* sizes = opset < 11 ? nullptr : n->input(3);
      int h = nhwc() ? 1 : 2, w = nhwc() ? 2 : 3;
      // Batch and channels must stay; the new image size must be known.
      std::vector<int64_t> out(4, -1);
      if (sizes && sizes->is_constant() && sizes->constant().numel() == 4) {
        out = sizes->constant().as_int64();
        for (int a : {0, ch})
          if (!dims[a].is_known() || out[a] != dims[a].value) return false;
      } else if (scales && scales->is_constant() && scales->constant().numel() == 4) {
        auto f = scales->constant().as_double();
        if (f[0] != 1.0 || f[ch] != 1.0) return false;
        for (int a : {h, w})
          if (dims[a].is_known()) out[a] = static_cast<int64_t>(std::floor(dims[a].value * f[a]));
      } else {
        return false;
      }
      if (out[h] <= 0 || out[w] <= 0) return false;
      dims[h] = ir::Dim::known(out[h]);
      dims[w] = ir::Dim::known(out[w]);
      size = std::pair{out[h], out[w]};
      return true;
    }
    return false;
  }
};

// The original layout: NHWC if the chain contains the NHWC->NCHW Transpose (or
// reorders channels on axis 3), else guessed from the shape.
bool guess_nhwc(ir::Graph& g, ir::Value* x) {
  for (ir::Value* cur = x; ir::Node* n = sole_consumer(g, cur); cur = n->output(0)) {
    if (std::find(kPreOps.begin(), kPreOps.end(), n->op_type) == kPreOps.end()) break;
    if (n->op_type == "Transpose") return n->attr_ints("perm") == std::vector<int64_t>{0, 3, 1, 2};
    if (n->op_type == "Gather") {
      int64_t axis = n->attr_int("axis", 0);
      if (axis == 3 || axis == -1) return true;
      if (axis == 1 || axis == -3) return false;
    }
  }
  auto is_channels = [](const ir::Dim& d) { return d.is_known() && (d.value == 1 || d.value == 3 || d.value == 4); };
  return is_channels(x->shape->dims[3]) && !is_channels(x->shape->dims[1]);
}

Json coreml_json(const PreChain& c, std::string& note) {
  int64_t channels = c.channels();
  if (c.nhwc()) {
    note = "the trimmed input is NHWC; Core ML image inputs are channels first";
    return nullptr;
  }
  if (channels != 3 && channels != 1) {
    note = fmt::format("Core ML image inputs have 1 or 3 channels; this one has {}", c.dims[c.ch].str());
    return nullptr;
  }
  for (double s : c.scale)
    if (std::fabs(s - c.scale[0]) > 1e-6 * std::fabs(c.scale[0])) {
      note = "the scale differs per channel and Core ML's ImageType has one scale: apply the scale in the app, "
             "or keep it in the model";
      return nullptr;
    }
  Json out = Json::object();
  out["scale"] = number(c.scale[0]);
  if (channels == 1) {
    out["gray_bias"] = number(c.bias[0]);
    return out;
  }
  // bias[c] follows the trimmed input's channels: RGB, or BGR when reversed.
  out["color_layout"] = c.reversed ? "BGR" : "RGB";
  out["red_bias"] = number(c.bias[c.reversed ? 2 : 0]);
  out["green_bias"] = number(c.bias[1]);
  out["blue_bias"] = number(c.bias[c.reversed ? 0 : 2]);
  return out;
}

// Trims the chain after input `x`; returns "" or why there is nothing to trim.
std::string trim_input(ir::Model& model, ir::Value* x, PassContext& ctx) {
  ir::Graph& g = *model.graph;
  PreChain c;
  c.opset = model.opset();
  c.dims = x->shape->dims;
  bool nhwc_in = guess_nhwc(g, x);
  c.ch = nhwc_in ? 3 : 1;
  c.dtype = x->dtype;
  ir::Value* cur = x;
  for (;;) {
    ir::Node* n = sole_consumer(g, cur);
    if (!n) break;
    PreChain before = c;
    if (!c.absorb(n, cur)) {
      c = before;
      break;
    }
    c.nodes.push_back(n);
    c.ops.push_back(n->op_type);
    cur = n->output(0);
  }
  if (c.nodes.empty()) {
    if (x->uses().empty()) return fmt::format("no preprocessing after input '{}': nothing reads it", x->name());
    if (x->uses().size() > 1)
      return fmt::format("no preprocessing after input '{}': it feeds {} nodes (first {})", x->name(),
                         x->uses().size(), node_text(*x->uses()[0].node));
    return fmt::format("no preprocessing after input '{}': its first consumer is {}", x->name(),
                       node_text(*x->uses()[0].node));
  }

  // The record: per channel when the channel count is known.
  int64_t channels = c.channels();
  if (channels > 0 && c.scale.size() == 1) c.scale.assign(channels, c.scale[0]);
  if (channels > 0 && c.bias.size() == 1) c.bias.assign(channels, c.bias[0]);
  Json rec = Json::object();
  rec["scale"] = numbers(c.scale);
  rec["bias"] = numbers(c.bias);
  rec["channel_order"] = c.reversed ? "bgr" : "rgb";
  rec["layout"] = nhwc_in ? "NHWC" : "NCHW";
  rec["input_dtype"] = std::string(ir::name(x->dtype));
  if (c.size) rec["size"] = {c.size->first, c.size->second};
  rec["removed"] = c.ops;
  std::string note;
  rec["coreml"] = coreml_json(c, note);
  if (!note.empty()) rec["note"] = note;

  // The chain's end becomes the input, in the original's place and with its name.
  std::string name = x->name();
  ir::Value* end = cur;
  g.make_input(end);
  g.inputs.pop_back();
  *std::find(g.inputs.begin(), g.inputs.end(), x) = end;
  std::vector<ir::Value*> consts;
  for (auto it = c.nodes.rbegin(); it != c.nodes.rend(); ++it) {
    for (ir::Value* v : (*it)->inputs())
      if (v && v->is_constant()) consts.push_back(v);
    g.erase(*it);
  }
  for (ir::Value* v : consts)
    if (v->uses().empty() && !v->is_graph_output() && !v->is_graph_input() && v->owner() == &g) {
      g.erase_value(v);
      ++ctx.stats["constants_removed"];
    }
  end->doc_string = x->doc_string;
  g.erase_value(x);
  g.rename(end, name);
  end->dtype = c.dtype;
  end->shape = ir::Shape(c.dims);
  end->has_value_info = true;
  model.set_metadata("pare.trim.pre." + name, rec.dump());
  ctx.stats["nodes_removed"] += static_cast<int64_t>(c.nodes.size());
  ++ctx.stats["inputs_trimmed"];
  return "";
}

void trim_pre(ir::Model& model, PassContext& ctx) {
  ir::Graph& g = *model.graph;
  std::vector<ir::Value*> images;
  for (ir::Value* v : g.inputs)
    if (!v->is_constant() && v->shape && v->shape->rank() == 4 &&
        (v->dtype == ir::DataType::kFloat || v->dtype == ir::DataType::kUint8))
      images.push_back(v);
  if (images.empty()) fail("trim(pre): the model has no image-like input (rank 4, float or uint8)");
  std::vector<std::string> reasons;
  for (ir::Value* x : images) {
    std::string why = trim_input(model, x, ctx);
    if (!why.empty()) reasons.push_back(why);
  }
  if (reasons.size() == images.size()) fail("trim(pre): {}", join(reasons, "; "));
  g.compact();
}

// ---------- trim(post) ----------

const std::vector<std::string> kPostOps = {"Softmax", "LogSoftmax", "Sigmoid", "ArgMax", "TopK"};

// What an app needs to redo the op, or why it cannot be trimmed (in `why`).
Json post_record(const ir::Model& model, const ir::Node& n, const ir::Value* out, std::string& why) {
  const std::string& op = n.op_type;
  Json rec = Json::object();
  rec["op"] = op;
  int64_t opset = model.opset();
  if (op == "Softmax" || op == "LogSoftmax") {
    int64_t axis = n.attr_int("axis", opset < 13 ? 1 : -1);
    rec["axis"] = axis;
    // Before opset 13 the op flattens to 2-D at axis: the same only when axis is the last one.
    if (opset < 13) {
      const auto& shape = n.input(0)->shape;
      int64_t rank = shape ? static_cast<int64_t>(shape->rank()) : -1;
      if (rank < 0 || (axis < 0 ? axis + rank : axis) != rank - 1) rec["coerced_to_2d"] = true;
    }
  } else if (op == "ArgMax") {
    rec["axis"] = n.attr_int("axis", 0);
    rec["keepdims"] = n.attr_int("keepdims", 1);
    if (n.attr_int("select_last_index", 0) != 0) rec["select_last_index"] = 1;
  } else if (op == "TopK") {
    int64_t k = n.attr_int("k", -1);
    if (opset >= 10) {
      const ir::Value* kv = n.input(1);
      if (!kv || !kv->is_constant()) {
        why = fmt::format("{} takes k from a computed tensor", node_text(n));
        return nullptr;
      }
      k = kv->constant().as_int64().at(0);
    }
    rec["k"] = k;
    rec["axis"] = n.attr_int("axis", -1);
    rec["largest"] = n.attr_int("largest", 1);
    rec["sorted"] = n.attr_int("sorted", 1);
    const ir::Value* other = n.output(out == n.output(0) ? 1 : 0);
    if (other && (!other->uses().empty() || other->is_graph_output())) {
      why = fmt::format("both outputs of {} are used", node_text(n));
      return nullptr;
    }
    rec["output"] = out == n.output(0) ? "values" : "indices";
  }
  return rec;
}

void trim_post(ir::Model& model, PassContext& ctx) {
  ir::Graph& g = *model.graph;
  std::vector<std::string> outputs, reasons;
  std::vector<std::pair<std::string, ir::Value*>> renames;  // output name -> the tensor taking it
  std::vector<std::pair<std::string, Json>> records;
  for (ir::Value* o : g.outputs) {
    ir::Node* n = o->producer();
    outputs.push_back(o->name());
    if (!n || !n->domain.empty() || std::find(kPostOps.begin(), kPostOps.end(), n->op_type) == kPostOps.end()) {
      reasons.push_back(fmt::format("'{}' comes from {}", o->name(), n ? node_text(*n) : "no node"));
      continue;
    }
    ir::Value* in = n->input(0);
    if (!in || in->is_constant() || in->is_graph_input() || in->is_graph_output() || in->uses().size() != 1 ||
        std::count(g.outputs.begin(), g.outputs.end(), o) != 1) {
      reasons.push_back(fmt::format("'{}' comes from {}, whose input '{}' is also used elsewhere", o->name(),
                                    node_text(*n), in ? in->name() : ""));
      continue;
    }
    if (n->op_type == "Softmax" || n->op_type == "LogSoftmax" || n->op_type == "Sigmoid") {
      // Same type in and out: no run needed to know the new output's.
      if (in->dtype == ir::DataType::kUndefined) in->dtype = o->dtype;
      if (!in->shape) in->shape = o->shape;
    }
    std::string why;
    Json rec = post_record(model, *n, o, why);
    if (!why.empty()) {
      reasons.push_back(fmt::format("'{}': {}", o->name(), why));
      continue;
    }
    outputs.back() = in->name();
    renames.emplace_back(o->name(), in);
    records.emplace_back("pare.trim.post." + o->name(), rec);
  }
  if (renames.empty())
    fail("trim(post): no graph output ends in Softmax, LogSoftmax, Sigmoid, ArgMax or TopK ({})", join(reasons, "; "));
  size_t before = count_nodes(model);
  cut(model, {}, outputs);  // drops the ops and fills in the new outputs' types
  for (auto& [name, v] : renames) g.rename(v, name);
  for (auto& [key, rec] : records) model.set_metadata(key, rec.dump());
  ctx.stats["nodes_removed"] += static_cast<int64_t>(before - count_nodes(model));
  ctx.stats["outputs_trimmed"] += static_cast<int64_t>(renames.size());
}

// ---------- trim(front) ----------

const std::vector<std::pair<std::string, std::string>> kVision = {
    {"face-rectangles", "VNDetectFaceRectanglesRequest"},
    {"face-landmarks", "VNDetectFaceLandmarksRequest"},
    {"text-rectangles", "VNDetectTextRectanglesRequest"},
    {"human-rectangles", "VNDetectHumanRectanglesRequest"},
    {"image-feature-print", "VNGenerateImageFeaturePrintRequest"},
    {"saliency", "VNGenerateAttentionBasedSaliencyImageRequest"},
    {"none", ""},
};

std::vector<std::string> vision_names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : kVision) out.push_back(k);
  return out;
}

void trim_front(ir::Model& model, const std::string& tensor, const std::string& vision, PassContext& ctx) {
  // `vision` is one of kVision: the option is a choice, checked when the pipeline is parsed.
  std::string apple;
  for (const auto& [k, v] : kVision)
    if (k == vision) apple = v;
  try {
    ir::Value* v = main_graph_value(model, tensor);
    if (v->is_constant()) fail("'{}' is a constant, not a tensor to cut at", tensor);
    if (v->is_graph_input()) fail("'{}' is already a graph input: there is nothing before it", tensor);
    size_t before = count_nodes(model);
    cut(model, {tensor}, {});
    ctx.stats["nodes_removed"] += static_cast<int64_t>(before - count_nodes(model));
  } catch (Error& e) {
    e.with_context(fmt::format("trim(front={})", tensor));
    throw;
  }
  ir::Value* in = model.graph->inputs.back();
  for (ir::Value* v : model.graph->inputs)
    if (v->name() == tensor) in = v;
  Json rec = Json::object();
  rec["tensor"] = tensor;
  rec["vision"] = vision;
  if (!apple.empty()) rec["apple_request"] = apple;
  rec["input"] = {{"name", in->name()}, {"dtype", std::string(ir::name(in->dtype))}, {"shape", shape_json(in->shape)}};
  model.set_metadata("pare.trim.front", rec.dump());
}

class Trim : public Pass {
 public:
  explicit Trim(const OptionValues& v) : what_(v.str("what")), front_(v.str("front")), vision_(v.str("vision")) {}

  void run(ir::Model& model, PassContext& ctx) override {
    if (what_ != "front" && !front_.empty())
      fail("trim({}) does not take front=; trim(front=TENSOR) removes everything before TENSOR", what_);
    if (what_ != "front" && vision_ != "none")
      fail("trim({}) does not take vision=; it goes with trim(front=TENSOR, vision=REQUEST)", what_);
    if (what_ == "pre") return trim_pre(model, ctx);
    if (what_ == "post") return trim_post(model, ctx);
    if (front_.empty()) fail("trim: say what to remove: trim(pre), trim(post) or trim(front=TENSOR, vision=REQUEST)");
    trim_front(model, front_, vision_, ctx);
  }

 private:
  std::string what_, front_, vision_;
};

}  // namespace

extern const PassInfo kTrimPass = {
    "trim",
    "remove what the phone platform does (input preprocessing, a final Softmax/ArgMax/TopK, the front a Vision "
    "request replaces) and record it in metadata",
    {
        {"what", OptionType::kChoice, "front",
         "pre: the input preprocessing; post: a final Softmax, LogSoftmax, Sigmoid, ArgMax or TopK; front: everything "
         "before front=",
         0, 0, false, {"pre", "post", "front"}},
        {"front", OptionType::kString, "", "front: the tensor that becomes the input (everything before it goes)"},
        {"vision", OptionType::kChoice, "none", "front: the Apple Vision request that produces that input", 0, 0, false,
         vision_names()},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Trim>(v); },
};

}  // namespace pare::passes
