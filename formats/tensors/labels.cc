// Label files for true accuracy (--labels): one class index per sample.
#include <algorithm>
#include <map>
#include <sstream>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {

std::vector<int64_t> read_labels(const std::string& path, const std::vector<std::string>& sample_names) {
  std::istringstream in(read_input_file(path));
  std::map<std::string, int64_t> by_name;
  std::vector<int64_t> in_order;
  std::string line;
  int line_no = 0;
  auto parse_label = [&](const std::string& text) -> int64_t {
    std::optional<int64_t> v = whole_number(text);
    if (!v || *v < 0) fail("{}:{}: '{}' is not a class index (an integer >= 0)", path, line_no, text);
    return *v;
  };
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<std::string> words;
    std::istringstream ws(line);
    for (std::string w; ws >> w;) words.push_back(w);
    if (words.empty() || words[0][0] == '#') continue;
    if (words.size() == 1) {
      in_order.push_back(parse_label(words[0]));
    } else if (words.size() == 2) {
      if (std::find(sample_names.begin(), sample_names.end(), words[0]) == sample_names.end())
        fail("{}:{}: '{}' is not one of the samples{}", path, line_no, words[0], did_you_mean(words[0], sample_names));
      if (!by_name.emplace(words[0], parse_label(words[1])).second)
        fail("{}:{}: '{}' is labeled twice", path, line_no, words[0]);
    } else {
      fail("{}:{}: expected 'NAME LABEL' or 'LABEL'", path, line_no);
    }
  }
  if (!by_name.empty() && !in_order.empty()) fail("{}: mixes 'NAME LABEL' lines with bare labels", path);
  if (!in_order.empty()) {
    if (in_order.size() != sample_names.size())
      fail("{}: has {} labels for {} samples", path, in_order.size(), sample_names.size());
    return in_order;
  }
  std::vector<int64_t> out;
  for (const auto& name : sample_names) {
    auto it = by_name.find(name);
    if (it == by_name.end()) fail("{}: no label for sample '{}'", path, name);
    out.push_back(it->second);
  }
  return out;
}

}  // namespace pare::formats
