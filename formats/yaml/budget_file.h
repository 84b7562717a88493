// The budget file that `pare check` reads: which models, their limits (the
// budget model of lib/metrics/budget.h, kept as written here) and what each is
// compared with.
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
//       max-top1-drop: 1              # points of top-1 accuracy lost (with labels), else of disagreement
//       min-accuracy: 0.9             # needs labels
//     - path: models/cls.onnx
//       max-download-bytes: 1MB
//       max-growth: 5%                # each size figure at most 5% over the baseline's (--baseline)
//       warn:                         # the same limits as warnings: reported, exit 0
//         max-download-bytes: 900KB
//         max-growth: 1%
// The budget values are kept as written: the check job parses them with the
// same code as the budget flags of pare shrink (metrics::parse_budget).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "formats/images/images.h"

namespace pare::formats {

// One entry of a budget file.
struct BudgetEntry {
  std::string path;  // as written: relative to the budget file's folder, may hold globs
  std::map<std::string, std::string> limits;  // budget key -> its value as written ("max-bytes" -> "500KB")
  std::map<std::string, std::string> warn;    // the same, at the warn level ('warn:')
  std::map<std::string, int> lines;           // every key given -> its 1-based line ("warn.max-bytes" for warn's)
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
// values themselves are checked by the caller (metrics::parse_budget).
BudgetFile load_budget_file(const std::string& path);

// True if `relative` (a '/'-separated path relative to the budget file's folder)
// matches the entry path `pattern`, component by component with glob_match.
bool budget_path_matches(std::string_view pattern, std::string_view relative);

// The files (relative to the budget file's folder, sorted) that an entry's path
// names; throws pare::Error naming the budget file and line when it names none.
std::vector<std::string> expand_budget_entry(const BudgetFile& file, const BudgetEntry& entry);

}  // namespace pare::formats
