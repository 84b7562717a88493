// pare-run batch: two real models over a gallery of images, killed at random
// moments and resumed, throttled, and refusing what it cannot continue.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

using testing::kFace;
using testing::kCls;
const std::string kPareRun = std::string(PARE_BINARY_DIR) + "/pare-run";
// The classifier's symbolic dims: batch 1, 48x192 (its input then says NCHW 48x192).
using testing::kClsDims;

// `count` small PNG photos with seeded content, img_000.png ...
std::string gallery(int count) {
  std::string dir = testing::temp_dir() + "/photos";
  fs::create_directories(dir);
  std::mt19937 rng(7);
  for (int i = 0; i < count; ++i) {
    int w = 24 + static_cast<int>(rng() % 16), h = 16 + static_cast<int>(rng() % 16);
    std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
    for (auto& p : rgb) p = static_cast<uint8_t>(rng() % 256);
    testing::write_png(fmt::format("{}/img_{:03}.png", dir, i), rgb, w, h);
  }
  return dir;
}

std::vector<std::string> batch_args(const std::string& photos, const std::string& out,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {kPareRun, "batch", kFace, kCls, "--inputs", photos, "-o", out, "--quiet",
                                "--mean", "0.5", "--std", "0.5"};
  a.insert(a.end(), kClsDims.begin(), kClsDims.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// Every regular file under `dir` by relative path, with its bytes.
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path().string());
  return files;
}

pid_t spawn(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

struct Timed {
  int exit_code;
  double wall, cpu;
};

// Runs a command to the end; its wall time and the CPU time it used (user + system).
Timed run_timed(const std::vector<std::string>& argv) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = spawn(argv);
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), wall,
          seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime)};
}

class Batch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    photos_ = new std::string(gallery(200));
    reference_ = new std::string(testing::temp_dir() + "/reference");
    auto c = testing::run_command(batch_args(*photos_, *reference_));
    ASSERT_EQ(c.exit_code, 0) << c.err;
    summary_ = new std::string(c.out);
  }
  // A new folder holding the first `count` photos of the gallery.
  static std::string first_photos(int count) {
    std::string dir = testing::temp_dir() + "/photos";
    fs::create_directories(dir);
    for (int i = 0; i < count; ++i) {
      std::string name = fmt::format("img_{:03}.png", i);
      fs::copy_file(*photos_ + "/" + name, dir + "/" + name);
    }
    return dir;
  }
  static std::string* photos_;
  static std::string* reference_;
  static std::string* summary_;
};
std::string* Batch::photos_ = nullptr;
std::string* Batch::reference_ = nullptr;
std::string* Batch::summary_ = nullptr;

TEST_F(Batch, WritesOneResultPerInputPerModelAndAJsonLineWithTopClasses) {
  const std::string& out = *reference_;
  auto journal = nlohmann::json::parse(read_file(out + "/journal.json"));
  EXPECT_EQ(journal["inputs"], 200);
  EXPECT_EQ(journal["done"], 200);
  for (const std::string model : {"face_detection_front_128x128_barracuda", "ch_ppocr_mobile_v2.0_cls_infer"}) {
    size_t folders = 0;
    for (const auto& e : fs::directory_iterator(out + "/" + model)) folders += e.is_directory();
    EXPECT_EQ(folders, 200u) << model;
    std::vector<std::string> lines = split(read_file(out + "/" + model + ".jsonl"), '\n');
    ASSERT_EQ(lines.size(), 201u) << model;  // 200 lines and the empty rest after the last newline
    EXPECT_EQ(nlohmann::json::parse(lines[0])["input"], "img_000.png");
    EXPECT_EQ(nlohmann::json::parse(lines[199])["input"], "img_199.png");
  }
  // The classifier's softmax looks like scores: both classes listed, best first, matching its output file.
  auto line = nlohmann::json::parse(split(read_file(out + "/ch_ppocr_mobile_v2.0_cls_infer.jsonl"), '\n')[17]);
  auto top = line["outputs"].begin().value()["top"];
  ASSERT_EQ(top.size(), 2u);
  auto probs = formats::read_tensor_pb(out + "/ch_ppocr_mobile_v2.0_cls_infer/img_017.png/output_0.pb").tensor.as_double();
  ASSERT_EQ(probs.size(), 2u);
  int best = probs[1] > probs[0] ? 1 : 0;
  EXPECT_EQ(top[0][0], best);
  EXPECT_NEAR(top[0][1].get<double>(), probs[best], 1e-5);
  // BlazeFace's boxes are no scores: shapes only.
  auto face = nlohmann::json::parse(split(read_file(out + "/face_detection_front_128x128_barracuda.jsonl"), '\n')[0]);
  for (const auto& [name, o] : face["outputs"].items()) EXPECT_FALSE(o.contains("top")) << name;
  EXPECT_NE(summary_->find("s per 1,000 inputs"), std::string::npos) << *summary_;
}

