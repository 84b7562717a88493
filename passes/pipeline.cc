#include "passes/pipeline.h"

#include <cctype>
#include <set>

#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"

namespace pare::passes {
namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  std::vector<PipelineStep> parse() {
    std::vector<PipelineStep> steps;
    skip_space();
    if (at_end()) return steps;
    while (true) {
      steps.push_back(parse_step());
      skip_space();
      if (at_end()) break;
      expect(',');
      skip_space();
    }
    return steps;
  }

 private:
  [[noreturn]] void error_at(size_t col, const std::string& msg) const {
    throw PipelineSyntaxError(col + 1, msg);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  void expect(char c) {
    if (peek() != c)
      error_at(pos_, at_end() ? fmt::format("expected '{}' at the end", c)
                              : fmt::format("expected '{}' but found '{}'", c, peek()));
    ++pos_;
  }
  std::string word() {
    size_t start = pos_;
    while (!at_end() && (std::islower(static_cast<unsigned char>(peek())) ||
                         std::isdigit(static_cast<unsigned char>(peek())) || peek() == '-' || peek() == '_' ||
                         peek() == '.'))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string value() {
    if (peek() == '"') {
      size_t start = pos_++;
      std::string out;
      while (!at_end() && peek() != '"') {
        if (peek() == '\\' && pos_ + 1 < text_.size()) ++pos_;
        out += text_[pos_++];
      }
      if (at_end()) error_at(start, "unterminated quoted value");
      ++pos_;
      return out;
    }
    size_t start = pos_;
    while (!at_end() && peek() != ',' && peek() != ')' && !std::isspace(static_cast<unsigned char>(peek()))) ++pos_;
    if (pos_ == start) error_at(pos_, "expected a value");
    return text_.substr(start, pos_ - start);
  }

  PipelineStep parse_step() {
    size_t start = pos_;
    std::string name = word();
    if (name.empty()) error_at(pos_, at_end() ? "expected a pass name" : fmt::format("expected a pass name, found '{}'", peek()));
    const PassInfo* info = find_pass(name);
    if (!info) {
      std::vector<std::string> names;
      for (const auto* p : all_passes()) names.push_back(p->name);
      error_at(start, fmt::format("unknown pass '{}'{} (see 'pare passes')", name, did_you_mean(name, names)));
    }
    PipelineStep step{info, default_values(info->options)};
    skip_space();
    if (peek() != '(') return step;
    ++pos_;
    std::set<std::string> given;
    skip_space();
    while (peek() != ')') {
      if (at_end()) error_at(pos_, "expected ')' at the end");
      parse_arg(step, given);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        error_at(pos_, at_end() ? "expected ')' at the end" : fmt::format("expected ',' or ')' but found '{}'", peek()));
      }
    }
    ++pos_;
    return step;
  }

  void parse_arg(PipelineStep& step, std::set<std::string>& given) {
    const PassInfo& info = *step.info;
    size_t start = pos_;
    std::string key = word();
    if (key.empty()) error_at(pos_, fmt::format("expected an option of pass '{}'", info.name));
    skip_space();
    const OptionSpec* spec = nullptr;
    std::string text;
    if (peek() == '=') {
      ++pos_;
      skip_space();
      for (const auto& s : info.options)
        if (s.name == key) spec = &s;
      if (!spec) {
        std::vector<std::string> names;
        for (const auto& s : info.options) names.push_back(s.name);
        error_at(start, fmt::format("pass '{}' has no option '{}'{}", info.name, key, did_you_mean(key, names)));
      }
      text = value();
    } else {
      spec = bare_word(info, key, text);
      if (!spec) {
        std::vector<std::string> words;
        for (const auto& s : info.options) {
          if (s.type == OptionType::kBool) words.push_back(s.name);
          if (s.type == OptionType::kChoice) words.insert(words.end(), s.choices.begin(), s.choices.end());
        }
        error_at(start, fmt::format("pass '{}' has no option or value '{}'{}", info.name, key, did_you_mean(key, words)));
      }
    }
    if (spec->type != OptionType::kList && !given.insert(spec->name).second)
      error_at(start, fmt::format("option '{}' of pass '{}' is given twice", spec->name, info.name));
    try {
      OptionValue v = parse_option_value(*spec, text);
      if (spec->type == OptionType::kList) {
        auto list = step.values.list(spec->name);
        list.push_back(text);
        v = list;
      }
      step.values.set(spec->name, v);
    } catch (const Error& e) {
      error_at(start, fmt::format("pass '{}': {}", info.name, e.message()));
    }
  }

  // A flag, a negated flag, or the value of the one choice option that has it.
  static const OptionSpec* bare_word(const PassInfo& info, const std::string& word, std::string& text) {
    for (const auto& s : info.options) {
      if (s.type != OptionType::kBool) continue;
      if (s.name == word) return text = "true", &s;
      if ("no-" + s.name == word) return text = "false", &s;
    }
    for (const auto& s : info.options)
      if (s.type == OptionType::kChoice)
        for (const auto& c : s.choices)
          if (c == word) return text = word, &s;
    return nullptr;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

std::string PipelineStep::str() const {
  auto opts = print_options(info->options, values);
  return opts.empty() ? info->name : info->name + "(" + join(opts, ",") + ")";
}

Pipeline Pipeline::parse(const std::string& text) {
  Pipeline p;
  p.steps_ = Parser(text).parse();
  return p;
}

std::string Pipeline::str() const {
  std::vector<std::string> parts;
  for (const auto& s : steps_) parts.push_back(s.str());
  return join(parts, ",");
}

std::vector<StepResult> Pipeline::run(ir::Model& model, PassContext& ctx, bool verify_each,
                                      const std::function<void(const ir::Model&, const StepResult&)>& after_each) const {
  std::vector<StepResult> results;
  for (const auto& step : steps_) {
    ctx.stats.clear();
    try {
      step.info->create(step.values)->run(model, ctx);
      if (verify_each) ir::verify(model);
    } catch (Error& e) {
      e.with_context("in pass '" + step.info->name + "'");
      throw;
    }
    results.push_back({step.str(), ctx.stats});
    if (after_each) after_each(model, results.back());
  }
  return results;
}

}  // namespace pare::passes
