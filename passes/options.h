// Typed pass options. One table per pass drives parsing and validation (types,
// ranges, choices), canonical printing, `pare passes` help and docs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace pare::passes {

enum class OptionType { kNumber, kInteger, kBool, kChoice, kString, kList };

struct OptionSpec {
  std::string name;  // kebab-case
  OptionType type;
  std::string default_value;  // as it would be written in a pipeline ("0.5", "true", "int8", "")
  std::string help;
  double min = -1e300, max = 1e300;  // inclusive bounds for numbers and integers
  bool max_exclusive = false;        // e.g. sparsity in [0, 1)
  std::vector<std::string> choices;  // for kChoice
};

using OptionValue = std::variant<double, int64_t, bool, std::string, std::vector<std::string>>;

class OptionValues {
 public:
  double number(const std::string& name) const { return std::get<double>(at(name)); }
  int64_t integer(const std::string& name) const { return std::get<int64_t>(at(name)); }
  bool flag(const std::string& name) const { return std::get<bool>(at(name)); }
  const std::string& str(const std::string& name) const { return std::get<std::string>(at(name)); }
  const std::vector<std::string>& list(const std::string& name) const {
    return std::get<std::vector<std::string>>(at(name));
  }
  void set(const std::string& name, OptionValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  const OptionValue& at(const std::string& name) const;
  std::map<std::string, OptionValue> values_;
};

// Parses `text` as a value of `spec` (throws pare::Error with the reason).
OptionValue parse_option_value(const OptionSpec& spec, const std::string& text);
// The defaults of every option in the table.
OptionValues default_values(const std::vector<OptionSpec>& specs);
// "key=value" pieces in table order, defaults included (lists: one per element).
std::vector<std::string> print_options(const std::vector<OptionSpec>& specs, const OptionValues& values);
std::string type_name(const OptionSpec& spec);
// `s` as a pipeline option value: bare when the grammar reads it back bare, else
// double-quoted with " and \ escaped.
std::string quote_if_needed(const std::string& s);

}  // namespace pare::passes
