// pare split MODEL --at T [--at T...] -o DIR: per-subtask models, chained.
// pare extract MODEL --outputs A,B -o OUT: one subtask of a multi-output model.
//
// split assigns every node to a part: part k holds what the k-th cut tensor
// needs that no earlier part computes; the last part holds the rest. Each part is
// cut() from the original with, as inputs, what it reads from the model inputs or
// from earlier parts (skip connections included), and, as outputs, what later
// parts or the model's outputs read from it. Before anything is written, the parts
// run chained on seeded inputs and must reproduce the original outputs bit for bit.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "lib/metrics/size.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/cut.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

struct Part {
  std::vector<std::string> inputs, outputs;
  ir::Model model;
  std::string bytes;
};

// Nodes of the main graph that `v` depends on (its producer and everything above).
std::unordered_set<const ir::Node*> ancestors(const ir::Value* v) {
  std::unordered_set<const ir::Node*> seen;
  std::vector<const ir::Value*> stack = {v};
  while (!stack.empty()) {
    const ir::Value* cur = stack.back();
    stack.pop_back();
    const ir::Node* p = cur->producer();
    if (!p || !seen.insert(p).second) continue;
    for (const ir::Value* in : p->inputs())
      if (in) stack.push_back(in);
    for (const ir::Graph* sub : p->subgraphs())
      for (const ir::Value* c : sub->captured_values()) stack.push_back(c);
  }
  return seen;
}

// Values a node reads, its subgraphs' captures included.
std::vector<const ir::Value*> reads(const ir::Node& n) {
  std::vector<const ir::Value*> out;
  for (const ir::Value* in : n.inputs())
    if (in) out.push_back(in);
  for (const ir::Graph* sub : n.subgraphs())
    for (const ir::Value* c : sub->captured_values()) out.push_back(c);
  return out;
}

std::vector<Part> plan_parts(ir::Model& model, const std::vector<std::string>& at) {
  const ir::Graph& g = *model.graph;
  std::vector<const ir::Value*> cuts;
  for (const auto& name : at) {
    const ir::Value* v = passes::main_graph_value(model, name);
    if (!v->producer()) fail("'{}' is a model input or a constant: there is nothing before it to split off", name);
    cuts.push_back(v);
  }
  std::unordered_map<const ir::Node*, size_t> part_of;
  for (size_t k = 0; k < cuts.size(); ++k)
    for (const ir::Node* n : ancestors(cuts[k]))
      if (!part_of.count(n)) part_of[n] = k;
  for (const auto& n : g.nodes())
    if (!part_of.count(n.get())) part_of[n.get()] = cuts.size();
  std::vector<Part> parts(cuts.size() + 1);
  std::vector<std::vector<const ir::Node*>> members(parts.size());
  for (const auto& n : g.nodes()) members[part_of[n.get()]].push_back(n.get());
  for (size_t k = 0; k < parts.size(); ++k) {
    if (members[k].empty())
      fail("part {} would be empty: cut at tensors in the order the model computes them, each after the last", k);
    std::unordered_set<const ir::Value*> seen;
    for (const ir::Node* n : members[k])
      for (const ir::Value* v : reads(*n)) {
        bool from_here = v->producer() && part_of[v->producer()] == k;
        if (v->is_constant() || from_here || !seen.insert(v).second) continue;
        parts[k].inputs.push_back(v->name());
      }
  }
  // Outputs: what later parts read from this one, and the model outputs it computes.
  for (size_t k = 0; k < parts.size(); ++k) {
    std::unordered_set<std::string> want;
    for (size_t j = k + 1; j < parts.size(); ++j) want.insert(parts[j].inputs.begin(), parts[j].inputs.end());
    for (const ir::Value* o : g.outputs) want.insert(o->name());
    for (const ir::Node* n : members[k])
      for (const ir::Value* o : n->outputs())
        if (o && want.count(o->name())) parts[k].outputs.push_back(o->name());
  }
  return parts;
}

// Runs the parts in order, feeding each from a pool of named values.
void check_chain(const ir::Model& original, const std::vector<Part>& parts, const std::map<std::string, int64_t>& dims) {
  rt::Session whole(original);
  auto tensors = rt::random_inputs(original, dims);
  std::map<std::string, ir::Tensor> pool;
  for (size_t i = 0; i < tensors.size(); ++i) pool[whole.input_names()[i]] = tensors[i];
  auto expected = whole.run(pool);
  for (const Part& p : parts) {
    rt::Session s(p.model);
    std::map<std::string, ir::Tensor> feed;
    for (const auto& n : s.input_names()) feed[n] = pool.at(n);
    auto out = s.run(feed);
    for (size_t i = 0; i < out.size(); ++i) pool[s.output_names()[i]] = out[i];
  }
  for (size_t i = 0; i < expected.size(); ++i)
    if (!pool.at(whole.output_names()[i]).same_content(expected[i]))
      throw CheckFailed(fmt::format("the chained parts do not reproduce output '{}'", whole.output_names()[i]));
}

