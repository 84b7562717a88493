// The pass registry: names are kebab-case and unique, every pass has a summary,
// no bare word could mean two options, and every pass has its own test file.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "passes/pass.h"

namespace pare::passes {
namespace {

TEST(Registry, NamesAreKebabCaseUniqueAndSorted) {
  std::set<std::string> seen;
  std::string previous;
  std::regex kebab("[a-z][a-z0-9-]*");
  for (const PassInfo* p : all_passes()) {
    EXPECT_TRUE(std::regex_match(p->name, kebab)) << p->name;
    EXPECT_TRUE(seen.insert(p->name).second) << "duplicate " << p->name;
    EXPECT_LT(previous, p->name) << "registry.cc is not alphabetical";
    previous = p->name;
    EXPECT_FALSE(p->summary.empty()) << p->name;
    EXPECT_EQ(find_pass(p->name), p);
    for (const auto& o : p->options) {
      EXPECT_TRUE(std::regex_match(o.name, kebab)) << p->name << "." << o.name;
      EXPECT_FALSE(o.help.empty()) << p->name << "." << o.name;
    }
  }
  EXPECT_EQ(find_pass("no-such-pass"), nullptr);
}

TEST(Registry, NoAmbiguousBareWords) {
  for (const PassInfo* p : all_passes()) {
    std::map<std::string, int> meanings;
    for (const auto& o : p->options) {
      if (o.type == OptionType::kBool) {
        ++meanings[o.name];
        ++meanings["no-" + o.name];
      }
      if (o.type == OptionType::kChoice)
        for (const auto& c : o.choices) ++meanings[c];
    }
    for (const auto& [word, n] : meanings) EXPECT_EQ(n, 1) << p->name << ": '" << word << "' is ambiguous";
  }
}

TEST(Registry, EveryPassHasATestFile) {
  for (const PassInfo* p : all_passes()) {
    std::string file = p->name;
    for (auto& c : file)
      if (c == '-') c = '_';
    EXPECT_TRUE(std::filesystem::exists(std::string(PARE_SOURCE_DIR) + "/tests/passes/" + file + "_test.cc")) << p->name;
  }
}

}  // namespace
}  // namespace pare::passes
