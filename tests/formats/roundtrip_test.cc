// ONNX load -> save -> load keeps every node, name, attribute, doc string,
// metadata entry, opset and constant; the checker accepts the output; saving is
// deterministic. Loading rejects nodes that do not fit their ONNX schema.
#include <gtest/gtest.h>

#include <onnx/defs/parser.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <functional>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "tests/support/errors.h"
#include "tests/support/models.h"

namespace pare::formats::onnx {
namespace {

void expect_same_graph(const ir::Graph& a, const ir::Graph& b) {
  ASSERT_EQ(a.nodes().size(), b.nodes().size());
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.doc_string, b.doc_string);
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const ir::Node& x = *a.nodes()[i];
    const ir::Node& y = *b.nodes()[i];
    ASSERT_EQ(x.op_type, y.op_type) << "node " << i;
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.doc_string, y.doc_string);
    ASSERT_EQ(x.inputs().size(), y.inputs().size());
    for (size_t k = 0; k < x.inputs().size(); ++k)
      EXPECT_EQ(x.input(k) ? x.input(k)->name() : "", y.input(k) ? y.input(k)->name() : "");
    ASSERT_EQ(x.outputs().size(), y.outputs().size());
    for (size_t k = 0; k < x.outputs().size(); ++k)
      EXPECT_EQ(x.output(k) ? x.output(k)->name() : "", y.output(k) ? y.output(k)->name() : "");
    ASSERT_EQ(x.attrs.size(), y.attrs.size());
    for (size_t k = 0; k < x.attrs.size(); ++k) {
      EXPECT_EQ(x.attrs[k].name, y.attrs[k].name);
      EXPECT_EQ(x.attrs[k].kind, y.attrs[k].kind);
      EXPECT_EQ(x.attrs[k].i, y.attrs[k].i);
      EXPECT_EQ(x.attrs[k].ints, y.attrs[k].ints);
      EXPECT_EQ(x.attrs[k].s, y.attrs[k].s);
      EXPECT_EQ(x.attrs[k].floats, y.attrs[k].floats);
      EXPECT_TRUE(x.attrs[k].t.same_content(y.attrs[k].t));
    }
    auto xs = x.subgraphs(), ys = y.subgraphs();
    ASSERT_EQ(xs.size(), ys.size());
    for (size_t k = 0; k < xs.size(); ++k) expect_same_graph(*xs[k], *ys[k]);
  }
  auto ca = a.constants(), cb = b.constants();
  ASSERT_EQ(ca.size(), cb.size());
  for (size_t i = 0; i < ca.size(); ++i) {
    EXPECT_EQ(ca[i]->name(), cb[i]->name());
    EXPECT_EQ(ca[i]->constant_origin, cb[i]->constant_origin);
    EXPECT_EQ(ca[i]->constant_attr, cb[i]->constant_attr);
    EXPECT_TRUE(ca[i]->constant().same_content(cb[i]->constant())) << ca[i]->name();
  }
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    EXPECT_EQ(a.inputs[i]->name(), b.inputs[i]->name());
    EXPECT_EQ(a.inputs[i]->dtype, b.inputs[i]->dtype);
    EXPECT_EQ(a.inputs[i]->shape, b.inputs[i]->shape);
  }
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t i = 0; i < a.outputs.size(); ++i) EXPECT_EQ(a.outputs[i]->name(), b.outputs[i]->name());
}

// Counts NodeProtos (Constant nodes included) straight from the file, not through the IR.
int proto_node_count(const std::string& bytes) {
  ::onnx::ModelProto mp;
  EXPECT_TRUE(mp.ParseFromString(bytes));
  return mp.graph().node_size();
}

class RealModel : public ::testing::TestWithParam<std::string> {};

TEST_P(RealModel, RoundTripKeepsEverything) {
  std::string path = GetParam();
  ir::Model a = load_model(path);
  std::string out = testing::temp_dir() + "/out.onnx";
  save_model(a, out);
  ir::Model b = load_model(out);
  EXPECT_EQ(a.ir_version, b.ir_version);
  EXPECT_EQ(a.producer_name, b.producer_name);
  EXPECT_EQ(a.producer_version, b.producer_version);
  EXPECT_EQ(a.doc_string, b.doc_string);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.opsets.size(), b.opsets.size());
  for (size_t i = 0; i < a.opsets.size(); ++i) {
    EXPECT_EQ(a.opsets[i].domain, b.opsets[i].domain);
    EXPECT_EQ(a.opsets[i].version, b.opsets[i].version);
  }
  expect_same_graph(*a.graph, *b.graph);
  // Every node of the file, Constant nodes included, is written back.
  EXPECT_EQ(proto_node_count(read_file(path)), proto_node_count(read_file(out)));
  EXPECT_NO_THROW(check_model(b));
  // Deterministic: the same model saved again gives the same bytes.
  std::string out2 = testing::temp_dir() + "/out2.onnx";
  save_model(b, out2);
  EXPECT_EQ(read_file(out), read_file(out2));
}

TEST_P(RealModel, ExternalDataRoundTrip) {
  ir::Model a = load_model(GetParam());
  std::string dir = testing::temp_dir();
  save_model(a, dir + "/m.onnx", SaveOptions{true, 1024});
  EXPECT_TRUE(std::filesystem::exists(dir + "/m.onnx.data"));
  EXPECT_LT(std::filesystem::file_size(dir + "/m.onnx"), std::filesystem::file_size(GetParam()));
  ir::Model b = load_model(dir + "/m.onnx");
  expect_same_graph(*a.graph, *b.graph);
}

