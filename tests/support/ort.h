// ONNX Runtime (npm onnxruntime-node) as the reference peer in tests, through
// tests/ort/ort_run.js. scripts/setup_ort.sh installs it; make test runs that
// first, so a missing ORT fails the tests that need it instead of skipping them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::testing {

// Runs `model_path` in ORT on `inputs` (in graph-input order); outputs in graph-output order.
// `opt` is ORT's graph optimisation level: "all" (default) or "disabled" (QDQ
// models then run literally, as pare's runner runs them).
std::vector<ir::Tensor> run_ort(const std::string& model_path, const std::vector<ir::Tensor>& inputs, int threads = 1,
                                const std::string& opt = "all");

// How many nodes of each op type the graph that ORT runs after its optimisations
// at level `opt` has (what it fused, e.g. QDQ groups into QLinearConv).
std::map<std::string, int> ort_optimized_ops(const std::string& model_path, const std::string& opt = "extended");

// Runs `model` in pare's runner on `inputs` (in graph-input order, as seeded_inputs
// gives them); outputs in graph-output order.
std::vector<ir::Tensor> run_model(const ir::Model& model, const std::vector<ir::Tensor>& inputs);

// rt::random_inputs (deterministic, seeded), for the tests.
std::vector<ir::Tensor> seeded_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed = 1);

// seeded_inputs for seeds first .. first + count - 1, each keyed by the model's input names.
std::vector<std::map<std::string, ir::Tensor>> seeded_samples(const ir::Model& model,
                                                              const std::map<std::string, int64_t>& dims,
                                                              uint64_t first, int count);

// The symbolic dims to use for each real model of the test set (by file name).
std::map<std::string, int64_t> dims_for(const std::string& model_path);

// Runs a command line; returns its exit code, stdout and stderr. A
// `file_size_limit` >= 0 lowers RLIMIT_FSIZE in the child and ignores SIGXFSZ,
// so its writes past that size fail with EFBIG: a full disk, without root.
struct Command {
  int exit_code;
  std::string out, err;
};
Command run_command(const std::vector<std::string>& argv, int64_t file_size_limit = -1);
// The path of build/pare (PARE_BIN, set by CMake for tests).
std::string pare_bin();
// `pare ARGS...`: build/pare run with these arguments.
Command pare(std::vector<std::string> args);

// Writes DIR/1 .. DIR/count, each a sample folder of `pare run MODEL --seed S
// --save-inputs` (with `extra` arguments such as --dim), as CLI tests feed --data.
// Throws pare::Error with pare's stderr when a run fails.
void save_seeded_samples(const std::string& model, const std::string& dir, int count,
                         const std::vector<std::string>& extra = {});

}  // namespace pare::testing
