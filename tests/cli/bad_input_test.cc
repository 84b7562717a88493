// Every class of bad input gives exit code 2, exactly one stderr line
// "pare: error: <file>: <what is wrong>", and leaves no output (nor a temporary
// file) behind. Bad models are built here with the protobuf API.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

const std::string kGood = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");

// y = Relu(x) with one initializer, to be broken in various ways.
::onnx::ModelProto tiny_model() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto add_io = [](::onnx::ValueInfoProto* vi, const char* name) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(1);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
  };
  add_io(g->add_input(), "x");
  add_io(g->add_output(), "y");
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(2);
  w->set_raw_data(std::string(8, '\0'));
  auto* n = g->add_node();
  n->set_op_type("Add");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  return m;
}

std::string write_model(const ::onnx::ModelProto& m, const std::string& dir, const std::string& name = "bad.onnx") {
  std::string path = dir + "/" + name;
  write_file_atomic(path, m.SerializeAsString());
  return path;
}

// Runs `pare shrink IN -o DIR/out.onnx [extra...]` and checks the contract.
void expect_bad_input(const std::string& input, const std::string& out_dir, const std::string& must_mention,
                      std::vector<std::string> extra = {}, int64_t fsize_limit = -1,
                      const std::string& output_name = "out.onnx") {
  std::string out = out_dir + "/" + output_name;
  std::vector<std::string> argv = {testing::pare_bin(), "shrink", input, "-o", out};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto before = std::distance(fs::directory_iterator(out_dir), fs::directory_iterator{});
  auto c = testing::run_command(argv, fsize_limit);
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+: [^\\n]+\\n"))) << "stderr: " << c.err;
  EXPECT_NE(c.err.find(must_mention), std::string::npos) << "stderr: " << c.err;
  EXPECT_FALSE(fs::exists(out)) << "a partial output was left behind";
  auto after = std::distance(fs::directory_iterator(out_dir), fs::directory_iterator{});
  EXPECT_EQ(before, after) << "a temporary file was left behind in " << out_dir;
}

TEST(BadInput, UnreadableFiles) {
  std::string dir = testing::temp_dir();
  expect_bad_input(dir + "/missing.onnx", dir, "missing.onnx: no such file");
  fs::create_directories(dir + "/folder.onnx");
  expect_bad_input(dir + "/folder.onnx", dir, "folder.onnx: is a directory");
  write_file_atomic(dir + "/empty.onnx", "");
  expect_bad_input(dir + "/empty.onnx", dir, "empty.onnx: empty file");
  std::string bytes = read_file(kGood);
  write_file_atomic(dir + "/cut.onnx", bytes.substr(0, bytes.size() / 2));
  expect_bad_input(dir + "/cut.onnx", dir, "cut.onnx: ");
  write_file_atomic(dir + "/text.onnx", "this is not a model\n");
  expect_bad_input(dir + "/text.onnx", dir, "text.onnx: not a valid ONNX model");
}

TEST(BadInput, BrokenTensors) {
  std::string dir = testing::temp_dir();
  auto m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(7, '\0'));
  expect_bad_input(write_model(m, dir, "length.onnx"), dir, "tensor 'w' has 7 bytes of data but dims [2] of float need 8");
  m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
  expect_bad_input(write_model(m, dir, "negative.onnx"), dir, "negative dimension");
  m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->set_dims(0, int64_t{1} << 40);
  w->add_dims(int64_t{1} << 40);
  expect_bad_input(write_model(m, dir, "overflow.onnx"), dir, "overflow");
}

