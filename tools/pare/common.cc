#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "tools/pare/commands.h"

namespace pare::cli {

std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> out;
  for (const auto& s : specs) {
    auto eq = s.find('=');
    std::optional<int64_t> v = eq != std::string::npos && eq > 0 ? whole_number(s.substr(eq + 1)) : std::nullopt;
    if (!v || *v < 0) throw Error(fmt::format("--dim: '{}' is not NAME=N with N a size (e.g. --dim batch=1)", s));
    out[s.substr(0, eq)] = *v;
  }
  return out;
}

CLI::Validator finite_non_negative() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::optional<double> v = finite_number(text);
        return v && *v >= 0 ? "" : "'" + text + "' is not a finite number >= 0";
      },
      "NUMBER >= 0");
}

}  // namespace pare::cli
