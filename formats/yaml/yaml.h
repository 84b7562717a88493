// YAML files (budgets, plans) read with yaml-cpp, with errors that name the file
// and the line, as every pare error does.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>

#include "formats/images/images.h"

namespace pare::formats {

// Parses the file; a syntax error is one pare::Error "FILE: line N: YAML syntax error: ...".
YAML::Node load_yaml_file(const std::string& path);

// The 1-based line a node starts on.
inline int line_of(const YAML::Node& n) { return n.Mark().line + 1; }

// A `dims: {NAME: N}` mapping (sizes of symbolic dims). Throws pare::Error
// "'NAME' must be a size, not 'TEXT'" (the caller adds file, line and key).
std::map<std::string, int64_t> yaml_dims(const YAML::Node& node);

// `image: {size: WxH, mean, std, layout, channels}`, as pare shrink's image flags
// (mean/std as "0.5,0.5,0.5" or a list). Errors: "FILE: line N: image: ...".
ImageOptions yaml_image(const YAML::Node& node, const std::string& file, int line);

}  // namespace pare::formats
