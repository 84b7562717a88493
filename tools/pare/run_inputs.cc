#include "tools/pare/run_inputs.h"

#include <algorithm>
#include <chrono>

#include "formats/tensors/tensors.h"
#include "lib/runtime/inputs.h"
#include "tools/pare/commands.h"

namespace pare::cli {

void add_image_options(CLI::App& sub, ImageArgs& a) {
  sub.add_option("--image-size", a.size, "image samples: resize to WxH (e.g. 224x224)");
  sub.add_option("--mean", a.mean, "image samples: per-channel mean after /255, e.g. 0.485,0.456,0.406 (default 0)");
  sub.add_option("--std", a.std, "image samples: per-channel std after /255, e.g. 0.229,0.224,0.225 (default 1)");
  sub.add_option("--layout", a.layout, "image samples: NCHW or NHWC")->check(CLI::IsMember({"NCHW", "NHWC"}));
  sub.add_option("--channels", a.channels, "image samples: rgb or bgr")->check(CLI::IsMember({"rgb", "bgr"}));
}

formats::ImageOptions image_options(const ImageArgs& a) {
  formats::ImageOptions o;
  if (!a.size.empty()) formats::parse_image_size("--image-size", a.size, o);
  if (!a.mean.empty()) o.mean = formats::parse_float_list("--mean", a.mean);
  if (!a.std.empty()) o.std = formats::parse_float_list("--std", a.std);
  o.nhwc = a.layout == "NHWC";
  o.bgr = a.channels == "bgr";
  return o;
}

void add_runner_options(CLI::App& sub, RunnerArgs& a) {
  sub.add_option("model", a.model, "ONNX model file")->required();
  sub.add_option("--inputs", a.inputs,
                 "folder of input_K.pb or NAME.npy files, or one PNG/JPEG image (default: seeded random inputs)");
  add_image_options(sub, a.images);
  sub.add_option("--threads", a.threads, "threads (results do not depend on it)")->check(CLI::Range(1, 256));
  add_dim_options(sub, a.dims, "size of a symbolic dim for random inputs, NAME=N (repeatable)");
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
  if (!a.inputs.empty() && formats::is_image_file(a.inputs)) {
    if (session.input_names().size() != 1)
      throw Error(fmt::format("{}: an image feeds a model with one input; this one has {}", a.inputs,
                              session.input_names().size()));
    return {{session.input_names()[0], formats::read_image(a.inputs, image_options(a.images))}};
  }
  if (!a.inputs.empty()) {
    formats::Sample s = formats::read_sample_dir(a.inputs, session.input_names());
    for (const auto& name : session.input_names())
      if (!s.count(name)) throw Error(fmt::format("{}: no tensor for input '{}'", a.inputs, name));
    return s;
  }
  try {
    return rt::random_feed(model, parse_dims(a.dims), seed);
  } catch (Error& e) {  // an input without a size for a dim: the model's, so name it
    e.with_context(a.model);
    throw;
  }
}

}  // namespace pare::cli
