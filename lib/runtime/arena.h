// Buffers for values computed at run time, reused after a value's last use.
//
// Free buffers are kept by size; a request takes the smallest free buffer that
// fits and wastes at most half of it, else allocates. Buffers are 64-byte
// aligned. In steady state (the same shapes run after run) nothing is allocated.
// `peak_bytes` is the most bytes handed out at once: the memory a run needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace pare::rt {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena();

  // Returns a buffer of at least `bytes`; `capacity` receives its real size.
  void* allocate(size_t bytes, size_t& capacity);
  void release(void* p, size_t capacity);

  int64_t in_use_bytes() const { return in_use_; }
  int64_t peak_bytes() const { return peak_; }
  int64_t reserved_bytes() const { return reserved_; }
  void reset_peak() { peak_ = in_use_; }

 private:
  std::multimap<size_t, void*> free_;
  std::vector<void*> all_;
  int64_t in_use_ = 0, peak_ = 0, reserved_ = 0;
};

}  // namespace pare::rt
