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

}  // namespace pare::testing
