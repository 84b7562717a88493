// pare check [FILES...] --budget BUDGET.yaml [--baseline OLD.json] [--github]
//            [--junit FILE] [--json FILE]
// The CI budget gate (in the spirit of size-limit): measures each model the
// budget file names, prints a table per model, and exits 1 when one is over a
// limit, with one "pare: check failed: FILE: WHAT VALUE > budget LIMIT" line on
// stderr per budget that does not hold. The budgets are the eight of pare
// shrink: sizes, parameters and MACs, and (for an entry with a reference model
// and samples) SQNR, cosine, top-1 drop and accuracy against the reference,
// parsed, evaluated and described by the same code (evaluate.h).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/progress.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "tools/pare/commands.h"
#include "tools/pare/evaluate.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Args {
  std::vector<std::string> files;
  std::vector<std::string> dims;  // --dim NAME=N for every model; an entry's dims: win
  std::string budget, baseline, junit, json;
  bool github = false, quiet = false;
};

// One model to check: the limits of every budget entry that names it (the
// tightest of each), the entry that names its reference (if any), and what was measured.
struct Row {
  std::string name;  // relative to the budget file's folder: what every report shows
  std::string path;  // what to open
  Limits limits;
  std::map<std::string, int64_t> dims;
  const metrics::BudgetEntry* compare = nullptr;  // the entry with 'reference' and 'data'
  metrics::Measured measured;
  std::string macs_reason;  // why MACs are unknown, when a MACs budget asked for them
  std::optional<Evaluation> evaluation;  // against the reference, when there is one
  std::vector<BudgetResult> results;     // check_limits: every limit, held or not
  bool over() const {
    return std::any_of(results.begin(), results.end(), [](const BudgetResult& b) { return !b.ok; });
  }
};

// The measures of a row: what (as in BudgetResult), JSON key, value, limit.
struct Measure {
  const char* what;
  const char* key;
  std::optional<int64_t> value;
  std::optional<int64_t> limit;
};

std::vector<Measure> measures(const Row& r) {
  const metrics::Budget& b = r.limits.size;
  std::vector<Measure> out = {
      {"bytes", "bytes", r.measured.bytes, b.max_bytes},
      {"download bytes", "download_bytes", r.measured.download_bytes, b.max_download_bytes},
      {"parameters", "params", r.measured.params, b.max_params},
  };
  // MACs cost a run of the model: counted (and shown) only when a limit asks for them.
  if (b.max_macs) out.push_back({"MACs", "macs", r.measured.macs, b.max_macs});
  return out;
}

bool is_over(const Row& r, std::string_view what) {
  for (const auto& b : r.results)
    if (b.what == what && !b.ok) return true;
  return false;
}

// The fidelity budgets as check_limits names them, in report order: the
// Markdown column, the key in "limits", the unit and decimals shown.
struct FidelityMeasure {
  const char* what;
  const char* title;
  const char* key;
  const char* unit;
  int decimals;
};
const std::vector<FidelityMeasure>& fidelity_measures() {
  static const std::vector<FidelityMeasure> m = {{"SQNR", "SQNR", "min_sqnr", " dB", 2},
                                                 {"cosine", "Cosine", "min_cosine", "", 6},
                                                 {"top-1 drop", "Top-1 drop", "max_top1_drop", " points", 2},
                                                 {"accuracy", "Accuracy", "min_accuracy", "", 4}};
  return m;
}

const BudgetResult* result_of(const Row& r, std::string_view what) {
  for (const auto& b : r.results)
    if (b.what == what) return &b;
  return nullptr;
}

std::string fidelity_value(const FidelityMeasure& m, const BudgetResult& b) {
  if (!b.value.is_number()) return "unknown";
  return fmt::format("{:.{}f}{}", b.value.get<double>(), m.decimals, m.unit);
}

