// pare build PLAN.yaml [--force] [-q]: every subtask model of a plan, like Make.
//
// A plan (YAML; paths relative to its folder) names one source model, optional
// samples, and subtasks built in file order:
//   model: models/face.onnx
//   output: out/
//   data: samples/            # optional: samples for the source model
//   labels: samples/labels.txt
//   calib: calib/             # pipelines may say ${calib}
//   image: {size: 128x128, mean: "0.5", std: "0.5", layout: NCHW, channels: rgb}
//   dims: {batch: 1}
//   subtasks:
//     heads:
//       cut: {inputs: [x], outputs: [a, b]}
//       passes: "quantize(int8, weights-only)"
//       budget: {max-download-bytes: 200KB, min-sqnr: 30}
//
// Each subtask is shrink's job on the source model, cut first when the plan says
// so (the cut model is the "before"). Samples are for the source model: when a cut
// gives the subtask other inputs, the source model runs on each sample and its
// intermediate tensors become the subtask's samples (evaluation and calibration).
// Outputs: OUT/<name>.onnx, OUT/manifest.json (files, sha256, inputs, outputs) and
// OUT/report.json (shrink's report per subtask); both JSON files have sorted keys
// and only paths as written in the plan, so they are byte-identical across runs
// and output folders. A subtask whose model is newer than the plan, the model and
// the samples it uses is up to date: skipped, its entries taken from the previous
// manifest and report. Budget failures print after everything is written (exit 1).
#include "formats/yaml/yaml.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tools/pare/commands.h"
#include "tools/pare/evaluate.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------- the plan ----------

const std::vector<std::string> kTopKeys = {"model", "output", "data", "labels", "calib", "image", "dims", "subtasks"};
const std::vector<std::string> kSubtaskKeys = {"cut", "passes", "budget"};
const std::vector<std::string> kCutKeys = {"inputs", "outputs"};

struct Subtask {
  std::string name;
  int line = 0, cut_line = 0;
  bool has_cut = false;
  std::vector<std::string> cut_inputs, cut_outputs;
  passes::Pipeline pipeline;  // as run: ${calib} is the folder as this process opens it
  passes::Pipeline shown;     // as reported: ${calib} is the path as written in the plan
  bool uses_calib = false;
  BudgetTexts budget;
  Limits limits;
};

struct Plan {
  std::string path;  // as given
  fs::path dir;      // its folder, which the paths in it are relative to
  std::string model, output, data, labels, calib;  // as written
  formats::ImageOptions images;
  std::map<std::string, int64_t> dims;
  std::vector<Subtask> subtasks;

  std::string resolve(const std::string& written) const {
    return written.empty() ? "" : (dir / written).string();
  }
  std::string output_file(const Subtask& s) const { return (fs::path(resolve(output)) / (s.name + ".onnx")).string(); }
};

using formats::line_of;

std::string scalar(const Plan& p, const YAML::Node& n, int line, const std::string& key) {
  return formats::yaml_scalar(n, p.path, line, key);
}

// A list of names: [a, b] or a single name.
std::vector<std::string> name_list(const Plan& p, const YAML::Node& n, int line, const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) out.push_back(n.Scalar());
  else if (n.IsSequence())
    for (const auto& item : n) {
      if (!item.IsScalar()) fail("{}: line {}: '{}' must be a list of tensor names", p.path, line_of(item), key);
      out.push_back(item.Scalar());
    }
  else fail("{}: line {}: '{}' must be a list of tensor names", p.path, line, key);
  for (const auto& name : out)
    if (name.empty()) fail("{}: line {}: '{}' holds an empty tensor name", p.path, line, key);
  if (out.empty()) fail("{}: line {}: '{}' is empty; omit it to keep the model's", p.path, line, key);
  return out;
}

// `text` with every ${calib} replaced by `calib` (as a pipeline value).
std::string with_calib(const std::string& text, const std::string& calib) {
  std::string out;
  size_t pos = 0;
  for (size_t at; (at = text.find("${calib}", pos)) != std::string::npos; pos = at + 8)
    out += text.substr(pos, at - pos) + passes::quote_if_needed(calib);
  return out + text.substr(pos);
}

// "--passes:12: ..." from the pipeline parser reads "passes:12: ..." in a plan.
std::string pipeline_message(const Error& e) {
  std::string m = e.what();
  return starts_with(m, "--passes:") ? m.substr(2) : "passes: " + m;
}

void check_exists(const Plan& p, int line, const std::string& key, const std::string& written, bool folder) {
  formats::check_yaml_path(p.path, line, key, written, p.resolve(written), folder, "the plan's folder");
}

