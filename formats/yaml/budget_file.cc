#include "formats/yaml/budget_file.h"

#include <algorithm>
#include <filesystem>

#include "formats/yaml/yaml.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"

namespace pare::formats {

namespace fs = std::filesystem;

std::string BudgetFile::resolve(const std::string& written) const {
  return written.empty() ? "" : (fs::path(dir) / written).string();
}

namespace {

const std::vector<std::string> kBudgetKeys = {"models"};

const std::vector<std::string>& entry_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"path"};
    k.insert(k.end(), metrics::budget_keys().begin(), metrics::budget_keys().end());
    k.insert(k.end(), {"warn", "dims", "reference", "data", "labels", "image"});
    return k;
  }();
  return keys;
}

bool has_glob(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  for (auto& c : split(path, '/'))
    if (!c.empty() && c != ".") out.push_back(c);
  return out;
}

std::string scalar(const BudgetFile& f, const YAML::Node& n, const std::string& key) {
  return yaml_scalar(n, f.path, line_of(n), key);
}

void check_exists(const BudgetFile& f, int line, const std::string& key, const std::string& written, bool folder) {
  check_yaml_path(f.path, line, key, written, f.resolve(written), folder, "the budget file's folder");
}

// 'warn:': budget keys and their values as written, each line kept as "warn.KEY".
void parse_warn(const BudgetFile& f, BudgetEntry& e, const YAML::Node& v, int line) {
  const auto& limits = metrics::budget_keys();
  if (!v.IsMap() || v.size() == 0)
    fail("{}: line {}: warn: must be a mapping of budgets such as {{max-download-bytes: 900KB}}", f.path, line);
  for (const auto& kv : v) {
    std::string key = kv.first.Scalar();
    int at = line_of(kv.first);
    if (std::find(limits.begin(), limits.end(), key) == limits.end())
      fail("{}: line {}: warn: '{}' is not a budget (budgets: {}){}", f.path, at, key, join(limits, ", "),
           did_you_mean(key, limits));
    if (e.warn.count(key)) fail("{}: line {}: warn: '{}' is given twice", f.path, at, key);
    e.warn[key] = scalar(f, kv.second, key);
    e.lines["warn." + key] = at;
  }
}

BudgetEntry parse_entry(const BudgetFile& f, const YAML::Node& node) {
  if (!node.IsMap()) fail("{}: line {}: each entry of 'models' must be a mapping with a 'path'", f.path, line_of(node));
  BudgetEntry e;
  e.line = line_of(node);
  const auto& keys = entry_keys();
  const auto& limits = metrics::budget_keys();
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    int line = line_of(kv.first);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      fail("{}: line {}: unknown key '{}'{}", f.path, line, key, did_you_mean(key, keys));
    if (e.lines.count(key)) fail("{}: line {}: '{}' is given twice (first on line {})", f.path, line, key, e.lines[key]);
    e.lines[key] = line;
    if (std::find(limits.begin(), limits.end(), key) != limits.end()) {
      e.limits[key] = scalar(f, v, key);  // parsed by the caller, which names this line
    } else if (key == "path") {
      e.path = scalar(f, v, key);
      if (e.path.front() == '/')
        fail("{}: line {}: path: '{}' must be relative to the budget file's folder", f.path, line, e.path);
    } else if (key == "reference") {
      e.reference = scalar(f, v, key);
    } else if (key == "data") {
      e.data = scalar(f, v, key);
    } else if (key == "labels") {
      e.labels = scalar(f, v, key);
    } else if (key == "warn") {
      parse_warn(f, e, v, line);
    } else if (key == "image") {
      e.images = yaml_image(v, f.path, line);
    } else if (key == "dims") {
      try {
        e.dims = yaml_dims(v);
      } catch (const Error& err) {
        fail("{}: line {}: dims: {}", f.path, line, err.message());
      }
    }
  }
  if (!e.lines.count("path")) fail("{}: line {}: the entry has no 'path'", f.path, e.line);
  // What compares the model needs its counterparts: a reference and samples go together.
  auto needs = [&](const std::string& key, const std::vector<std::pair<std::string, std::string>>& wanted) {
    std::vector<std::string> missing;
    for (const auto& [k, why] : wanted)
      if (!e.lines.count(k)) missing.push_back(fmt::format("'{}' ({})", k, why));
    if (!missing.empty()) fail("{}: line {}: {} needs {}", f.path, e.lines.at(key), key, join(missing, " and "));
  };
  const std::pair<std::string, std::string> kReference = {"reference", "the model it is compared with"};
  const std::pair<std::string, std::string> kData = {"data", "the samples to compare on"};
  for (const auto& key : metrics::fidelity_budget_keys())
    for (const std::string& given : {key, "warn." + key})
      if (e.lines.count(given)) needs(given, {kReference, kData});
  for (const std::string given : {"min-accuracy", "warn.min-accuracy"})
    if (e.lines.count(given)) needs(given, {{"labels", "a class label per sample"}});
  if (e.lines.count("reference")) needs("reference", {kData});
  for (const char* key : {"data", "labels", "image"})
    if (e.lines.count(key)) needs(key, {kReference});
  if (e.lines.count("labels")) needs("labels", {kData});
  if (!e.reference.empty()) check_exists(f, e.lines.at("reference"), "reference", e.reference, false);
  if (!e.data.empty()) check_exists(f, e.lines.at("data"), "data", e.data, true);
  if (!e.labels.empty()) check_exists(f, e.lines.at("labels"), "labels", e.labels, false);
  return e;
}

}  // namespace

