#include "tools/pare/habits.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "lib/base/strings.h"

namespace pare::cli {
namespace {

// The long option names of `app` ("--json"), without its positionals.
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options())
    for (const auto& name : o->get_lnames()) out.push_back("--" + name);
  return out;
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = word.size() / 3 + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best = c, best_distance = d;
  }
  return best;
}

std::string did_you_mean(const CLI::App& app, int argc, char** argv) {
  std::vector<const CLI::App*> subs;
  for (const CLI::App* s : app.get_subcommands({})) subs.push_back(s);
  const CLI::App* chosen = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
  if (!chosen) {
    // The first word that is not an option names the command.
    for (int i = 1; i < argc; ++i) {
      if (argv[i][0] == '-') continue;
      std::vector<std::string> names;
      for (const CLI::App* s : subs) names.push_back(s->get_name());
      std::string c = closest(argv[i], names);
      return c.empty() ? "" : fmt::format(" ('{}' is no command: did you mean 'pare {}'?)", argv[i], c);
    }
    return "";
  }
  std::vector<std::string> names = option_names(*chosen);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
    std::string c = closest(arg, names);
    if (!c.empty()) return fmt::format(" ('{}' is no option of pare {}: did you mean '{}'?)", arg, chosen->get_name(), c);
  }
  return "";
}

std::string examples(const std::string& command) {
  // Each a line a user can paste; paths are placeholders.
  static const std::map<std::string, std::vector<std::string>> table = {
      {"inspect",
       {"pare inspect model.onnx", "pare inspect vad.onnx --input-shape input=1x512",
        "pare inspect model.onnx --json > facts.json"}},
      {"shrink",
       {"pare shrink model.onnx -o small.onnx                  # the default preset (balanced)",
        "pare shrink model.onnx -o small.onnx --preset small --data samples/ --min-sqnr 30",
        "pare shrink model.onnx -o small.onnx --passes 'fold, dce, quantize(fp16)' --json - | jq .after"}},
      {"build", {"pare build plan.yaml", "pare build plan.yaml --force"}},
      {"check",
       {"pare check model.onnx --max-download-bytes 1MB",
        "pare check --budget budgets.yaml --baseline main.json --json new.json",
        "pare check model.onnx --max-download-bytes 1MB --warn max-download-bytes=900KB --baseline main.json --max-growth 5%",
        "pare check --budget budgets.yaml --github    # automatic when GITHUB_ACTIONS=true"}},
      {"compare", {"pare compare model.onnx small.onnx --data samples/", "pare compare a.onnx b.onnx --json -"}},
      {"run",
       {"pare run model.onnx --inputs samples/1 --outputs out/", "pare run vad.onnx --input-shape 1x512 --seed 3"}},
      {"bench", {"pare bench model.onnx --runs 50 --threads 2", "pare bench vad.onnx --input-shape input=1x512 --json"}},
      {"split", {"pare split model.onnx --at tensor_a --at tensor_b -o parts/"}},
      {"extract", {"pare extract model.onnx --outputs scores,boxes -o head.onnx"}},
      {"passes", {"pare passes", "pare passes --markdown > docs/passes.md"}},
  };
  auto it = table.find(command);
  if (it == table.end()) return "";
  std::string out = "Examples:\n";
  for (const auto& line : it->second) out += "  " + line + "\n";
  return out;
}

bool colour_enabled(std::FILE* stream) {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  const char* force = std::getenv("CLICOLOR_FORCE");
  if (force && *force && std::strcmp(force, "0") != 0) return true;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return isatty(fileno(stream)) == 1;
}

std::string colour_verdicts(const std::string& text) {
  const std::string green = "\033[32m", red = "\033[31m", reset = "\033[0m";
  // Longer phrases first: "not held" before "held", "over budget" before "over".
  const std::vector<std::pair<std::string, const std::string*>> at_end = {
      {"over budget", &red}, {"within budget", &green}, {"not held", &red}, {"held", &green},
      {"over", &red},        {"ok", &green}};
  const std::vector<std::pair<std::string, const std::string*>> at_start = {{"pare: check failed", &red},
                                                                            {"pare: error", &red}};
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    for (const auto& [word, colour] : at_start)
      if (line.rfind(word, 0) == 0) {
        line = *colour + word + reset + line.substr(word.size());
        break;
      }
    for (const auto& [word, colour] : at_end) {
      size_t n = word.size();
      if (line.size() > n && line.compare(line.size() - n, n, word) == 0 && line[line.size() - n - 1] == ' ') {
        line = line.substr(0, line.size() - n) + *colour + word + reset;
        break;
      }
    }
    out += line;
    if (end == std::string::npos) break;
    out += "\n";
    start = end + 1;
  }
  return out;
}

void put_text(std::FILE* stream, const std::string& text) {
  std::fputs((colour_enabled(stream) ? colour_verdicts(text) : text).c_str(), stream);
}

}  // namespace pare::cli