void parse_image(Plan& p, const YAML::Node& node, int line) { p.images = formats::yaml_image(node, p.path, line); }

void parse_dims_map(Plan& p, const YAML::Node& node, int line) {
  try {
    p.dims = formats::yaml_dims(node);
  } catch (const Error& e) {
    fail("{}: line {}: dims: {}", p.path, line, e.message());
  }
}

Subtask parse_subtask(const Plan& p, const std::string& name, int line, const YAML::Node& node) {
  static const std::regex kName("[a-z0-9_-]+");
  if (!std::regex_match(name, kName))
    fail("{}: line {}: subtask '{}': a name is lower-case letters, digits, '-' and '_' (it names the file <name>.onnx)",
         p.path, line, name);
  Subtask s;
  s.name = name;
  s.line = line;
  std::string where = fmt::format("subtask '{}'", name);
  if (node.IsNull()) return s;  // "name:" alone: the source model as it is
  if (!node.IsMap()) fail("{}: line {}: {} must be a mapping with cut, passes and budget (each optional)", p.path, line, where);
  std::string passes_text;
  int passes_line = 0;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    int at = line_of(kv.first);
    const YAML::Node& v = kv.second;
    if (std::find(kSubtaskKeys.begin(), kSubtaskKeys.end(), key) == kSubtaskKeys.end())
      fail("{}: line {}: {}: unknown key '{}'{}", p.path, at, where, key, did_you_mean(key, kSubtaskKeys));
    if (key == "cut") {
      s.has_cut = true;
      s.cut_line = at;
      if (!v.IsMap()) fail("{}: line {}: {}: 'cut' must be a mapping such as {{inputs: [a], outputs: [b, c]}}", p.path, at, where);
      for (const auto& c : v) {
        std::string ck = c.first.Scalar();
        int cl = line_of(c.first);
        if (std::find(kCutKeys.begin(), kCutKeys.end(), ck) == kCutKeys.end())
          fail("{}: line {}: {}: cut: unknown key '{}'{}", p.path, cl, where, ck, did_you_mean(ck, kCutKeys));
        (ck == "inputs" ? s.cut_inputs : s.cut_outputs) = name_list(p, c.second, cl, "cut: " + ck);
      }
      if (s.cut_inputs.empty() && s.cut_outputs.empty())
        fail("{}: line {}: {}: 'cut' needs inputs, outputs or both", p.path, at, where);
    } else if (key == "passes") {
      passes_line = at;
      if (!v.IsNull()) passes_text = scalar(p, v, at, "passes");
    } else if (key == "budget") {
      if (!v.IsMap()) fail("{}: line {}: {}: 'budget' must be a mapping such as {{max-download-bytes: 200KB}}", p.path, at, where);
      for (const auto& b : v) {
        std::string bk = b.first.Scalar();
        int bl = line_of(b.first);
        std::string text = b.second.IsScalar() ? b.second.Scalar() : "";
        // Each key alone first, so a bad one names its line.
        parse_limits({{bk, text}}, fmt::format("{}: line {}: {}: budget: ", p.path, bl, where));
        s.budget[bk] = text;
      }
      s.limits = parse_limits(s.budget, fmt::format("{}: line {}: {}: budget: ", p.path, at, where));
      if (s.limits.needs_data() && p.data.empty())
        fail("{}: line {}: {}: budget: min-sqnr, min-cosine, max-top1-drop and min-accuracy need 'data' (the samples to "
             "compare on)", p.path, at, where);
      if (s.limits.min_accuracy && p.labels.empty())
        fail("{}: line {}: {}: budget: min-accuracy needs 'labels' (a class label per sample)", p.path, at, where);
    }
  }
  s.uses_calib = passes_text.find("${calib}") != std::string::npos;
  if (s.uses_calib && p.calib.empty())
    fail("{}: line {}: {}: passes: ${{calib}} needs 'calib' (a folder of calibration samples)", p.path, passes_line, where);
  std::string rest = with_calib(passes_text, "");
  if (size_t at = rest.find("${"); at != std::string::npos)
    fail("{}: line {}: {}: passes: unknown variable '{}' (the one variable is ${{calib}})", p.path, passes_line, where,
         rest.substr(at, rest.find('}', at) == std::string::npos ? std::string::npos : rest.find('}', at) - at + 1));
  try {
    s.shown = passes::Pipeline::parse(with_calib(passes_text, p.calib));
    s.pipeline = passes::Pipeline::parse(with_calib(passes_text, p.resolve(p.calib)));
  } catch (const Error& e) {
    fail("{}: line {}: {}: {}", p.path, passes_line, where, pipeline_message(e));
  }
  return s;
}

