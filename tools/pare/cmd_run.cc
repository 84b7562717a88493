// pare run MODEL [--inputs DIR] [--outputs DIR] [--npy] [--expect DIR] ...:
// the reference runner from the command line. With --expect it is a test
// assertion: exit 1 and the worst element when an output is off.
#include <cmath>
#include <filesystem>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "tools/pare/commands.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace run_command {

struct Args : RunnerArgs {
  std::string outputs, expect, save_inputs;
  bool npy = false;
  double rtol = 1e-4, atol = 1e-5;
  uint64_t seed = 1;
};

// A file-name-safe version of a tensor name ("a/b:0" -> "a_b_0").
std::string file_stem(const std::string& name) {
  std::string s = name;
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

// "" when within tolerance, else a description of the worst element.
std::string compare(const std::string& name, const ir::Tensor& got, const ir::Tensor& want, double rtol, double atol) {
  if (got.dims() != want.dims())
    return fmt::format("{}: shape [{}] != expected [{}]", name, fmt::join(got.dims(), ","), fmt::join(want.dims(), ","));
  auto g = got.as_double(), e = want.as_double();
  double worst = 0;
  int64_t at = -1;
  for (size_t i = 0; i < g.size(); ++i) {
    double excess = std::fabs(g[i] - e[i]) - (atol + rtol * std::fabs(e[i]));
    if (excess > worst || std::isnan(g[i]) != std::isnan(e[i])) worst = std::max(excess, worst), at = static_cast<int64_t>(i);
  }
  if (at < 0) return "";
  return fmt::format("{}: element {} is {} but {} was expected (tolerance rtol {} atol {})", name, at, g[at], e[at], rtol, atol);
}

int run(const Args& a) {
  // Outputs written into the folder of expected outputs would replace what they
  // are checked against (and the check would pass).
  if (!a.outputs.empty() && !a.expect.empty() && same_file(a.outputs, a.expect))
    fail("{}: --outputs and --expect name the same folder; write the outputs elsewhere", a.outputs);
  ir::Model model = formats::onnx::load_model(a.model);
  auto compiled = open_session(model, a);
  rt::Session& session = *compiled;
  auto feed = inputs_for(model, session, a, a.seed);
  if (!a.save_inputs.empty()) {  // the exact inputs, for another engine or a later --inputs
    std::filesystem::create_directories(a.save_inputs);
    for (size_t k = 0; k < session.input_names().size(); ++k)
      formats::write_tensor_pb(fmt::format("{}/input_{}.pb", a.save_inputs, k), feed.at(session.input_names()[k]),
                               session.input_names()[k]);
  }
  std::vector<ir::Tensor> outputs = run_once(session, feed, a);
  if (!a.outputs.empty()) {
    if (a.npy) {  // two output names that make one file name would lose an output
      std::map<std::string, std::string> by_file;
      for (const auto& name : session.output_names()) {
        auto [it, fresh] = by_file.emplace(file_stem(name), name);
        if (!fresh)
          fail("{}: outputs '{}' and '{}' would both be written as {}.npy; use the .pb files", a.outputs, it->second,
               name, it->first);
      }
    }
    std::filesystem::create_directories(a.outputs);
    for (size_t k = 0; k < outputs.size(); ++k) {
      formats::write_tensor_pb(fmt::format("{}/output_{}.pb", a.outputs, k), outputs[k], session.output_names()[k]);
      if (a.npy) formats::write_npy(fmt::format("{}/{}.npy", a.outputs, file_stem(session.output_names()[k])), outputs[k]);
    }
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    auto v = outputs[k].as_double();
    double lo = v.empty() ? 0 : v[0], hi = lo, sum = 0;
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x), sum += x;
    fmt::print("{} {} [{}] min {:.6g} max {:.6g} mean {:.6g}\n", session.output_names()[k], ir::name(outputs[k].dtype()),
               fmt::join(outputs[k].dims(), ","), lo, hi, v.empty() ? 0.0 : sum / v.size());
  }
  if (a.expect.empty()) return 0;
  std::vector<std::string> failures;
  for (size_t k = 0; k < outputs.size(); ++k) {
    std::string p = fmt::format("{}/output_{}.pb", a.expect, k);
    if (!std::filesystem::exists(p)) throw Error(p + ": no such file (one expected output per model output)");
    std::string f = compare(session.output_names()[k], outputs[k], formats::read_tensor_pb(p).tensor, a.rtol, a.atol);
    if (!f.empty()) failures.push_back(f);
  }
  if (!failures.empty()) throw CheckFailed(a.model + ": " + join(failures, "; "));
  fmt::print("all {} outputs match {}\n", outputs.size(), a.expect);
  return 0;
}

// The options of pare run.
void declare(CLI::App& sub, Args& a) {
  add_runner_options(sub, a);
  sub.add_option("--outputs", a.outputs, "write output_K.pb files here");
  sub.add_flag("--npy", a.npy, "also write NAME.npy for each output");
  sub.add_option("--expect", a.expect, "compare with output_K.pb files here; exit 1 on a mismatch");
  sub.add_option("--rtol", a.rtol, "relative tolerance for --expect")->check(finite_non_negative());
  sub.add_option("--atol", a.atol, "absolute tolerance for --expect")->check(finite_non_negative());
  sub.add_option("--seed", a.seed, "seed of the random inputs");
  sub.add_option("--save-inputs", a.save_inputs, "write the inputs used as input_K.pb files here");
}

}  // namespace run_command

const Command kRunCommand = {"run", "run a model with pare's reference runner", with_args(run_command::declare, run_command::run)};

}  // namespace pare::cli
