#include "lib/runtime/arena.h"

#include <cstdlib>
#include <new>

namespace pare::rt {

Arena::~Arena() {
  for (void* p : all_) std::free(p);
}

void* Arena::allocate(size_t bytes, size_t& capacity) {
  size_t want = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  auto it = free_.lower_bound(want);
  void* p;
  if (it != free_.end() && it->first <= 2 * want) {
    capacity = it->first;
    p = it->second;
    free_.erase(it);
  } else {
    capacity = want;
    p = std::aligned_alloc(64, want);
    if (!p) throw std::bad_alloc();
    all_.push_back(p);
    reserved_ += static_cast<int64_t>(want);
  }
  in_use_ += static_cast<int64_t>(capacity);
  if (in_use_ > peak_) peak_ = in_use_;
  return p;
}

void Arena::release(void* p, size_t capacity) {
  if (!p) return;
  in_use_ -= static_cast<int64_t>(capacity);
  free_.emplace(capacity, p);
}

}  // namespace pare::rt
