// pare check [FILES...] --budget BUDGET.yaml [--baseline OLD.json] [--github]
//            [--junit FILE] [--json FILE]
// The CI size-budget gate (in the spirit of size-limit): measures each model
// the budget file names, prints a table per model, and exits 1 when one is
// over a limit, with one "pare: check failed: FILE: WHAT VALUE > budget LIMIT"
// line on stderr per exceeded limit.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Args {
  std::vector<std::string> files;
  std::vector<std::string> dims;  // --dim NAME=N for every model; an entry's dims: win
  std::string budget, baseline, junit, json;
  bool github = false;
};

// One model to check: the limits of every budget entry that names it (the
// tightest of each), and what was measured.
struct Row {
  std::string name;  // relative to the budget file's folder: what every report shows
  std::string path;  // what to open
  metrics::Budget budget;
  std::map<std::string, int64_t> dims;
  metrics::Measured measured;
  std::string macs_reason;  // why MACs are unknown, when a MACs budget asked for them
  std::vector<metrics::BudgetFailure> failures;
};

// The measures of a row: what (as in BudgetFailure), JSON key, value, limit.
struct Measure {
  const char* what;
  const char* key;
  std::optional<int64_t> value;
  std::optional<int64_t> limit;
};

std::vector<Measure> measures(const Row& r) {
  std::vector<Measure> out = {
      {"bytes", "bytes", r.measured.bytes, r.budget.max_bytes},
      {"download bytes", "download_bytes", r.measured.download_bytes, r.budget.max_download_bytes},
      {"parameters", "params", r.measured.params, r.budget.max_params},
  };
  // MACs cost a run of the model: counted (and shown) only when a limit asks for them.
  if (r.budget.max_macs) out.push_back({"MACs", "macs", r.measured.macs, r.budget.max_macs});
  return out;
}

bool is_over(const Row& r, std::string_view what) {
  for (const auto& f : r.failures)
    if (f.what == what) return true;
  return false;
}

// `file` relative to `dir`, '/'-separated, both resolved the same way (symlinked
// folders such as /tmp included) but without following a symlink in the file name.
std::string relative_to(const std::string& file, const std::string& dir) {
  std::error_code ec;
  fs::path f(file);
  fs::path parent = f.parent_path().empty() ? fs::path(".") : f.parent_path();
  fs::path fp = fs::weakly_canonical(parent, ec) / f.filename();
  fs::path dp = fs::weakly_canonical(dir, ec);
  return fp.lexically_normal().lexically_relative(dp).generic_string();
}

std::vector<Row> select_rows(const metrics::BudgetFile& budget, const std::vector<std::string>& files) {
  std::vector<Row> rows;
  auto add = [&rows](const std::string& name, const std::string& path, const metrics::BudgetEntry& e) {
    for (auto& r : rows)
      if (r.name == name) {
        r.budget = metrics::tightest(r.budget, e.budget);
        for (const auto& [k, v] : e.dims) r.dims.emplace(k, v);
        return;
      }
    rows.push_back(Row{name, path, e.budget, e.dims, {}, {}, {}});
  };
  if (files.empty()) {
    for (const auto& e : budget.entries)
      for (const auto& rel : metrics::expand_budget_entry(budget, e)) add(rel, (fs::path(budget.dir) / rel).string(), e);
    return rows;
  }
  for (const auto& file : files) {
    std::string rel = relative_to(file, budget.dir);
    bool matched = false;
    for (const auto& e : budget.entries)
      if (metrics::budget_path_matches(e.path, rel)) {
        add(rel, file, e);
        matched = true;
      }
    if (!matched)
      fail("{}: no budget entry matches it (paths in {} are relative to its folder '{}')", file, budget.path, budget.dir);
  }
  return rows;
}

void measure(Row& r) {
  auto size = metrics::measure_file(r.path);
  r.measured.bytes = size.file_bytes;
  r.measured.download_bytes = size.download_bytes;
  ir::Model model = formats::onnx::load_model(r.path);
  r.measured.params = metrics::count_weights(model).parameters;
  if (r.budget.max_macs) {
    auto macs = metrics::count_macs(model, r.dims);
    if (macs.known) r.measured.macs = macs.total;
    else r.macs_reason = macs.reason;
  }
  r.failures = metrics::check_budget(r.measured, r.budget);
}

// --- baseline ---

std::map<std::string, json> load_baseline(const std::string& path) {
  std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not a JSON file written by pare check --json: {}", path, e.what());
  }
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array())
    fail("{}: not a file written by pare check --json (no \"models\" list)", path);
  std::map<std::string, json> out;
  for (const auto& m : j["models"]) {
    if (!m.is_object() || !m.contains("file") || !m["file"].is_string())
      fail("{}: not a file written by pare check --json (a model without \"file\")", path);
    out[m["file"].get<std::string>()] = m;
  }
  return out;
}

