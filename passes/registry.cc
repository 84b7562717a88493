// The explicit list of passes, alphabetical. Each pass file exports one PassInfo.
#include "lib/base/error.h"
#include "passes/pass.h"

namespace pare::passes {

extern const PassInfo kCutPass;
extern const PassInfo kDcePass;
extern const PassInfo kEqualizePass;
extern const PassInfo kFoldPass;
extern const PassInfo kFuseActPass;
extern const PassInfo kFuseBnPass;
extern const PassInfo kOpsetPass;
extern const PassInfo kPalettizePass;
extern const PassInfo kPrunePass;
extern const PassInfo kQuantizePass;
extern const PassInfo kStripPass;
extern const PassInfo kTrimPass;

const std::vector<const PassInfo*>& all_passes() {
  static const std::vector<const PassInfo*> passes = {
      &kCutPass,
      &kDcePass,
      &kEqualizePass,
      &kFoldPass,
      &kFuseActPass,
      &kFuseBnPass,
      &kOpsetPass,
      &kPalettizePass,
      &kPrunePass,
      &kQuantizePass,
      &kStripPass,
      &kTrimPass,
  };
  return passes;
}

const PassInfo* find_pass(const std::string& name) {
  for (const auto* p : all_passes())
    if (p->name == name) return p;
  return nullptr;
}

}  // namespace pare::passes
