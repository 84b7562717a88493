#include "formats/yaml/yaml.h"

#include <algorithm>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"

namespace pare::formats {

YAML::Node load_yaml_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string msg = e.msg;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    fail("{}: line {}: YAML syntax error: {}", path, e.mark.line + 1, msg);
  }
}

std::map<std::string, int64_t> yaml_dims(const YAML::Node& node) {
  if (!node.IsMap()) fail("'dims' must be a mapping of NAME: N (e.g. dims: {{batch: 1}})");
  std::map<std::string, int64_t> out;
  for (const auto& d : node) {
    std::string name = d.first.Scalar(), text = d.second.IsScalar() ? d.second.Scalar() : "";
    size_t used = 0;
    int64_t n = -1;
    try {
      n = std::stoll(text, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != text.size() || n < 0)
      fail("'{}' must be a size, not '{}'", name, text);
    out[name] = n;
  }
  return out;
}

}  // namespace pare::formats
