#include "lib/runtime/kernel.h"

#include "lib/runtime/kernels/families.h"

namespace pare::rt {

void KernelInit::reject(const std::string& what) const {
  throw Error(fmt::format("node {} ({}, opset {}): {}", node.name.empty() ? "(unnamed)" : "'" + node.name + "'",
                          node.op_type, opset, what));
}

void compute_error(const KernelContext& ctx, const std::string& what) {
  const ir::Node& n = ctx.node();
  throw Error(fmt::format("node {} ({}): {}", n.name.empty() ? "(unnamed)" : "'" + n.name + "'", n.op_type, what));
}

std::unique_ptr<Kernel> create_kernel(const KernelDef& def, const KernelInit& init) {
  if (def.op_type != "Cast" && def.op_type != "DequantizeLinear")
    for (const ir::Tensor* t : init.constant_inputs)
      if (t && ir::is_4bit(t->dtype())) init.reject(fmt::format("{} inputs are only read by Cast and DequantizeLinear", ir::name(t->dtype())));
  return def.create(init);
}

const KernelDef* find_kernel(const ir::Node& node, int64_t opset) {
  std::string_view domain = node.domain == "ai.onnx" ? "" : std::string_view(node.domain);
  for (const auto& def : all_kernels())
    if (def.domain == domain && def.op_type == node.op_type && opset >= def.since_opset && opset <= def.until_opset)
      return &def;
  return nullptr;
}

std::vector<int64_t> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      fail("shapes [{}] and [{}] do not broadcast", fmt::join(a, ","), fmt::join(b, ","));
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::vector<int64_t> read_ints(const TensorView& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  if (t.dtype == DataType::kInt64) {
    std::copy(t.as<int64_t>(), t.as<int64_t>() + out.size(), out.begin());
  } else if (t.dtype == DataType::kInt32) {
    std::copy(t.as<int32_t>(), t.as<int32_t>() + out.size(), out.begin());
  } else {
    fail("expected an int32 or int64 tensor, got {}", ir::name(t.dtype));
  }
  return out;
}

void for_row_blocks(const KernelContext& ctx, int64_t rows, const std::function<void(int64_t, int64_t)>& fn) {
  if (rows <= 0) return;
  // At most 4 blocks of at least 2048 rows: enough to share a big GEMM among the
  // threads of a phone; small GEMMs stay whole, since each block re-packs the
  // other operand and single-threaded runs would pay for the split.
  int64_t block = std::max<int64_t>(2048, (rows + 3) / 4);
  int64_t blocks = (rows + block - 1) / block;
  ctx.parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b * block, std::min(rows, (b + 1) * block));
  });
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

}  // namespace pare::rt
