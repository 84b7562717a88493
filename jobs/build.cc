#include "jobs/build.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/report/json.h"
#include "formats/yaml/plan.h"
#include "jobs/dedupe.h"
#include "jobs/shrink.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "lib/metrics/size.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace pare::jobs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------- freshness ----------

using Time = fs::file_time_type;

// The newest modification time of a file, or of a folder and everything in it
// (but the folder `skip`: the outputs, should the samples' folder hold them).
Time newest(const std::string& path, const std::string& skip = "") {
  std::error_code ec;
  Time t = fs::last_write_time(path, ec);
  if (ec) return Time::max();  // cannot tell: never up to date
  if (fs::is_directory(path, ec))
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code e2;
      if (!skip.empty() && it->is_directory(e2) && fs::equivalent(it->path(), skip, e2)) {
        it.disable_recursion_pending();
        continue;
      }
      Time x = fs::last_write_time(it->path(), e2);
      if (!e2) t = std::max(t, x);
    }
  return t;
}

// The previous build's entries, by subtask name; empty when unreadable.
std::map<std::string, json> previous_entries(const std::string& file, const std::string& list) {
  std::map<std::string, json> out;
  try {
    json j = json::parse(read_file(file));
    for (const auto& e : j.at(list))
      if (e.is_object() && e.contains("name") && e["name"].is_string()) out[e["name"].get<std::string>()] = e;
  } catch (...) {
    out.clear();
  }
  return out;
}

// ---------- samples ----------

// Samples for a subtask model from a folder of samples for the source model: the
// source's own inputs are taken as they are; any other input (a cut's) is the
// source model's tensor of that name, computed by running it on the sample.
class Samples {
 public:
  Samples(const ir::Model& source, const formats::ImageOptions& images) : source_(source), images_(images) {}

  formats::SampleSet read(const std::string& dir, const std::vector<std::string>& wanted, Progress& progress) {
    if (!session_) session_ = std::make_unique<rt::Session>(source_);
    auto cached = cache_.find(dir);
    if (cached == cache_.end())
      cached = cache_.emplace(dir, formats::read_sample_set(dir, session_->input_names(), images_)).first;
    const formats::SampleSet& set = cached->second;
    std::vector<std::string> computed;
    for (const auto& name : wanted)
      if (std::find(session_->input_names().begin(), session_->input_names().end(), name) == session_->input_names().end())
        computed.push_back(name);
    formats::SampleSet out;
    out.names = set.names;
    for (size_t i = 0; i < set.samples.size(); ++i) {
      const formats::Sample& s = set.samples[i];
      std::map<std::string, ir::Tensor> got;
      if (!computed.empty()) {
        got = session_->run_capture(s, computed);
        progress.update("computing the cut's inputs", i + 1, set.samples.size());
      }
      formats::Sample x;
      for (const auto& name : wanted) {
        auto it = s.find(name);
        if (it != s.end()) x[name] = it->second;
        else if (auto g = got.find(name); g != got.end()) x[name] = g->second;
        else fail("the source model computes no tensor '{}' from the samples", name);
      }
      out.samples.push_back(std::move(x));
    }
    if (!computed.empty()) progress.finish();
    return out;
  }

 private:
  const ir::Model& source_;
  formats::ImageOptions images_;
  std::unique_ptr<rt::Session> session_;
  std::map<std::string, formats::SampleSet> cache_;
};

// ---------- one subtask ----------

// The source model, read once: its bytes (each subtask's shrink job parses
// them) and, for the samples of a cut, one model and session.
class Source {
 public:
  Source(const formats::Plan& plan, std::string bytes) : plan_(plan), bytes_(std::move(bytes)) {}
  const std::string& bytes() const { return bytes_; }
  // Parsed when the first subtask is built: a bad model is the plan's 'model'.
  Samples& samples() {
    if (!samples_) {
      try {
        fs::path dir = fs::path(plan_.resolve(plan_.model)).parent_path();
        model_ = formats::onnx::load_model_from_bytes(bytes_, plan_.resolve(plan_.model), dir.empty() ? "." : dir.string());
      } catch (Error& e) {
        e.with_context(plan_.path + ": model");
        throw;
      }
      samples_ = std::make_unique<Samples>(model_, plan_.images);
    }
    return *samples_;
  }

 private:
  const formats::Plan& plan_;
  std::string bytes_;
  ir::Model model_;
  std::unique_ptr<Samples> samples_;
};

struct Entries {
  json manifest, report;
};

