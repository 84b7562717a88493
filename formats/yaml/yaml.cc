#include "formats/yaml/yaml.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace {

// What yaml-cpp 0.7 lets through while it builds a node, checked on the parser's
// events: a quoted scalar without its closing quote (yaml-cpp throws "illegal EOF in
// scalar" only when no newline follows, so `b: "abc` then a newline loads as
// "abc <the rest of the file>"), and a second document, which YAML::Load drops
// without a word although the user meant its keys to count.
class StructureCheck : public YAML::EventHandler {
 public:
  StructureCheck(const std::string& path, const std::string& text) : path_(path), text_(text) {
    // yaml-cpp counts positions after a UTF-8 byte order mark; in UTF-16 or UTF-32
    // text (which has NUL bytes) its positions are not byte offsets, so quotes go unchecked.
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) bom_ = 3;
    positions_are_bytes_ = text_.find('\0') == std::string::npos;
  }
  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    document_line_ = mark.line + 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}  // an empty second document drops nothing
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { content(); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    content();
    check_closed(mark);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content();
  }
  void OnMapEnd() override {}

 private:
  void content() const {
    if (documents_ > 1)
      fail("{}: line {}: a second YAML document ('---'); pare reads one document per file", path_, document_line_);
  }

  // A scalar's mark is at its first property (&anchor, !tag) or at its first
  // character. A quoted one must find its closing quote by YAML's escape rules
  // (\" in double quotes, '' in single ones) before the end of the file.
  void check_closed(const YAML::Mark& mark) const {
    if (!positions_are_bytes_ || mark.pos < 0) return;
    size_t i = static_cast<size_t>(mark.pos) + bom_;
    while (i < text_.size() && (text_[i] == '&' || text_[i] == '!')) {
      i = text_.find_first_of(" \t\r\n", i);
      i = i == std::string::npos ? i : text_.find_first_not_of(" \t\r\n", i);
    }
    if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\'')) return;  // plain or block scalar
    char quote = text_[i];
    for (size_t j = i + 1; j < text_.size(); ++j) {
      if (quote == '"' && text_[j] == '\\') ++j;
      else if (text_[j] == quote && quote == '\'' && j + 1 < text_.size() && text_[j + 1] == '\'') ++j;
      else if (text_[j] == quote) return;
    }
    fail("{}: line {}: a quoted string is not closed (its closing {} is missing)", path_, mark.line + 1, quote);
  }

  const std::string& path_;
  const std::string& text_;
  size_t bom_ = 0;
  bool positions_are_bytes_ = true;
  int documents_ = 0, document_line_ = 0;
};

// yaml-cpp 0.7 (Debian's) loops forever, allocating, on a ',' that starts a
// token outside [ ] and { } in some places (",", "  ,", "\"a\"," as a whole
// file, or after a tag or an anchor, "!a,": jbeder/yaml-cpp#1040, found again by
// pare's yaml_fuzz, twice). Such a ',' is
// never valid YAML (a plain scalar cannot start with a flow indicator), so it is
// refused before yaml-cpp sees the text. Quoted strings, comments and block
// scalars (| and >) are skipped; a ',' inside a plain scalar (a: b,c) is fine.
void refuse_stray_commas(const std::string& path, const std::string& text) {
  int line = 1, flow = 0;
  bool token_start = true;  // nothing but white space or an indicator since the last token
  // Inside a plain scalar on this line (an ordinary character since the last
  // indicator): a quote there is text, not the start of a quoted scalar
  // ("path: a.onnx  \" x" is one plain scalar; skipping to a closing quote that
  // never came hid a ',' that hangs yaml-cpp on a later line: yaml_fuzz).
  bool in_plain = false;
  size_t block_indent = std::string::npos;  // in a block scalar: lines indented more than this are its text
  size_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte order mark is no token
  for (size_t i = bom; i < text.size(); ++i) {
    char c = text[i];
    // YAML allows no control characters but tab, LF and CR (nor DEL); a NUL before
    // a ',' hid the ',' from this check (yaml_fuzz), so every one is refused.
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      fail("{}: line {}: YAML syntax error: control character 0x{:02x} (not allowed in YAML)", path, line,
           static_cast<unsigned char>(c));
    if (c == '\n') {
      ++line;
      token_start = true;
      in_plain = false;
      size_t indent = 0;
      while (i + 1 + indent < text.size() && text[i + 1 + indent] == ' ') ++indent;
      if (block_indent != std::string::npos) {
        char next = i + 1 + indent < text.size() ? text[i + 1 + indent] : '\n';
        if (indent > block_indent || next == '\n' || next == '\r') {  // the block's text, or a blank line in it
          i = text.find('\n', i + 1) - 1;  // npos - 1 ends the loop
          if (i + 1 == std::string::npos) break;
          continue;
        }
        block_indent = std::string::npos;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      token_start = true;
      continue;
    }
    if (c == '#' && token_start) {  // a comment, to the end of the line
      size_t end = text.find('\n', i);
      if (end == std::string::npos) break;
      i = end - 1;
      continue;
    }
    bool starts = token_start;
    if ((c == '"' || c == '\'') && starts && !in_plain) {  // a quoted scalar (an unclosed one is StructureCheck's)
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (c == '"' && text[i] == '\\') ++i;
        if (i < text.size() && text[i] == '\n') ++line;
      }
      continue;  // token_start stays true: a ',' right after a quoted scalar is outside any value too
    }
    if ((c == '!' || c == '&' || c == '*') && starts) {  // a tag, anchor or alias: its name, then a node may start
      size_t end = text.find_first_of(" \t\r\n,[]{}", i + 1);
      i = (end == std::string::npos ? text.size() : end) - 1;
      continue;  // token_start stays true: "!a," and "&a," hang yaml-cpp as "," does
    }
    if ((c == '|' || c == '>') && starts && flow == 0) {  // a block scalar: its lines are text
      size_t bol = text.rfind('\n', i);
      bol = bol == std::string::npos ? 0 : bol + 1;
      block_indent = text.find_first_not_of(' ', bol) - bol;
    }
    if ((c == '[' || c == '{') && (starts || flow > 0)) ++flow;
    if ((c == ']' || c == '}') && flow > 0) --flow;
    if (c == ',' && flow == 0 && starts)
      fail("{}: line {}: YAML syntax error: a ',' outside [ ] or {{ }} cannot start a value (quote it)", path, line);
    char next = i + 1 < text.size() ? text[i + 1] : '\n';
    bool spaced = next == ' ' || next == '\n' || next == '\r' || next == '\t';
    if (flow > 0) token_start = c == ',' || c == '[' || c == '{' || c == ':';
    else token_start = ((c == '-' || c == ':' || c == '?') && spaced) || c == ']' || c == '}';
    in_plain = !token_start;
  }
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
  std::string text = read_input_file(path);
  refuse_stray_commas(path, text);
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StructureCheck check(path, text);
    while (parser.HandleNextDocument(check)) {
    }
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
    std::optional<int64_t> n = whole_number(text);
    if (!n || *n < 0) fail("'{}' must be a size, not '{}'", name, text);
    out[name] = *n;
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
      if (key == "size") parse_image_size("size", text, o);
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
      fail("{}: line {}: image: {}", file, at, e.what());
    }
  }
  return o;
}

}  // namespace pare::formats
