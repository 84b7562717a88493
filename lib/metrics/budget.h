// Budgets: the one model of the limits a model is held to, shared by shrink,
// compare, build and check. Four size limits (bytes on disk, bytes on the
// download, parameters, MACs), four fidelity limits against a reference on
// samples (worst SQNR, worst cosine, top-1 drop, accuracy), and, for pare check
// only, the growth of the size figures since a baseline; one parser for their
// texts, one `tightest`, one check, one line per limit that does not hold:
//   "bytes 600.00 kB > budget 500.00 kB", "SQNR 23.3 dB < budget 30 dB".
// A budget checked at the warn level reads "> warn level 500.00 kB" and does not
// fail (size-limit's habit of a soft limit below the hard one).
// Where the texts come from (flags, a budget file, a plan) is the caller's: a
// bad value is a BudgetValueError carrying the key, and the caller names the place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/base/error.h"
#include "lib/metrics/compare.h"

namespace pare::metrics {

struct Budget {
  std::optional<int64_t> max_bytes, max_download_bytes, max_params, max_macs;
  std::optional<double> min_sqnr, min_cosine, max_top1_drop, min_accuracy;
  // Measured by runs of pare's runner on this machine, one thread, seeded
  // inputs (named so: a phone's figures differ): the median latency of timed
  // runs, and the most bytes its intermediate tensors take at once (weights are
  // the file's bytes, not counted here). Only pare check measures them.
  std::optional<double> max_runner_latency_ms;
  std::optional<int64_t> max_runner_peak_memory;
  // The largest growth, in percent, of each size figure over a baseline's (the
  // report of an earlier pare check): only pare check has one.
  std::optional<double> max_growth;
  // True when a limit compares the model with a reference on samples.
  bool needs_data() const { return min_sqnr || min_cosine || max_top1_drop || min_accuracy; }
  bool needs_baseline() const { return max_growth.has_value(); }
  bool needs_runs() const { return max_runner_latency_ms || max_runner_peak_memory; }
  // True when a limit only pare check can measure (a baseline, timed runs).
  bool check_only() const { return needs_baseline() || needs_runs(); }
  bool empty() const {
    return !max_bytes && !max_download_bytes && !max_params && !max_macs && !needs_data() && !check_only();
  }
  bool operator==(const Budget&) const = default;
};

// The budget keys in report order (shrink's budget flags without "--", and
// the ones only pare check measures); the four that compare the model with a
// reference on samples; the ones only pare check measures (runner latency and
// memory, growth since a baseline).
const std::vector<std::string>& budget_keys();
const std::vector<std::string>& fidelity_budget_keys();
const std::vector<std::string>& check_only_budget_keys();
// The budget key that limits a result's measure ("bytes" -> "max-bytes",
// "download bytes growth" -> "max-growth").
std::string budget_key_of(std::string_view what);

// A bad budget text: `key` is the budget key ("max-bytes"); the message says
// what is wrong with the value ("'5XB' is not a size (examples: ...)").
class BudgetValueError : public Error {
 public:
  BudgetValueError(std::string key, std::string message) : Error(std::move(message)), key(std::move(key)) {}
  std::string key;
};

// Parses key -> text (values as written: "5MB", "30", "0.999", "5%"); throws
// BudgetValueError for an unknown key or a bad value.
Budget parse_budget(const std::map<std::string, std::string>& texts);

// The tighter of two budgets, limit by limit.
Budget tightest(const Budget& a, const Budget& b);

// What a model measured, for the check. Fidelity figures are the worst over its
// outputs, nullopt when unknown (with the reason).
struct Measured {
  int64_t bytes = 0, download_bytes = 0, params = 0;
  std::optional<int64_t> macs;  // unknown when the model could not be run (or MACs were not counted)
  std::string macs_reason;      // why MACs are unknown ("" when not said)
  std::optional<double> sqnr, cosine, top1_drop, accuracy;
  std::string top1_reason = "no output holds class scores", compare_reason = "no outputs compared";
  std::optional<double> runner_latency_ms;   // median of timed runs, when a limit asks
  std::optional<int64_t> runner_peak_memory; // the runner's intermediate tensors at their peak, when a limit asks
  std::string run_reason = "not measured";   // why the two are unknown
  // The size figures of a baseline (an earlier report of the same model), for
  // max-growth; nullopt when there is none or it does not have the model.
  struct Sizes {
    std::optional<int64_t> bytes, download_bytes, params, macs;
  };
  std::optional<Sizes> baseline;
};
// The fidelity figures of `outputs` into `m`; an output with tensors before
// discontinuous steps is judged at those (judged()). With labels, `accuracy` is
// the top-1 accuracy after and `lost` the fraction of samples the original got
// right and the model wrong (metrics::top1_lost): the top-1 drop is then that
// accuracy lost, in points (what a user with labels means by it, as NNCF's
// max_drop), not the disagreement with the original's answers, which is what
// it is without labels (the original's own top-1 taken as the labels).
void add_fidelity(Measured& m, const std::vector<OutputDiff>& outputs, std::optional<double> accuracy,
                  std::optional<double> lost);

// A figure of a budget line: unknown, a count (sizes, parameters, MACs) or a real.
using Figure = std::variant<std::monostate, int64_t, double>;
// A budget's limit for `key` (a budget key), unknown when it sets none.
Figure limit_of(const Budget& b, std::string_view key);

// What a limit that does not hold means: a failure (exit 1), or a warning
// that is reported and lets the check pass.
enum class Level { fail, warn };

// One limit checked: what it measures ("bytes", "SQNR", "download bytes
// growth", ...), the value and the limit (growth in percent), and the line that
// says so when it does not hold.
struct BudgetResult {
  std::string what;
  Figure value, limit;
  bool ok = true;
  std::string failure;  // "SQNR 23.3 dB < budget 30 dB"; empty when ok
  Level level = Level::fail;
};
// Every limit `budget` sets, in report order (sizes, growth, fidelity), at `level`.
// Growth is checked for each size figure that both the model and its baseline
// have; without a baseline there is nothing to grow from, and no growth result.
std::vector<BudgetResult> check_limits(const Budget& budget, const Measured& measured, Level level = Level::fail);
// True for the results of max-growth ("download bytes growth").
bool is_growth(std::string_view what);
// True when `r` is a warn-level failure of a measure whose fail-level limit
// fails too in `results`: its line would say nothing more, and is not shown.
bool repeats_a_failure(const std::vector<BudgetResult>& results, const BudgetResult& r);

// ---- the size limits alone (the parts check_limits is made of) ----

struct BudgetFailure {
  std::string what;  // "bytes", "download bytes", "parameters", "MACs"
  int64_t value;     // -1 when `unknown`
  int64_t limit;
  bool unknown = false;  // a MACs budget whose MACs are unknown: a failure, never a silent pass
};

// The size limits that `measured` exceeds (value > limit), in the order bytes,
// download bytes, parameters, MACs. A MACs limit with unknown MACs fails.
std::vector<BudgetFailure> check_budget(const Measured& measured, const Budget& budget);

// True for "bytes" and "download bytes": amounts shown as human sizes.
bool is_byte_amount(std::string_view what);
// A value of `what` for humans: "229.03 kB" for byte amounts, "1234567" for counts.
std::string format_amount(std::string_view what, int64_t value);
// "bytes 600.00 kB > budget 500.00 kB"; when both sides print the same human
// size the exact bytes follow ("229.03 kB (229031 B)"). Unknown MACs:
// "MACs unknown, budget 50000000 cannot be checked".
std::string describe(const BudgetFailure& failure, Level level = Level::fail);

// Parses a count: "200000", "50M", "1.5k", "2G" (1000-based); throws pare::Error on bad text.
int64_t parse_count(std::string_view text);
// Parses a duration in milliseconds: "20ms", "1.5s", "250us", "20 ms"; throws
// pare::Error on bad text (the unit is required).
double parse_duration_ms(std::string_view text);
// Parses a growth in percent: "5%", "0.5%"; throws pare::Error on bad text (the
// percent sign is required, so "5" cannot be read as 5% or as 500%).
double parse_growth(std::string_view text);

}  // namespace pare::metrics
