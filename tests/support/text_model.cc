#include "tests/support/text_model.h"

#include <onnx/defs/parser.h>

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"

namespace pare::testing {

ir::Model model_from_text(const std::string& text) {
  ::onnx::ModelProto mp;
  auto status = ::onnx::OnnxParser::Parse(mp, text.c_str());
  if (!status.IsOK()) throw Error("cannot parse test model: " + status.ErrorMessage());
  std::string bytes;
  mp.SerializeToString(&bytes);
  return formats::onnx::load_model_from_bytes(bytes, "test-model", "");
}

ir::Model relu_chain(int length, const std::string& dims) {
  std::string text = "<ir_version: 8, opset_import: [\"\" : 13]>\ng (float[" + dims + "] x) => (float[" + dims + "] y) {\n";
  std::string prev = "x";
  for (int i = 0; i < length; ++i) {
    std::string out = i == length - 1 ? "y" : "v" + std::to_string(i);
    text += "  " + out + " = Relu(" + prev + ")\n";
    prev = out;
  }
  return model_from_text(text + "}");
}

}  // namespace pare::testing
