// pare inspect MODEL [--json] [--tensors] [--dim NAME=N]...: what a model is
// and what it costs; --tensors adds every value it computes (the names to cut
// at, with dtype and shape) and every weight it stores (form and download bytes).
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/strings.h"
#include "jobs/measure.h"
#include "jobs/tensors.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

using nlohmann::json;

json shape_json(const std::optional<ir::Shape>& shape) {
  if (!shape) return nullptr;
  json dims = json::array();
  for (const auto& d : shape->dims) {
    if (d.is_known()) dims.push_back(d.value);
    else if (!d.symbol.empty()) dims.push_back(d.symbol);
    else dims.push_back(nullptr);
  }
  return dims;
}

json tensors_json(const jobs::TensorList& list) {
  json values = json::array();
  for (const auto& t : list.values)
    values.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", shape_json(t.shape)}, {"shape_from", t.shape_from},
                      {"op", t.op}, {"node", t.node}, {"consumers", t.consumers}, {"graph_output", t.graph_output}});
  json weights = json::array();
  for (const auto& w : list.weights) {
    json j = {{"name", w.name},           {"op", w.op},     {"input", w.input},          {"parameters", w.parameters},
              {"raw_bytes", w.raw_bytes}, {"form", w.form}, {"deflate_bytes", w.deflate_bytes}};
    if (!w.float_reason.empty()) j["float_reason"] = w.float_reason;
    weights.push_back(j);
  }
  json j = {{"values", values}, {"weights", weights}};
  if (!list.run_unavailable.empty()) j["run_unavailable"] = list.run_unavailable;
  return j;
}

json values_json(const std::vector<ir::Value*>& values, bool skip_constants) {
  json out = json::array();
  for (const ir::Value* v : values) {
    if (skip_constants && v->is_constant()) continue;
    out.push_back({{"name", v->name()}, {"dtype", std::string(ir::name(v->dtype))}, {"shape", shape_json(v->shape)}});
  }
  return out;
}

json inspect_json(const std::string& path, const std::map<std::string, int64_t>& dims, bool tensors) {
  ir::Model m = formats::onnx::load_model(path);
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
  if (tensors) j["tensors"] = tensors_json(jobs::list_tensors(m, dims));  // after the runs: it adds inferred types
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

// Rows of cells, each column as wide as its widest cell, indented by four.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], r[c].size());
    }
  for (const auto& r : rows) {
    std::string line = "   ";
    for (size_t c = 0; c < r.size(); ++c) line += " " + r[c] + std::string(width[c] - r[c].size(), ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

void print_tensors(const json& t) {
  fmt::print("  tensors     {} values computed (the names cut and split take)\n", t["values"].size());
  std::vector<std::vector<std::string>> rows = {{"name", "dtype", "shape", "op", "uses", ""}};
  for (const auto& v : t["values"]) {
    std::string from = v["shape_from"].get<std::string>();
    std::string note = v["graph_output"].get<bool>() ? "graph output" : "";
    if (from == "run") note += std::string(note.empty() ? "" : ", ") + "shape from a run";
    rows.push_back({printable(v["name"].get<std::string>()), v["dtype"].get<std::string>(), shape_text(v["shape"]),
                    v["op"].get<std::string>(), std::to_string(v["consumers"].get<int64_t>()), note});
  }
  print_table(rows);
  if (t.contains("run_unavailable"))
    fmt::print("  shapes left open: the model could not run: {}\n", printable(t["run_unavailable"].get<std::string>()));
  fmt::print("  weights     {} stored values, largest download first\n", t["weights"].size());
  rows = {{"name", "op", "form", "parameters", "bytes", "deflated", ""}};
  for (const auto& w : t["weights"])
    rows.push_back({printable(w["name"].get<std::string>()), w["op"].get<std::string>(), w["form"].get<std::string>(),
                    std::to_string(w["parameters"].get<int64_t>()), human_bytes(w["raw_bytes"].get<int64_t>()),
                    human_bytes(w["deflate_bytes"].get<int64_t>()), w.value("float_reason", "")});
  print_table(rows);
}

}  // namespace

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
        json j = inspect_json(a->model, parse_dims(a->dims), a->tensors);
        if (a->json) {
          fmt::print("{}\n", j.dump(2));
        } else {
          print_text(a->model, j);
          if (a->tensors) print_tensors(j["tensors"]);
        }
        return 0;
      };
    }};

}  // namespace pare::cli
