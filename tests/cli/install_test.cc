// make install / cmake --install: the binaries, the C library and its header,
// and a C program built against the installed package (pkg-config and CMake).
#include <gtest/gtest.h>

#include <filesystem>

#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/sanitized.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

// The C example of docs/runtime.md.
std::string docs_example() {
  std::string doc = read_file(std::string(PARE_SOURCE_DIR) + "/docs/runtime.md");
  size_t begin = doc.find("```c\n") + 5;
  return doc.substr(begin, doc.find("```", begin) - begin);
}

class Install : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new std::string(testing::temp_dir() + "/prefix");
    auto c = testing::run_command({"cmake", "--install", PARE_BINARY_DIR, "--prefix", *prefix_});
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  static std::string* prefix_;
};
std::string* Install::prefix_ = nullptr;

using testing::kFace;

TEST_F(Install, PutsBinariesLibrariesAndHeaderInPlace) {
  auto v = testing::run_command({*prefix_ + "/bin/pare", "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("pare ", 0), 0u) << v.out;
  EXPECT_EQ(testing::run_command({*prefix_ + "/bin/pare-run", "--version"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(*prefix_ + "/include/pare/pare.h"));
  EXPECT_TRUE(fs::exists(*prefix_ + "/lib/libpare_runtime.a"));
  EXPECT_TRUE(fs::exists(*prefix_ + "/lib/libpare_runtime.so"));
  EXPECT_TRUE(fs::exists(*prefix_ + "/lib/pkgconfig/pare_runtime.pc"));
  EXPECT_TRUE(fs::exists(*prefix_ + "/lib/cmake/pare/pareConfig.cmake"));
  // The shared library exports the C API and nothing of pare's C++ inside.
  auto nm = testing::run_command({"nm", "-D", "--defined-only", *prefix_ + "/lib/libpare_runtime.so"});
  ASSERT_EQ(nm.exit_code, 0) << nm.err;
  EXPECT_NE(nm.out.find(" pare_session_run"), std::string::npos);
  EXPECT_EQ(nm.out.find("_ZN4pare"), std::string::npos);
}

TEST_F(Install, ACProgramBuildsWithPkgConfig) {
  PARE_SKIP_IN_SANITIZER_BUILDS("the installed library is instrumented, an app links it with the sanitizers");
  std::string dir = testing::temp_dir();
  write_file_atomic(dir + "/example.c", docs_example());
  std::string script = "PKG_CONFIG_PATH=" + *prefix_ + "/lib/pkgconfig; export PKG_CONFIG_PATH; cc -std=c99 " + dir +
                       "/example.c $(pkg-config --cflags --libs pare_runtime) -Wl,-rpath," + *prefix_ + "/lib -o " +
                       dir + "/example";
  auto cc = testing::run_command({"sh", "-c", script});
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  auto run = testing::run_command({dir + "/example", kFace});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("Identity:0 [1,512,1]"), std::string::npos) << run.out;
}

TEST_F(Install, ACProgramBuildsWithFindPackage) {
  PARE_SKIP_IN_SANITIZER_BUILDS("the installed library is instrumented, an app links it with the sanitizers");
  std::string dir = testing::temp_dir();
  write_file_atomic(dir + "/example.c", docs_example());
  write_file_atomic(dir + "/CMakeLists.txt",
                    "cmake_minimum_required(VERSION 3.20)\nproject(example C CXX)\n"
                    "find_package(pare 0.1 REQUIRED)\nadd_executable(example example.c)\n"
                    "target_link_libraries(example PRIVATE pare::runtime)\n");
  auto conf = testing::run_command({"cmake", "-S", dir, "-B", dir + "/b", "-DCMAKE_PREFIX_PATH=" + *prefix_});
  ASSERT_EQ(conf.exit_code, 0) << conf.out << conf.err;
  auto build = testing::run_command({"cmake", "--build", dir + "/b"});
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  auto run = testing::run_command({dir + "/b/example", kFace});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("Identity_2:0 [1,512,16]"), std::string::npos) << run.out;
}

TEST_F(Install, ManPagesAndCompletionFromTheHelpText) {
  // A page per command, generated from its --help: every option of the help is in the page.
  std::string page = read_file(*prefix_ + "/share/man/man1/pare-check.1");
  EXPECT_EQ(page.rfind(".TH PARE-CHECK 1", 0), 0u) << page.substr(0, 80);
  auto help = testing::run_command({*prefix_ + "/bin/pare", "check", "--help"});
  for (const char* option : {"--max-download-bytes", "--baseline", "--input-shape", "--github"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
    EXPECT_NE(page.find(option), std::string::npos) << option;
  }
  EXPECT_NE(read_file(*prefix_ + "/share/man/man1/pare.1").find("pare-shrink"), std::string::npos);
  // pare-run(1) is both `pare run` and the standalone binary of that name.
  std::string run_page = read_file(*prefix_ + "/share/man/man1/pare-run.1");
  EXPECT_NE(run_page.find("Usage: pare run"), std::string::npos);
  EXPECT_NE(run_page.find("pare-run MODEL INPUT_DIR OUTPUT_DIR"), std::string::npos);
  // man renders it (when man is installed).
  auto man = testing::run_command({"sh", "-c", "command -v man >/dev/null || exit 77; MANWIDTH=100 man -l " + *prefix_ +
                                                   "/share/man/man1/pare-shrink.1"});
  if (man.exit_code != 77) {
    EXPECT_EQ(man.exit_code, 0) << man.err;
    EXPECT_NE(man.out.find("--preset"), std::string::npos) << man.out;
  }

  // bash completion, driven as bash would: commands, then a command's options.
  std::string bash = *prefix_ + "/share/bash-completion/completions/pare";
  std::string drive = "source " + bash + "; PATH=" + *prefix_ +
                      "/bin:$PATH; COMP_WORDS=(pare insp); COMP_CWORD=1; _pare; echo \"${COMPREPLY[*]}\"; "
                      "COMP_WORDS=(pare shrink --pre); COMP_CWORD=2; _pare; echo \"${COMPREPLY[*]}\"; "
                      "COMP_WORDS=(pare shrink --preset sm); COMP_CWORD=3; _pare; echo \"${COMPREPLY[*]}\"";
  auto b = testing::run_command({"bash", "-c", drive});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, "inspect\n--preset\nsmall\n");
  std::string zsh = read_file(*prefix_ + "/share/zsh/site-functions/_pare");
  EXPECT_EQ(zsh.rfind("#compdef pare\n", 0), 0u);
}

// The .deb that CPack makes holds what install puts in place, and runs from a scratch root.
TEST_F(Install, DebianPackage) {
  std::string dir = testing::temp_dir();
  auto pack = testing::run_command(
      {"cpack", "-G", "DEB", "--config", std::string(PARE_BINARY_DIR) + "/CPackConfig.cmake", "-B", dir});
  ASSERT_EQ(pack.exit_code, 0) << pack.out << pack.err;
  std::string deb;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".deb") deb = e.path().string();
  ASSERT_FALSE(deb.empty()) << pack.out;
  auto list = testing::run_command({"dpkg-deb", "-c", deb});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* f : {"./usr/bin/pare", "./usr/bin/pare-run", "./usr/include/pare/pare.h",
                        "./usr/share/man/man1/pare-shrink.1", "./usr/share/bash-completion/completions/pare"})
    EXPECT_NE(list.out.find(f), std::string::npos) << f << " in\n" << list.out;
  auto fields = testing::run_command({"dpkg-deb", "-f", deb, "Package", "Depends"});
  EXPECT_NE(fields.out.find("Package: pare"), std::string::npos) << fields.out;
  EXPECT_NE(fields.out.find("libprotobuf"), std::string::npos) << "shared library dependencies: " << fields.out;
  ASSERT_EQ(testing::run_command({"dpkg", "-x", deb, dir + "/root"}).exit_code, 0);
  auto v = testing::run_command({dir + "/root/usr/bin/pare", "--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out.rfind("pare ", 0), 0u) << v.out;
}

}  // namespace
}  // namespace pare