TEST_F(Batch, AgreesWithPareRunOnTheSameImage) {
  // pare run decodes the image the same way when told the model's size and layout.
  std::string out = testing::temp_dir() + "/one";
  std::vector<std::string> args = {testing::pare_bin(), "run", kCls, "--inputs", *photos_ + "/img_042.png",
                                   "--image-size", "192x48", "--mean", "0.5", "--std", "0.5", "--outputs", out};
  args.insert(args.end(), kClsDims.begin(), kClsDims.end());
  auto c = testing::run_command(args);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_file(out + "/output_0.pb"),
            read_file(*reference_ + "/ch_ppocr_mobile_v2.0_cls_infer/img_042.png/output_0.pb"));
}

TEST_F(Batch, KilledAtRandomMomentsAndResumedEndsByteIdentical) {
  // How long startup and the whole job take here, to spread the kills over both.
  Timed idle = run_timed(batch_args(*photos_, *reference_));  // finished: loads, checks, does nothing
  ASSERT_EQ(idle.exit_code, 0);
  std::string out = testing::temp_dir() + "/killed";
  Timed whole = run_timed(batch_args(*photos_, testing::temp_dir() + "/timing", {"--batch", "8"}));
  ASSERT_EQ(whole.exit_code, 0);
  double work = std::max(0.05, whole.wall - idle.wall);
  std::mt19937 rng(2026);
  std::uniform_real_distribution<double> moment(0.5 * idle.wall, idle.wall + work / 25);
  int kills = 0, runs = 0;
  bool finished = false;
  while (!finished && runs < 200) {
    ++runs;
    pid_t pid = spawn(batch_args(*photos_, out, {"--batch", "8"}));
    std::this_thread::sleep_for(std::chrono::duration<double>(moment(rng)));
    int status = 0;
    if (kills < 25 && waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++kills;
      continue;
    }
    if (status == 0) waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "run " << runs << " failed";
    finished = true;
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 20);
  auto expected = tree(*reference_), got = tree(out);
  ASSERT_EQ(got.size(), expected.size());  // no temporary file left, no result missing
  for (const auto& [path, bytes] : expected) EXPECT_TRUE(got.count(path) && got[path] == bytes) << path;
}

TEST_F(Batch, PriorityAndBatchSizeChangeNothingInTheResults) {
  std::string out = testing::temp_dir() + "/prio";
  auto c = testing::run_command(batch_args(*photos_, out, {"--priority", "ch_ppocr_mobile_v2.0_cls_infer",
                                                           "--batch", "3", "--threads", "2"}));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(tree(out), tree(*reference_));
}

// A pare build manifest in place of the models: its subtasks' files, beside
// it, give the same results; a file that is not the one it records is refused.
TEST_F(Batch, TakesAPareBuildManifest) {
  std::string built = testing::temp_dir() + "/built";
  fs::create_directories(built);
  nlohmann::json manifest = {{"plan", "plan.yaml"}, {"subtasks", nlohmann::json::array()}};
  for (const std::string& model : {kFace, kCls}) {
    std::string file = fs::path(model).filename().string();
    fs::copy_file(model, built + "/" + file);
    manifest["subtasks"].push_back({{"name", fs::path(model).stem().string()}, {"file", file},
                                    {"sha256", sha256_hex(read_file(model))}});
  }
  write_file_atomic(built + "/manifest.json", manifest.dump(2));
  std::string out = testing::temp_dir() + "/from_manifest";
  std::vector<std::string> a = batch_args(*photos_, out);
  ASSERT_EQ(a[2], kFace);
  a.erase(a.begin() + 2, a.begin() + 4);  // the two model paths, replaced by the manifest
  a.insert(a.begin() + 2, built + "/manifest.json");
  auto c = testing::run_command(a);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(tree(out), tree(*reference_));

  std::string bytes = read_file(built + "/" + fs::path(kCls).filename().string());
  bytes.back() ^= 1;
  write_file_atomic(built + "/" + fs::path(kCls).filename().string(), bytes);
  *(std::find(a.begin(), a.end(), "-o") + 1) = testing::temp_dir() + "/changed";
  c = testing::run_command(a);
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("is not the one its pare build manifest records"), std::string::npos) << c.err;
}

