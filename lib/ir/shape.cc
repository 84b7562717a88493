#include "lib/ir/shape.h"

#include "lib/base/error.h"

namespace pare::ir {

std::string Dim::str() const {
  if (is_known()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

Shape Shape::of(const std::vector<int64_t>& sizes) {
  Shape s;
  for (int64_t v : sizes) s.dims.push_back(Dim::known(v));
  return s;
}

bool Shape::is_static() const {
  for (const auto& d : dims)
    if (!d.is_known()) return false;
  return true;
}

std::vector<int64_t> Shape::sizes() const {
  std::vector<int64_t> out;
  for (const auto& d : dims) out.push_back(d.value);
  return out;
}

std::optional<int64_t> Shape::numel() const {
  if (!is_static()) return std::nullopt;
  return checked_numel(sizes());
}

std::string Shape::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].str();
  }
  return s + "]";
}

int64_t checked_numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail("negative dimension {}", d);
    if (d != 0 && n > INT64_MAX / d) fail("dimensions overflow a 64-bit element count");
    n *= d;
  }
  return n;
}

}  // namespace pare::ir
