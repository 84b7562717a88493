// A small fixed thread pool. parallel_for splits [0, n) into equal contiguous
// chunks, one per thread, so a given thread count always partitions the same
// way; kernels split over outputs only, so results never depend on it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pare::rt {

// More threads than this only cost memory and start-up time (each has a stack):
// no machine pare targets has more cores, and a thread count from the command
// line must not let a typo start 100,000 threads.
inline constexpr int kMaxThreads = 256;

class ThreadPool {
 public:
  // Throws pare::Error unless 1 <= threads <= kMaxThreads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int threads() const { return threads_; }
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int index);
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace pare::rt
