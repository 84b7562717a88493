#include "tools/pare/run_inputs.h"

#include "formats/tensors/tensors.h"
#include "lib/runtime/inputs.h"
#include "tools/pare/commands.h"

namespace pare::cli {

void add_runner_options(CLI::App& sub, RunnerArgs& a) {
  sub.add_option("model", a.model, "ONNX model file")->required();
  sub.add_option("--inputs", a.inputs, "folder of input_K.pb or NAME.npy files (default: seeded random inputs)");
  sub.add_option("--threads", a.threads, "threads (results do not depend on it)")->check(CLI::Range(1, 256));
  sub.add_option("--dim", a.dims, "size of a symbolic dim for random inputs, NAME=N (repeatable)");
}

std::unique_ptr<rt::Session> open_session(const ir::Model& model, const RunnerArgs& a) {
  try {
    return std::make_unique<rt::Session>(model, rt::SessionOptions{a.threads});
  } catch (Error& e) {
    throw e.with_context(a.model);
  }
}

std::vector<ir::Tensor> run_once(rt::Session& session, const std::map<std::string, ir::Tensor>& feed,
                                 const RunnerArgs& a) {
  try {
    return session.run(feed);
  } catch (Error& e) {
    throw e.with_context(a.model);
  }
}

std::map<std::string, ir::Tensor> inputs_for(const ir::Model& model, const rt::Session& session, const RunnerArgs& a,
                                             uint64_t seed) {
  if (!a.inputs.empty()) {
    formats::Sample s = formats::read_sample_dir(a.inputs, session.input_names());
    for (const auto& name : session.input_names())
      if (!s.count(name)) throw Error(fmt::format("{}: no tensor for input '{}'", a.inputs, name));
    return s;
  }
  auto tensors = rt::random_inputs(model, parse_dims(a.dims), seed);
  std::map<std::string, ir::Tensor> out;
  for (size_t i = 0; i < tensors.size(); ++i) out[session.input_names()[i]] = tensors[i];
  return out;
}

}  // namespace pare::cli
