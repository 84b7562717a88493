#include <fmt/format.h>

#include "formats/report/ci.h"
#include "formats/report/view_common.h"
#include "lib/base/strings.h"

namespace pare::formats {
// XML and HTML escape alike (view::esc): JUnit's names and messages.
using view::esc;

std::string junit_xml(const metrics::CheckReport& report) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuite name=\"pare check\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", report.models.size(),
                   report.over());
  // JUnit has no warnings: a model past a warn level passes, and says why in its output.
  for (const auto& r : report.models) {
    std::string name = esc(r.name);
    if (!r.over() && !r.warned()) {
      x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\"/>\n", name);
      continue;
    }
    std::vector<std::string> failures, warnings;
    for (const auto& b : r.results)
      if (!b.ok) (b.level == metrics::Level::warn ? warnings : failures).push_back(b.failure);
    x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\">\n", name);
    if (!failures.empty()) x += fmt::format("    <failure message=\"{}\"/>\n", esc(join(failures, "; ")));
    if (!warnings.empty())
      x += fmt::format("    <system-out>warning: {}</system-out>\n", esc(join(warnings, "; warning: ")));
    x += "  </testcase>\n";
  }
  x += "</testsuite>\n";
  return x;
}

}  // namespace pare::formats
