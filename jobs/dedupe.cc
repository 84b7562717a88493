#include "jobs/dedupe.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/sha256.h"
#include "lib/metrics/size.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/share.h"

namespace pare::jobs {
namespace fs = std::filesystem;

namespace {

using Feed = std::map<std::string, ir::Tensor>;

Feed run(const ir::Model& m, const Feed& available) {
  rt::Session s(m);
  Feed in;
  for (const auto& n : s.input_names()) in[n] = available.at(n);
  std::vector<ir::Tensor> outs = s.run(in);
  Feed named;
  for (size_t k = 0; k < outs.size(); ++k) named[s.output_names()[k]] = outs[k];
  return named;
}

// One seeded tensor per input name across the models (the first model that has
// the name decides its shape), so trunk and heads see the same values.
Feed shared_feed(const std::vector<ir::Model>& models, const DedupeJob& job) {
  Feed feed;
  for (const ir::Model& m : models)
    for (auto& [name, t] : rt::random_feed(m, job.dims, job.seed)) feed.emplace(name, t);
  return feed;
}

// trunk (when there is one), then head i, must give model i's outputs bit for bit.
void check_chain(const std::vector<ir::Model>& models, const ir::Model* trunk, const std::vector<ir::Model>& heads,
                 const DedupeJob& job) {
  Feed feed = shared_feed(models, job);
  Feed trunk_out = trunk ? run(*trunk, feed) : Feed{};
  for (size_t i = 0; i < models.size(); ++i) {
    Feed head_feed = feed;
    for (const auto& [n, t] : trunk_out) head_feed[n] = t;
    Feed got = run(heads[i], head_feed), want = run(models[i], feed);
    for (const auto& [name, t] : want) {
      auto it = got.find(name);
      if (it == got.end() || !it->second.same_content(t))
        throw InternalError(fmt::format("{}: trunk then head does not reproduce output '{}'", job.models[i], name));
    }
  }
}

DedupeFile describe(const ir::Model& m, const std::string& file, const std::string& bytes) {
  DedupeFile f;
  f.file = file;
  f.bytes = static_cast<int64_t>(bytes.size());
  f.download_bytes = metrics::deflate_size(bytes);
  f.sha256 = sha256_hex(bytes);
  for (const ir::Value* v : m.graph->inputs)
    if (!v->is_constant()) f.inputs.push_back(v->name());
  for (const ir::Value* v : m.graph->outputs) f.outputs.push_back(v->name());
  return f;
}

nlohmann::json to_json(const DedupeFile& f) {
  if (f.file.empty()) return nullptr;
  return {{"file", f.file},     {"bytes", f.bytes},   {"download_bytes", f.download_bytes},
          {"sha256", f.sha256}, {"inputs", f.inputs}, {"outputs", f.outputs}};
}

// Weights of 1 kB or more (as external data stores them) held by two or more
// heads: the sha256 of their bytes.
constexpr size_t kSharedWeightMinBytes = 1024;
std::set<std::string> weights_in_several(const std::vector<ir::Model>& heads) {
  std::map<std::string, int> holders;
  for (const ir::Model& h : heads) {
    std::set<std::string> own;
    ir::for_each_graph(*h.graph, [&](const ir::Graph& g) {
      for (const ir::Value* v : g.values())
        if (v->is_constant() && v->constant().dtype() != ir::DataType::kString &&
            v->constant().byte_size() >= kSharedWeightMinBytes)
          own.insert(sha256_hex(std::string_view(reinterpret_cast<const char*>(v->constant().raw()),
                                                 v->constant().byte_size())));
    });
    for (const auto& k : own) ++holders[k];
  }
  std::set<std::string> out;
  for (const auto& [k, n] : holders)
    if (n > 1) out.insert(k);
  return out;
}

// The heads serialised, with the weights several of them hold in one shared file
// when that makes the heads and the file together smaller than the heads alone.
std::vector<std::string> serialize_heads(const std::vector<ir::Model>& heads, formats::onnx::SharedWeights& shared) {
  std::vector<std::string> inline_bytes;
  int64_t inline_total = 0;
  for (const auto& h : heads) {
    inline_bytes.push_back(formats::onnx::serialize_model(h));
    inline_total += static_cast<int64_t>(inline_bytes.back().size());
  }
  shared.file_name = "weights.data";
  shared.contents = weights_in_several(heads);
  shared.min_bytes = kSharedWeightMinBytes;
  if (shared.contents.empty()) return inline_bytes;
  std::vector<std::string> with_shared;
  int64_t total = 0;
  for (const auto& h : heads) {
    with_shared.push_back(formats::onnx::serialize_model(h, shared));
    total += static_cast<int64_t>(with_shared.back().size());
  }
  if (total + static_cast<int64_t>(shared.data.size()) < inline_total) return with_shared;
  shared = {};
  return inline_bytes;
}

// `start` plus one number of every head.
template <typename Field>
int64_t sum_over_heads(const std::vector<DedupeHead>& heads, int64_t start, Field field) {
  for (const auto& h : heads) start += field(h);
  return start;
}

}  // namespace

int64_t DedupeReport::bytes_before() const {
  return sum_over_heads(heads, 0, [](const DedupeHead& h) { return h.model_bytes; });
}
int64_t DedupeReport::bytes_after() const {
  return sum_over_heads(heads, trunk.bytes + weights.bytes, [](const DedupeHead& h) { return h.file.bytes; });
}
int64_t DedupeReport::download_before() const {
  return sum_over_heads(heads, 0, [](const DedupeHead& h) { return h.model_download_bytes; });
}
int64_t DedupeReport::download_after() const {
  return sum_over_heads(heads, trunk.download_bytes + weights.download_bytes,
                        [](const DedupeHead& h) { return h.file.download_bytes; });
}

DedupeReport run_dedupe(const DedupeJob& job) {
  if (job.models.size() < 2) fail("dedupe needs at least two models, got {}", job.models.size());
  std::set<std::string> files = {"trunk.onnx", "manifest.json", "weights.data"};
  for (const auto& path : job.models) {
    std::string file = fs::path(path).filename().string();
    if (!files.insert(file).second)
      fail("{}: its head would be {}/{}, which another file of the output already takes", path, job.out_dir, file);
  }
  std::vector<ir::Model> models;
  for (const auto& path : job.models) models.push_back(formats::onnx::load_model(path));
  std::vector<const ir::Model*> views;
  for (const auto& m : models) views.push_back(&m);
  passes::SharePlan plan = passes::plan_sharing(views);
  std::optional<ir::Model> trunk;
  if (!plan.empty()) trunk = passes::build_trunk(views, plan);
  std::vector<ir::Model> heads;
  for (size_t i = 0; i < models.size(); ++i) {
    // A copy through the serialised form: the IR has no deep copy, and this one is exact.
    ir::Model head = formats::onnx::load_model_from_bytes(formats::onnx::serialize_model(models[i]), job.models[i], "");
    if (trunk) passes::make_head(head, plan, i);
    heads.push_back(std::move(head));
  }
  formats::onnx::SharedWeights shared;
  std::vector<std::string> head_bytes = serialize_heads(heads, shared);
  if (!trunk && shared.data.empty())
    fail("the models compute nothing alike from the same inputs and hold no weights alike: there is nothing to share");
  check_chain(models, trunk ? &*trunk : nullptr, heads, job);

  DedupeReport report;
  report.shared_nodes = plan.shared_nodes;
  std::string trunk_bytes = trunk ? formats::onnx::serialize_model(*trunk) : "";
  if (trunk) report.trunk = describe(*trunk, "trunk.onnx", trunk_bytes);
  if (!shared.data.empty()) {
    report.weights = describe(ir::Model{}, shared.file_name, shared.data);
    report.shared_tensors = shared.offsets.size();
  }
  for (size_t i = 0; i < heads.size(); ++i) {
    DedupeHead h;
    h.model = job.models[i];
    metrics::FileSize before = metrics::measure_file(job.models[i]);
    h.model_bytes = before.file_bytes;
    h.model_download_bytes = before.download_bytes;
    h.file = describe(heads[i], fs::path(job.models[i]).filename().string(), head_bytes[i]);
    h.reads = trunk ? plan.head_inputs[i] : std::map<std::string, std::string>{};
    report.heads.push_back(std::move(h));
  }
  // Every output is checked before the first is written; the weights file first,
  // since the heads reference it.
  fs::create_directories(job.out_dir);
  std::string manifest_path = job.out_dir + "/manifest.json";
  std::vector<std::pair<std::string, const std::string*>> writes;
  if (!shared.data.empty()) writes.emplace_back(job.out_dir + "/" + shared.file_name, &shared.data);
  if (trunk) writes.emplace_back(job.out_dir + "/trunk.onnx", &trunk_bytes);
  for (size_t i = 0; i < heads.size(); ++i) writes.emplace_back(job.out_dir + "/" + report.heads[i].file.file, &head_bytes[i]);
  check_output_path(manifest_path);
  for (const auto& [path, bytes] : writes) check_output_path(path);
  for (const auto& [path, bytes] : writes) write_file_atomic(path, *bytes);
  write_file_atomic(manifest_path, dedupe_manifest(report));
  return report;
}

std::string dedupe_manifest(const DedupeReport& r) {
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& h : r.heads) {
    nlohmann::json j = to_json(h.file);
    j["reads"] = h.reads;
    j["model"] = fs::path(h.model).filename().string();
    heads.push_back(std::move(j));
  }
  nlohmann::json m = {{"pare_dedupe", 1},
                      {"trunk", to_json(r.trunk)},
                      {"heads", heads},
                      {"shared_nodes", r.shared_nodes},
                      {"weights", to_json(r.weights)},
                      {"shared_tensors", r.shared_tensors},
                      {"bytes_before", r.bytes_before()},
                      {"bytes_after", r.bytes_after()},
                      {"download_bytes_before", r.download_before()},
                      {"download_bytes_after", r.download_after()}};
  return m.dump(2) + "\n";
}

}  // namespace pare::jobs
