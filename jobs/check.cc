#include "jobs/check.h"

#include <filesystem>

#include "formats/onnx/onnx.h"
#include "formats/yaml/budget_file.h"
#include "jobs/measure.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace pare::jobs {
namespace {

namespace fs = std::filesystem;

// The limits an entry sets (`prefix` "warn." for its warn level); errors name
// the budget file, the line and the key.
metrics::Budget entry_budget(const formats::BudgetFile& f, const formats::BudgetEntry& e,
                             const std::map<std::string, std::string>& texts, const std::string& prefix) {
  try {
    for (const auto& [key, text] : texts) metrics::parse_budget({{key, text}});
    return metrics::parse_budget(texts);
  } catch (const metrics::BudgetValueError& err) {
    std::string key = prefix + err.key;
    int line = e.lines.count(key) ? e.lines.at(key) : e.line;
    throw Error(fmt::format("{}: line {}: {}: {}", f.path, line, key, err.message()));
  }
}

// An entry's limits at both levels.
struct EntryLimits {
  metrics::Budget fail, warn;
};

bool same_comparison(const formats::BudgetEntry& a, const formats::BudgetEntry& b) {
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

// One model to check, with the entry that names its reference (if any) and its dims.
struct Row {
  metrics::CheckedModel model;
  const formats::BudgetEntry* compare = nullptr;
  std::map<std::string, int64_t> dims;
};

// Notes the line of each limit of `e` that made `after` tighter than `before`
// (all of them for the first entry that names the model).
void note_lines(std::map<std::string, int>& lines, const metrics::Budget& before, const metrics::Budget& after,
                const formats::BudgetEntry& e, const std::string& prefix) {
  for (const auto& key : metrics::budget_keys())
    if (e.lines.count(prefix + key) && metrics::limit_of(after, key) != metrics::limit_of(before, key))
      lines[prefix + key] = e.lines.at(prefix + key);
}

// Forgets the lines of the limits that `flags` made tighter: they come from the command line.
void forget_lines(std::map<std::string, int>& lines, const metrics::Budget& before, const metrics::Budget& after,
                  const std::string& prefix) {
  for (const auto& key : metrics::budget_keys())
    if (metrics::limit_of(after, key) != metrics::limit_of(before, key)) lines.erase(prefix + key);
}

std::vector<Row> select_rows(const formats::BudgetFile& budget, const std::vector<EntryLimits>& limits,
                             const std::vector<std::string>& files) {
  std::vector<Row> rows;
  auto add = [&](const std::string& name, const std::string& path, size_t i) {
    const formats::BudgetEntry& e = budget.entries[i];
    Row* r = nullptr;
    for (auto& x : rows)
      if (x.model.name == name) r = &x;
    if (!r) {
      r = &rows.emplace_back();
      r->model.name = name;
      r->model.path = path;
      r->dims = e.dims;
    } else {
      for (const auto& [k, v] : e.dims) r->dims.emplace(k, v);
    }
    metrics::CheckedModel& m = r->model;
    metrics::Budget held = metrics::tightest(m.budget, limits[i].fail), warned = metrics::tightest(m.warn, limits[i].warn);
    note_lines(m.limit_lines, m.budget, held, e, "");
    note_lines(m.limit_lines, m.warn, warned, e, "warn.");
    m.budget = held;
    m.warn = warned;
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
      for (const auto& rel : formats::expand_budget_entry(budget, budget.entries[i]))
        add(rel, (fs::path(budget.dir) / rel).string(), i);
    return rows;
  }
  for (const auto& file : files) {
    std::string rel = relative_to(file, budget.dir);
    bool matched = false;
    for (size_t i = 0; i < budget.entries.size(); ++i)
      if (formats::budget_path_matches(budget.entries[i].path, rel)) {
        add(rel, file, i);
        matched = true;
      }
    if (!matched)
      fail("{}: no budget entry matches it (paths in {} are relative to its folder '{}')", file, budget.path, budget.dir);
  }
  return rows;
}

// An error while comparing, with the budget file's line, the models, and (for
// the samples) the entry's 'data' as frames.
Error comparison_error(const Error& err, const formats::BudgetFile& budget, const Row& r, bool samples) {
  const formats::BudgetEntry& e = *r.compare;
  std::vector<std::string> frames = {fmt::format("{}: line {}", budget.path, e.lines.at(samples ? "data" : "reference")),
                                     r.model.name + " against " + e.reference};
  if (samples) frames.push_back("data '" + e.data + "'");
  frames.insert(frames.end(), err.context().begin(), err.context().end());
  Error out(err.message());
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) out.with_context(*it);
  return out;
}

// The row's model against its reference on the entry's samples.
metrics::Evaluation compare(const Row& r, const formats::BudgetFile& budget, Runner& model, int threads,
                            Progress& progress) {
  const formats::BudgetEntry& e = *r.compare;
  ir::Model reference;
  try {
    reference = formats::onnx::load_model(budget.resolve(e.reference));
  } catch (Error& err) {
    throw err.with_context(fmt::format("{}: line {}: reference", budget.path, e.lines.at("reference")));
  }
  EvalJob job;
  job.data = budget.resolve(e.data);
  job.labels = budget.resolve(e.labels);
  job.shown_data = e.data;
  job.shown_labels = e.labels;
  job.images = e.images;
  Runner runner(reference, threads);
  try {
    return evaluate(runner, model, job, progress);
  } catch (const SamplesError& err) {
    throw comparison_error(err, budget, r, true);
  } catch (const Error& err) {
    throw comparison_error(err, budget, r, false);
  }
}

// The peak of the runner's intermediate tensors in the first run of a session
// of its own (the largest: later runs reuse what the first allocated, and the
// job's session may have run already), then the latency (median of kTimedRuns
// after warm-ups, one thread), on seeded inputs; unknown with the reason when
// the model cannot run.
constexpr int kTimedRuns = 10;
void measure_runs(metrics::Measured& m, Runner& runner, const std::map<std::string, int64_t>& dims) {
  try {
    rt::Session first(runner.model());
    first.run(rt::random_feed(runner.model(), dims));
    m.runner_peak_memory = first.last_stats().peak_bytes;
    m.runner_latency_ms = measure_latency(runner, dims, kTimedRuns).median_ms;
  } catch (const Error& e) {
    m.run_reason = e.what();
  }
}

void measure(Row& r, const formats::BudgetFile& budget, const CheckJob& job, Progress& progress) {
  metrics::CheckedModel& m = r.model;
  metrics::ModelFacts facts;
  facts.size = metrics::measure_file(m.path);
  ir::Model model = formats::onnx::load_model(m.path);
  Runner runner(model, job.threads);
  facts.weights = metrics::count_weights(model);
  // MACs cost a run of the model: counted (and shown) only when a limit asks for them.
  m.macs_counted = m.budget.max_macs.has_value() || m.warn.max_macs.has_value();
  if (m.macs_counted) facts.macs = count_macs(runner, r.dims);
  if (r.compare) {
    m.reference = r.compare->reference;
    m.data = r.compare->data;
    m.labels = r.compare->labels;
    m.evaluation = compare(r, budget, runner, job.threads, progress);
  }
  m.measured = metrics::measured(facts, m.evaluation ? &*m.evaluation : nullptr);
  if (m.budget.needs_runs() || m.warn.needs_runs()) {
    // The limits are one thread's figures, whatever the comparison ran on (a
    // Runner compiles on first use: the spare one costs nothing when unused).
    Runner one_thread(model);
    measure_runs(m.measured, job.threads == 1 ? runner : one_thread, r.dims);
  }
  if (m.budget.needs_baseline() || m.warn.needs_baseline()) {
    if (!job.baseline) m.growth_unchecked = "no baseline";
    else if (auto it = job.baseline->find(m.name); it != job.baseline->end()) m.measured.baseline = it->second;
    else m.growth_unchecked = "not in the baseline (a new model)";
  }
  m.results = metrics::check_limits(m.budget, m.measured);
  for (auto& w : metrics::check_limits(m.warn, m.measured, metrics::Level::warn)) m.results.push_back(std::move(w));
}

// Each file held to the job's budget alone, when there is no budget file.
std::vector<Row> rows_without_budget_file(const CheckJob& job) {
  if (job.files.empty()) fail("pare check needs models to check: files, or a budget file that names them");
  if (job.budget.needs_data() || job.warn.needs_data())
    fail("fidelity budgets (SQNR, cosine, top-1 drop, accuracy) need a reference and samples: give them in a budget "
         "file entry");
  std::vector<Row> rows;
  for (const auto& file : job.files) {
    Row& r = rows.emplace_back();
    r.model.name = r.model.path = file;
  }
  return rows;
}

}  // namespace

