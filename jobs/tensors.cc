#include "jobs/tensors.h"

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace pare::jobs {
namespace {

bool fully_known(const std::optional<ir::Shape>& s) { return s && s->is_static(); }

int64_t count_uses(const ir::Value& v) { return static_cast<int64_t>(v.uses().size()); }

// The output shapes of every node of one run on seeded inputs, by value name;
// `why` says why there is none.
std::map<std::string, std::vector<int64_t>> run_shapes(const ir::Model& model,
                                                       const std::map<std::string, int64_t>& dims,
                                                       std::string& why) {
  std::map<std::string, std::vector<int64_t>> out;
  try {
    rt::Session session(model);
    session.run(rt::random_feed(model, dims));
    const auto& stats = session.last_stats();
    for (size_t i = 0; i < stats.nodes.size(); ++i) {
      const ir::Node& n = *stats.nodes[i];
      for (size_t k = 0; k < n.outputs().size() && k < stats.shapes[i].outputs.size(); ++k)
        if (n.outputs()[k]) out[n.outputs()[k]->name()] = stats.shapes[i].outputs[k];
    }
  } catch (const Error& e) {
    why = e.what();
  }
  return out;
}

}  // namespace

metrics::TensorList list_tensors(ir::Model& model, const std::map<std::string, int64_t>& dims) {
  metrics::TensorList list;
  list.weights = metrics::storage_by_tensor(model);
  try {
    formats::onnx::infer_shapes(model);  // dtypes, and symbolic shapes where the file has none
  } catch (const Error&) {  // inference stops on an op it does not know: the run below decides
  }
  std::map<std::string, std::vector<int64_t>> fixed;
  try {
    fixed = formats::onnx::static_shapes(model, rt::input_shapes(model, dims));
  } catch (const Error&) {
  }
  for (const auto& node : model.graph->nodes()) {
    if (node->is_dead()) continue;
    for (ir::Value* v : node->outputs()) {
      if (!v || v->name().empty()) continue;
      metrics::TensorInfo t;
      t.name = v->name();
      t.dtype = v->dtype == ir::DataType::kUndefined ? "?" : std::string(ir::name(v->dtype));
      if (auto it = fixed.find(v->name()); it != fixed.end()) {
        t.shape = ir::Shape::of(it->second);
        t.shape_from = "static";
      } else {
        t.shape = v->shape;
        t.shape_from = v->shape ? "declared" : "";
      }
      t.op = node->op_type;
      t.node = node->name;
      t.consumers = count_uses(*v);
      t.graph_output = v->is_graph_output();
      list.values.push_back(std::move(t));
    }
  }
  bool open = false;
  for (const auto& t : list.values) open = open || !fully_known(t.shape);
  if (!open) return list;
  auto ran = run_shapes(model, dims, list.run_unavailable);
  for (auto& t : list.values)
    if (!fully_known(t.shape))
      if (auto it = ran.find(t.name); it != ran.end()) {
        t.shape = ir::Shape::of(it->second);
        t.shape_from = "run";
      }
  return list;
}

}  // namespace pare::jobs
