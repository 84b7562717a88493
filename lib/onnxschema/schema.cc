#include "lib/onnxschema/schema.h"

#include <onnx/defs/schema.h>

namespace pare::onnxschema {

const ::onnx::OpSchema* known_schema(const std::string& op, const std::string& domain, int64_t opset) {
  const auto& versions = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = versions.find(domain);
  if (it == versions.end() || opset < it->second.first || opset > it->second.second) return nullptr;
  const ::onnx::OpSchema* schema = ::onnx::OpSchemaRegistry::Schema(op, static_cast<int>(opset), domain);
  return schema && !schema->deprecated() ? schema : nullptr;
}

}  // namespace pare::onnxschema
