#include "passes/options.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::passes {

const OptionValue& OptionValues::at(const std::string& name) const {
  auto it = values_.find(name);
  PARE_CHECK(it != values_.end(), "pass option '{}' is not in its table", name);
  return it->second;
}

std::string quote_if_needed(const std::string& s) {
  // A bare value ends at ',' or ')' or any white space (pipeline.cc); '(' '=' and '"' would misread.
  bool bare = !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return std::strchr(",()=\"", c) != nullptr || std::isspace(static_cast<unsigned char>(c));
  });
  if (bare) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

namespace {

std::string format_number(double v) { return fmt::format("{:g}", v); }

}  // namespace

OptionValue parse_option_value(const OptionSpec& spec, const std::string& text) {
  auto check_range = [&](double v) {
    bool above = spec.max_exclusive ? v >= spec.max : v > spec.max;
    if (v < spec.min || above)
      fail("option '{}' must be in [{}, {}{}, got {}", spec.name, format_number(spec.min), format_number(spec.max),
           spec.max_exclusive ? ")" : "]", text);
  };
  switch (spec.type) {
    case OptionType::kNumber: {
      std::optional<double> v = finite_number(text);
      if (!v) fail("option '{}' takes a number, got '{}'", spec.name, text);
      check_range(*v);
      return *v;
    }
    case OptionType::kInteger: {
      std::optional<int64_t> v = whole_number(text);
      if (!v) fail("option '{}' takes a whole number, got '{}'", spec.name, text);
      check_range(static_cast<double>(*v));
      return *v;
    }
    case OptionType::kBool:
      if (text == "true" || text == "1" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "no") return false;
      fail("option '{}' takes true or false, got '{}'", spec.name, text);
    case OptionType::kChoice:
      for (const auto& c : spec.choices)
        if (c == text) return text;
      fail("option '{}' takes one of {}, got '{}'{}", spec.name, join(spec.choices, ", "), text,
           did_you_mean(text, spec.choices));
    case OptionType::kString:
      return text;
    case OptionType::kList:
      return std::vector<std::string>{text};
  }
  throw InternalError("unknown option type");
}

OptionValues default_values(const std::vector<OptionSpec>& specs) {
  OptionValues out;
  for (const auto& s : specs) {
    if (s.type == OptionType::kList) out.set(s.name, std::vector<std::string>{});
    else out.set(s.name, parse_option_value(s, s.default_value));
  }
  return out;
}

std::vector<std::string> print_options(const std::vector<OptionSpec>& specs, const OptionValues& values) {
  std::vector<std::string> out;
  for (const auto& s : specs) {
    switch (s.type) {
      case OptionType::kNumber: out.push_back(s.name + "=" + format_number(values.number(s.name))); break;
      case OptionType::kInteger: out.push_back(s.name + "=" + std::to_string(values.integer(s.name))); break;
      case OptionType::kBool: out.push_back(s.name + "=" + (values.flag(s.name) ? "true" : "false")); break;
      case OptionType::kChoice: out.push_back(s.name + "=" + values.str(s.name)); break;
      case OptionType::kString: out.push_back(s.name + "=" + quote_if_needed(values.str(s.name))); break;
      case OptionType::kList:
        for (const auto& v : values.list(s.name)) out.push_back(s.name + "=" + quote_if_needed(v));
        break;
    }
  }
  return out;
}

std::string type_name(const OptionSpec& spec) {
  switch (spec.type) {
    case OptionType::kNumber: return "number";
    case OptionType::kInteger: return "integer";
    case OptionType::kBool: return "flag";
    case OptionType::kChoice: return join(spec.choices, "|");
    case OptionType::kString: return "text";
    case OptionType::kList: return "text, repeatable";
  }
  return "?";
}

}  // namespace pare::passes
