// The explicit list of passes, alphabetical. Each pass file exports one PassInfo.
#include "lib/base/error.h"
#include "passes/pass.h"

namespace pare::passes {

extern const PassInfo kDcePass;

const std::vector<const PassInfo*>& all_passes() {
  static const std::vector<const PassInfo*> passes = {
      &kDcePass,
  };
  return passes;
}

const PassInfo* find_pass(const std::string& name) {
  for (const auto* p : all_passes())
    if (p->name == name) return p;
  return nullptr;
}

}  // namespace pare::passes
