// The floors of the tree (docs/design.md): each includes only floors below it,
// the application layer has no CLI, and the top floors stay readable in size.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// The source files under `folder` of the tree.
std::vector<fs::path> sources(const std::string& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(PARE_SOURCE_DIR) / folder)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".cc" || ext == ".h")) out.push_back(e.path());
  }
  return out;
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The files under `folder` with an include line that starts with one of `banned`.
std::vector<std::string> including(const std::string& folder, const std::vector<std::string>& banned) {
  std::vector<std::string> out;
  for (const auto& p : sources(folder))
    for (const auto& line : lines_of(p))
      for (const auto& b : banned)
        if (line.rfind("#include " + b, 0) == 0) out.push_back(p.string() + ": " + line);
  return out;
}

TEST(Floors, LowerFloorsIncludeNothingAbove) {
  EXPECT_EQ(including("lib", {"\"formats/", "\"tools/", "\"jobs/", "\"passes/"}), std::vector<std::string>{});
  EXPECT_EQ(including("passes", {"\"formats/", "\"tools/", "\"jobs/"}), std::vector<std::string>{});
  EXPECT_EQ(including("formats", {"\"tools/", "\"jobs/"}), std::vector<std::string>{});
  EXPECT_EQ(including("jobs", {"\"tools/", "<CLI/"}), std::vector<std::string>{});
}

TEST(Floors, TopFloorFilesStaySmall) {
  std::vector<std::string> long_files;
  for (const std::string folder : {"tools", "formats"})
    for (const auto& p : sources(folder)) {
      size_t n = lines_of(p).size();
      bool command = p.filename().string().rfind("cmd_", 0) == 0;
      if (n > 450 || (command && n > 200)) long_files.push_back(p.string() + ": " + std::to_string(n) + " lines");
    }
  EXPECT_EQ(long_files, std::vector<std::string>{});
}

}  // namespace
