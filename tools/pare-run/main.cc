// pare-run: pare's runner alone, as an app would ship it: load an ONNX model,
// run it on input tensors, write the outputs. No passes, no reports, no ONNX
// checker: only the loader, the runtime (through its C API) and tensor I/O.
//
//   pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N] [--expect DIR]   (cmd_run.cc)
//   pare-run batch MODEL... --inputs DIR -o OUT [...]          (cmd_batch.cc)
// Exit codes as pare's: 0 ok, 1 --expect found a mismatch, 2 bad usage or bad input.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "lib/base/error.h"
#include "lib/runtime/session.h"
#include "tools/pare-run/commands.h"
#include "tools/setting_flags.h"

int main(int argc, char** argv) {
  pare::set_setting_speller(pare::cli::setting_flag);  // library messages name our flags
  try {
    // A model nobody vetted runs within bounds (docs/security.md); the environment may raise them.
    pare::rt::default_run_limits() = pare::rt::limits_from_environment(pare::rt::untrusted_model_limits());
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "batch") return pare::run_tool::batch_main({args.begin() + 1, args.end()});
    return pare::run_tool::run_main(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pare-run: error: %s\n", pare::printable(e.what()).c_str());
    return 2;
  }
}
