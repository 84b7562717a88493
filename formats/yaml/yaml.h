// YAML files (budgets, plans) read with yaml-cpp, with errors that name the file
// and the line, as every pare error does.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>

#include "formats/images/images.h"

namespace pare::formats {

// Parses the file; a syntax error is one pare::Error "FILE: line N: YAML syntax error: ...",
// and so are a quoted string left open and a second document (a file is one document).
YAML::Node load_yaml_file(const std::string& path);

// The 1-based line a node starts on.
inline int line_of(const YAML::Node& n) { return n.Mark().line + 1; }

// The text of a scalar node; anything else (a list, a mapping, nothing) is
// "FILE: line N: 'KEY' must be a single value".
std::string yaml_scalar(const YAML::Node& n, const std::string& file, int line, const std::string& key);

// Checks that a path written in FILE under KEY (`resolved`: as this process opens
// it) exists and is a folder (or a file). Errors name the file, line and key and
// say what paths are relative to (`relative_to`: "the plan's folder").
void check_yaml_path(const std::string& file, int line, const std::string& key, const std::string& written,
                     const std::string& resolved, bool folder, const std::string& relative_to);

// A `dims: {NAME: N}` mapping (sizes of symbolic dims). Throws pare::Error
// "'NAME' must be a size, not 'TEXT'" (the caller adds file, line and key).
std::map<std::string, int64_t> yaml_dims(const YAML::Node& node);

// `image: {size: WxH, mean, std, layout, channels}`, as pare shrink's image flags
// (mean/std as "0.5,0.5,0.5" or a list). Errors: "FILE: line N: image: ...".
ImageOptions yaml_image(const YAML::Node& node, const std::string& file, int line);

}  // namespace pare::formats
