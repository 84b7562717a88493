// The files CI systems read from this repository: action.yml (a composite
// GitHub Action), .pre-commit-hooks.yaml and the YAML examples of docs/ci.md
// parse, and say what their consumers require.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>

#include "lib/base/atomic_file.h"

namespace pare {
namespace {

const std::string kSource = PARE_SOURCE_DIR;

TEST(CiFiles, ActionIsACompositeActionWhoseStepsUseDeclaredInputs) {
  std::string text = read_file(kSource + "/action.yml");
  YAML::Node action = YAML::Load(text);
  EXPECT_FALSE(action["name"].as<std::string>().empty());
  EXPECT_FALSE(action["description"].as<std::string>().empty());
  ASSERT_EQ(action["runs"]["using"].as<std::string>(), "composite");
  ASSERT_TRUE(action["runs"]["steps"].IsSequence());
  for (const auto& step : action["runs"]["steps"]) {
    EXPECT_TRUE(step["shell"]) << "composite run steps need a shell";
    EXPECT_TRUE(step["run"]);
  }
  std::set<std::string> declared;
  for (const auto& input : action["inputs"]) declared.insert(input.first.as<std::string>());
  std::regex use(R"(inputs\.([a-z-]+))");
  int uses = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), use), end; it != end; ++it, ++uses)
    EXPECT_TRUE(declared.count((*it)[1])) << (*it)[1] << " is used but not declared";
  EXPECT_GE(uses, 4);
  // Inputs reach the shell through env, never pasted into the script (no injection).
  for (const auto& step : action["runs"]["steps"])
    EXPECT_EQ(step["run"].as<std::string>().find("${{"), std::string::npos) << step["run"].as<std::string>();
  EXPECT_NE(text.find("pare check"), std::string::npos);
}

TEST(CiFiles, PreCommitHooksDeclareWhatPreCommitNeeds) {
  YAML::Node hooks = YAML::LoadFile(kSource + "/.pre-commit-hooks.yaml");
  ASSERT_TRUE(hooks.IsSequence());
  ASSERT_GE(hooks.size(), 1u);
  for (const auto& h : hooks) {
    for (const char* key : {"id", "name", "entry", "language"}) EXPECT_TRUE(h[key]) << key;
    EXPECT_EQ(h["entry"].as<std::string>().rfind("pare ", 0), 0u);
    EXPECT_TRUE(std::regex_search(std::string("models/a.onnx"), std::regex(h["files"].as<std::string>())));
  }
}

TEST(CiFiles, TheExamplesOfDocsCiParse) {
  std::string doc = read_file(kSource + "/docs/ci.md");
  int blocks = 0;
  for (size_t at = doc.find("```yaml\n"); at != std::string::npos; at = doc.find("```yaml\n", at)) {
    at += 8;
    std::string block = doc.substr(at, doc.find("```", at) - at);
    EXPECT_NO_THROW(YAML::Load(block)) << block;
    ++blocks;
  }
  EXPECT_GE(blocks, 3);  // a budget file, a GitHub workflow, a GitLab job
  EXPECT_NE(doc.find("jobs:"), std::string::npos);
  EXPECT_NE(doc.find("junit: pare.xml"), std::string::npos);
}

}  // namespace
}  // namespace pare
