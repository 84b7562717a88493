// Size budgets: the limits a model must stay within (bytes on disk, bytes on
// the download, parameters, MACs), the check against measured values, and the
// budget file that `pare check` reads (shared by shrink, compare and build).
//
// Budget file (YAML); paths are relative to the file's folder, and each path
// component may be a glob (* and ?):
//   models:
//     - path: models/face.onnx
//       max-bytes: 500KB          # sizes: parse_size (5MB, 750KiB, 120000)
//       max-download-bytes: 400 KB
//       max-params: 200000        # counts: plain or with K/M/G (1000-based)
//       max-macs: 50M
//       dims: {batch: 1}          # fixes symbolic dims for the MAC count
//     - path: "parts/*.onnx"
//       max-download-bytes: 1MB
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pare::metrics {

struct Budget {
  std::optional<int64_t> max_bytes, max_download_bytes, max_params, max_macs;
};

struct Measured {
  int64_t bytes = 0, download_bytes = 0, params = 0;
  std::optional<int64_t> macs;  // unknown when the model could not be run (or MACs were not counted)
};

struct BudgetFailure {
  std::string what;  // "bytes", "download bytes", "parameters", "MACs"
  int64_t value;     // -1 when `unknown`
  int64_t limit;
  bool unknown = false;  // a MACs budget whose MACs are unknown: a failure, never a silent pass
};

// The limits that `measured` exceeds (value > limit), in the order bytes,
// download bytes, parameters, MACs. A MACs limit with unknown MACs fails.
std::vector<BudgetFailure> check_budget(const Measured& measured, const Budget& budget);

// The tighter of two budgets, limit by limit.
Budget tightest(const Budget& a, const Budget& b);

// True for "bytes" and "download bytes": amounts shown as human sizes.
bool is_byte_amount(std::string_view what);
// A value of `what` for humans: "229.03 kB" for byte amounts, "1234567" for counts.
std::string format_amount(std::string_view what, int64_t value);
// "bytes 600.00 kB > budget 500.00 kB"; when both sides print the same human
// size the exact bytes follow ("229.03 kB (229031 B)"). Unknown MACs:
// "MACs unknown > budget 50000000".
std::string describe(const BudgetFailure& failure);

// Parses a count: "200000", "50M", "1.5k", "2G" (1000-based); throws pare::Error on bad text.
int64_t parse_count(std::string_view text);

// One entry of a budget file.
struct BudgetEntry {
  std::string path;  // as written: relative to the budget file's folder, may hold globs
  Budget budget;
  std::map<std::string, int64_t> dims;  // for the MAC count
  int line = 0;                         // 1-based, for messages
};

struct BudgetFile {
  std::string path;  // as given
  std::string dir;   // the folder that entry paths are relative to ("." for the current one)
  std::vector<BudgetEntry> entries;
};

// Reads and validates a budget file; throws pare::Error naming the file (and
// the line) on a YAML syntax error, an unknown key, a bad size or count.
BudgetFile load_budget_file(const std::string& path);

// True if `relative` (a '/'-separated path relative to the budget file's folder)
// matches the entry path `pattern`, component by component with glob_match.
bool budget_path_matches(std::string_view pattern, std::string_view relative);

// The files (relative to the budget file's folder, sorted) that an entry's path
// names; throws pare::Error naming the budget file and line when it names none.
std::vector<std::string> expand_budget_entry(const BudgetFile& file, const BudgetEntry& entry);

}  // namespace pare::metrics