std::string fidelity_limit(const FidelityMeasure& m, const BudgetResult& b) {
  return fmt::format("{}{}", b.limit.get<double>(), m.unit);
}

// The limits an entry sets, parsed as pare shrink parses its budget flags;
// errors name the budget file, the line and the key.
Limits entry_limits(const metrics::BudgetFile& f, const metrics::BudgetEntry& e) {
  for (const auto& [key, text] : e.limits) parse_limits({{key, text}}, fmt::format("{}: line {}: ", f.path, e.lines.at(key)));
  return parse_limits(e.limits, fmt::format("{}: line {}: ", f.path, e.line));
}

// The tighter of two sets of limits, limit by limit.
Limits tightest(const Limits& a, const Limits& b) {
  using D = std::optional<double>;
  auto pick = [](const D& x, const D& y, bool highest) -> D {
    if (!x) return y;
    if (!y) return x;
    return highest ? std::max(*x, *y) : std::min(*x, *y);
  };
  Limits l;
  l.size = metrics::tightest(a.size, b.size);
  l.min_sqnr = pick(a.min_sqnr, b.min_sqnr, true);
  l.min_cosine = pick(a.min_cosine, b.min_cosine, true);
  l.max_top1_drop = pick(a.max_top1_drop, b.max_top1_drop, false);
  l.min_accuracy = pick(a.min_accuracy, b.min_accuracy, true);
  return l;
}

bool same_comparison(const metrics::BudgetEntry& a, const metrics::BudgetEntry& b) {
  const auto &x = a.images, &y = b.images;
  return a.reference == b.reference && a.data == b.data && a.labels == b.labels && x.width == y.width &&
         x.height == y.height && x.mean == y.mean && x.std == y.std && x.nhwc == y.nhwc && x.bgr == y.bgr;
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

std::vector<Row> select_rows(const metrics::BudgetFile& budget, const std::vector<Limits>& limits,
                             const std::vector<std::string>& files) {
  std::vector<Row> rows;
  auto add = [&](const std::string& name, const std::string& path, size_t i) {
    const metrics::BudgetEntry& e = budget.entries[i];
    Row* r = nullptr;
    for (auto& x : rows)
      if (x.name == name) r = &x;
    if (!r) {
      r = &rows.emplace_back();
      r->name = name;
      r->path = path;
      r->limits = limits[i];
      r->dims = e.dims;
    } else {
      r->limits = tightest(r->limits, limits[i]);
      for (const auto& [k, v] : e.dims) r->dims.emplace(k, v);
    }
    if (e.compares()) {
      if (r->compare && !same_comparison(*r->compare, e))
        fail("{}: line {}: {} is also matched by the entry on line {}, which compares it with another reference or "
             "samples (one model, one comparison)",
             budget.path, e.line, name, r->compare->line);
      if (!r->compare) r->compare = &e;
    }
  };
  if (files.empty()) {
    for (size_t i = 0; i < budget.entries.size(); ++i)
      for (const auto& rel : metrics::expand_budget_entry(budget, budget.entries[i]))
        add(rel, (fs::path(budget.dir) / rel).string(), i);
    return rows;
  }
  for (const auto& file : files) {
    std::string rel = relative_to(file, budget.dir);
    bool matched = false;
    for (size_t i = 0; i < budget.entries.size(); ++i)
      if (metrics::budget_path_matches(budget.entries[i].path, rel)) {
        add(rel, file, i);
        matched = true;
      }
    if (!matched)
      fail("{}: no budget entry matches it (paths in {} are relative to its folder '{}')", file, budget.path, budget.dir);
  }
  return rows;
}

// The row's model against its reference on the entry's samples; errors name
// the budget file, the entry's line and both models.
Evaluation compare(const Row& r, const metrics::BudgetFile& budget, const ir::Model& model, Progress& progress) {
  const metrics::BudgetEntry& e = *r.compare;
  ir::Model reference;
  try {
    reference = formats::onnx::load_model(budget.resolve(e.reference));
  } catch (Error& err) {
    throw err.with_context(fmt::format("{}: line {}: reference", budget.path, e.lines.at("reference")));
  }
  EvalOptions o;
  o.data = budget.resolve(e.data);
  o.labels = budget.resolve(e.labels);
  o.images = e.images;
  try {
    return evaluate(reference, model, o, progress);
  } catch (Error& err) {
    // evaluate() names the samples "--data", as shrink's flag: here they are the entry's 'data'.
    std::vector<std::string> frames = err.context();
    bool data = !frames.empty() && frames.front() == "--data";
    if (data) frames.front() = "data '" + e.data + "'";
    frames.insert(frames.begin(), {fmt::format("{}: line {}", budget.path, e.lines.at(data ? "data" : "reference")),
                                   r.name + " against " + e.reference});
    Error out(err.message());
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) out.with_context(*it);
    throw out;
  }
}