// "+120.00 kB, +4.0%", "-1200, -0.5%", "no change", "new" (no baseline entry), "" (no baseline value).
std::string change(const Measure& m, const json* base) {
  if (!base) return "new";
  if (!m.value || !base->contains(m.key) || !(*base)[m.key].is_number_integer()) return "";
  int64_t old = (*base)[m.key].get<int64_t>(), d = *m.value - old;
  if (d == 0) return "no change";
  std::string amount = metrics::format_amount(m.what, d);
  if (d > 0) amount = "+" + amount;
  if (old == 0) return amount;
  return fmt::format("{}, {:+.1f}%", amount, 100.0 * static_cast<double>(d) / static_cast<double>(old));
}

const json* baseline_of(const std::map<std::string, json>& baseline, const std::string& name) {
  auto it = baseline.find(name);
  return it == baseline.end() ? nullptr : &it->second;
}

// --- text table ---

void print_table(const std::vector<std::vector<std::string>>& cells) {
  std::vector<size_t> width;
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : cells) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c) line += " " + row[c] + std::string(width[c] - row[c].size(), ' ') + " ";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

std::string value_text(const Row& r, const Measure& m) {
  return m.value ? metrics::format_amount(m.what, *m.value) : "unknown";
}

void print_row(const Row& r, const std::map<std::string, json>* baseline) {
  fmt::print("{}: {}\n", r.name, r.failures.empty() ? "ok" : "over");
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {"measure", "value", "limit"};
  if (baseline) header.push_back("change");
  header.push_back("status");
  cells.push_back(header);
  const json* base = baseline ? baseline_of(*baseline, r.name) : nullptr;
  for (const auto& m : measures(r)) {
    std::vector<std::string> row = {m.what, value_text(r, m), m.limit ? metrics::format_amount(m.what, *m.limit) : "-"};
    if (baseline) row.push_back(change(m, base));
    row.push_back(!m.limit ? "" : is_over(r, m.what) ? "over" : "ok");
    cells.push_back(row);
  }
  print_table(cells);
  if (!r.macs_reason.empty()) fmt::print("  MACs unknown: {}\n", r.macs_reason);
}

// --- failure messages ---

// Value and limit as printed: human sizes for bytes, plain counts; the exact
// bytes follow when both would print the same.
std::pair<std::string, std::string> amounts(const metrics::BudgetFailure& f) {
  std::string v = f.unknown ? "unknown" : metrics::format_amount(f.what, f.value);
  std::string l = metrics::format_amount(f.what, f.limit);
  if (!f.unknown && v == l) {
    v += fmt::format(" ({} B)", f.value);
    l += fmt::format(" ({} B)", f.limit);
  }
  return {v, l};
}

std::string failure_line(const Row& r, const metrics::BudgetFailure& f) {
  if (f.unknown)
    return fmt::format("{}: {} unknown ({}), so budget {} cannot be checked", r.name, f.what, r.macs_reason,
                       metrics::format_amount(f.what, f.limit));
  auto [v, l] = amounts(f);
  return fmt::format("{}: {} {} > budget {}", r.name, f.what, v, l);
}

// --- GitHub Actions ---

