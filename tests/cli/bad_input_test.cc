// Every class of bad input gives exit code 2, exactly one stderr line
// "pare: error: <file>: <what is wrong>", and leaves no output (nor a temporary
// file) behind. Bad models are built here with the protobuf API.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

const std::string kGood = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");

// A graph "g" from input x to output y, both [2] of `elem_type`, and no nodes yet.
::onnx::ModelProto x_to_y_model(int64_t opset, int elem_type) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto add_io = [elem_type](::onnx::ValueInfoProto* vi, const char* name) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
  };
  add_io(g->add_input(), "x");
  add_io(g->add_output(), "y");
  return m;
}

// An attribute `name` of `type` added to `n`, its value still to be set.
::onnx::AttributeProto* add_attribute(::onnx::NodeProto* n, const char* name, ::onnx::AttributeProto::AttributeType type) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

// y = Add(x, w) with one initializer w, to be broken in various ways.
::onnx::ModelProto tiny_model() {
  ::onnx::ModelProto m = x_to_y_model(13, 1);
  auto* g = m.mutable_graph();
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

// A fresh folder ROOT/model for models, and ROOT/secret.bin outside it that
// external data must never reach.
// tiny_model() whose weight 'w' is external data at `location`.
::onnx::ModelProto tiny_model_with_external_weight(const std::string& location) {
  auto m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  return m;
}

// A model folder `dir` inside `root`, where root/secret.bin is what a model's
// external data must never reach.
struct ModelFolder {
  std::string root, dir;
  // Writes dir/`name`: tiny_model_with_external_weight(location).
  std::string with_location(const std::string& location, const std::string& name) const {
    return write_model(tiny_model_with_external_weight(location), dir, name);
  }
};
ModelFolder model_folder_beside_a_secret() {
  ModelFolder f{testing::temp_dir(), ""};
  f.dir = f.root + "/model";
  fs::create_directories(f.dir);
  write_file_atomic(f.root + "/secret.bin", std::string(8, 'x'));
  return f;
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
  const ModelFolder f = model_folder_beside_a_secret();
  expect_bad_input(f.with_location(f.root + "/secret.bin", "absolute.onnx"), f.dir, "is absolute");
  expect_bad_input(f.with_location("../secret.bin", "dotdot.onnx"), f.dir, "escapes the model's folder");
  fs::create_symlink(f.root + "/secret.bin", f.dir + "/link.bin");
  expect_bad_input(f.with_location("link.bin", "symlink.onnx"), f.dir, "escapes the model's folder");
  expect_bad_input(f.with_location("absent.bin", "absent.onnx"), f.dir, "does not exist");
  // Inside the folder it loads (the same 8 bytes, as a real file).
  write_file_atomic(f.dir + "/w.bin", std::string(8, '\0'));
  auto c = testing::run_command({testing::pare_bin(), "shrink", f.with_location("w.bin", "fine.onnx"), "-o", f.dir + "/fine.out.onnx"});
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
  testing::save_seeded_samples(model, dir + "/samples", 1, testing::kClsDims);
  std::string sample = dir + "/samples/1/input_0.pb";
  std::string sample_bytes = read_file(sample);
  auto refused = [&](std::vector<std::string> args, const std::string& must_mention) {
    auto c = testing::pare(args);
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

// ---------- untrusted models (issue 19) ----------

// x (float[2]) -> one node `op` -> y, at `opset`; the node is returned for editing.
::onnx::ModelProto one_node_model(int64_t opset, const std::string& op, ::onnx::NodeProto** node,
                                  int elem_type = 1) {
  ::onnx::ModelProto m = x_to_y_model(opset, elem_type);
  *node = m.mutable_graph()->add_node();
  (*node)->set_op_type(op);
  (*node)->set_name("n");
  (*node)->add_input("x");
  (*node)->add_output("y");
  return m;
}

// `pare inspect FILE` (which loads, then runs the model for its MACs) under a
// hard time bound: a hang shows as exit 124 or 137, not as a stuck test.
testing::Command inspect_bounded(const std::string& file, std::vector<std::string> env = {}) {
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  for (const char* a : {"timeout", "-s", "KILL", "120"}) argv.push_back(a);
  argv.push_back(testing::pare_bin());
  argv.push_back("inspect");
  argv.push_back(file);
  return testing::run_command(argv);
}

void expect_one_error_line(const testing::Command& c, const std::string& must_mention) {
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+: [^\\n]+\\n"))) << "stderr: " << c.err;
  EXPECT_NE(c.err.find(must_mention), std::string::npos) << "stderr: " << c.err;
}

// Opsets newer than libonnx's schemas (18+) are checked too: with pare's own
// table for ops that changed after 17, with the newest known schema otherwise.
// Unchecked, a node with too few inputs crashed every command (SIGSEGV).
TEST(UntrustedModels, ArityIsCheckedAtOpsetsNewerThanLibonnx) {
  std::string dir = testing::temp_dir();
  ::onnx::NodeProto* n = nullptr;
  auto m = one_node_model(18, "Add", &n);  // Add: 2 inputs, unchanged since 14
  expect_bad_input(write_model(m, dir, "add18.onnx"), dir, "node 'n' (Add): takes 2 inputs, has 1");
  m = one_node_model(19, "ReduceMean", &n);  // changed at 18: axes became an optional input
  n->add_input("x");
  n->add_input("x");
  expect_bad_input(write_model(m, dir, "reduce19.onnx"), dir, "node 'n' (ReduceMean): takes 1 to 2 inputs, has 3");
  m = one_node_model(21, "Relu", &n);
  n->add_output("z");
  expect_bad_input(write_model(m, dir, "relu21.onnx"), dir, "node 'n' (Relu): takes 1 output, has 2");
  // A well-formed opset-18 ReduceMean (axes as an input) still loads.
  m = one_node_model(18, "ReduceMean", &n);
  auto* axes = m.mutable_graph()->add_initializer();
  axes->set_name("axes");
  axes->set_data_type(7);
  axes->add_dims(1);
  axes->add_int64_data(0);
  n->add_input("axes");
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(1);
  auto c = testing::run_command({testing::pare_bin(), "shrink", write_model(m, dir, "fine18.onnx"), "-o", dir + "/fine.out.onnx"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
}

// An attribute of the wrong kind was read as 0 or empty: a Softmax axis given
// as a string ran as axis 0, Conv strides given as floats as stride 1.
TEST(UntrustedModels, AttributeKindsAreCheckedAgainstTheSchema) {
  std::string dir = testing::temp_dir();
  ::onnx::NodeProto* n = nullptr;
  auto m = one_node_model(13, "Softmax", &n);
  add_attribute(n, "axis", ::onnx::AttributeProto::STRING)->set_s("0");
  expect_bad_input(write_model(m, dir, "softmax.onnx"), dir,
                   "node 'n' (Softmax): attribute 'axis' is a string; the op takes an int");
  m = one_node_model(13, "Conv", &n);
  n->add_input("x");
  add_attribute(n, "strides", ::onnx::AttributeProto::FLOATS)->add_floats(2);
  expect_bad_input(write_model(m, dir, "conv.onnx"), dir, "attribute 'strides' is a list of floats; the op takes a list of ints");
  m = one_node_model(13, "Conv", &n);
  n->add_input("x");
  add_attribute(n, "pads", ::onnx::AttributeProto::TENSOR)->mutable_t()->set_data_type(7);
  expect_bad_input(write_model(m, dir, "pads.onnx"), dir, "attribute 'pads' is a tensor");
  m = one_node_model(13, "Gemm", &n);
  n->add_input("x");
  add_attribute(n, "transB", ::onnx::AttributeProto::FLOAT)->set_f(1);
  expect_bad_input(write_model(m, dir, "gemm.onnx"), dir, "attribute 'transB' is a float; the op takes an int");
  m = one_node_model(13, "Cast", &n);  // `to` is required
  expect_bad_input(write_model(m, dir, "cast.onnx"), dir, "node 'n' (Cast): the required attribute 'to' is missing");
}

TEST(UntrustedModels, NodesAndAttributesNeedNames) {
  std::string dir = testing::temp_dir();
  ::onnx::NodeProto* n = nullptr;
  auto m = one_node_model(13, "", &n);
  expect_bad_input(write_model(m, dir, "noop.onnx"), dir, "node 'n' has no op_type");
  m = one_node_model(13, "LeakyRelu", &n);
  for (int k = 0; k < 2; ++k) {
    add_attribute(n, "alpha", ::onnx::AttributeProto::FLOAT)->set_f(0.1f * (k + 1));
  }
  expect_bad_input(write_model(m, dir, "twice.onnx"), dir, "node 'n' (LeakyRelu): attribute 'alpha' is given twice");
  m = one_node_model(13, "LeakyRelu", &n);
  n->add_attribute()->set_type(::onnx::AttributeProto::FLOAT);
  expect_bad_input(write_model(m, dir, "unnamed.onnx"), dir, "node 'n' (LeakyRelu): an attribute has no name");
}

// A Gemm bias of int64 ended in "internal error (bug in pare)".
TEST(UntrustedModels, ConstantOperandTypesAreChecked) {
  std::string dir = testing::temp_dir();
  ::onnx::NodeProto* n = nullptr;
  auto m = one_node_model(13, "Gemm", &n);
  auto* g = m.mutable_graph();
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(2);
  w->add_dims(2);
  w->set_raw_data(std::string(16, '\0'));
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(7);
  b->add_dims(2);
  b->set_raw_data(std::string(16, '\0'));
  n->add_input("w");
  n->add_input("b");
  // Gemm takes int64 too, but A, B and C share one type parameter.
  expect_bad_input(write_model(m, dir, "gemm.onnx"), dir,
                   "node 'n' (Gemm): input 2 ('b') is int64 but another input of type T is float");
  b->set_data_type(9);  // bool: no Gemm takes it
  b->set_raw_data(std::string(2, '\0'));
  expect_bad_input(write_model(m, dir, "gemm_bool.onnx"), dir,
                   "node 'n' (Gemm): input 2 ('b') is bool, which the op does not take");
  // A computed int64 bias (no constant to check at load) is refused when it runs.
  auto* cast = g->add_node();
  cast->set_op_type("Cast");
  cast->add_input("w");
  cast->add_output("b64");
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(::onnx::AttributeProto::INT);
  to->set_i(7);
  n->set_input(2, "b64");
  g->mutable_initializer()->RemoveLast();
  auto c = testing::run_command({testing::pare_bin(), "run", write_model(m, dir, "gemm_cast.onnx")});
  expect_one_error_line(c, "the bias C is int64; only float32 is supported");
  EXPECT_EQ(c.err.find("internal error"), std::string::npos) << c.err;
}

// Integer Div by zero killed every command with SIGFPE, folding included.
TEST(UntrustedModels, IntegerDivisionByZeroIsAnError) {
  std::string dir = testing::temp_dir();
  ::onnx::NodeProto* n = nullptr;
  auto m = one_node_model(13, "Div", &n, 7);
  auto* zero = m.mutable_graph()->add_initializer();
  zero->set_name("zero");
  zero->set_data_type(7);
  zero->add_dims(2);
  zero->set_raw_data(std::string(16, '\0'));
  n->add_input("zero");
  std::string model = write_model(m, dir, "div.onnx");
  auto c = testing::run_command({testing::pare_bin(), "run", model});
  expect_one_error_line(c, "node 'n' (Div): integer division by zero");
  // Both operands constant: folded by shrink and run by inspect; neither may trap.
  n->set_input(0, "zero");
  model = write_model(m, dir, "div_const.onnx");
  c = testing::run_command({testing::pare_bin(), "shrink", model, "-o", dir + "/out.onnx"});
  EXPECT_LT(c.exit_code, 128) << c.err;
  EXPECT_TRUE(c.exit_code == 0 || c.exit_code == 2) << c.err;
  c = inspect_bounded(model);
  EXPECT_LT(c.exit_code, 128) << c.err;
  n->set_op_type("Mod");
  c = testing::run_command({testing::pare_bin(), "run", write_model(m, dir, "mod.onnx")});
  EXPECT_LT(c.exit_code, 128) << c.err;
}

// A FIFO given as the model blocked pare forever in open().
TEST(UntrustedModels, PipesAndDevicesAreNotModels) {
  std::string dir = testing::temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/fifo.onnx").c_str(), 0644), 0);
  expect_one_error_line(inspect_bounded(dir + "/fifo.onnx"), "fifo.onnx: is not a regular file");
  expect_one_error_line(inspect_bounded("/dev/zero"), "/dev/zero: is not a regular file");
}

// A file over protobuf's limit was read whole (minutes, twice its size in
// memory) and then called "truncated or not protobuf". A sparse file costs no disk.
TEST(UntrustedModels, FilesOverTwoGibibytesAreRefusedBySize) {
  std::string dir = testing::temp_dir();
  std::string big = dir + "/big.onnx";
  write_file_atomic(big, "x");
  fs::resize_file(big, (int64_t{1} << 31) + 10);
  expect_one_error_line(inspect_bounded(big), "over protobuf's 2 GiB limit");
  auto c = inspect_bounded(big);
  EXPECT_NE(c.err.find("external data"), std::string::npos) << c.err;
}

// A Loop with a huge trip count hung inspect (which runs the model for MACs).
TEST(UntrustedModels, ExecutionIsBoundedBySteps) {
  std::string dir = testing::temp_dir();
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  auto* trips = g->add_initializer();
  trips->set_name("trips");
  trips->set_data_type(7);
  trips->add_int64_data(int64_t{1} << 62);
  auto* cond = g->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(9);
  cond->add_int32_data(1);
  auto* start = g->add_initializer();
  start->set_name("start");
  start->set_data_type(1);
  start->add_float_data(0);
  auto* loop = g->add_node();
  loop->set_op_type("Loop");
  loop->set_name("forever");
  loop->add_input("trips");
  loop->add_input("cond");
  loop->add_input("start");
  loop->add_output("y");
  auto* body_attr = loop->add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(::onnx::AttributeProto::GRAPH);
  auto* body = body_attr->mutable_g();
  body->set_name("body");
  auto scalar = [](::onnx::ValueInfoProto* vi, const char* name, int type) {
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  };
  scalar(body->add_input(), "i", 7);
  scalar(body->add_input(), "c", 9);
  scalar(body->add_input(), "v", 1);
  scalar(body->add_output(), "c_out", 9);
  scalar(body->add_output(), "v_out", 1);
  for (auto [in, o] : {std::pair{"c", "c_out"}, std::pair{"v", "v_out"}}) {
    auto* id = body->add_node();
    id->set_op_type("Identity");
    id->add_input(in);
    id->add_output(o);
  }
  std::string model = write_model(m, dir, "loop.onnx");
  auto c = testing::run_command({"/usr/bin/env", "PARE_MAX_STEPS=5000", "timeout", "-s", "KILL", "120",
                                 testing::pare_bin(), "run", model});
  expect_one_error_line(c, "node 'forever' (Loop, opset 13): the run took more than 5000 steps");
  EXPECT_NE(c.err.find("PARE_MAX_STEPS"), std::string::npos) << c.err;
  // inspect reports the MACs unknown, with the reason, and finishes.
  c = inspect_bounded(model, {"PARE_MAX_STEPS=5000"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  c = testing::run_command({"/usr/bin/env", "PARE_MAX_STEPS=lots", testing::pare_bin(), "run", model});
  expect_one_error_line(c, "PARE_MAX_STEPS: 'lots' is not a whole number");
}

// PARE_CPU picks the runner's kernels (the portable ones, or the CPU's best);
// another value is one error line, not a silent fallback.
TEST(UntrustedModels, PareCpuIsBaselineOrAuto) {
  std::string model = write_model(tiny_model(), testing::temp_dir());
  for (const char* value : {"PARE_CPU=baseline", "PARE_CPU=auto"}) {
    auto c = testing::run_command({"/usr/bin/env", value, testing::pare_bin(), "run", model});
    EXPECT_EQ(c.exit_code, 0) << value << ": " << c.err;
  }
  auto c = testing::run_command({"/usr/bin/env", "PARE_CPU=avx512", testing::pare_bin(), "run", model});
  expect_one_error_line(c, "PARE_CPU is 'avx512'; it must be 'baseline'");
}

// A name with a newline printed as two lines: a forged "pare: error:" line in a CI log.
TEST(UntrustedModels, NamesCannotForgeLogLines) {
  std::string dir = testing::temp_dir();
  auto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(1, "w\npare: error: forged\x1b[31m");
  auto c = testing::run_command({testing::pare_bin(), "shrink", write_model(m, dir), "-o", dir + "/out.onnx"});
  expect_one_error_line(c, "uses 'w\\npare: error: forged\\e[31m' which is not defined");
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
}

// kill -9 between write and rename left "<out>.tmp.<pid>" behind for good.
TEST(UntrustedModels, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  std::string dir = testing::temp_dir();
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // now a pid of no process
  std::string stale = dir + "/out.onnx.tmp." + std::to_string(child);
  std::string live = dir + "/out.onnx.tmp." + std::to_string(::getpid());  // this test is alive
  std::string other = dir + "/other.onnx.tmp." + std::to_string(child);   // another output's: not ours to judge
  for (const auto& f : {stale, live, other}) write_file_atomic(f, "partial");
  auto c = testing::run_command({testing::pare_bin(), "shrink", kGood, "-o", dir + "/out.onnx"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
}

TEST(UntrustedModels, ExternalDataLocationsWithNulOrHardLinks) {
  const ModelFolder f = model_folder_beside_a_secret();
  write_file_atomic(f.dir + "/w.bin", std::string(8, '\0'));
  expect_bad_input(f.with_location(std::string("w.bin\0/../../secret.bin", 23), "nul.onnx"), f.dir, "contains a NUL byte");
  fs::create_hard_link(f.root + "/secret.bin", f.dir + "/hard.bin");
  expect_bad_input(f.with_location("hard.bin", "hard.onnx"), f.dir, "has 2 hard links");
}

// pare-run --threads abc printed "pare-run: error: stoi"; 100000 started 100,000 threads.
TEST(UntrustedModels, PareRunThreadsAreValidated) {
  std::string run = fs::path(testing::pare_bin()).parent_path() / "pare-run";
  std::string dir = testing::temp_dir();
  for (const char* bad : {"abc", "100000", "0", "4x"}) {
    auto c = testing::run_command({run, kGood, dir, dir + "/out", "--threads", bad});
    EXPECT_EQ(c.exit_code, 2) << bad;
    EXPECT_EQ(c.err, std::string("pare-run: error: --threads: '") + bad + "' is not a whole number from 1 to 256\n");
  }
}

// Loading was quadratic in a value's fan-out (200,000 consumers: over 2 minutes).
TEST(UntrustedModels, LoadingIsLinearInFanOut) {
  std::string dir = testing::temp_dir();
  auto m = tiny_model();
  auto* g = m.mutable_graph();
  for (int k = 0; k < 200000; ++k) {
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->add_input("x");
    n->add_output("r" + std::to_string(k));
  }
  auto c = testing::run_command({"timeout", "-s", "KILL", "120", testing::pare_bin(), "shrink", write_model(m, dir),
                                 "-o", dir + "/out.onnx", "--passes", "dce"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
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
