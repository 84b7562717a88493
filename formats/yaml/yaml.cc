#include "formats/yaml/yaml.h"

#include <algorithm>
#include <filesystem>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

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

std::string yaml_scalar(const YAML::Node& n, const std::string& file, int line, const std::string& key) {
  if (!n.IsScalar() || n.Scalar().empty()) fail("{}: line {}: '{}' must be a single value", file, line, key);
  return n.Scalar();
}

void check_yaml_path(const std::string& file, int line, const std::string& key, const std::string& written,
                     const std::string& resolved, bool folder, const std::string& relative_to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(resolved, ec))
    fail("{}: line {}: {}: '{}': no such {} (paths are relative to {})", file, line, key, written,
         folder ? "folder" : "file", relative_to);
  if (folder && !fs::is_directory(resolved, ec)) fail("{}: line {}: {}: '{}' is not a folder", file, line, key, written);
  if (!folder && fs::is_directory(resolved, ec))
    fail("{}: line {}: {}: '{}' is a folder, not a file", file, line, key, written);
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

ImageOptions yaml_image(const YAML::Node& node, const std::string& file, int line) {
  static const std::vector<std::string> keys = {"size", "mean", "std", "layout", "channels"};
  if (!node.IsMap())
    fail("{}: line {}: 'image' must be a mapping such as {{size: 128x128, mean: \"0.5\", std: \"0.5\"}}", file, line);
  ImageOptions o;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    int at = line_of(kv.first);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      fail("{}: line {}: image: unknown key '{}'{}", file, at, key, did_you_mean(key, keys));
    std::string text;
    if (kv.second.IsSequence() && (key == "mean" || key == "std")) {
      std::vector<std::string> parts;
      for (const auto& x : kv.second) parts.push_back(x.IsScalar() ? x.Scalar() : "?");
      text = join(parts, ",");
    } else if (kv.second.IsScalar() && !kv.second.Scalar().empty()) {
      text = kv.second.Scalar();
    } else {
      fail("{}: line {}: image: '{}' must be a single value", file, at, key);
    }
    try {
      if (key == "size") parse_image_size(text, o);
      else if (key == "mean") o.mean = parse_float_list("mean", text);
      else if (key == "std") o.std = parse_float_list("std", text);
      else if (key == "layout") {
        if (text != "NCHW" && text != "NHWC") fail("layout: '{}' is not NCHW or NHWC", text);
        o.nhwc = text == "NHWC";
      } else if (key == "channels") {
        if (text != "rgb" && text != "bgr") fail("channels: '{}' is not rgb or bgr", text);
        o.bgr = text == "bgr";
      }
    } catch (const Error& e) {
      std::string m = e.what();
      if (starts_with(m, "--image-size: ")) m = "size: " + m.substr(14);
      fail("{}: line {}: image: {}", file, at, m);
    }
  }
  return o;
}

}  // namespace pare::formats