Plan load_plan(const std::string& path) {
  Plan p;
  p.path = path;
  p.dir = fs::path(path).parent_path();
  YAML::Node root = formats::load_yaml_file(path);
  if (!root.IsMap()) fail("{}: expected a mapping with 'model', 'output' and 'subtasks'", path);
  std::map<std::string, int> lines;
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    int line = line_of(kv.first);
    if (std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end())
      fail("{}: line {}: unknown key '{}'{}", path, line, key, did_you_mean(key, kTopKeys));
    if (lines.count(key)) fail("{}: line {}: '{}' is given twice (first on line {})", path, line, key, lines[key]);
    lines[key] = line;
    const YAML::Node& v = kv.second;
    if (key == "model") p.model = scalar(p, v, line, key);
    else if (key == "output") p.output = scalar(p, v, line, key);
    else if (key == "data") p.data = scalar(p, v, line, key);
    else if (key == "labels") p.labels = scalar(p, v, line, key);
    else if (key == "calib") p.calib = scalar(p, v, line, key);
    else if (key == "image") parse_image(p, v, line);
    else if (key == "dims") parse_dims_map(p, v, line);
  }
  for (const char* key : {"model", "output", "subtasks"})
    if (!lines.count(key)) fail("{}: no '{}' (a plan needs model, output and subtasks)", path, key);
  check_exists(p, lines["model"], "model", p.model, false);
  if (!p.data.empty()) check_exists(p, lines["data"], "data", p.data, true);
  if (!p.labels.empty()) {
    if (p.data.empty()) fail("{}: line {}: 'labels' needs 'data' (the samples they label)", path, lines["labels"]);
    check_exists(p, lines["labels"], "labels", p.labels, false);
  }
  if (!p.calib.empty()) check_exists(p, lines["calib"], "calib", p.calib, true);
  std::error_code ec;
  if (fs::exists(p.resolve(p.output), ec) && !fs::is_directory(p.resolve(p.output), ec))
    fail("{}: line {}: output: '{}' is a file, not a folder", path, lines["output"], p.output);

  YAML::Node subtasks = root["subtasks"];
  if (!subtasks.IsMap() || subtasks.size() == 0)
    fail("{}: line {}: 'subtasks' must be a mapping of name: subtask (cut, passes, budget)", path, lines["subtasks"]);
  std::set<std::string> names;
  for (const auto& kv : subtasks) {
    std::string name = kv.first.Scalar();
    int line = line_of(kv.first);
    if (!names.insert(name).second) fail("{}: line {}: subtask '{}' is given twice", path, line, name);
    p.subtasks.push_back(parse_subtask(p, name, line, kv.second));
  }
  return p;
}

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

json values_json(const std::vector<ir::Value*>& values) {
  json out = json::array();
  for (const ir::Value* v : values) {
    if (v->is_constant()) continue;
    json shape = nullptr;
    if (v->shape) {
      shape = json::array();
      for (const auto& d : v->shape->dims)
        shape.push_back(d.is_known() ? json(d.value) : d.symbol.empty() ? json() : json(d.symbol));
    }
    out.push_back({{"name", v->name()}, {"dtype", std::string(ir::name(v->dtype))}, {"shape", shape}});
  }
  return out;
}

std::string macs_text(const metrics::MacStats& m) { return m.known ? std::to_string(m.total) : "unknown"; }

// The budgets of a report entry, as check_limits gave them (failures keep their text).
std::vector<BudgetResult> stored_budgets(const json& entry) {
  std::vector<BudgetResult> out;
  if (!entry.contains("budgets")) return out;
  for (const auto& b : entry["budgets"])
    out.push_back({b.value("what", ""), b.value("value", json()), b.value("limit", json()), b.value("ok", true),
                   b.value("failure", "")});
  return out;
}

struct Built {
  json manifest, report;
  std::vector<BudgetResult> budgets;
};

class Builder {
 public:
  Builder(const Plan& plan, bool quiet)
      : plan_(plan), progress_(!quiet && stderr_is_terminal()) {
    source_ = formats::onnx::load_model(plan.resolve(plan.model));
    samples_ = std::make_unique<Samples>(source_, plan.images);
  }

