// pare passes [--markdown]: every pass with its summary and options.
#include "lib/base/strings.h"
#include "passes/pass.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

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
  return 0;
}

}  // namespace

const Command kPassesCommand = {
    "passes", "list every pass and its options", [](CLI::App& sub) -> std::function<int()> {
      auto markdown = std::make_shared<bool>(false);
      sub.add_flag("--markdown", *markdown, "print as Markdown (for docs/passes.md)");
      return [markdown] { return list_passes(*markdown); };
    }};

}  // namespace pare::cli
