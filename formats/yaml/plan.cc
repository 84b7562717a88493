#include "formats/yaml/plan.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include "formats/yaml/yaml.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kPlanKeys = {"model", "output", "data",    "labels",
                                           "calib", "image",  "dims",    "share", "subtasks"};
const std::vector<std::string> kSubtaskKeys = {"cut", "passes", "budget", "weights", "variants"};
const std::vector<std::string> kVariantKeys = {"passes", "budget", "weights"};
const std::vector<std::string> kCutKeys = {"inputs", "outputs"};



std::string scalar(const Plan& p, const YAML::Node& n, int line, const std::string& key) {
  return yaml_scalar(n, p.path, line, key);
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

// The budget texts parsed; a bad one names its line (`line`, or its key's in `lines`).
metrics::Budget parse_budget_at(const std::map<std::string, std::string>& texts, const std::string& where) {
  try {
    return metrics::parse_budget(texts);
  } catch (const metrics::BudgetValueError& e) {
    throw Error(fmt::format("{}{}: {}", where, e.key, e.message()));
  }
}

void check_exists(const Plan& p, int line, const std::string& key, const std::string& written, bool folder) {
  check_yaml_path(p.path, line, key, written, p.resolve(written), folder, "the plan's folder");
}

void parse_image(Plan& p, const YAML::Node& node, int line) { p.images = yaml_image(node, p.path, line); }

void parse_dims_map(Plan& p, const YAML::Node& node, int line) {
  try {
    p.dims = yaml_dims(node);
  } catch (const Error& e) {
    fail("{}: line {}: dims: {}", p.path, line, e.message());
  }
}

// The keys a subtask and a variant share: passes, budget, weights.
struct BuildKeys {
  std::string passes_text;
  int passes_line = 0;
};

void parse_budget_key(const Plan& p, Subtask& s, const YAML::Node& v, int at, const std::string& where) {
  if (!v.IsMap()) fail("{}: line {}: {}: 'budget' must be a mapping such as {{max-download-bytes: 200KB}}", p.path, at, where);
  for (const auto& b : v) {
    std::string bk = b.first.Scalar();
    int bl = line_of(b.first);
    std::string text = b.second.IsScalar() ? b.second.Scalar() : "";
    // Each key alone first, so a bad one names its line.
    parse_budget_at({{bk, text}}, fmt::format("{}: line {}: {}: budget: ", p.path, bl, where));
    s.budget_texts[bk] = text;
  }
  s.budget = parse_budget_at(s.budget_texts, fmt::format("{}: line {}: {}: budget: ", p.path, at, where));
  if (s.budget.check_only())
    fail("{}: line {}: {}: budget: {} are measured by pare check only (a baseline, timed runs)", p.path, at, where,
         join(metrics::check_only_budget_keys(), ", "));
  if (s.budget.needs_data() && p.data.empty())
    fail("{}: line {}: {}: budget: min-sqnr, min-cosine, max-top1-drop and min-accuracy need 'data' (the samples to "
         "compare on)", p.path, at, where);
  if (s.budget.min_accuracy && p.labels.empty())
    fail("{}: line {}: {}: budget: min-accuracy needs 'labels' (a class label per sample)", p.path, at, where);
}

// Reads `key` if it is one of passes, budget, weights; false for any other key.
bool parse_build_key(const Plan& p, Subtask& s, BuildKeys& k, const std::string& key, const YAML::Node& v, int at,
                     const std::string& where) {
  if (key == "passes") {
    k.passes_line = at;
    if (!v.IsNull()) k.passes_text = scalar(p, v, at, "passes");
  } else if (key == "budget") {
    parse_budget_key(p, s, v, at, where);
  } else if (key == "weights") {
    std::string w = scalar(p, v, at, "weights");
    if (w != "external" && w != "inline")
      fail("{}: line {}: {}: weights: '{}' is not 'external' (a graph file and a weights file) or 'inline'", p.path,
           at, where, w);
    s.external_weights = w == "external";
  } else {
    return false;
  }
  return true;
}

// The pipeline of a subtask or variant, ${calib} substituted.
void parse_pipeline(const Plan& p, Subtask& s, const BuildKeys& k, const std::string& where) {
  s.uses_calib = k.passes_text.find("${calib}") != std::string::npos;
  if (s.uses_calib && p.calib.empty())
    fail("{}: line {}: {}: passes: ${{calib}} needs 'calib' (a folder of calibration samples)", p.path, k.passes_line, where);
  std::string rest = with_calib(k.passes_text, "");
  if (size_t at = rest.find("${"); at != std::string::npos)
    fail("{}: line {}: {}: passes: unknown variable '{}' (the one variable is ${{calib}})", p.path, k.passes_line, where,
         rest.substr(at, rest.find('}', at) == std::string::npos ? std::string::npos : rest.find('}', at) - at + 1));
  try {
    s.shown = passes::Pipeline::parse(with_calib(k.passes_text, p.calib));
    s.pipeline = passes::Pipeline::parse(with_calib(k.passes_text, p.resolve(p.calib)));
  } catch (const passes::PipelineSyntaxError& e) {  // "passes:12: ..." as the flag says "--passes:12: ..."
    fail("{}: line {}: {}: passes:{}: {}", p.path, k.passes_line, where, e.column, e.message());
  } catch (const Error& e) {
    fail("{}: line {}: {}: passes: {}", p.path, k.passes_line, where, e.what());
  }
}

void parse_cut(const Plan& p, Subtask& s, const YAML::Node& v, int at, const std::string& where) {
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
}

void check_name(const Plan& p, int line, const std::string& what, const std::string& name) {
  static const std::regex kName("[a-z0-9_-]+");
  if (!std::regex_match(name, kName))
    fail("{}: line {}: {} '{}': a name is lower-case letters, digits, '-' and '_' (it names the file <name>.onnx)",
         p.path, line, what, name);
}

// The variants of subtask `base` (its cut given): one Subtask each, named NAME.VARIANT.
std::vector<Subtask> parse_variants(const Plan& p, const Subtask& base, const YAML::Node& node, int line) {
  std::string where = fmt::format("subtask '{}'", base.name);
  if (!node.IsMap() || node.size() == 0)
    fail("{}: line {}: {}: 'variants' must be a mapping of name: variant (passes, budget, weights)", p.path, line, where);
  std::vector<Subtask> out;
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    int at = line_of(kv.first);
    check_name(p, at, "variant", name);
    for (const auto& v : out)
      if (v.variant == name) fail("{}: line {}: {}: variant '{}' is given twice", p.path, at, where, name);
    Subtask v = base;
    v.name = base.name + "." + name;
    v.variant = name;
    v.line = at;
    std::string vwhere = fmt::format("subtask '{}': variant '{}'", base.name, name);
    BuildKeys k;
    if (!kv.second.IsNull() && !kv.second.IsMap())
      fail("{}: line {}: {} must be a mapping with passes, budget and weights (each optional)", p.path, at, vwhere);
    for (const auto& x : kv.second) {
      std::string key = x.first.Scalar();
      if (!parse_build_key(p, v, k, key, x.second, line_of(x.first), vwhere))
        fail("{}: line {}: {}: unknown key '{}'{}", p.path, line_of(x.first), vwhere, key, did_you_mean(key, kVariantKeys));
    }
    parse_pipeline(p, v, k, vwhere);
    out.push_back(std::move(v));
  }
  return out;
}

