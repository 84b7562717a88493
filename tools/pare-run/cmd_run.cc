// pare-run MODEL INPUT_DIR OUTPUT_DIR: one model on one sample folder, through
// the C API an app would use (include/pare/pare.h), so the runner pare measures
// with and the one apps link are the same code path. With --expect DIR it
// compares the outputs with DIR/output_K.pb as `pare run --expect` does, which
// is how make test-arm64 checks an aarch64 build against the host's outputs.
// Two more criteria serve real models, whose outputs two CPUs round apart
// (docs/design.md decision 12, the rules tests/models/runner_vs_ort_test.cc
// holds pare to against ONNX Runtime): --range-atol scales the absolute
// tolerance to each output's range, and --min-sqnr DB bounds each output's
// noise as a whole, for models like M-LSD whose outputs amplify rounding.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "formats/tensors/tensors.h"
#include "include/pare/pare.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/runtime/thread_pool.h"
#include "tools/pare-run/commands.h"
#include "tools/pare-run/expect.h"

namespace pare::run_tool {
namespace {

const char* const kUsage =
    "usage: pare-run MODEL INPUT_DIR OUTPUT_DIR [--threads N] [--expect DIR [--rtol R] [--atol A] [--range-atol] "
    "[--min-sqnr DB]]";

// Owns a C API session; throws pare::Error with the API's last error.
class CSession {
 public:
  CSession(const std::string& path, int threads) {
    pare_options o;
    pare_options_init(&o);
    o.threads = threads;
    s_ = pare_session_create(path.c_str(), &o);
    if (!s_) throw Error(pare_last_error());
  }
  ~CSession() { pare_session_destroy(s_); }
  CSession(const CSession&) = delete;
  CSession& operator=(const CSession&) = delete;

  void check(int status) const {
    if (status != PARE_OK) throw Error(pare_last_error());
  }
  std::vector<std::string> names(bool inputs) const {
    std::vector<std::string> out;
    size_t n = inputs ? pare_session_input_count(s_) : pare_session_output_count(s_);
    for (size_t i = 0; i < n; ++i) {
      pare_tensor_info info;
      check(inputs ? pare_session_input_info(s_, i, &info) : pare_session_output_info(s_, i, &info));
      out.push_back(info.name);
    }
    return out;
  }
  pare_session* get() const { return s_; }

 private:
  pare_session* s_ = nullptr;
};

// Removes a flag without a value from args; whether it was there.
bool take_flag(std::vector<std::string>& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end()) return false;
  args.erase(it);
  return true;
}

// Removes "--flag VALUE" from args; nullopt when absent. A flag without a value is bad usage.
std::optional<std::string> take_option(std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != flag) continue;
    if (i + 1 >= args.size()) throw Error(flag + ": needs a value");
    std::string v = args[i + 1];
    args.erase(args.begin() + i, args.begin() + i + 2);
    return v;
  }
  return std::nullopt;
}

double tolerance(const std::optional<std::string>& text, const char* flag, double def) {
  if (!text) return def;
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  if (text->empty() || *end || !std::isfinite(v) || v < 0)
    throw Error(fmt::format("{}: '{}' is not a non-negative number", flag, *text));
  return v;
}

}  // namespace

int run_main(std::vector<std::string> args) {
  int threads = 1;
  if (std::optional<std::string> text = take_option(args, "--threads")) {
    // Whole numbers only, bounded as pare's own --threads: "abc", "4x" or
    // 100000 are bad usage, not an exception text or 100,000 threads.
    std::optional<int64_t> n = whole_number(*text);
    if (!n || *n < 1 || *n > rt::kMaxThreads) {
      std::fprintf(stderr, "pare-run: error: --threads: '%s' is not a whole number from 1 to %d\n",
                   printable(*text).c_str(), rt::kMaxThreads);
      return 2;
    }
    threads = static_cast<int>(*n);
  }
  std::optional<std::string> expect = take_option(args, "--expect");
  Criterion criterion;
  criterion.rtol = tolerance(take_option(args, "--rtol"), "--rtol", criterion.rtol);
  criterion.atol = tolerance(take_option(args, "--atol"), "--atol", criterion.atol);
  criterion.range_atol = take_flag(args, "--range-atol");
  if (std::optional<std::string> db = take_option(args, "--min-sqnr"))
    criterion.min_sqnr = tolerance(db, "--min-sqnr", 0);
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "--version")) {
    std::printf("pare-run %s: %s\n       pare-run batch MODEL... --inputs DIR -o OUT [options]  (batch --help)\n",
                pare_version(), kUsage + 7);
    return 0;
  }
  if (args.size() != 3) {
    std::fprintf(stderr, "pare-run: error: %s\n", kUsage);
    return 2;
  }
  CSession session(args[0], threads);
  std::vector<std::string> in_names = session.names(true), out_names = session.names(false);
  formats::Sample sample = formats::read_sample_dir(args[1], in_names);
  for (size_t i = 0; i < in_names.size(); ++i) {
    const ir::Tensor& t = sample.at(in_names[i]);
    session.check(pare_session_set_input(session.get(), i, static_cast<pare_dtype>(t.dtype()), t.dims().data(),
                                         t.rank(), t.raw(), t.byte_size()));
  }
  session.check(pare_session_run(session.get()));
  std::filesystem::create_directories(args[2]);
  std::vector<std::string> failures;
  for (size_t k = 0; k < out_names.size(); ++k) {
    pare_tensor_info info;
    const void* data = nullptr;
    size_t bytes = 0;
    session.check(pare_session_output(session.get(), k, &info, &data, &bytes));
    const auto* p = static_cast<const uint8_t*>(data);
    ir::Tensor t(static_cast<ir::DataType>(info.dtype), std::vector<int64_t>(info.dims, info.dims + info.rank),
                 std::vector<uint8_t>(p, p + bytes));
    formats::write_tensor_pb(args[2] + "/output_" + std::to_string(k) + ".pb", t, out_names[k]);
    if (expect) {
      std::string want = *expect + "/output_" + std::to_string(k) + ".pb";
      std::string m = mismatch(out_names[k], t, formats::read_tensor_pb(want).tensor, criterion);
      if (!m.empty()) failures.push_back(m);
    }
  }
  if (failures.empty()) return 0;
  std::fprintf(stderr, "pare-run: check failed: %s: %s\n", printable(args[0]).c_str(),
               printable(join(failures, "; ")).c_str());
  return 1;
}

}  // namespace pare::run_tool
