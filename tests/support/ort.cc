#include "tests/support/ort.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <unistd.h>

#include <filesystem>

#include <onnx/onnx_pb.h>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"

namespace pare::testing {
namespace fs = std::filesystem;

std::string pare_bin() {
  const char* b = std::getenv("PARE_BIN");
  return b && *b ? b : std::string(PARE_BINARY_DIR) + "/pare";
}

void save_seeded_samples(const std::string& model, const std::string& dir, int count,
                         const std::vector<std::string>& extra) {
  for (int s = 1; s <= count; ++s) {
    std::vector<std::string> argv = {pare_bin(), "run", model, "--seed", std::to_string(s), "--save-inputs",
                                     dir + "/" + std::to_string(s)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Command c = run_command(argv);
    if (c.exit_code != 0) throw Error("pare run " + model + " --seed " + std::to_string(s) + ": " + c.err);
  }
}

Command pare(std::vector<std::string> args) {
  args.insert(args.begin(), pare_bin());
  return run_command(args);
}

Command run_command(const std::vector<std::string>& argv, int64_t file_size_limit) {
  std::string dir = temp_dir();
  std::string out = dir + "/stdout", err = dir + "/stderr";
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit limit {static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(out), read_file(err)};
}

std::vector<ir::Tensor> run_ort(const std::string& model_path, const std::vector<ir::Tensor>& inputs, int threads,
                                const std::string& opt) {
  std::string dir = temp_dir();
  fs::create_directories(dir + "/in");
  for (size_t k = 0; k < inputs.size(); ++k)
    formats::write_tensor_pb(dir + "/in/input_" + std::to_string(k) + ".pb", inputs[k], "");
  Command c = run_command({"node", std::string(PARE_SOURCE_DIR) + "/tests/ort/ort_run.js", model_path, dir + "/in",
                           dir + "/out", "--threads", std::to_string(threads), "--opt", opt});
  if (c.exit_code != 0) throw Error("ONNX Runtime failed on " + model_path + ": " + c.err);
  std::vector<ir::Tensor> outputs;
  for (size_t k = 0;; ++k) {
    std::string p = dir + "/out/output_" + std::to_string(k) + ".pb";
    if (!fs::exists(p)) break;
    outputs.push_back(formats::read_tensor_pb(p).tensor);
  }
  return outputs;
}

std::map<std::string, int> ort_optimized_ops(const std::string& model_path, const std::string& opt) {
  std::string out = temp_dir() + "/optimized.onnx";
  Command c = run_command({"node", std::string(PARE_SOURCE_DIR) + "/tests/ort/ort_optimize.js", model_path, out,
                           "--opt", opt});
  if (c.exit_code != 0) throw Error("ONNX Runtime failed on " + model_path + ": " + c.err);
  ::onnx::ModelProto m;
  std::string bytes = read_file(out);
  if (!m.ParseFromString(bytes)) throw Error(out + ": not a model");
  std::map<std::string, int> ops;
  for (const auto& n : m.graph().node()) ++ops[n.op_type()];
  return ops;
}

std::vector<ir::Tensor> run_model(const ir::Model& model, const std::vector<ir::Tensor>& inputs) {
  rt::Session s(model);
  std::map<std::string, ir::Tensor> feed;
  for (size_t i = 0; i < inputs.size(); ++i) feed[s.input_names()[i]] = inputs[i];
  return s.run(feed);
}

std::vector<ir::Tensor> seeded_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed) {
  return rt::random_inputs(model, dims, seed);
}

std::vector<std::map<std::string, ir::Tensor>> seeded_samples(const ir::Model& model,
                                                              const std::map<std::string, int64_t>& dims,
                                                              uint64_t first, int count) {
  std::vector<std::string> names = rt::input_names(model);
  std::vector<std::map<std::string, ir::Tensor>> out;
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(count); ++seed) {
    auto t = seeded_inputs(model, dims, seed);
    std::map<std::string, ir::Tensor> s;
    for (size_t k = 0; k < t.size() && k < names.size(); ++k) s[names[k]] = t[k];
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, int64_t> dims_for(const std::string& model_path) {
  std::string name = fs::path(model_path).filename().string();
  if (name == "ch_ppocr_mobile_v2.0_cls_infer.onnx")
    return {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48}, {"p2o.DynamicDimension.2", 192}};
  if (name == "ch_PP-OCRv4_rec_infer.onnx")  // one text line, 48 high, 320 wide
    return {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 320}};
  if (name == "ch_PP-OCRv4_det_infer.onnx")  // the detector needs sides that are multiples of 32
    return {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 320}, {"p2o.DynamicDimension.2", 320}};
  if (name == "ch_PP-OCRv4_rec_infer.onnx")  // a text line: height 48, width 320
    return {{"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 320}};
  return {};
}

}  // namespace pare::testing
