// The runtime's node signatures (formats/onnx/signatures_table.inc, generated
// by tools/gen-signatures) equal libonnx's for every op the runner has, at
// every opset: the table cannot go stale when a kernel is added or libonnx
// changes.
#include <gtest/gtest.h>

#include <set>

#include "formats/onnx/onnx.h"
#include "formats/onnx/read.h"
#include "lib/runtime/kernel.h"

namespace pare::formats::onnx {
namespace {

std::string describe(const NodeSignature& s) {
  std::string out = fmt::format("in {}..{} out {}..{} attrs", s.min_inputs, s.max_inputs, s.min_outputs, s.max_outputs);
  for (const auto& [n, k] : s.attribute_kinds) out += fmt::format(" {}={}{}", n, k, s.required_attributes.count(n) ? "!" : "");
  out += " formal";
  for (const auto& f : s.formal) out += " " + f.name + (f.required ? "!" : "?");
  out += " operands";
  for (const auto& o : s.operands) out += fmt::format(" {}/{}/[{}]", o.type_param, o.binds, fmt::join(o.allowed, ","));
  return out;
}

TEST(Signatures, TheRuntimeTableIsLibonnxsForEveryKernel) {
  std::set<std::pair<std::string, std::string>> ops;
  for (const auto& def : rt::all_kernels()) ops.emplace(std::string(def.domain), std::string(def.op_type));
  int rows = 0;
  for (const auto& [domain, op] : ops) {
    for (int opset = 1; opset <= 40; ++opset) {
      NodeSignature want, got;
      bool known = onnx_signature(op, domain, opset, want);
      ASSERT_EQ(runtime_signature(op, domain, opset, got), known)
          << op << " at opset " << opset << ": regenerate formats/onnx/signatures_table.inc (tools/gen-signatures)";
      if (known) {
        ASSERT_EQ(describe(got), describe(want)) << op << " at opset " << opset;
        ++rows;
      }
    }
  }
  EXPECT_GT(rows, 1000);
}

TEST(Signatures, OpsWithoutAKernelAreLeftToTheSession) {
  NodeSignature s;
  EXPECT_FALSE(runtime_signature("NoSuchOp", "", 13, s));
  EXPECT_TRUE(runtime_signature("Conv", "", 11, s));
  EXPECT_EQ(s.min_inputs, 2);
  EXPECT_EQ(s.max_inputs, 3);
  EXPECT_EQ(s.attribute_kinds.at("strides"), 7);  // INTS
}

TEST(Signatures, TypeListsSpelledCompactlyComeBackAsWritten) {
  std::vector<std::string> types = {"tensor(float)", "tensor(bfloat16)", "seq(tensor(int64))",
                                    "optional(seq(tensor(uint8)))", "optional(tensor(complex128))"};
  std::string compact = compact_type_list(types);
  EXPECT_EQ(compact, "apSgOSbOo");
  EXPECT_EQ(expand_type_list(compact), types);
  EXPECT_TRUE(expand_type_list("").empty());
  // A type without a letter stops the generator rather than being dropped.
  EXPECT_THROW(compact_type_list({"tensor(float8e4m3fn)"}), Error);
  EXPECT_THROW(expand_type_list("a?"), Error);
}

}  // namespace
}  // namespace pare::formats::onnx
