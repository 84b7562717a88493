// pare's entry point: the subcommand table and the one place errors are printed.
// Exit codes: 0 ok, 1 a check failed, 2 bad usage or bad input.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <new>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/runtime/session.h"
#include "tools/pare/commands.h"
#include "tools/pare/habits.h"
#include "tools/setting_flags.h"

namespace {

const std::vector<const pare::cli::Command*>& commands() {
  static const std::vector<const pare::cli::Command*> table = {
      &pare::cli::kInspectCommand,
      &pare::cli::kShrinkCommand,
      &pare::cli::kTuneCommand,
      &pare::cli::kBuildCommand,
      &pare::cli::kCheckCommand,
      &pare::cli::kCompareCommand,
      &pare::cli::kRunCommand,
      &pare::cli::kBenchCommand,
      &pare::cli::kSplitCommand,
      &pare::cli::kExtractCommand,
      &pare::cli::kDedupeCommand,
      &pare::cli::kPassesCommand,
  };
  return table;
}

void print_help() {
  std::printf("pare %s: make ONNX models fit on a phone\n\nusage: pare COMMAND [options]   (pare COMMAND --help)\n\n",
              PARE_VERSION);
  for (const auto* c : commands()) std::printf("  %-10s %s\n", c->name, c->summary);
  std::printf("\nexit codes: 0 ok, 1 a check failed, 2 bad usage or bad input\n");
}

int run(int argc, char** argv) {
  CLI::App app{"pare: make ONNX models fit on a phone", "pare"};
  app.set_version_flag("--version", std::string("pare ") + PARE_VERSION);
  std::function<int()> handler;
  for (const auto* c : commands()) {
    CLI::App* sub = app.add_subcommand(c->name, c->summary);
    auto setup = c->setup;
    auto h = std::make_shared<std::function<int()>>(setup(*sub));
    if (sub->get_footer().empty()) sub->footer(pare::cli::examples(c->name));
    sub->callback([h, &handler] { handler = *h; });
  }
  app.add_subcommand("help", "list the commands")->callback([&handler] {
    handler = [] {
      print_help();
      return 0;
    };
  });
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed to stdout
    // CLI11's own report spans lines; pare's contract is one line and exit code 2.
    std::fprintf(stderr, "pare: error: %s%s (see --help)\n", pare::printable(e.what()).c_str(),
                 pare::cli::did_you_mean(app, argc, argv).c_str());
    return 2;
  }
  if (!handler) {
    print_help();
    return 2;
  }
  return handler();
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write should fail with EFBIG, which
  // AtomicFile reports and cleans up after, instead of the signal killing pare.
  std::signal(SIGXFSZ, SIG_IGN);
  pare::guard_inputs();  // no output of this command may replace one of its inputs
  pare::set_setting_speller(pare::cli::setting_flag);  // library messages name our flags
  try {
    pare::rt::default_run_limits() = pare::rt::limits_from_environment(pare::rt::untrusted_model_limits());
    return run(argc, argv);
  } catch (const pare::CheckFailed& e) {
    std::fprintf(stderr, "pare: check failed: %s\n", e.what());
    return 1;
  } catch (const pare::Error& e) {
    std::fprintf(stderr, "pare: error: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // Creating an output folder where a file is, a read-only disk, a symlink loop.
    std::string path = pare::printable(e.path1().string());
    std::fprintf(stderr, "pare: error: %s: %s\n", path.empty() ? "(file system)" : path.c_str(),
                 e.code().message().c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "pare: error: out of memory (a tensor or --dim too large for this machine?)\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pare: error: internal error: %s\n", pare::printable(e.what()).c_str());
    return 2;
  }
}