TEST_F(Batch, DutyCycleKeepsItBusyHalfTheTime) {
  std::string photos = first_photos(40);
  std::string out = testing::temp_dir() + "/duty";
  auto args = batch_args(photos, out, {"--max-duty", "0.5"});
  args.erase(std::find(args.begin(), args.end(), "--quiet"));
  auto start = std::chrono::steady_clock::now();
  auto c = testing::run_command(args);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::smatch m;
  std::string text = c.out;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("in ([0-9.]+) s: .* busy ([0-9.]+) s, ([0-9]+)% of the time")))
      << c.out;
  double loop = std::stod(m[1]), busy = std::stod(m[2]);
  EXPECT_NEAR(busy / loop, 0.5, 0.1) << c.out;
  // Sleeping is what the duty cycle adds: the loop took at least busy / 0.6, and the process lasted at least that.
  EXPECT_GE(wall, busy / 0.6);
}

TEST_F(Batch, RateLimitSpacesTheInputs) {
  std::string photos = first_photos(10);
  auto start = std::chrono::steady_clock::now();
  auto c = testing::run_command(batch_args(photos, testing::temp_dir() + "/rate", {"--max-rate", "20"}));
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_GE(wall, 10 / 20.0);  // ten inputs at twenty a second cannot take less than half a second
}

bool one_pare_run_error_line(const std::string& err) {
  return std::regex_match(err, std::regex("pare-run: error: [^\\n]+\\n"));
}

TEST_F(Batch, RefusesWhatItCannotContinue) {
  // A folder with other files and no journal: its files would be read back as results.
  std::string foreign = testing::temp_dir() + "/foreign";
  fs::create_directories(foreign);
  write_file_atomic(foreign + "/notes.txt", "mine");
  auto c = testing::run_command(batch_args(*photos_, foreign));
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(one_pare_run_error_line(c.err)) << c.err;
  EXPECT_NE(c.err.find("no journal.json"), std::string::npos) << c.err;
  EXPECT_EQ(read_file(foreign + "/notes.txt"), "mine");
  // The journal of another job (one model fewer) is not continued.
  std::vector<std::string> face_only = {kPareRun, "batch", kFace, "--inputs", *photos_, "-o", *reference_, "--quiet"};
  c = testing::run_command(face_only);
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("other models, inputs or options"), std::string::npos) << c.err;
  // Bad options: one line, exit 2, nothing written.
  std::string fresh = testing::temp_dir() + "/fresh";
  for (std::vector<std::string> extra : std::vector<std::vector<std::string>>{
           {"--max-duty", "0"}, {"--max-duty", "1.5"}, {"--batch", "0"}, {"--threads", "abc"},
           {"--priority", "ch_ppocr_mobile_v2.0_cls_inf"}, {"--max-rate", "-1"}, {"--bogus"}}) {
    c = testing::run_command(batch_args(*photos_, fresh, extra));
    EXPECT_EQ(c.exit_code, 2) << extra[0];
    EXPECT_TRUE(one_pare_run_error_line(c.err)) << c.err;
    EXPECT_FALSE(fs::exists(fresh)) << extra[0];
  }
  c = testing::run_command(batch_args(*photos_, fresh, {"--priority", "ch_ppocr_mobile_v2.0_cls_inf"}));
  EXPECT_NE(c.err.find("did you mean"), std::string::npos) << c.err;
  // A model that is not there names the file.
  c = testing::run_command({kPareRun, "batch", "/nonexistent/m.onnx", "--inputs", *photos_, "-o", fresh});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("/nonexistent/m.onnx"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(fresh));
}

}  // namespace
}  // namespace pare
