// A small fixed thread pool. parallel_for splits [0, n) into equal contiguous
// chunks, as many as threads, so a given thread count always partitions the
// same way; kernels split over outputs only, so results never depend on it.
// Which thread runs a chunk is not fixed: the caller and the workers take the
// chunks nobody has taken yet. A worker that is slow to start (asleep, or on a
// virtual CPU the host has descheduled) then costs the caller one chunk's wait
// at most, not every kernel's. Measured on a 2-vCPU cloud VM (AMD EPYC),
// 15 runs after 3 warm-ups: the text-direction classifier took 2.8-4.0 ms on
// two threads against 1.4 ms on one while each worker owned its chunk, and
// 1.5 ms on two since (bench/notes.md).
//
// Hand-offs spin before they sleep. A session calls parallel_for once per
// kernel, often for tens of microseconds of work, back to back; waking a
// sleeping thread through the kernel costs about as much on bare metal and far
// more on a virtual machine, where an idle vCPU is descheduled (measured: two
// threads ran the text-direction classifier 10x slower than one on a cloud
// Xeon with the sleep-only pool). So a worker that finishes a chunk keeps
// polling for the next job for kSpinMicros before it blocks on the condition
// variable, and the caller polls for the workers' completion the same way; a
// run of kernels then hands off in well under a microsecond, and an idle pool
// still sleeps (no core is burnt between runs).
#pragma once

#include <atomic>
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

  // How long a hand-off polls before it sleeps (see above): about the gap
  // between two kernels of a session, far below a frame's time.
  static constexpr int kSpinMicros = 300;

 private:
  void worker();
  // Runs chunks of job number `job` that nobody has taken, until none is left.
  void run_chunks(uint32_t job);
  // Waits until `done()`; polls first, then sleeps on `cv` (counted in `sleepers`).
  template <typename Done>
  void wait_for(Done done, std::condition_variable& cv, std::atomic<int>& sleepers);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::atomic<int> work_sleepers_{0}, done_sleepers_{0};
  // The job, published by the store of state_ that starts it.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0;
  // The job's number (high 32 bits) and its next chunk to take (low 32 bits).
  std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};  // chunks of the current job finished
  std::atomic<bool> stop_{false};
};

}  // namespace pare::rt