  Built build(const Subtask& s) {
    const Plan& p = plan_;
    std::string source = p.resolve(p.model), out = p.output_file(s);
    refuse_overwrite_input(source, out);
    // The "before" model: the source, cut when the plan says so.
    auto load = [&] {
      ir::Model m = formats::onnx::load_model(source);
      if (s.has_cut) {
        std::vector<std::string> args;
        for (const auto& n : s.cut_inputs) args.push_back("inputs=" + passes::quote_if_needed(n));
        for (const auto& n : s.cut_outputs) args.push_back("outputs=" + passes::quote_if_needed(n));
        passes::Pipeline cut = passes::Pipeline::parse("cut(" + join(args, ", ") + ")");
        passes::PassContext ctx;
        try {
          for (const auto& step : cut.steps()) step.info->create(step.values)->run(m, ctx);
        } catch (const Error& e) {
          fail("{}: line {}: subtask '{}': cut: {}", p.path, s.cut_line, s.name, e.what());
        }
      }
      return m;
    };
    ir::Model before = load(), model = load();
    ModelFacts before_facts;
    if (s.has_cut) {
      std::string bytes = formats::onnx::serialize_model(before);
      before_facts = {{static_cast<int64_t>(bytes.size()), metrics::deflate_size(bytes)}, metrics::count_weights(before),
                      metrics::count_nodes(before), metrics::count_macs(before, p.dims), metrics::weights_by_layer(before)};
    } else {
      before_facts = measure_model(before, source, p.dims);
    }

    passes::PassContext ctx;
    ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>& inputs) {
      return samples_->read(dir, inputs, progress_).samples;
    };
    ctx.progress = [&](const std::string& what, size_t done, size_t total) {
      progress_.update(s.name + ": " + what, done, total);
    };
    // Metadata first, so each step's size is the size of the file it would write.
    if (!s.shown.empty()) model.set_metadata("pare.pipeline", s.shown.str());
    model.set_metadata("pare.plan.subtask", s.name);
    std::vector<StepReport> steps = run_steps(model, s.pipeline, ctx, false);
    progress_.finish();
    ir::verify(model);
    // Steps are reported as the plan wrote them (the calib path as written).
    for (size_t i = 0; i < steps.size(); ++i) steps[i].step = s.shown.steps()[i].str();

    // Fidelity before anything is written: bad samples leave no output behind.
    EvalOptions shown_eval{p.data, p.labels, p.images, false};
    Evaluation evaluation;
    if (!p.data.empty()) {
      std::vector<std::string> inputs = rt::input_names(before);
      formats::SampleSet set = samples_->read(p.resolve(p.data), inputs, progress_);
      EvalOptions eval{p.resolve(p.data), p.resolve(p.labels), p.images, false};
      evaluation = evaluate(before, model, set.samples, set.names, eval, progress_);
    }

    std::string bytes = formats::onnx::serialize_model(model);
    write_file_atomic(out, bytes);
    ModelFacts after = measure_model(model, out, p.dims);

    progress_.finish();
    fmt::print("{}: {} -> {}\n", s.name, p.model, out);
    if (s.has_cut)
      fmt::print("  cut         inputs {}; outputs {}\n",
                 s.cut_inputs.empty() ? "(the model's)" : join(s.cut_inputs, ", "),
                 s.cut_outputs.empty() ? "(the model's)" : join(s.cut_outputs, ", "));
    fmt::print("  pipeline    {}\n", s.shown.empty() ? "(none)" : s.shown.str());
    fmt::print("  file        {}\n", change(before_facts.size.file_bytes, after.size.file_bytes));
    fmt::print("  download    {}\n", change(before_facts.size.download_bytes, after.size.download_bytes));
    fmt::print("  parameters  {}\n", change(before_facts.weights.parameters, after.weights.parameters));
    fmt::print("  nodes       {}\n", change(before_facts.nodes.nodes_total, after.nodes.nodes_total));
    if (before_facts.macs.known && after.macs.known)
      fmt::print("  MACs        {}\n", change(before_facts.macs.total, after.macs.total));
    else
      fmt::print("  MACs        {} -> {} ({})\n", macs_text(before_facts.macs), macs_text(after.macs),
                 before_facts.macs.known ? after.macs.reason : before_facts.macs.reason);

    Built b;
    std::string file = s.name + ".onnx";
    b.report = {{"name", s.name},           {"input", p.model},
                {"output", file},           {"pipeline", s.shown.str()},
                {"before", facts_json(before_facts)}, {"after", facts_json(after)}};
    if (s.has_cut) b.report["cut"] = {{"inputs", s.cut_inputs}, {"outputs", s.cut_outputs}};
    report_steps(b.report, steps);
    report_evaluation(b.report, evaluation, shown_eval);
    b.budgets = check_limits(s.limits, after, &evaluation);
    report_budgets(b.report, b.budgets);
    for (size_t i = 0; i < b.budgets.size(); ++i)
      if (!b.budgets[i].ok) b.report["budgets"][i]["failure"] = b.budgets[i].failure;