Entries build_subtask(const formats::Plan& p, const formats::Subtask& s, Source& source, Progress& progress,
                      const BuildJob& options, BuiltSubtask& built) {
  ShrinkJob job;
  job.input = p.resolve(p.model);
  job.input_bytes = &source.bytes();
  job.output = built.output;
  refuse_overwrite_input(job.input, job.output);
  job.name = s.name;
  job.shown_input = p.model;
  job.shown_output = s.name + ".onnx";
  if (s.has_cut) job.cut = metrics::Cut{s.cut_inputs, s.cut_outputs};
  job.pipeline = s.pipeline;
  job.shown = s.shown;
  job.metadata = {{"pare.plan.subtask", s.name}};
  job.load_samples = [&](const std::string& dir, const std::vector<std::string>& inputs) {
    return source.samples().read(dir, inputs, progress).samples;
  };
  if (!p.data.empty()) {
    job.eval = {p.resolve(p.data), p.resolve(p.labels), p.data, p.labels, p.images, false};
    job.eval_samples = [&](const ir::Model& before) {
      return source.samples().read(p.resolve(p.data), rt::input_names(before), progress);
    };
  }
  job.dims = p.dims;
  job.budget = s.budget;
  job.budget_failure_lines = true;
  job.keep_failed = options.keep_failed;
  job.threads = options.threads;
  job.external_data = s.external_weights;
  ShrinkResult r;
  try {
    r = shrink(job, progress);
  } catch (const CutError& e) {
    fail("{}: line {}: subtask '{}': cut: {}", p.path, s.cut_line, s.name, e.what());
  }
  progress.finish();
  built.budgets = r.report.budgets;
  Entries e;
  e.report = formats::report_json(r.report);
  bool rejected = r.report.rejected_kept_at.has_value();
  built.report = std::move(r.report);
  if (rejected) return e;  // not written: no manifest entry (the next build makes it again)
  // With external weights the graph and the weights are two files, each listed.
  std::string graph = s.external_weights ? read_file(job.output) : r.bytes;
  e.manifest = {{"name", s.name},
                {"file", job.shown_output},
                {"sha256", sha256_hex(graph)},
                {"bytes", graph.size()},
                {"download_bytes", built.report->after.size.download_bytes},
                {"parameters", built.report->after.weights.parameters},
                {"inputs", formats::values_json(r.model.graph->inputs)},
                {"outputs", formats::values_json(r.model.graph->outputs)}};
  if (!s.variant.empty()) {
    e.manifest["subtask"] = s.group;
    e.manifest["variant"] = s.variant;
  }
  if (s.external_weights && fs::exists(job.output + ".data")) {
    std::string weights = read_file(job.output + ".data");
    e.manifest["weights"] = {{"file", job.shown_output + ".data"},
                             {"sha256", sha256_hex(weights)},
                             {"bytes", weights.size()},
                             {"download_bytes", metrics::deflate_size(weights)}};
  }
  return e;
}

// ---------- variants and sharing ----------

// The variants of one subtask are swapped by the app, so they must take the same
// inputs and give the same outputs (names, types, shapes).
void check_variant_contracts(const formats::Plan& plan, const json& entries) {
  std::map<std::string, const json*> first;  // subtask -> its first written variant
  for (const auto& e : entries) {
    if (!e.contains("variant")) continue;
    auto [it, inserted] = first.emplace(e["subtask"].get<std::string>(), &e);
    if (inserted) continue;
    const json& a = *it->second;
    for (const char* side : {"inputs", "outputs"})
      if (a[side] != e[side])
        fail("{}: subtask '{}': variants '{}' and '{}' have different {} ({} and {}), so an app could not swap them",
             plan.path, it->first, a["variant"].get<std::string>(), e["variant"].get<std::string>(), side,
             a[side].dump(), e[side].dump());
  }
}

// share: true: the written models of each variant name ("" for subtasks without
// variants) across two or more subtasks become a trunk and heads in
// OUT/shared (OUT/shared-VARIANT), checked bit for bit by the dedupe job.
json share_trunks(const formats::Plan& plan, const json& entries, const std::string& out_dir) {
  std::map<std::string, std::vector<std::string>> by_variant;
  for (const auto& e : entries)
    by_variant[e.value("variant", "")].push_back((fs::path(out_dir) / e["file"].get<std::string>()).string());
  json out = json::array();
  for (const auto& [variant, models] : by_variant) {
    if (models.size() < 2) continue;
    std::string folder = variant.empty() ? "shared" : "shared-" + variant;
    DedupeJob job{models, (fs::path(out_dir) / folder).string(), plan.dims};
    DedupeReport r;
    try {
      r = run_dedupe(job);
    } catch (Error& e) {
      e.with_context(fmt::format("{}: share{}", plan.path, variant.empty() ? "" : " (variant '" + variant + "')"));
      throw;
    }
    json heads = json::array();
    for (const auto& h : r.heads) heads.push_back(h.file.file);
    out.push_back({{"variant", variant},
                   {"folder", folder},
                   {"manifest", folder + "/manifest.json"},
                   {"heads", heads},
                   {"bytes_before", r.bytes_before()},
                   {"bytes_after", r.bytes_after()},
                   {"download_bytes_before", r.download_before()},
                   {"download_bytes_after", r.download_after()}});
  }
  return out;
}

