// The subcommand table: each command file exports one Command. A command's own
// helpers (its Args, declare, the handler) live in a namespace named after it
// (shrink_command, ...): the unity build compiles several command files as one
// translation unit, where two anonymous `Args` would clash.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pare::cli {

struct Command {
  const char* name;
  const char* summary;
  // Declares the command's options on `sub` and returns the handler to run
  // after parsing; the handler returns the exit code.
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

// The setup of a command whose options fill an Args: `declare` adds them to
// `sub`, and the handler runs `run` on what was parsed.
template <typename Args>
std::function<std::function<int()>(CLI::App&)> with_args(void (*declare)(CLI::App&, Args&), int (*run)(const Args&)) {
  return [declare, run](CLI::App& sub) -> std::function<int()> {
    auto a = std::make_shared<Args>();
    declare(sub, *a);
    return [a, run] { return run(*a); };
  };
}

extern const Command kBenchCommand;
extern const Command kBuildCommand;
extern const Command kCheckCommand;
extern const Command kCompareCommand;
extern const Command kDedupeCommand;
extern const Command kExtractCommand;
extern const Command kInspectCommand;
extern const Command kPassesCommand;
extern const Command kRunCommand;
extern const Command kSplitCommand;
extern const Command kShrinkCommand;
extern const Command kTuneCommand;

// Parses repeated NAME=N options (--dim batch=1); throws pare::Error on bad text.
std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& specs);

// --dim NAME=N (repeatable, described by `dim_help`) and --input-shape [NAME=]1x512
// (repeatable) on `sub`, both filling `dims`: each input shape becomes the
// positional dims of rt::random_inputs ("NAME[0]=1", "NAME[rank]=2"), appended
// after the --dim values.
void add_dim_options(CLI::App& sub, std::vector<std::string>& dims, const std::string& dim_help);
std::vector<std::string> input_shape_dims(const std::string& spec);

// An option validator: a finite number >= 0 (CLI11's NonNegativeNumber lets NaN through).
CLI::Validator finite_non_negative();

}  // namespace pare::cli
