// pare-run: pare's reference runner alone, as an app would ship it: load an ONNX
// model, run it on a folder of input tensors, write the outputs. No passes, no
// reports, no ONNX checker: only the IR, the runtime and tensor I/O.
//
//   pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N]
// Exit codes as pare's: 0 ok, 2 bad usage or bad input.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/runtime/session.h"
#include "lib/runtime/thread_pool.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    int threads = 1;
    for (size_t i = 0; i < args.size(); ++i)
      if (args[i] == "--threads" && i + 1 < args.size()) {
        // Whole numbers only, bounded as pare's own --threads: "abc", "4x" or
        // 100000 are bad usage, not an exception text or 100,000 threads.
        std::optional<int64_t> n = pare::whole_number(args[i + 1]);
        if (!n || *n < 1 || *n > pare::rt::kMaxThreads) {
          std::fprintf(stderr, "pare-run: error: --threads: '%s' is not a whole number from 1 to %d\n",
                       pare::printable(args[i + 1]).c_str(), pare::rt::kMaxThreads);
          return 2;
        }
        threads = static_cast<int>(*n);
        args.erase(args.begin() + i, args.begin() + i + 2);
        break;
      }
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "--version")) {
      std::printf("pare-run %s: pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N]\n", PARE_VERSION);
      return 0;
    }
    if (args.size() != 3 || threads < 1) {
      std::fprintf(stderr, "pare-run: error: usage: pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N]\n");
      return 2;
    }
    pare::rt::default_run_limits() = pare::rt::limits_from_environment(pare::rt::untrusted_model_limits());
    pare::ir::Model model = pare::formats::onnx::load_model(args[0]);
    pare::rt::Session session(model, pare::rt::SessionOptions{threads});
    auto outputs = session.run(pare::formats::read_sample_dir(args[1], session.input_names()));
    std::filesystem::create_directories(args[2]);
    for (size_t k = 0; k < outputs.size(); ++k)
      pare::formats::write_tensor_pb(args[2] + "/output_" + std::to_string(k) + ".pb", outputs[k],
                                     session.output_names()[k]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pare-run: error: %s\n", pare::printable(e.what()).c_str());
    return 2;
  }
}