// Writes `text` unless the file already holds exactly it (so its time stays, as Make expects).
void write_if_changed(const std::string& path, const std::string& text) {
  try {
    if (read_file(path) == text) return;
  } catch (const Error&) {
  }
  write_file_atomic(path, text);
}

}  // namespace

std::vector<BuiltSubtask> build(const BuildJob& job, Progress& progress,
                                const std::function<void(const BuiltSubtask&)>& done) {
  formats::Plan plan = formats::load_plan(job.plan);
  std::string out_dir = plan.resolve(plan.output);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail("{}: output: '{}': cannot create the folder: {}", plan.path, plan.output, ec.message());
  std::string manifest_path = (fs::path(out_dir) / "manifest.json").string();
  std::string report_path = (fs::path(out_dir) / "report.json").string();

  Source source(plan, read_input_file(plan.resolve(plan.model)));
  std::string source_sha = sha256_hex(source.bytes());
  // What each subtask's model depends on, besides its own calib folder.
  Time common = std::max(newest(plan.path), newest(plan.resolve(plan.model)));
  if (!plan.data.empty()) common = std::max(common, newest(plan.resolve(plan.data), out_dir));
  if (!plan.labels.empty()) common = std::max(common, newest(plan.resolve(plan.labels)));
  std::map<std::string, json> old_manifest, old_report;
  if (!job.force) {
    old_manifest = previous_entries(manifest_path, "subtasks");
    old_report = previous_entries(report_path, "subtasks");
    try {
      if (json::parse(read_file(manifest_path)).at("source").at("sha256") != source_sha) old_manifest.clear();
    } catch (...) {
      old_manifest.clear();
    }
  }

  json manifest = {{"plan", plan.path},
                   {"source", {{"file", plan.model}, {"sha256", source_sha}}},
                   {"subtasks", json::array()}};
  json report = {{"plan", plan.path}, {"subtasks", json::array()}};
  std::vector<BuiltSubtask> built;
  for (size_t i = 0; i < plan.subtasks.size(); ++i) {
    const formats::Subtask& s = plan.subtasks[i];
    BuiltSubtask b{s.name, plan.output_file(s), std::nullopt, {}};
    bool fresh = false;
    if (!job.force && old_manifest.count(s.name) && old_report.count(s.name)) {
      Time deps = s.uses_calib ? std::max(common, newest(plan.resolve(plan.calib), out_dir)) : common;
      std::error_code e;
      Time t = fs::last_write_time(b.output, e);
      if (!e && t > deps) {
        try {
          const json& old = old_manifest[s.name];
          fresh = sha256_hex(read_file(b.output)) == old.value("sha256", "") &&
                  (!old.contains("weights") ||
                   sha256_hex(read_file(b.output + ".data")) == old.at("weights").value("sha256", ""));
        } catch (...) {  // unreadable output, or a hand-edited record: rebuild
        }
      }
    }
    Entries entries;
    if (fresh) {
      try {
        entries = {old_manifest[s.name], old_report[s.name]};
        b.budgets = formats::read_budgets(entries.report);
      } catch (const json::exception&) {  // a record pare did not write: rebuild
        fresh = false;
        b.budgets.clear();
      }
    }
    if (!fresh) {
      source.samples();
      try {
        progress.update("building " + s.name, i, plan.subtasks.size());
        entries = build_subtask(plan, s, source, progress, job, b);
      } catch (Error& e) {
        if (!starts_with(e.what(), plan.path + ":")) e.with_context(fmt::format("{}: subtask '{}'", plan.path, s.name));
        throw;
      }
    }
    if (!entries.manifest.is_null()) manifest["subtasks"].push_back(entries.manifest);
    report["subtasks"].push_back(entries.report);
    done(b);
    built.push_back(std::move(b));
  }
  check_variant_contracts(plan, manifest["subtasks"]);
  if (plan.share) manifest["shared"] = share_trunks(plan, manifest["subtasks"], out_dir);
  write_if_changed(manifest_path, manifest.dump(2) + "\n");
  write_if_changed(report_path, report.dump(2) + "\n");
  return built;
}

}  // namespace pare::jobs
