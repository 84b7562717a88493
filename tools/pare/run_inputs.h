// What `pare run` and `pare bench` share: the model and input options, opening a
// session with errors that name the model, the inputs to feed it, and timing.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "formats/images/images.h"
#include "jobs/measure.h"
#include "lib/runtime/session.h"

namespace pare::cli {

// --image-size, --mean, --std, --layout, --channels: how image files become inputs.
struct ImageArgs {
  std::string size, mean, std, layout = "NCHW", channels = "rgb";
};
void add_image_options(CLI::App& sub, ImageArgs& a);
// The parsed options (throws pare::Error naming the option on bad text).
formats::ImageOptions image_options(const ImageArgs& a);

struct RunnerArgs {
  std::string model, inputs;
  ImageArgs images;
  int threads = 1;
  std::vector<std::string> dims;
};

// Declares MODEL, --inputs, --threads, --dim and the image options on `sub`.
void add_runner_options(CLI::App& sub, RunnerArgs& a);

// A session for `model`; compile errors name the model file.
std::unique_ptr<rt::Session> open_session(const ir::Model& model, const RunnerArgs& a);

// Runs once; run-time errors name the model file.
std::vector<ir::Tensor> run_once(rt::Session& session, const std::map<std::string, ir::Tensor>& feed,
                                 const RunnerArgs& a);

// Reads a.inputs (a folder of input_K.pb or NAME.npy, or one image file) when given,
// else random_inputs(dims, seed).
std::map<std::string, ir::Tensor> inputs_for(const ir::Model& model, const rt::Session& session, const RunnerArgs& a,
                                             uint64_t seed);

// Timed runs: jobs/measure.h (pare bench, and shrink/compare --latency).
using metrics::Latency;
using jobs::time_runs;

}  // namespace pare::cli
