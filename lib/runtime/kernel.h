// The kernel interface of pare's reference runner.
//
// A Kernel computes one node. It is constructed once, at Session compile time,
// from a KernelInit: that is where attributes are parsed and validated (an
// invalid or unsupported attribute throws pare::Error, so a model fails at
// compile time, never mid-run) and where constant weights may be pre-packed.
// compute() reads inputs and allocates outputs through the KernelContext, so
// buffer management (the arena, lifetimes, peak bytes) lives in one place.
//
// Each op family lives in one file under kernels/ and exports its KernelDefs;
// kernels/registry.cc is the explicit table of all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "lib/runtime/isa.h"

#include "lib/base/error.h"
#include "lib/ir/graph.h"

namespace pare::rt {

using ir::DataType;

// A tensor as a kernel sees it: typed view over bytes it does not own.
struct TensorView {
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  void* data = nullptr;
  // Only for string tensors (which do not live in the arena).
  std::vector<std::string>* strings = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  size_t rank() const { return dims.size(); }
  size_t byte_size() const { return static_cast<size_t>(ir::storage_bytes(dtype, static_cast<uint64_t>(numel()))); }
  template <typename T>
  T* as() const {
    PARE_CHECK(ir::dtype_of<T>() == dtype || (sizeof(T) == ir::size_of(dtype) && sizeof(T) == 2),
               "tensor of {} read as another type", ir::name(dtype));
    return static_cast<T*>(data);
  }
};

class CompiledGraph;  // a subgraph compiled by the session (If/Loop/Scan bodies)
struct Epilogue;      // an activation fused into a kernel's output (epilogue.h)

// Everything a kernel may look at when it is built.
struct KernelInit {
  const ir::Node& node;
  int64_t opset = 0;  // the opset of the node's domain
  // For each input: its tensor when the input is a compile-time constant, else nullptr.
  std::vector<const ir::Tensor*> constant_inputs;
  // Compiles a subgraph of this node (for If, Loop, Scan). Set by the session.
  std::function<std::shared_ptr<CompiledGraph>(const ir::Graph&)> compile_subgraph;
  // An activation the session fused after this node, or nullptr. Only kernels
  // the session knows to apply it get one (Conv; see session.cc, fusable_producer).
  const Epilogue* epilogue = nullptr;
  // The instruction set of the session's hand-written kernels (isa.h); a
  // kernel with AVX2 paths keeps it and picks them only for an Isa with AVX2 (has_avx2).
  Isa isa = Isa::kBaseline;

  // Throws a pare::Error naming the node, op and opset: "node 'x' (Resize, opset 11): <what>".
  [[noreturn]] void reject(const std::string& what) const;
  // Attribute shortcuts.
  int64_t attr_int(std::string_view n, int64_t def) const { return node.attr_int(n, def); }
  float attr_float(std::string_view n, float def) const { return node.attr_float(n, def); }
  std::string attr_string(std::string_view n, std::string def) const { return node.attr_string(n, std::move(def)); }
  std::vector<int64_t> attr_ints(std::string_view n, std::vector<int64_t> def = {}) const {
    return node.attr_ints(n, std::move(def));
  }
  // The constant tensor of input i, or nullptr when that input is computed at run time.
  const ir::Tensor* constant(size_t i) const { return i < constant_inputs.size() ? constant_inputs[i] : nullptr; }
};

// Splits [0, n) into chunks over the session's threads and waits for them.
// Work must be split over outputs, never over a reduction, so results do not
// depend on the thread count.
using ParallelFor = std::function<void(int64_t n, const std::function<void(int64_t begin, int64_t end)>&)>;

class KernelContext {
 public:
  virtual ~KernelContext() = default;
  virtual size_t num_inputs() const = 0;
  // nullptr when the input is absent (omitted optional or past the end).
  virtual const TensorView* input(size_t i) const = 0;
  virtual size_t num_outputs() const = 0;
  // Allocates output i (from the arena) and returns a view to fill.
  virtual TensorView& allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims) = 0;
  // Temporary bytes valid until compute() returns (im2col buffers and the like).
  virtual void* scratch(size_t bytes) = 0;
  virtual int threads() const = 0;
  virtual void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) const = 0;
  // Runs a compiled subgraph; `feeds` are its formal inputs in order (captured
  // outer values are found by the session). Returns owned copies of its outputs.
  virtual std::vector<ir::Tensor> run_subgraph(const CompiledGraph& g, const std::vector<ir::Tensor>& feeds) = 0;
  // The node being computed, for error messages.
  virtual const ir::Node& node() const = 0;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void compute(KernelContext& ctx) = 0;
};

// Shapes seen at run time, given to macs().
struct NodeShapes {
  std::vector<std::vector<int64_t>> inputs;   // empty vector for an absent input
  std::vector<std::vector<int64_t>> outputs;
};

struct KernelDef {
  std::string_view domain;   // "" for the default ONNX domain
  std::string_view op_type;  // exactly as in the ONNX spec
  int since_opset;           // inclusive
  int until_opset;           // inclusive; use kLatestOpset for "still current"
  std::unique_ptr<Kernel> (*create)(const KernelInit&);
  // Multiply-accumulates of one execution (0 for data movement); may be nullptr (= 0).
  int64_t (*macs)(const ir::Node&, const NodeShapes&);
};

inline constexpr int kLatestOpset = 1000;

// The explicit table of every kernel (kernels/registry.cc).
const std::vector<KernelDef>& all_kernels();
// The def that runs `node` at `opset`, or nullptr.
const KernelDef* find_kernel(const ir::Node& node, int64_t opset);

// Helpers shared by kernels.
// Numpy broadcasting of two shapes; throws pare::Error when they do not broadcast.
std::vector<int64_t> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// Reads an integer tensor (int32 or int64) as int64 values: shapes, axes, pads.
std::vector<int64_t> read_ints(const TensorView& t);
// Normalises a possibly negative axis for a tensor of `rank`; throws if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank);
// Runs fn(r0, r1) over blocks of [0, rows) whose boundaries depend on `rows` only,
// spread over the threads. For GEMMs: Eigen picks its blocking (and so its
// summation order) from the block's size, so blocks must not follow the thread
// count, or 1 and 2 threads would give different bits.
void for_row_blocks(const KernelContext& ctx, int64_t rows, const std::function<void(int64_t, int64_t)>& fn);
// "node 'x' (Op)" for messages from compute().
[[noreturn]] void compute_error(const KernelContext& ctx, const std::string& what);

}  // namespace pare::rt