void measure(Row& r, const metrics::BudgetFile& budget, Progress& progress) {
  ModelFacts facts;
  facts.size = metrics::measure_file(r.path);
  ir::Model model = formats::onnx::load_model(r.path);
  facts.weights = metrics::count_weights(model);
  if (r.limits.size.max_macs) facts.macs = metrics::count_macs(model, r.dims);
  r.measured.bytes = facts.size.file_bytes;
  r.measured.download_bytes = facts.size.download_bytes;
  r.measured.params = facts.weights.parameters;
  if (facts.macs.known) r.measured.macs = facts.macs.total;
  else if (r.limits.size.max_macs) r.macs_reason = facts.macs.reason;
  if (r.compare) r.evaluation = compare(r, budget, model, progress);
  r.results = check_limits(r.limits, facts, r.evaluation ? &*r.evaluation : nullptr);
}

// --- baseline ---

std::map<std::string, json> load_baseline(const std::string& path) {
  std::string text = read_input_file(path);
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

// The change of a fidelity value since the baseline ("+0.52 dB", "no change", "new", "").
std::string change(const FidelityMeasure& m, const BudgetResult& b, const json* base) {
  if (!base) return "new";
  if (!b.value.is_number() || !base->contains("budgets") || !(*base)["budgets"].is_array()) return "";
  for (const auto& old : (*base)["budgets"])
    if (old.is_object() && old.contains("what") && old["what"] == b.what && old.contains("value") &&
        old["value"].is_number()) {
      double d = b.value.get<double>() - old["value"].get<double>();
      return d == 0 ? "no change" : fmt::format("{:+.{}f}{}", d, m.decimals, m.unit);
    }
  return "";
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
  fmt::print("{}: {}\n", r.name, r.over() ? "over" : "ok");
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
  for (const auto& m : fidelity_measures())
    if (const BudgetResult* b = result_of(r, m.what)) {
      std::vector<std::string> row = {m.what, fidelity_value(m, *b), fidelity_limit(m, *b)};
      if (baseline) row.push_back(change(m, *b, base));
      row.push_back(b->ok ? "ok" : "over");
      cells.push_back(row);
    }
  print_table(cells);
  if (!r.macs_reason.empty()) fmt::print("  MACs unknown: {}\n", r.macs_reason);
  if (r.evaluation)
    fmt::print("  compared with {} on {} samples of {}\n", r.compare->reference, r.evaluation->samples, r.compare->data);
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

// A failure as a GitHub annotation: "exceeds" and "is below" where the
// failure line says ">" and "<".
std::string annotation(const BudgetResult& b) {
  std::string m = b.failure;
  for (const auto& [from, to] : {std::pair<std::string, std::string>{" > budget ", " exceeds budget "},
                                 std::pair<std::string, std::string>{" < budget ", " is below budget "}})
    if (size_t at = m.find(from); at != std::string::npos) return m.replace(at, from.size(), to);
  return m;
}

void print_github_annotations(const std::vector<Row>& rows) {
  for (const auto& r : rows)
    for (const auto& b : r.results)
      if (!b.ok) fmt::print("::error file={}::{}\n", github_escape_property(r.name), github_escape_data(annotation(b)));
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
  std::vector<const FidelityMeasure*> fidelity;  // the columns that some row has
  for (const auto& m : fidelity_measures())
    if (std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return result_of(r, m.what) != nullptr; }))
      fidelity.push_back(&m);
  for (const auto& r : rows) {
    any_macs = any_macs || r.limits.size.max_macs.has_value();
    over += r.over() ? 1 : 0;
  }
  std::string md = fmt::format("### pare check: {}\n\n", markdown_cell(budget_path));
  const char* models = rows.size() == 1 ? "model" : "models";
  md += over ? fmt::format("{} of {} {} over budget.\n\n", over, rows.size(), models)
             : fmt::format("{} {} within budget.\n\n", rows.size(), models);
  std::string header = "| Model | Bytes | Download bytes | Parameters |", rule = "|---|---|---|---|";
  if (any_macs) header += " MACs |", rule += "---|";
  for (const auto* m : fidelity) header += fmt::format(" {} |", m->title), rule += "---|";
  md += header + " Status |\n" + rule + "---|\n";
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
    for (const auto* m : fidelity) {
      const BudgetResult* b = result_of(r, m->what);
      if (!b) {
        md += " |";
        continue;
      }
      std::string cell = fidelity_value(*m, *b) + " / " + fidelity_limit(*m, *b);
      if (baseline) {
        std::string c = change(*m, *b, base);
        if (!c.empty()) cell += " (" + c + ")";
      }
      if (!b->ok) cell = "**" + cell + "**";
      md += " " + markdown_cell(cell) + " |";
    }
    md += r.over() ? " **over** |\n" : " ok |\n";
  }
  md += "\n";
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) fail("{}: cannot append the GitHub step summary: {}", path, std::strerror(errno));
  out << md;
  out.flush();
  if (!out) fail("{}: cannot append the GitHub step summary: write failed", path);
}