TEST_P(RealModel, TruncationIsAnErrorNeverACrash) {
  std::string bytes = read_file(GetParam());
  int errors = 0;
  for (int k = 1; k < 40; ++k) {
    size_t cut = bytes.size() * k / 40;
    try {
      load_model_from_bytes(bytes.substr(0, cut), "cut.onnx", "");
    } catch (const Error& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).rfind("cut.onnx: ", 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(errors, 30);  // nearly every cut breaks the model, and each says so
}

// Loads `text` as "m.onnx" after `edit` changes its first node (files the text
// syntax cannot write: empty input names, no outputs); returns the error, or "".
std::string load_error(const std::string& text, const std::function<void(::onnx::NodeProto&)>& edit) {
  ::onnx::ModelProto mp;
  auto status = ::onnx::OnnxParser::Parse(mp, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  ::onnx::GraphProto* g = mp.mutable_graph();
  if (g->node(0).op_type() == "If") g = g->mutable_node(0)->mutable_attribute(0)->mutable_g();  // edit inside the body
  edit(*g->mutable_node(0));
  std::string bytes;
  mp.SerializeToString(&bytes);
  return testing::error_of([&] { load_model_from_bytes(bytes, "m.onnx", ""); });
}

// Sets the node's name and its inputs and outputs ("" for an absent one).
std::function<void(::onnx::NodeProto&)> wire(const std::vector<std::string>& inputs,
                                             const std::vector<std::string>& outputs, const std::string& name = "n") {
  return [=](::onnx::NodeProto& n) {
    n.set_name(name);
    n.clear_input();
    for (const auto& i : inputs) n.add_input(i);
    n.clear_output();
    for (const auto& o : outputs) n.add_output(o);
  };
}

TEST(Load, RejectsNodesThatDoNotFitTheirSchema) {
  auto model = [](const std::string& op) {
    return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
           "g (float[1, 3, 8, 8] x, float[4, 3, 3, 3] w, float[4] b) => (float[1, 4, 6, 6] y) { y = " + op + " }";
  };
  std::string add = model("Add(x, x)"), relu = model("Relu(x)"), conv = model("Conv(x, w, b)");
  EXPECT_EQ(load_error(add, wire({"x"}, {"y"})), "m.onnx: node 'n' (Add): takes 2 inputs, has 1");
  EXPECT_EQ(load_error(add, wire({"x", ""}, {"y"})), "m.onnx: node 'n' (Add): takes 2 inputs, has 1");
  EXPECT_EQ(load_error(add, wire({"x", "x", "x"}, {"y"}, "")), "m.onnx: node #0 (Add): takes 2 inputs, has 3");
  EXPECT_EQ(load_error(relu, wire({}, {"y"})), "m.onnx: node 'n' (Relu): takes 1 input, has 0");
  EXPECT_EQ(load_error(relu, wire({"x", "x", "x"}, {"y"})), "m.onnx: node 'n' (Relu): takes 1 input, has 3");
  EXPECT_EQ(load_error(relu, wire({"x"}, {})), "m.onnx: node 'n' (Relu): takes 1 output, has 0");
  EXPECT_EQ(load_error(relu, wire({"x"}, {"y", "z"})), "m.onnx: node 'n' (Relu): takes 1 output, has 2");
  EXPECT_EQ(load_error(conv, wire({"x"}, {"y"})), "m.onnx: node 'n' (Conv): takes 2 to 3 inputs, has 1");
  EXPECT_EQ(load_error(conv, wire({"x", "", "b"}, {"y"})), "m.onnx: node 'n' (Conv): input 1 (W) is required");
  std::string concat = model("Concat<axis = 1>(x, x)");
  EXPECT_EQ(load_error(concat, wire({}, {"y"})), "m.onnx: node 'n' (Concat): takes at least 1 input, has 0");
  // Inside a subgraph too.
  std::string in_if = R"(<ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] x) => (float[2] y) {
      y = If(c) <then_branch = t () => (float[2] a) { a = Add(x, x) }, else_branch = e () => (float[2] b) { b = Neg(x) }>
    })";
  EXPECT_EQ(load_error(in_if, wire({"x"}, {"a"})), "m.onnx: node 'n' (Add): takes 2 inputs, has 1");
}

TEST(Load, AcceptsOptionalInputsLeftEmptyAndOpsLibonnxDoesNotKnow) {
  auto keep = [](::onnx::NodeProto&) {};
  // Conv without its bias; Resize's roi left empty in the middle; trailing "" are absent.
  std::string resize = R"(<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 2, 2] x, float[4] s) => (float[1, 1, 4, 4] y) { y = Resize(x, x, s) })";
  EXPECT_EQ(load_error(resize, wire({"x", "", "s"}, {"y"})), "");
  EXPECT_EQ(load_error(resize, wire({"x", "", "s", ""}, {"y", ""})), "");
  std::string conv = R"(<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 8, 8] x, float[4, 3, 3, 3] w) => (float[1, 4, 6, 6] y) { y = Conv(x, w) })";
  EXPECT_EQ(load_error(conv, keep), "");
  // Unknown ops, and opsets newer than libonnx knows (ReduceMean took axes as an input at 18), load.
  EXPECT_EQ(load_error(R"(<ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { y = NoSuchOp(x, x, x) })", keep), "");
  EXPECT_EQ(load_error(R"(<ir_version: 8, opset_import: ["" : 18]>
    g (float[2, 3] x, int64[1] a) => (float[2, 1] y) { y = ReduceMean(x, a) })", keep), "");
}

INSTANTIATE_TEST_SUITE_P(Formats, RealModel, ::testing::ValuesIn(testing::real_models()),
                         [](const auto& info) { return testing::test_name_for(info.param); });

}  // namespace
}  // namespace pare::formats::onnx
