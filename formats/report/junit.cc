#include <fmt/format.h>

#include "formats/report/ci.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += "&#9;"; break;
      default:
        // Other control characters cannot appear in XML 1.0 at all.
        out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
  }
  return out;
}

}  // namespace

std::string junit_xml(const metrics::CheckReport& report) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuite name=\"pare check\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n", report.models.size(),
                   report.over());
  // JUnit has no warnings: a model past a warn level passes, and says why in its output.
  for (const auto& r : report.models) {
    std::string name = xml_escape(r.name);
    if (!r.over() && !r.warned()) {
      x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\"/>\n", name);
      continue;
    }
    std::vector<std::string> failures, warnings;
    for (const auto& b : r.results)
      if (!b.ok) (b.level == metrics::Level::warn ? warnings : failures).push_back(b.failure);
    x += fmt::format("  <testcase name=\"{}\" classname=\"pare check\">\n", name);
    if (!failures.empty()) x += fmt::format("    <failure message=\"{}\"/>\n", xml_escape(join(failures, "; ")));
    if (!warnings.empty())
      x += fmt::format("    <system-out>warning: {}</system-out>\n", xml_escape(join(warnings, "; warning: ")));
    x += "  </testcase>\n";
  }
  x += "</testsuite>\n";
  return x;
}

}  // namespace pare::formats