// --- JSON and JUnit ---

json fidelity_json(const std::vector<metrics::OutputDiff>& diffs) {
  json out = json::array();
  for (const auto& d : diffs) {
    json j = {{"name", d.name},     {"sqnr_db", d.sqnr_db}, {"identical", d.identical},
              {"cosine", d.cosine}, {"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}};
    if (d.top1_agreement) j["top1_agreement"] = *d.top1_agreement;
    out.push_back(j);
  }
  return out;
}

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
    for (const auto& x : fidelity_measures())
      if (const BudgetResult* b = result_of(r, x.what)) limits[x.key] = b->limit;
    m["limits"] = limits;
    json failures = json::array();
    for (const auto& b : r.results)
      if (!b.ok) failures.push_back({{"what", b.what}, {"limit", b.limit}, {"value", b.value}});
    m["failures"] = failures;
    if (r.evaluation) {  // the comparison with the reference, and every budget as check_limits gave it
      const metrics::BudgetEntry& e = *r.compare;
      m["reference"] = e.reference;
      m["data"] = e.data;
      if (!e.labels.empty()) m["labels"] = e.labels;
      m["samples"] = r.evaluation->samples;
      m["fidelity"] = fidelity_json(r.evaluation->diffs);
      if (r.evaluation->accuracy)
        m["accuracy"] = {{"before", r.evaluation->accuracy->first}, {"after", r.evaluation->accuracy->second}};
      json budgets = json::array();
      for (const auto& b : r.results) {
        json j = {{"what", b.what}, {"value", b.value}, {"limit", b.limit}, {"ok", b.ok}};
        if (!b.ok) j["failure"] = b.failure;
        budgets.push_back(j);
      }
      m["budgets"] = budgets;
    }
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
  for (const auto& r : rows) failures += r.over() ? 1 : 0;
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuite name=\"pare check\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", rows.size(), failures);
  for (const auto& r : rows) {
    std::string name = xml_escape(r.name);
    if (!r.over()) {
      x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\"/>\n", name);
      continue;
    }
    std::vector<std::string> lines;
    for (const auto& b : r.results)
      if (!b.ok) lines.push_back(b.failure);
    x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\">\n", name);
    x += fmt::format("    <failure message=\"{}\"/>\n", xml_escape(join(lines, "; ")));
    x += "  </testcase>\n";
  }
  x += "</testsuite>\n";
  return x;
}

