// pare's reference runner: compile a model once, run it many times.
//
// Compile: every node gets its kernel (an op without one, or with an attribute
// the kernel rejects, fails here with one line naming node, op and opset); nodes
// whose inputs are all constant are computed once (constant pre-evaluation:
// shape arithmetic, DequantizeLinear of int8 weights, Cast of fp16 weights); and
// each value's last use is found so its buffer returns to the arena right after.
// Run: shapes are computed as the kernels go, so symbolic dims and computed
// shapes work; peak arena bytes and the shapes seen are recorded.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt {

class Arena;
// Bounds on the work of one run (compile-time constant pre-evaluation
// included), so that a model nobody vetted (a Loop with a trip count of 2^62, a
// shape constant that asks for a terabyte) ends with one clear error instead of
// hanging or exhausting the machine. 0 means no bound. The library's default is
// no bound; pare and pare-run set default_run_limits() from the environment
// (limits_from_environment), see docs/security.md.
struct RunLimits {
  int64_t max_steps = 0;    // kernel calls, counting each Loop iteration and subgraph run as one more
  int64_t max_bytes = 0;    // arena bytes in use at once (tensors and scratch)
  double max_seconds = 0;   // wall-clock time of one run
  std::string how_to_raise; // appended to the message, e.g. "set PARE_MAX_STEPS=N"; empty: nothing
};

// pare's and pare-run's defaults: 10 million steps, 8 GiB, 15 minutes per run,
// with how to raise them (the environment variables below).
RunLimits untrusted_model_limits();

// The limits a SessionOptions starts with; a process sets them once at start.
RunLimits& default_run_limits();

// The limits named by PARE_MAX_STEPS, PARE_MAX_MEMORY (bytes, with size
// suffixes: 8GiB) and PARE_MAX_SECONDS, each defaulting to `defaults`' value
// when unset; "0" removes that bound. Throws pare::Error on a malformed value.
RunLimits limits_from_environment(const RunLimits& defaults);

struct SessionOptions {
  // SessionOptions{2} reads as "two threads", SessionOptions{1, false} as "one thread, no fusion".
  SessionOptions(int threads_ = 1, bool fuse_ = true) : threads(threads_), fuse(fuse_) {}  // NOLINT
  int threads = 1;
  // Buffers for run-time values. Sessions that run one after another (several
  // models over the same inputs) may share one, so memory freed by one model
  // serves the next; a session never shares it with a concurrent run.
  std::shared_ptr<Arena> arena;
  // Fuse activations into the kernel that feeds them (Conv + Relu, Clip,
  // HardSigmoid, HardSwish, LeakyRelu, Sigmoid). Off gives one kernel per node.
  bool fuse = true;
  // With fuse: run each QDQ group of an int8 model (DequantizeLinear -> Conv ->
  // [Relu/Clip] -> QuantizeLinear, qdq_groups.h) as one integer kernel. Off (or
  // fuse off) computes the groups in float on the dequantized values: the oracle
  // the integer kernels are tested against.
  bool integer = true;
  RunLimits limits = default_run_limits();
  // The instruction set of the hand-written kernels (isa.h). Empty: default_isa(),
  // the CPU's best unless PARE_CPU says baseline or avx2. kBaseline runs the
  // portable kernels on any CPU (the tests compare the levels); a level the CPU
  // lacks falls back to the highest it has.
  std::optional<Isa> isa;
};

struct RunStats {
  int64_t peak_bytes = 0;                // most arena bytes in use at once during the last run
  std::vector<const ir::Node*> nodes;    // the nodes run, in order (constant-folded ones excluded)
  std::vector<NodeShapes> shapes;        // their input and output shapes in the last run
  int64_t macs = 0;                      // sum of KernelDef::macs over the last run
  int64_t kernels_run = 0;               // kernels that ran: a Conv and the nodes fused into it are one
  // With Session::set_timing(true): one entry per kernel of the main graph, in
  // run order (a subgraph's kernels count in their Loop/If/Scan node's time).
  struct KernelTime {
    const ir::Node* node;                // the kernel's own node
    std::vector<const ir::Node*> fused;  // the nodes fused into it
    std::vector<int64_t> output_dims;    // its first output's shape
    double ms;
  };
  std::vector<KernelTime> kernel_times;
};

class Session {
 public:
  explicit Session(const ir::Model& model, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Graph inputs that are not constants, in order; and graph outputs.
  const std::vector<std::string>& input_names() const { return input_names_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  const std::vector<const ir::Value*>& inputs() const { return inputs_; }

  // Outputs in graph-output order. A missing input, or one whose dtype, rank or a
  // known dim differs from the model's declaration, is a pare::Error.
  std::vector<ir::Tensor> run(const std::map<std::string, ir::Tensor>& inputs);
  // Also returns the named intermediate values of the main graph. With
  // `only_named`, returns only them and runs only the steps they need (a
  // value early in the graph costs only the steps before it).
  std::map<std::string, ir::Tensor> run_capture(const std::map<std::string, ir::Tensor>& inputs,
                                                const std::vector<std::string>& names, bool only_named = false);
  const RunStats& last_stats() const { return stats_; }
  // Time each kernel of the following runs (RunStats::kernel_times): two clock
  // reads per kernel, so it stays off unless a profile is asked for.
  void set_timing(bool on);
  int threads() const;
  Isa isa() const;  // what the kernels run (SessionOptions::isa, limited to the CPU)

  struct Impl;  // the compiled graphs, arena and thread pool (session.cc)

 private:
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<const ir::Value*> inputs_;
  RunStats stats_;
};

// One line per node the runner cannot execute ("node 'x' (Op, opset N): why"),
// subgraphs included; empty when the whole model is supported.
std::vector<std::string> unsupported_nodes(const ir::Model& model);

}  // namespace pare::rt