metrics::CheckReport check(const CheckJob& job, Progress& progress) {
  formats::BudgetFile budget;
  std::vector<Row> rows;
  if (job.budget_file.empty()) {
    rows = rows_without_budget_file(job);
  } else {
    budget = formats::load_budget_file(job.budget_file);
    std::vector<EntryLimits> limits;
    for (const auto& e : budget.entries)
      limits.push_back({entry_budget(budget, e, e.limits, ""), entry_budget(budget, e, e.warn, "warn.")});
    rows = select_rows(budget, limits, job.files);
  }
  metrics::CheckReport report;
  report.budget_file = job.budget_file;
  for (auto& r : rows) {
    metrics::Budget held = metrics::tightest(r.model.budget, job.budget), warned = metrics::tightest(r.model.warn, job.warn);
    forget_lines(r.model.limit_lines, r.model.budget, held, "");
    forget_lines(r.model.limit_lines, r.model.warn, warned, "warn.");
    r.model.budget = held;
    r.model.warn = warned;
    if ((job.budget.needs_data() || job.warn.needs_data()) && !r.compare)
      fail("{}: a fidelity budget needs a reference and samples, which no entry of {} gives it", r.model.name,
           job.budget_file);
    for (const auto& [k, v] : job.dims) r.dims.emplace(k, v);  // emplace: the budget entry's dims stay
    measure(r, budget, job, progress);
    report.models.push_back(std::move(r.model));
  }
  return report;
}

}  // namespace pare::jobs