nlohmann::json values_json(const std::vector<ir::Value*>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const ir::Value* v : values) {
    if (v->is_constant()) continue;
    nlohmann::json shape = nullptr;
    if (v->shape) {
      shape = nlohmann::json::array();
      for (const auto& d : v->shape->dims)
        shape.push_back(d.is_known() ? nlohmann::json(d.value) : d.symbol.empty() ? nlohmann::json() : nlohmann::json(d.symbol));
    }
    out.push_back({{"name", v->name()}, {"dtype", std::string(ir::name(v->dtype))}, {"shape", shape}});
  }
  return out;
}

struct SplitArgs {
  std::string model, dir;
  std::vector<std::string> at, dims;
};

int run_split(const SplitArgs& a) {
  ir::Model original = formats::onnx::load_model(a.model);
  auto dims = parse_dims(a.dims);
  std::vector<Part> parts;
  try {
    parts = plan_parts(original, a.at);
    std::string bytes = formats::onnx::serialize_model(original);
    for (Part& p : parts) {
      p.model = formats::onnx::load_model_from_bytes(bytes, a.model, "");
      passes::cut(p.model, p.inputs, p.outputs, dims);
      p.bytes = formats::onnx::serialize_model(p.model);
    }
    check_chain(original, parts, dims);
  } catch (Error& e) {
    throw e.with_context(a.model);
  } catch (const CheckFailed& e) {
    throw CheckFailed(a.model + ": " + e.what());
  }
  std::filesystem::create_directories(a.dir);
  nlohmann::json manifest = {{"source", a.model}, {"cut_at", a.at}, {"parts", nlohmann::json::array()}};
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string file = fmt::format("part{}.onnx", k);
    write_file_atomic(a.dir + "/" + file, parts[k].bytes);
    manifest["parts"].push_back({{"file", file},
                                 {"inputs", values_json(parts[k].model.graph->inputs)},
                                 {"outputs", values_json(parts[k].model.graph->outputs)},
                                 {"bytes", parts[k].bytes.size()},
                                 {"download_bytes", metrics::deflate_size(parts[k].bytes)},
                                 {"sha256", sha256_hex(parts[k].bytes)}});
    fmt::print("{}/{}: {} -> {} ({})\n", a.dir, file, join(parts[k].inputs, ", "), join(parts[k].outputs, ", "),
               human_bytes(static_cast<int64_t>(parts[k].bytes.size())));
  }
  write_file_atomic(a.dir + "/manifest.json", manifest.dump(2) + "\n");
  fmt::print("chained, the {} parts reproduce the original outputs exactly\n", parts.size());
  return 0;
}

struct ExtractArgs {
  std::string model, output, outputs;
  std::vector<std::string> dims;
};

int extract(const ExtractArgs& a) {
  refuse_overwrite_input(a.model, a.output);
  ir::Model m = formats::onnx::load_model(a.model);
  std::vector<std::string> names;
  for (const auto& n : pare::split(a.outputs, ','))
    if (!n.empty()) names.push_back(n);
  if (names.empty()) throw Error("--outputs: name at least one tensor");
  try {
    passes::cut(m, {}, names, parse_dims(a.dims));
  } catch (Error& e) {
    throw e.with_context(a.model);
  }
  formats::onnx::save_model(m, a.output);
  fmt::print("{} -> {}: outputs {}; {} nodes, {}\n", a.model, a.output, join(names, ", "), m.graph->nodes().size(),
             human_bytes(metrics::measure_file(a.output).file_bytes));
  return 0;
}

}  // namespace

const Command kSplitCommand = {
    "split", "cut a model at tensors into chained per-subtask models, with a manifest",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<SplitArgs>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_option("--at", a->at, "tensor to cut at (repeatable, in computation order)")->required();
      sub.add_option("-o,--output", a->dir, "folder for part0.onnx, part1.onnx... and manifest.json")->required();
      sub.add_option("--dim", a->dims, "size of a symbolic dim for the check run, NAME=N (repeatable)");
      return [a] { return run_split(*a); };
    }};

const Command kExtractCommand = {
    "extract", "keep one subtask of a multi-output model (the nodes its outputs need)",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<ExtractArgs>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_option("--outputs", a->outputs, "comma-separated tensors to keep as outputs")->required();
      sub.add_option("-o,--output", a->output, "where to write the result (never the input)")->required();
      sub.add_option("--dim", a->dims, "size of a symbolic dim, NAME=N, for typing new outputs (repeatable)");
      return [a] { return extract(*a); };
    }};

}  // namespace pare::cli
