#include "formats/report/tensors.h"

#include <fmt/format.h>

#include "formats/report/json.h"
#include "formats/report/terminal.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {

using nlohmann::json;

namespace {

// "[1,3,batch,?]" (ir::Shape::str), "[?]" for an unknown rank.
std::string shape_text(const std::optional<ir::Shape>& shape) { return shape ? shape->str() : "[?]"; }

}  // namespace

json tensors_json(const metrics::TensorList& list) {
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

std::string tensors_text(const metrics::TensorList& list) {
  std::string o = fmt::format("  tensors     {} values computed (the names cut and split take)\n", list.values.size());
  std::vector<std::vector<std::string>> rows = {{"name", "dtype", "shape", "op", "uses", ""}};
  for (const auto& t : list.values) {
    std::string note = t.graph_output ? "graph output" : "";
    if (t.shape_from == "run") note += std::string(note.empty() ? "" : ", ") + "shape from a run";
    rows.push_back({printable(t.name), t.dtype, shape_text(t.shape), t.op, std::to_string(t.consumers), note});
  }
  o += text_table(rows, "    ");
  if (!list.run_unavailable.empty())
    o += fmt::format("  shapes left open: the model could not run: {}\n", printable(list.run_unavailable));
  o += fmt::format("  weights     {} stored values, largest download first\n", list.weights.size());
  rows = {{"name", "op", "form", "parameters", "bytes", "deflated", ""}};
  for (const auto& w : list.weights)
    rows.push_back({printable(w.name), w.op, w.form, std::to_string(w.parameters), human_bytes(w.raw_bytes),
                    human_bytes(w.deflate_bytes), w.float_reason});
  return o + text_table(rows, "    ");
}

}  // namespace pare::formats
