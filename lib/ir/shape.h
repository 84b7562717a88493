// Shapes with symbolic dimensions ("batch", "width") as real models have them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pare::ir {

// One dimension: a known size, a named symbol, or unknown (neither).
struct Dim {
  int64_t value = -1;   // >= 0 when known
  std::string symbol;   // non-empty when symbolic

  static Dim known(int64_t v) { return Dim{v, {}}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
  // "3", "batch" or "?"
  std::string str() const;
};

// A rank-known shape. "Unknown rank" is std::optional<Shape> being empty at the Value.
struct Shape {
  std::vector<Dim> dims;

  Shape() = default;
  explicit Shape(std::vector<Dim> d) : dims(std::move(d)) {}
  static Shape of(const std::vector<int64_t>& sizes);

  size_t rank() const { return dims.size(); }
  bool is_static() const;                     // every dim known
  std::vector<int64_t> sizes() const;         // requires is_static()
  std::optional<int64_t> numel() const;       // when static
  bool operator==(const Shape&) const = default;
  // "[1,3,batch,?]"
  std::string str() const;
};

// Product of dims; throws pare::Error if negative or overflowing int64.
int64_t checked_numel(const std::vector<int64_t>& dims);

}  // namespace pare::ir
