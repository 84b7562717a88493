// Presets: named pipelines for people who do not want to choose passes. `pare
// shrink` without --passes runs the default one and says so; `pare passes`
// and docs/passes.md list them. Each is plain pipeline text (pipeline.h), so a
// preset is never more than what --passes could say.
#pragma once

#include <string>
#include <vector>

namespace pare::passes {

struct Preset {
  const char* name;      // "balanced"
  const char* pipeline;  // "fold, fuse-bn, ..."
  const char* summary;   // what it trades, in one line
  bool check_accuracy = false;  // lossy enough that its accuracy wants checking on sample data
};

// Every preset, from the most careful to the smallest result.
const std::vector<Preset>& presets();
// nullptr when there is no preset of that name.
const Preset* find_preset(const std::string& name);
// The preset shrink runs when given neither --passes nor --preset.
const Preset& default_preset();

}  // namespace pare::passes
