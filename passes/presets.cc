#include "passes/presets.h"

namespace pare::passes {

// Why these three: the graph clean-up (fold, fuse-bn, fuse-act, dce) never
// changes what the model computes beyond float rounding, and strip drops only
// names and docs a runtime does not read; the presets differ in how weights are
// stored (decision 13 of docs/design.md): as they are, float16 (half the
// bytes, outputs within ~1e-3 relative), or int8 per channel (a quarter, the
// one that can cost accuracy: measure it with --data). `if-any`: a model with
// no weight to store otherwise is left as it is, since a default must not fail.
const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"lossless", "fold, fuse-bn, fuse-act, dce, strip",
       "graph clean-up only: the same weights, the same outputs up to float rounding"},
      {"balanced", "fold, fuse-bn, fuse-act, dce, quantize(fp16, if-any), strip",
       "clean-up, weights stored as float16: about half the size, outputs within ~1e-3"},
      {"small", "fold, fuse-bn, fuse-act, dce, quantize(int8, weights-only, if-any), strip",
       "clean-up, weights stored as int8 per channel: about a quarter", true},
  };
  return table;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (name == p.name) return &p;
  return nullptr;
}

const Preset& default_preset() { return *find_preset("balanced"); }

}  // namespace pare::passes