TEST(BadInput, ExternalDataMustStayInTheModelFolder) {
  std::string root = testing::temp_dir();
  std::string dir = root + "/model";
  fs::create_directories(dir);
  write_file_atomic(root + "/secret.bin", std::string(8, 'x'));
  auto with_location = [&](const std::string& location, const std::string& name) {
    auto m = tiny_model();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    return write_model(m, dir, name);
  };
  expect_bad_input(with_location(root + "/secret.bin", "absolute.onnx"), dir, "is absolute");
  expect_bad_input(with_location("../secret.bin", "dotdot.onnx"), dir, "escapes the model's folder");
  fs::create_symlink(root + "/secret.bin", dir + "/link.bin");
  expect_bad_input(with_location("link.bin", "symlink.onnx"), dir, "escapes the model's folder");
  expect_bad_input(with_location("absent.bin", "absent.onnx"), dir, "does not exist");
  // Inside the folder it loads (the same 8 bytes, as a real file).
  write_file_atomic(dir + "/w.bin", std::string(8, '\0'));
  auto c = testing::run_command({testing::pare_bin(), "shrink", with_location("w.bin", "fine.onnx"), "-o", dir + "/fine.out.onnx"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
}

TEST(BadInput, BrokenGraphs) {
  std::string dir = testing::temp_dir();
  auto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
  expect_bad_input(write_model(m, dir, "undefined.onnx"), dir, "uses 'nowhere' which is not defined");
  m = tiny_model();
  // a = Relu(b); b = Relu(a): a cycle.
  auto* g = m.mutable_graph();
  for (auto [in, out] : {std::pair{"b", "a"}, std::pair{"a", "b"}}) {
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->add_input(in);
    n->add_output(out);
  }
  expect_bad_input(write_model(m, dir, "cycle.onnx"), dir, "cycle");
}

TEST(BadInput, Outputs) {
  std::string dir = testing::temp_dir();
  std::string model = dir + "/model.onnx";
  fs::copy_file(kGood, model);
  std::string before = read_file(model);
  auto c = testing::run_command({testing::pare_bin(), "shrink", model, "-o", dir + "/./model.onnx"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("would overwrite the input"), std::string::npos) << c.err;
  EXPECT_EQ(read_file(model), before);
  // An output folder that cannot exist: its parent is a regular file.
  write_file_atomic(dir + "/plain", "x");
  c = testing::run_command({testing::pare_bin(), "shrink", model, "-o", dir + "/plain/out.onnx"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+: [^\\n]+\\n"))) << c.err;
  // A full disk: writes past 64 KiB fail with EFBIG; nothing is left behind.
  expect_bad_input(model, dir, "out.onnx: write failed", {}, 64 * 1024);
  // With external data too: neither out.onnx nor out.onnx.data is left.
  expect_bad_input(model, dir, "write failed", {"--external-data"}, 64 * 1024);
}

// No output of a command may be one of its inputs, whatever option names it and
// however the path is spelled, nor two outputs one file, nor a device or pipe;
// each is refused before anything is written.
TEST(BadInput, OutputsNeverReplaceInputsOrEachOther) {
  std::string dir = testing::temp_dir();
  std::string model = dir + "/model.onnx";
  fs::copy_file(kGood, model);
  std::string model_bytes = read_file(model);
  testing::save_seeded_samples(model, dir + "/samples", 1, {"--dim", "p2o.DynamicDimension.0=1", "--dim",
                                                            "p2o.DynamicDimension.1=48", "--dim",
                                                            "p2o.DynamicDimension.2=192"});
  std::string sample = dir + "/samples/1/input_0.pb";
  std::string sample_bytes = read_file(sample);
  auto refused = [&](std::vector<std::string> args, const std::string& must_mention) {
    args.insert(args.begin(), testing::pare_bin());
    auto c = testing::run_command(args);
    EXPECT_EQ(c.exit_code, 2) << c.err;
    EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+: [^\\n]+\\n"))) << "stderr: " << c.err;
    EXPECT_NE(c.err.find(must_mention), std::string::npos) << "stderr: " << c.err;
    EXPECT_FALSE(fs::exists(dir + "/out.onnx")) << "the model was written although a report could not be";
  };
  refused({"shrink", model, "-o", dir + "/out.onnx", "--report", dir + "/out.onnx"}, "named by both -o and --report");
  refused({"shrink", model, "-o", dir + "/out.onnx", "--report", dir + "/r.json", "--markdown", dir + "/./r.json"},
          "each output needs its own file");
  refused({"shrink", model, "-o", dir + "/out.onnx", "--data", dir + "/samples", "--report", sample},
          "would overwrite an input");
  refused({"shrink", model, "-o", dir + "/out.onnx", "--report", "/proc/pare-report.json"}, "cannot write");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0644), 0);
  refused({"shrink", model, "-o", dir + "/fifo"}, "not a regular file");
  refused({"compare", model, kGood, "--json", model}, "would overwrite an input");
  write_file_atomic(dir + "/budget.yaml", "models:\n  - path: model.onnx\n    max-bytes: 10MB\n");
  std::string budget_bytes = read_file(dir + "/budget.yaml");
  refused({"check", "--budget", dir + "/budget.yaml", "--junit", dir + "/budget.yaml"}, "would overwrite an input");
  refused({"run", model, "--inputs", dir + "/samples/1", "--expect", dir + "/samples/1", "--outputs",
           dir + "/samples/./1"},
          "name the same folder");
  EXPECT_TRUE(read_file(model) == model_bytes) << "the model was overwritten";
  EXPECT_TRUE(read_file(sample) == sample_bytes) << "the sample was overwritten";
  EXPECT_TRUE(read_file(dir + "/budget.yaml") == budget_bytes) << "the budget file was overwritten";
  // Nonsense numbers are bad usage, not a failed check or a silent pass.
  refused({"shrink", model, "-o", dir + "/out.onnx", "--max-params", "99999999999999999999"}, "too large");
  refused({"run", model, "--inputs", dir + "/samples/1", "--expect", dir + "/samples/1", "--rtol", "nan"},
          "not a finite number");
}

// --npy names files after outputs; two names that map to one file name would
// silently lose an output.
TEST(BadInput, NpyOutputsThatWouldShareAFile) {
  std::string dir = testing::temp_dir();
  auto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_output(0, "y:0");
  m.mutable_graph()->mutable_output(0)->set_name("y:0");
  auto* neg = m.mutable_graph()->add_node();
  neg->set_op_type("Neg");
  neg->add_input("x");
  neg->add_output("y_0");
  *m.mutable_graph()->add_output() = m.graph().output(0);
  m.mutable_graph()->mutable_output(1)->set_name("y_0");
  std::string model = write_model(m, dir, "two.onnx");
  auto c = testing::run_command({testing::pare_bin(), "run", model, "--outputs", dir + "/out", "--npy"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("outputs 'y:0' and 'y_0' would both be written as y_0.npy"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(dir + "/out"));
  c = testing::run_command({testing::pare_bin(), "run", model, "--outputs", dir + "/out"});
  EXPECT_EQ(c.exit_code, 0) << c.err;  // the .pb files are numbered
}

TEST(BadInput, Pipelines) {
  std::string dir = testing::temp_dir();
  expect_bad_input(kGood, dir, "unknown pass 'dcee' (did you mean 'dce'?)", {"--passes", "dcee"});
  expect_bad_input(kGood, dir, "pass 'dce' has no option 'x'", {"--passes", "dce(x=1)"});
}

TEST(Cli, HelpAndVersion) {
  for (const char* cmd : {"inspect", "shrink", "passes"}) {
    auto c = testing::run_command({testing::pare_bin(), cmd, "--help"});
    EXPECT_EQ(c.exit_code, 0) << cmd;
    EXPECT_NE(c.out.find("Usage"), std::string::npos) << cmd;
  }
  auto v = testing::run_command({testing::pare_bin(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("pare ", 0), 0u);
  auto h = testing::run_command({testing::pare_bin(), "help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("shrink"), std::string::npos);
  auto bad = testing::run_command({testing::pare_bin(), "shrink", kGood});  // -o missing
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(std::regex_match(bad.err, std::regex("pare: error: [^\\n]+\\n"))) << bad.err;
  auto passes = testing::run_command({testing::pare_bin(), "passes"});
  EXPECT_EQ(passes.exit_code, 0);
  EXPECT_NE(passes.out.find("dce"), std::string::npos);
}

}  // namespace
}  // namespace pare
