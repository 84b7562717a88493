// pare inspect MODEL [--json] [--tensors] [--dim NAME=N]...: what a model is
// and what it costs; --tensors adds every value it computes (the names to cut
// at, with dtype and shape) and every weight it stores (form and download bytes).
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/report/json.h"
#include "formats/report/tensors.h"
#include "lib/base/strings.h"
#include "jobs/measure.h"
#include "jobs/tensors.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace inspect_command {

using nlohmann::json;

json values_json(const std::vector<ir::Value*>& values, bool skip_constants) {
  json out = json::array();
  for (const ir::Value* v : values) {
    if (skip_constants && v->is_constant()) continue;
    out.push_back({{"name", v->name()}, {"dtype", std::string(ir::name(v->dtype))}, {"shape", formats::shape_json(v->shape)}});
  }
  return out;
}

json inspect_json(const std::string& path, const ir::Model& m, const std::map<std::string, int64_t>& dims) {
  auto file = metrics::measure_file(path);
  auto weights = metrics::count_weights(m);
  auto nodes = metrics::count_nodes(m);
  jobs::Runner runner(m);
  auto macs = jobs::count_macs(runner, dims);
  json j;
  j["file_bytes"] = file.file_bytes;
  j["download_bytes"] = file.download_bytes;
  j["parameters"] = weights.parameters;
  j["constants"] = weights.constants;
  json wb = weights.bytes_by_dtype;
  wb["total"] = weights.weight_bytes;
  j["weight_bytes"] = wb;
  j["parameters_by_dtype"] = weights.parameters_by_dtype;
  j["nodes"] = nodes.nodes;
  j["nodes_total"] = nodes.nodes_total;
  j["ops"] = nodes.ops;
  j["inputs"] = values_json(m.graph->inputs, true);
  j["outputs"] = values_json(m.graph->outputs, false);
  json opsets = json::object();
  for (const auto& o : m.opsets) opsets[o.domain.empty() ? "ai.onnx" : o.domain] = o.version;
  j["opsets"] = opsets;
  j["ir_version"] = m.ir_version;
  j["producer"] = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
  j["unsupported"] = rt::unsupported_nodes(m);
  if (macs.known) {
    json mj = macs.by_op;
    mj["total"] = macs.total;
    j["macs"] = mj;
  } else {
    j["macs"] = nullptr;
    j["macs_unknown_reason"] = macs.reason;
  }
  return j;
}

std::string shape_text(const json& shape) {
  if (shape.is_null()) return "[?]";
  std::vector<std::string> parts;
  for (const auto& d : shape) parts.push_back(d.is_number() ? std::to_string(d.get<int64_t>()) : d.is_null() ? "?" : d.get<std::string>());
  return "[" + join(parts, ",") + "]";
}

void print_text(const std::string& path, const json& j) {
  fmt::print("{}\n", path);
  std::string producer = j["producer"].get<std::string>();
  fmt::print("  producer    {} (ir_version {})\n", producer.empty() ? "(not recorded)" : producer, j["ir_version"].get<int64_t>());
  std::vector<std::string> opsets;
  for (const auto& [k, v] : j["opsets"].items()) opsets.push_back(k + " " + std::to_string(v.get<int64_t>()));
  fmt::print("  opsets      {}\n", join(opsets, ", "));
  for (const char* io : {"inputs", "outputs"})
    for (const auto& v : j[io])
      fmt::print("  {:<11} {} {} {}\n", std::string(io).substr(0, std::string(io).size() - 1), v["name"].get<std::string>(),
                 v["dtype"].get<std::string>(), shape_text(v["shape"]));
  fmt::print("  file        {} ({} bytes)\n", human_bytes(j["file_bytes"]), j["file_bytes"].get<int64_t>());
  fmt::print("  download    {} ({} bytes, deflate)\n", human_bytes(j["download_bytes"]), j["download_bytes"].get<int64_t>());
  std::vector<std::string> by_dtype;
  for (const auto& [k, v] : j["weight_bytes"].items())
    if (k != "total") by_dtype.push_back(k + " " + human_bytes(v.get<int64_t>()));
  fmt::print("  parameters  {} in {} constants ({})\n", j["parameters"].get<int64_t>(), j["constants"].get<int64_t>(),
             join(by_dtype, ", "));
  fmt::print("  nodes       {} ({} with subgraphs)\n", j["nodes"].get<int64_t>(), j["nodes_total"].get<int64_t>());
  if (j["macs"].is_null()) {
    fmt::print("  MACs        unknown: {}\n", j["macs_unknown_reason"].get<std::string>());
  } else {
    std::vector<std::string> by_op;
    for (const auto& [k, v] : j["macs"].items())
      if (k != "total") by_op.push_back(k + " " + std::to_string(v.get<int64_t>()));
    fmt::print("  MACs        {} ({})\n", j["macs"]["total"].get<int64_t>(), join(by_op, ", "));
  }
  std::vector<std::string> ops;
  for (const auto& [k, v] : j["ops"].items()) ops.push_back(k + " " + std::to_string(v.get<int64_t>()));
  fmt::print("  ops         {}\n", join(ops, ", "));
  if (j["unsupported"].empty()) fmt::print("  runner      every node is supported\n");
  for (const auto& line : j["unsupported"]) fmt::print("  unsupported {}\n", line.get<std::string>());
}

}  // namespace inspect_command

const Command kInspectCommand = {
    "inspect", "sizes, download bytes, parameters, ops, inputs and outputs of a model",
    [](CLI::App& sub) -> std::function<int()> {
      struct Args {
        std::string model;
        bool json = false, tensors = false;
        std::vector<std::string> dims;
      };
      auto a = std::make_shared<Args>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_flag("--json", a->json, "print JSON (sorted keys) instead of text");
      sub.add_flag("--tensors", a->tensors,
                   "also list every value the model computes (name, dtype, shape, op: the names to cut at) and every "
                   "stored weight (form, bytes, deflated bytes)");
      add_dim_options(sub, a->dims, "fix a symbolic dim for MACs, e.g. --dim batch=1 (repeatable)");
      return [a] {
        ir::Model m = formats::onnx::load_model(a->model);
        auto dims = parse_dims(a->dims);
        nlohmann::json j = inspect_command::inspect_json(a->model, m, dims);
        std::optional<metrics::TensorList> tensors;
        if (a->tensors) {  // after inspect's runs: listing adds inferred types to the model
          tensors = jobs::list_tensors(m, dims);
          j["tensors"] = formats::tensors_json(*tensors);
        }
        if (a->json) {
          fmt::print("{}\n", j.dump(2));
        } else {
          inspect_command::print_text(a->model, j);
          if (tensors) fmt::print("{}", formats::tensors_text(*tensors));
        }
        return 0;
      };
    }};

}  // namespace pare::cli