// A subtask: one model, or one per variant.
std::vector<Subtask> parse_subtask(const Plan& p, const std::string& name, int line, const YAML::Node& node) {
  check_name(p, line, "subtask", name);
  Subtask s;
  s.name = s.group = name;
  s.line = line;
  std::string where = fmt::format("subtask '{}'", name);
  if (node.IsNull()) return {s};  // "name:" alone: the source model as it is
  if (!node.IsMap()) fail("{}: line {}: {} must be a mapping with cut, passes and budget (each optional)", p.path, line, where);
  BuildKeys k;
  // A handle of its own: the iteration's pair (kv) ends with each step (ASan:
  // a pointer to kv.second was read after its scope).
  std::optional<YAML::Node> variants;
  int variants_line = 0, build_key_line = 0;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    int at = line_of(kv.first);
    const YAML::Node& v = kv.second;
    if (std::find(kSubtaskKeys.begin(), kSubtaskKeys.end(), key) == kSubtaskKeys.end())
      fail("{}: line {}: {}: unknown key '{}'{}", p.path, at, where, key, did_you_mean(key, kSubtaskKeys));
    if (key == "cut") {
      parse_cut(p, s, v, at, where);
    } else if (key == "variants") {
      variants.emplace(kv.second);
      variants_line = at;
    } else {
      parse_build_key(p, s, k, key, v, at, where);
      build_key_line = at;
    }
  }
  if (variants && build_key_line)
    fail("{}: line {}: {}: with 'variants', passes, budget and weights go in each variant", p.path, build_key_line, where);
  if (variants) return parse_variants(p, s, *variants, variants_line);
  parse_pipeline(p, s, k, where);
  return {s};
}

}  // namespace

Plan load_plan(const std::string& path) {
  Plan p;
  p.path = path;
  p.dir = fs::path(path).parent_path();
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) fail("{}: expected a mapping with 'model', 'output' and 'subtasks'", path);
  std::map<std::string, int> lines;
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    int line = line_of(kv.first);
    if (std::find(kPlanKeys.begin(), kPlanKeys.end(), key) == kPlanKeys.end())
      fail("{}: line {}: unknown key '{}'{}", path, line, key, did_you_mean(key, kPlanKeys));
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
    else if (key == "share") {
      std::string b = scalar(p, v, line, key);
      if (b != "true" && b != "false") fail("{}: line {}: share: '{}' is not true or false", path, line, b);
      p.share = b == "true";
    }
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
    for (auto& s : parse_subtask(p, name, line, kv.second)) p.subtasks.push_back(std::move(s));
  }
  return p;
}

}  // namespace pare::formats
