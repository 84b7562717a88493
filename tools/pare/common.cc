#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/runtime/inputs.h"
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

std::vector<std::string> input_shape_dims(const std::string& spec) {
  size_t eq = spec.rfind('=');
  std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
  std::string shape = eq == std::string::npos ? spec : spec.substr(eq + 1);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; start <= shape.size(); ++i) {
    size_t end = std::min(shape.find('x', start), shape.find(',', start));
    std::string text = shape.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::optional<int64_t> v = whole_number(text);
    if (!v || *v < 0 || (eq != std::string::npos && name.empty()))
      throw CLI::ValidationError("--input-shape",
                                 fmt::format("'{}' is not [NAME=]SHAPE with sizes joined by x (e.g. input=1x512)", spec));
    out.push_back(fmt::format("{}={}", rt::input_dim_key(name, i), *v));
    if (end == std::string::npos) {
      out.push_back(fmt::format("{}={}", rt::input_rank_key(name), i + 1));
      break;
    }
    start = end + 1;
  }
  return out;
}

void add_dim_options(CLI::App& sub, std::vector<std::string>& dims, const std::string& dim_help) {
  sub.add_option("--dim", dims, dim_help);
  // Declared after --dim, whose values CLI11 stores first: these are appended.
  sub.add_option_function<std::vector<std::string>>(
      "--input-shape",
      [&dims](const std::vector<std::string>& specs) {
        for (const auto& s : specs)
          for (auto& d : input_shape_dims(s)) dims.push_back(std::move(d));
      },
      "the whole shape of an input, named dims or not: NAME=1x512, or 1x512 for a model with one input (repeatable)");
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
