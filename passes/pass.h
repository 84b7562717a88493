// A pass rewrites a Model in place. It has a name, a one-line summary, a typed
// option table (options.h) and run(). Passes never include formats/: anything
// they need from files (calibration samples) arrives through PassContext.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "passes/options.h"

namespace pare::passes {

using Sample = std::map<std::string, ir::Tensor>;
class InputMoments;  // gptq.h

struct PassContext {
  std::map<std::string, int64_t> stats;  // sorted, so reports are deterministic
  uint64_t seed = 1;                     // any randomness is seeded from here
  // Reads a folder of samples for the given graph inputs; injected by the CLI.
  std::function<std::vector<Sample>(const std::string& dir, const std::vector<std::string>& input_names)> load_samples;
  // Activation ranges (lo, hi) the caller has already measured on this very model
  // with the same calibration samples and options (pare tune measures them once
  // for its many one-layer variants); static int8 uses them instead of
  // calibrating when they cover every tensor it needs. Optional.
  std::function<std::map<std::string, std::pair<float, float>>()> known_ranges;
  // For correct=DIR: the per-channel input means of every layer of this very
  // model over DIR's samples, measured once by the caller (pare tune, for its
  // many one-layer variants; passes::layer_input_means), or nullptr for
  // another folder. Optional; the correction is the same either way.
  std::function<const std::map<std::string, std::vector<double>>*(const std::string& dir)> known_means;
  // For gptq=DIR: the input moments of every layer of this very model over
  // DIR's samples, measured once by the caller (pare tune), or nullptr for
  // another folder. Optional; the rounding is the same either way.
  std::function<const InputMoments*(const std::string& dir)> known_moments;
  // Threads for the passes' runs over samples (correct=, gptq=) and for
  // gptq='s per-layer sums: the results do not depend on it.
  int threads = 1;
  // Reports progress of long work (calibration): what, done, total. Optional.
  std::function<void(const std::string& what, size_t done, size_t total)> progress;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual void run(ir::Model& model, PassContext& ctx) = 0;  // throws pare::Error
};

struct PassInfo {
  std::string name;     // kebab-case: "fuse-bn"
  std::string summary;  // one line for `pare passes`
  std::vector<OptionSpec> options;
  std::unique_ptr<Pass> (*create)(const OptionValues&);
};

// The PassInfo of a pass that takes no options: P is built with no arguments.
template <typename P>
PassInfo option_free_pass(std::string name, std::string summary) {
  return {std::move(name), std::move(summary), {}, [](const OptionValues&) -> std::unique_ptr<Pass> { return std::make_unique<P>(); }};
}

// The explicit, alphabetical list of passes (registry.cc).
const std::vector<const PassInfo*>& all_passes();
const PassInfo* find_pass(const std::string& name);

// The float32 constant `v` holds (an initializer or a Constant's value), else nullptr.
inline const ir::Tensor* float_constant(const ir::Value* v) {
  return v && v->is_constant() && v->constant().dtype() == ir::DataType::kFloat ? &v->constant() : nullptr;
}

}  // namespace pare::passes
