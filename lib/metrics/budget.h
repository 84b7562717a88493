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
//     - path: models/face_int8.onnx
//       reference: models/face.onnx   # fidelity: the model it is compared with,
//       data: samples                 # on these samples (sample folders or images)
//       labels: labels.txt            # optional: true top-1 accuracy
//       image: {size: 128x128, mean: "0.5", std: "0.5", layout: NCHW, channels: rgb}
//       min-sqnr: 30                  # dB, the worst output's
//       min-cosine: 0.999
//       max-top1-drop: 1              # percentage points of top-1 disagreement
//       min-accuracy: 0.9             # needs labels
// The budget values are kept as written: the CLI parses all eight with the
// same code as the budget flags of pare shrink (cli::parse_limits).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/images/images.h"

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

// The budget keys of an entry (the budget flags of pare shrink, without "--"),
// in report order; and the four that compare the model with a reference on samples.
const std::vector<std::string>& budget_keys();
const std::vector<std::string>& fidelity_budget_keys();

// One entry of a budget file.
struct BudgetEntry {
  std::string path;  // as written: relative to the budget file's folder, may hold globs
  std::map<std::string, std::string> limits;  // budget key -> its value as written ("max-bytes" -> "500KB")
  std::map<std::string, int> lines;           // every key given -> its 1-based line
  std::map<std::string, int64_t> dims;        // for the MAC count
  // Fidelity: as written, relative to the budget file's folder ("" when not given).
  std::string reference, data, labels;
  formats::ImageOptions images;  // how image samples in `data` become inputs
  int line = 0;                  // 1-based, for messages
  bool compares() const { return !reference.empty(); }
};

struct BudgetFile {
  std::string path;  // as given
  std::string dir;   // the folder that entry paths are relative to ("." for the current one)
  std::vector<BudgetEntry> entries;
  // A path as written in the file, as this process opens it.
  std::string resolve(const std::string& written) const;
};

// Reads and validates a budget file; throws pare::Error naming the file (and
// the line) on a YAML syntax error, an unknown key, a value that is not a single
// value, a fidelity budget without 'reference' and 'data' (min-accuracy: without
// 'labels'), and a reference, data or labels that does not exist. The budget
// values themselves are checked by the caller (cli::parse_limits).
BudgetFile load_budget_file(const std::string& path);

// True if `relative` (a '/'-separated path relative to the budget file's folder)
// matches the entry path `pattern`, component by component with glob_match.
bool budget_path_matches(std::string_view pattern, std::string_view relative);

// The files (relative to the budget file's folder, sorted) that an entry's path
// names; throws pare::Error naming the budget file and line when it names none.
std::vector<std::string> expand_budget_entry(const BudgetFile& file, const BudgetEntry& entry);

}  // namespace pare::metrics
