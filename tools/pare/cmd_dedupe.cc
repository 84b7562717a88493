// pare dedupe A.onnx B.onnx ... -o DIR: one trunk for what the models compute
// alike, a head per model, one weights file for the weights several heads still
// hold alike, a manifest; checked bit for bit before writing.
#include "jobs/dedupe.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace dedupe_command {

struct DedupeArgs {
  std::vector<std::string> models;
  std::string dir;
  std::vector<std::string> dims;
  bool quiet = false;
};

double percent(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * part / whole : 0; }

void print_report(const jobs::DedupeReport& r, const std::string& dir) {
  if (!r.trunk.file.empty())
    fmt::print("{}/trunk.onnx: {} shared nodes, {} (download {})\n", dir, r.shared_nodes, human_bytes(r.trunk.bytes),
               human_bytes(r.trunk.download_bytes));
  if (!r.weights.file.empty())
    fmt::print("{}/{}: {} tensor(s) two or more heads hold, stored once, {} (download {})\n", dir, r.weights.file,
               r.shared_tensors, human_bytes(r.weights.bytes), human_bytes(r.weights.download_bytes));
  for (const auto& h : r.heads)
    fmt::print("{}/{}: head of {}, reads {} trunk output(s); {} (was {})\n", dir, h.file.file, h.model, h.reads.size(),
               human_bytes(h.file.bytes), human_bytes(h.model_bytes));
  fmt::print("bytes {} -> {} ({:.1f}%), download {} -> {} ({:.1f}%); {} reproduces its model exactly\n",
             human_bytes(r.bytes_before()), human_bytes(r.bytes_after()), percent(r.bytes_after(), r.bytes_before()),
             human_bytes(r.download_before()), human_bytes(r.download_after()),
             percent(r.download_after(), r.download_before()), r.trunk.file.empty() ? "each head" : "trunk then each head");
}

}  // namespace dedupe_command

const Command kDedupeCommand = {
    "dedupe", "factor what several models compute alike into one trunk and a head per model",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<dedupe_command::DedupeArgs>();
      sub.add_option("models", a->models, "ONNX model files (two or more)")->required()->expected(2, -1);
      sub.add_option("-o,--output", a->dir,
                     "folder for trunk.onnx, one head per model, weights.data (weights heads share) and manifest.json")
          ->required();
      add_dim_options(sub, a->dims, "size of a symbolic dim for the check run, NAME=N (repeatable)");
      sub.footer("Example:\n  pare dedupe scores.onnx boxes.onnx -o bundle/\n");
      return [a] {
        jobs::DedupeJob job{a->models, a->dir, parse_dims(a->dims)};
        jobs::DedupeReport r = jobs::run_dedupe(job);
        dedupe_command::print_report(r, a->dir);
        return 0;
      };
    }};

}  // namespace pare::cli