std::string github_escape_data(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string github_escape_property(const std::string& s) {
  std::string out;
  for (char c : github_escape_data(s)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

void print_github_annotations(const std::vector<Row>& rows) {
  for (const auto& r : rows)
    for (const auto& f : r.failures) {
      std::string message;
      if (f.unknown) {
        message = fmt::format("{} unknown ({}), budget {} cannot be checked", f.what, r.macs_reason,
                              metrics::format_amount(f.what, f.limit));
      } else {
        auto [v, l] = amounts(f);
        message = fmt::format("{} {} exceeds budget {}", f.what, v, l);
      }
      fmt::print("::error file={}::{}\n", github_escape_property(r.name), github_escape_data(message));
    }
}

std::string markdown_cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

void append_step_summary(const std::string& path, const std::vector<Row>& rows, const std::string& budget_path,
                         const std::map<std::string, json>* baseline) {
  bool any_macs = false;
  size_t over = 0;
  for (const auto& r : rows) {
    any_macs = any_macs || r.budget.max_macs.has_value();
    over += r.failures.empty() ? 0 : 1;
  }
  std::string md = fmt::format("### pare check: {}\n\n", markdown_cell(budget_path));
  const char* models = rows.size() == 1 ? "model" : "models";
  md += over ? fmt::format("{} of {} {} over budget.\n\n", over, rows.size(), models)
             : fmt::format("{} {} within budget.\n\n", rows.size(), models);
  md += "| Model | Bytes | Download bytes | Parameters |";
  if (any_macs) md += " MACs |";
  md += " Status |\n|---|---|---|---|";
  if (any_macs) md += "---|";
  md += "---|\n";
  for (const auto& r : rows) {
    const json* base = baseline ? baseline_of(*baseline, r.name) : nullptr;
    md += "| `" + markdown_cell(r.name) + "` |";
    auto ms = measures(r);
    for (size_t k = 0; k < 4; ++k) {
      if (k == 3 && !any_macs) break;
      if (k >= ms.size()) {
        md += " |";
        continue;
      }
      const Measure& m = ms[k];
      std::string cell = value_text(r, m);
      if (m.limit) cell += " / " + metrics::format_amount(m.what, *m.limit);
      if (baseline) {
        std::string c = change(m, base);
        if (!c.empty()) cell += " (" + c + ")";
      }
      if (is_over(r, m.what)) cell = "**" + cell + "**";
      md += " " + markdown_cell(cell) + " |";
    }
    md += r.failures.empty() ? " ok |\n" : " **over** |\n";
  }
  md += "\n";
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) fail("{}: cannot append the GitHub step summary: {}", path, std::strerror(errno));
  out << md;
  out.flush();
  if (!out) fail("{}: cannot append the GitHub step summary: write failed", path);
}

// --- JSON and JUnit ---

json rows_json(const std::vector<Row>& rows) {
  json models = json::array();
  for (const auto& r : rows) {
    json m;
    m["file"] = r.name;
    m["bytes"] = r.measured.bytes;
    m["download_bytes"] = r.measured.download_bytes;
    m["params"] = r.measured.params;
    if (r.measured.macs) m["macs"] = *r.measured.macs;
    if (!r.macs_reason.empty()) m["macs_unknown_reason"] = r.macs_reason;
    json limits = json::object();
    for (const auto& x : measures(r))
      if (x.limit) limits[x.key] = *x.limit;
    m["limits"] = limits;
    json failures = json::array();
    for (const auto& f : r.failures) {
      json fj = {{"what", f.what}, {"limit", f.limit}};
      fj["value"] = f.unknown ? json(nullptr) : json(f.value);
      failures.push_back(fj);
    }
    m["failures"] = failures;
    models.push_back(m);
  }
  return json{{"models", models}};
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += "&#9;"; break;
      default:
        // Other control characters cannot appear in XML 1.0 at all.
        out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
  }
  return out;
}

std::string junit_xml(const std::vector<Row>& rows) {
  size_t failures = 0;
  for (const auto& r : rows) failures += r.failures.empty() ? 0 : 1;
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuite name=\"pare check\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", rows.size(), failures);
  for (const auto& r : rows) {
    std::string name = xml_escape(r.name);
    if (r.failures.empty()) {
      x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\"/>\n", name);
      continue;
    }
    std::vector<std::string> lines;
    for (const auto& f : r.failures) {
      std::string line = failure_line(r, f);
      lines.push_back(line.substr(r.name.size() + 2));  // without "NAME: "
    }
    x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\">\n", name);
    x += fmt::format("    <failure message=\"{}\"/>\n", xml_escape(join(lines, "; ")));
    x += "  </testcase>\n";
  }
  x += "</testsuite>\n";
  return x;
}

int check(const Args& a) {
  metrics::BudgetFile budget = metrics::load_budget_file(a.budget);
  std::map<std::string, json> baseline;
  if (!a.baseline.empty()) baseline = load_baseline(a.baseline);
  const std::map<std::string, json>* base = a.baseline.empty() ? nullptr : &baseline;

  std::map<std::string, int64_t> dims = parse_dims(a.dims);
  std::vector<Row> rows = select_rows(budget, a.files);
  for (auto& r : rows) {
    for (const auto& [k, v] : dims) r.dims.emplace(k, v);  // emplace: the budget entry's dims stay
    measure(r);
  }

  size_t over = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) fmt::print("\n");
    print_row(rows[i], base);
    over += rows[i].failures.empty() ? 0 : 1;
  }
  const char* models = rows.size() == 1 ? "model" : "models";
  fmt::print("\n{}\n", over ? fmt::format("{} of {} {} over budget", over, rows.size(), models)
                             : fmt::format("{} {} within budget", rows.size(), models));
  if (a.github) {
    print_github_annotations(rows);
    const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
    if (summary && *summary) append_step_summary(summary, rows, a.budget, base);
  }
  if (!a.json.empty()) write_file_atomic(a.json, rows_json(rows).dump(2) + "\n");
  if (!a.junit.empty()) write_file_atomic(a.junit, junit_xml(rows));
  std::fflush(stdout);
  for (const auto& r : rows)
    for (const auto& f : r.failures) std::fprintf(stderr, "pare: check failed: %s\n", failure_line(r, f).c_str());
  return over ? 1 : 0;
}

}  // namespace

const Command kCheckCommand = {
    "check", "CI size budget: fail when a model grows past its limits (budget YAML)",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("files", a->files, "models to check (each must match an entry of the budget; default: all entries)");
      sub.add_option("--budget", a->budget, "budget file (YAML: models: [{path, max-bytes, max-download-bytes, max-params, max-macs, dims}])")
          ->required();
      sub.add_option("--dim", a->dims,
                     "fix a symbolic dim for MACs, e.g. --dim batch=1 (repeatable; a budget entry's dims: win)");
      sub.add_option("--baseline", a->baseline, "a JSON file written earlier by pare check --json: show each change");
      sub.add_flag("--github", a->github,
                   "GitHub Actions: ::error annotations, and a Markdown table appended to $GITHUB_STEP_SUMMARY");
      sub.add_option("--junit", a->junit, "write a JUnit XML report to this file");
      sub.add_option("--json", a->json, "write the measurements as JSON (sorted keys; the --baseline format)");
      return [a] { return check(*a); };
    }};

}  // namespace pare::cli
