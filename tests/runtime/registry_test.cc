// The op lists of kernels/registry.cc (what the reduced-ops build decides by)
// are exactly the op types each family defines, and the full build's table
// holds every def of every family.
#include <gtest/gtest.h>

#include <set>

#include "lib/runtime/kernels/registry.h"

namespace pare::rt {
namespace {

TEST(Registry, EachFamilyListsExactlyTheOpsItDefines) {
  size_t defs = 0;
  for (const auto& f : kernels::family_ops()) {
    std::set<std::string_view> listed(f.ops.begin(), f.ops.end()), defined;
    auto family = kernels::family_kernels(f.family);
    for (const auto& def : family) defined.insert(def.op_type);
    EXPECT_EQ(listed, defined) << f.family;
    defs += family.size();
  }
  if (kernels::kAllOps) EXPECT_EQ(all_kernels().size(), defs);
  EXPECT_GT(kernels::family_ops().size(), 20u);
}

TEST(Registry, TheFullBuildKeepsEveryOp) {
  if (!kernels::kAllOps) GTEST_SKIP() << "a reduced-ops build (PARE_OPS)";
  EXPECT_TRUE(kernels::op_kept("Conv"));
  EXPECT_TRUE(kernels::op_kept("TfIdfVectorizer"));
  EXPECT_TRUE(kernels::any_kept({"NoSuchOp", "Relu"}));
}

}  // namespace
}  // namespace pare::rt
