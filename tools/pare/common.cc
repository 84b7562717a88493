#include <cmath>

#include "lib/base/error.h"
#include "tools/pare/commands.h"

namespace pare::cli {

std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> out;
  for (const auto& s : specs) {
    auto eq = s.find('=');
    size_t used = 0;
    int64_t v = -1;
    if (eq != std::string::npos && eq > 0) {
      try {
        v = std::stoll(s.substr(eq + 1), &used);
      } catch (...) {
        used = 0;
      }
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || used != s.size() - eq - 1 || v < 0)
      throw Error(fmt::format("--dim: '{}' is not NAME=N with N a size (e.g. --dim batch=1)", s));
    out[s.substr(0, eq)] = v;
  }
  return out;
}

CLI::Validator finite_non_negative() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(text, &used);
        } catch (...) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !std::isfinite(v) || v < 0)
          return "'" + text + "' is not a finite number >= 0";
        return "";
      },
      "NUMBER >= 0");
}

}  // namespace pare::cli
