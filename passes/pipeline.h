// The textual pipeline: `fold, fuse-bn, prune(sparsity=0.5), quantize(int8, per-channel)`.
//
//   pipeline := step { "," step }
//   step     := NAME [ "(" [ arg { "," arg } ] ")" ]
//   arg      := KEY "=" value | WORD
//   value    := BARE | '"' chars '"'
// A bare WORD is a flag ("per-channel"), its negation ("no-per-channel"), or the
// value of exactly one choice option ("int8"). Errors carry the column:
//   --passes:12: pass 'prune' has no option 'sparsty' (did you mean 'sparsity'?)
#pragma once

#include <map>
#include <functional>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace pare::passes {

struct PipelineStep {
  const PassInfo* info;
  OptionValues values;
  std::string str() const;  // canonical: name(k=v,...) with every option, in table order
};

struct StepResult {
  std::string step;  // canonical text
  std::map<std::string, int64_t> stats;
};

// A pipeline text that does not parse: `column` (1-based) is where in the text;
// the message says what is wrong. The caller names the text ("--passes:12: ...").
class PipelineSyntaxError : public Error {
 public:
  PipelineSyntaxError(size_t column, std::string message) : Error(std::move(message)), column(column) {}
  size_t column;
};

class Pipeline {
 public:
  static Pipeline parse(const std::string& text);
  std::string str() const;  // canonical; "" for an empty pipeline
  bool empty() const { return steps_.empty(); }
  const std::vector<PipelineStep>& steps() const { return steps_; }
  // Runs every step once, in order. `verify_each` checks the IR after each pass;
  // `after_each` (optional) sees the model after each step (the size waterfall).
  std::vector<StepResult> run(ir::Model& model, PassContext& ctx, bool verify_each,
                              const std::function<void(const ir::Model&, const StepResult&)>& after_each = {}) const;

 private:
  std::vector<PipelineStep> steps_;
};

}  // namespace pare::passes
