// pare-run's commands; main() dispatches and prints errors that reach it.
#pragma once

#include <string>
#include <vector>

namespace pare::run_tool {

// pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N] [--expect DIR [--rtol R] [--atol A]];
// returns the exit code.
int run_main(std::vector<std::string> args);

// pare-run batch ...: arguments after "batch"; returns the exit code. Errors of
// the job itself propagate to main() as pare::Error.
int batch_main(const std::vector<std::string>& args);

}  // namespace pare::run_tool
