// pare build PLAN.yaml [--force] [-q]: every subtask model of a plan, like Make
// (jobs/build.h; the plan file: formats/yaml/plan.h, docs/plans.md). Each
// subtask is shrink's job on the source model, cut first when the plan says so.
// Budget failures print after everything is written (exit 1); a subtask over
// budget is not written, so the next build (and Make) makes it again.
#include <cstdio>

#include "formats/report/terminal.h"
#include "jobs/build.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace build_command {

struct Args {
  std::string plan;
  bool force = false, quiet = false, keep_failed = false;
  int threads = 1;
};

int build(const Args& a) {
  Progress progress(!a.quiet && stderr_is_terminal());
  auto built = jobs::build({a.plan, a.force, a.keep_failed, a.threads}, progress, [](const jobs::BuiltSubtask& s) {
    if (s.report) fmt::print("{}", formats::terminal_text(*s.report, s.output));
    else fmt::print("{}: up to date\n", s.name);
  });
  std::fflush(stdout);
  bool failed = false;
  for (const auto& s : built) {
    std::string lines = formats::failure_lines(s.output, s.budgets);
    std::fputs(lines.c_str(), stderr);
    failed = failed || !lines.empty();
  }
  return failed ? 1 : 0;
}

// The options of pare build.
void declare(CLI::App& sub, Args& a) {
  sub.add_option("plan", a.plan, "plan file (YAML: model, output, data, labels, calib, image, dims, subtasks)")
      ->required();
  sub.add_flag("--force", a.force, "rebuild every subtask, up to date or not");
  sub.add_flag("-q,--quiet", a.quiet, "no progress bar");
  sub.add_flag("--keep-failed", a.keep_failed,
               "keep a subtask model over budget as NAME.rejected.onnx (by default it is not written)");
  sub.add_option("--threads", a.threads,
                 "runner threads for each subtask's samples: evaluation, calib=, correct=, gptq= (the models and "
                 "reports do not depend on it)")
      ->check(CLI::Range(1, 256));
}

}  // namespace build_command

const Command kBuildCommand = {"build", "build every subtask model of a plan (YAML), skipping those that are up to date",
                               with_args(build_command::declare, build_command::build)};

}  // namespace pare::cli