int check(const Args& a) {
  check_output_path(a.json);
  check_output_path(a.junit);
  check_distinct_outputs({{"--json", a.json}, {"--junit", a.junit}});
  metrics::BudgetFile budget = metrics::load_budget_file(a.budget);
  std::vector<Limits> limits;
  for (const auto& e : budget.entries) limits.push_back(entry_limits(budget, e));
  std::map<std::string, json> baseline;
  if (!a.baseline.empty()) baseline = load_baseline(a.baseline);
  const std::map<std::string, json>* base = a.baseline.empty() ? nullptr : &baseline;

  std::map<std::string, int64_t> dims = parse_dims(a.dims);
  std::vector<Row> rows = select_rows(budget, limits, a.files);
  Progress progress(!a.quiet && stderr_is_terminal());
  for (auto& r : rows) {
    for (const auto& [k, v] : dims) r.dims.emplace(k, v);  // emplace: the budget entry's dims stay
    measure(r, budget, progress);
  }

  size_t over = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) fmt::print("\n");
    print_row(rows[i], base);
    over += rows[i].over() ? 1 : 0;
  }
  const char* models = rows.size() == 1 ? "model" : "models";
  fmt::print("\n{}\n", over ? fmt::format("{} of {} {} over budget", over, rows.size(), models)
                             : fmt::format("{} {} within budget", rows.size(), models));
  if (a.github) {
    print_github_annotations(rows);
    const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
    if (summary && *summary) append_step_summary(summary, rows, a.budget, base);
  }
  // Every input has been read now (budget, baseline, models, samples): neither
  // report may be one of them, checked before either is written.
  check_output_path(a.json);
  check_output_path(a.junit);
  if (!a.json.empty()) write_file_atomic(a.json, rows_json(rows).dump(2) + "\n");
  if (!a.junit.empty()) write_file_atomic(a.junit, junit_xml(rows));
  std::fflush(stdout);
  for (const auto& r : rows) print_budget_failures(r.name, r.results);
  return over ? 1 : 0;
}

}  // namespace

const Command kCheckCommand = {
    "check", "CI budget gate: fail when a model grows past its limits or drifts from its reference (budget YAML)",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("files", a->files, "models to check (each must match an entry of the budget; default: all entries)");
      sub.add_option("--budget", a->budget,
                     "budget file (YAML: models: [{path, max-bytes, max-download-bytes, max-params, max-macs, dims, "
                     "reference, data, labels, image, min-sqnr, min-cosine, max-top1-drop, min-accuracy}])")
          ->required();
      sub.add_option("--dim", a->dims,
                     "fix a symbolic dim for MACs, e.g. --dim batch=1 (repeatable; a budget entry's dims: win)");
      sub.add_option("--baseline", a->baseline, "a JSON file written earlier by pare check --json: show each change");
      sub.add_flag("--github", a->github,
                   "GitHub Actions: ::error annotations, and a Markdown table appended to $GITHUB_STEP_SUMMARY");
      sub.add_option("--junit", a->junit, "write a JUnit XML report to this file");
      sub.add_option("--json", a->json, "write the measurements as JSON (sorted keys; the --baseline format)");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar while models are compared with their references");
      return [a] { return check(*a); };
    }};

}  // namespace pare::cli