    b.manifest = {{"name", s.name},
                  {"file", file},
                  {"sha256", sha256_hex(bytes)},
                  {"bytes", bytes.size()},
                  {"download_bytes", after.size.download_bytes},
                  {"parameters", after.weights.parameters},
                  {"inputs", values_json(model.graph->inputs)},
                  {"outputs", values_json(model.graph->outputs)}};
    return b;
  }

  Progress& progress() { return progress_; }

 private:
  const Plan& plan_;
  Progress progress_;
  ir::Model source_;
  std::unique_ptr<Samples> samples_;
};

// Writes `text` unless the file already holds exactly it (so its time stays, as Make expects).
void write_if_changed(const std::string& path, const std::string& text) {
  try {
    if (read_file(path) == text) return;
  } catch (const Error&) {
  }
  write_file_atomic(path, text);
}

struct Args {
  std::string plan;
  bool force = false, quiet = false;
};

int build(const Args& a) {
  Plan plan = load_plan(a.plan);
  std::string out_dir = plan.resolve(plan.output);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail("{}: output: '{}': cannot create the folder: {}", plan.path, plan.output, ec.message());
  std::string manifest_path = (fs::path(out_dir) / "manifest.json").string();
  std::string report_path = (fs::path(out_dir) / "report.json").string();

  std::string source_sha = sha256_hex(read_file(plan.resolve(plan.model)));
  // What each subtask's model depends on, besides its own calib folder.
  Time common = std::max(newest(plan.path), newest(plan.resolve(plan.model)));
  if (!plan.data.empty()) common = std::max(common, newest(plan.resolve(plan.data), out_dir));
  if (!plan.labels.empty()) common = std::max(common, newest(plan.resolve(plan.labels)));
  std::map<std::string, json> old_manifest, old_report;
  if (!a.force) {
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
  std::vector<std::pair<std::string, std::vector<BudgetResult>>> checks;
  std::unique_ptr<Builder> builder;
  for (size_t i = 0; i < plan.subtasks.size(); ++i) {
    const Subtask& s = plan.subtasks[i];
    std::string out = plan.output_file(s);
    bool fresh = false;
    if (!a.force && old_manifest.count(s.name) && old_report.count(s.name)) {
      Time deps = s.uses_calib ? std::max(common, newest(plan.resolve(plan.calib), out_dir)) : common;
      std::error_code e;
      Time t = fs::last_write_time(out, e);
      if (!e && t > deps) {
        try {
          fresh = sha256_hex(read_file(out)) == old_manifest[s.name].value("sha256", "");
        } catch (...) {  // unreadable output, or a hand-edited record: rebuild
        }
      }
    }
    Built b;
    if (fresh) {
      try {
        b.manifest = old_manifest[s.name];
        b.report = old_report[s.name];
        b.budgets = stored_budgets(b.report);
      } catch (const json::exception&) {  // a record pare did not write: rebuild
        fresh = false;
        b = Built{};
      }
    }
    if (fresh) {
      fmt::print("{}: up to date\n", s.name);
    } else {
      if (!builder) {
        try {
          builder = std::make_unique<Builder>(plan, a.quiet);
        } catch (Error& e) {
          e.with_context(plan.path + ": model");
          throw;
        }
      }
      try {
        builder->progress().update("building " + s.name, i, plan.subtasks.size());
        b = builder->build(s);
      } catch (Error& e) {
        if (!starts_with(e.what(), plan.path + ":")) e.with_context(fmt::format("{}: subtask '{}'", plan.path, s.name));
        throw;
      }
    }
    manifest["subtasks"].push_back(b.manifest);
    report["subtasks"].push_back(b.report);
    checks.emplace_back(out, b.budgets);
  }
  write_if_changed(manifest_path, manifest.dump(2) + "\n");
  write_if_changed(report_path, report.dump(2) + "\n");
  std::fflush(stdout);
  bool failed = false;
  for (const auto& [file, results] : checks) failed = print_budget_failures(file, results) || failed;
  return failed ? 1 : 0;
}

}  // namespace

const Command kBuildCommand = {
    "build", "build every subtask model of a plan (YAML), skipping those that are up to date",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("plan", a->plan, "plan file (YAML: model, output, data, labels, calib, image, dims, subtasks)")
          ->required();
      sub.add_flag("--force", a->force, "rebuild every subtask, up to date or not");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar");
      return [a] { return build(*a); };
    }};

}  // namespace pare::cli