BudgetFile load_budget_file(const std::string& path) {
  BudgetFile f;
  f.path = path;
  f.dir = fs::path(path).parent_path().string();
  if (f.dir.empty()) f.dir = ".";
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) fail("{}: expected a mapping with a 'models' list", path);
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    if (std::find(kBudgetKeys.begin(), kBudgetKeys.end(), key) == kBudgetKeys.end())
      fail("{}: line {}: unknown key '{}'{}", path, line_of(kv.first), key, did_you_mean(key, kBudgetKeys));
  }
  YAML::Node models = root["models"];
  if (!models) fail("{}: no 'models' list", path);
  if (!models.IsSequence() || models.size() == 0)
    fail("{}: line {}: 'models' must be a non-empty list of entries with a 'path'", path, line_of(models));
  for (const auto& node : models) f.entries.push_back(parse_entry(f, node));
  return f;
}

bool budget_path_matches(std::string_view pattern, std::string_view relative) {
  auto p = components(pattern), r = components(relative);
  if (p.size() != r.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (!glob_match(p[i], r[i])) return false;
  return true;
}

std::vector<std::string> expand_budget_entry(const BudgetFile& file, const BudgetEntry& entry) {
  std::vector<std::string> found = {""};
  for (const auto& comp : components(entry.path)) {
    std::vector<std::string> next;
    for (const auto& prefix : found) {
      std::string joined = prefix.empty() ? comp : prefix + "/" + comp;
      if (!has_glob(comp)) {
        next.push_back(joined);
        continue;
      }
      std::error_code ec;
      fs::path dir = fs::path(file.dir) / prefix;
      if (!fs::is_directory(dir, ec)) continue;
      for (const auto& de : fs::directory_iterator(dir, ec)) {
        std::string name = de.path().filename().string();
        if (glob_match(comp, name)) next.push_back(prefix.empty() ? name : prefix + "/" + name);
      }
    }
    found = std::move(next);
  }
  std::vector<std::string> files;
  for (const auto& rel : found) {
    std::error_code ec;
    if (!rel.empty() && fs::is_regular_file(fs::path(file.dir) / rel, ec)) files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    if (has_glob(entry.path)) fail("{}: line {}: '{}' matches no file", file.path, entry.line, entry.path);
    fail("{}: line {}: {}: no such file", file.path, entry.line, entry.path);
  }
  return files;
}

}  // namespace pare::formats
