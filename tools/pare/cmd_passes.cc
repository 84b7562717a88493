// pare passes [--markdown]: every pass with its summary and options, then the
// presets (named pipelines) that pare shrink runs without --passes.
#include "lib/base/strings.h"
#include "passes/pass.h"
#include "passes/presets.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace passes_command {

// What the preset trades, and how to check it when it is lossy enough to.
std::string trade_of(const passes::Preset& p) {
  return std::string(p.summary) + (p.check_accuracy ? "; check accuracy with --data" : "");
}

void list_presets(bool markdown) {
  const std::string fallback = passes::default_preset().name;
  if (markdown) {
    fmt::print("## Presets\n\n`pare shrink` without `--passes` runs a preset: `{}` unless `--preset NAME` names another.\n\n"
               "| preset | pipeline | what it trades |\n|---|---|---|\n",
               fallback);
    for (const auto& p : passes::presets()) fmt::print("| `{}` | `{}` | {} |\n", p.name, p.pipeline, trade_of(p));
    return;
  }
  fmt::print("\npresets (pare shrink --preset NAME; without --passes: {}):\n", fallback);
  for (const auto& p : passes::presets()) fmt::print("  {:<10} {}\n  {:<10} {}\n", p.name, p.pipeline, "", trade_of(p));
}

int list_passes(bool markdown) {
  for (const auto* p : passes::all_passes()) {
    if (markdown) {
      fmt::print("## {}\n\n{}\n\n", p->name, p->summary);
      if (!p->options.empty()) {
        fmt::print("| option | type | default | meaning |\n|---|---|---|---|\n");
        for (const auto& o : p->options)
          fmt::print("| `{}` | {} | `{}` | {} |\n", o.name, passes::type_name(o), o.default_value, o.help);
        fmt::print("\n");
      }
      continue;
    }
    fmt::print("{:<12} {}\n", p->name, p->summary);
    for (const auto& o : p->options)
      fmt::print("    {:<16} {:<22} default {:<10} {}\n", o.name, passes::type_name(o),
                 o.default_value.empty() ? "-" : o.default_value, o.help);
  }
  if (!markdown) fmt::print("\npipeline: name(key=value,flag),name2  e.g. --passes 'dce'\n");
  list_presets(markdown);
  return 0;
}

}  // namespace passes_command

const Command kPassesCommand = {
    "passes", "list every pass and its options", [](CLI::App& sub) -> std::function<int()> {
      auto markdown = std::make_shared<bool>(false);
      sub.add_flag("--markdown", *markdown, "print as Markdown (for docs/passes.md)");
      return [markdown] { return passes_command::list_passes(*markdown); };
    }};

}  // namespace pare::cli
