#include "tools/pare/run_inputs.h"

#include "formats/tensors/tensors.h"
#include "lib/runtime/inputs.h"

namespace pare::cli {

std::map<std::string, ir::Tensor> inputs_for(const ir::Model& model, const rt::Session& session, const std::string& dir,
                                             const std::map<std::string, int64_t>& dims, uint64_t seed) {
  if (!dir.empty()) {
    formats::Sample s = formats::read_sample_dir(dir, session.input_names());
    for (const auto& name : session.input_names())
      if (!s.count(name)) throw Error(fmt::format("{}: no tensor for input '{}'", dir, name));
    return s;
  }
  auto tensors = rt::random_inputs(model, dims, seed);
  std::map<std::string, ir::Tensor> out;
  for (size_t i = 0; i < tensors.size(); ++i) out[session.input_names()[i]] = tensors[i];
  return out;
}

}  // namespace pare::cli
