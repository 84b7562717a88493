#include "lib/runtime/thread_pool.h"

#include <chrono>

#include "lib/base/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace pare::rt {
namespace {

// Tells the core this is a spin loop (saves power, lets a sibling hyperthread run).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls that only pause (a few microseconds) before the polls that yield.
constexpr int kPausePolls = 256;

void run_chunk(const std::function<void(int64_t, int64_t)>& fn, int64_t n, int index, int parts) {
  int64_t begin = n * index / parts, end = n * (index + 1) / parts;
  if (begin < end) fn(begin, end);
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  if (threads_ > kMaxThreads) fail("{} threads requested; at most {} are supported", threads, kMaxThreads);
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

// The sleeping side counts itself in `sleepers` under mu_ and then checks
// `done()` again inside the wait; the waking side makes done() true first and
// then reads `sleepers` (both sequentially consistent), taking mu_ before it
// notifies. So either the sleeper sees done() or the waker sees the sleeper:
// no wake-up is lost.
template <typename Done>
void ThreadPool::wait_for(Done done, std::condition_variable& cv, std::atomic<int>& sleepers) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::microseconds(kSpinMicros);
  for (int i = 1;; ++i) {
    if (done()) return;
    // Past the first few microseconds, give the core away on each poll: with
    // more threads than free cores, the thread that holds the work runs.
    if (i < kPausePolls) cpu_relax();
    else std::this_thread::yield();
    if (i % 64 == 0 && Clock::now() > deadline) break;
  }
  std::unique_lock<std::mutex> lock(mu_);
  sleepers.fetch_add(1);
  cv.wait(lock, done);
  sleepers.fetch_sub(1);
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (threads_ == 1 || n == 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  n_ = n;
  done_.store(0);
  // Job numbers wrap at 2^32; a job ends before the next starts, so only
  // consecutive numbers ever meet.
  uint32_t job = static_cast<uint32_t>(state_.load() >> 32) + 1;
  state_.store(uint64_t{job} << 32);  // publishes job_ and n_; no chunk taken yet
  if (work_sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    work_cv_.notify_all();
  }
  run_chunks(job);
  wait_for([this] { return done_.load() == threads_; }, done_cv_, done_sleepers_);
  job_ = nullptr;
}

// Takes the job's chunks that nobody has taken yet, one at a time, until none
// is left or another job has started. A chunk is taken by the compare-exchange
// that moves the job's next-chunk counter, so each runs exactly once; the
// caller cannot publish another job before every chunk of this one is done, so
// job_ and n_ are this job's while a taken chunk runs.
void ThreadPool::run_chunks(uint32_t job) {
  uint64_t s = state_.load();
  while (static_cast<uint32_t>(s >> 32) == job && static_cast<int>(s & 0xffffffffu) < threads_) {
    if (!state_.compare_exchange_weak(s, s + 1)) continue;  // s reloaded
    run_chunk(*job_, n_, static_cast<int>(s & 0xffffffffu), threads_);
    // The one that finishes the last chunk wakes the caller if it went to sleep.
    if (done_.fetch_add(1) + 1 == threads_ && done_sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(mu_); }
      done_cv_.notify_one();
    }
    s = state_.load();
  }
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  while (true) {
    wait_for([&] { return stop_.load() || static_cast<uint32_t>(state_.load() >> 32) != seen; }, work_cv_,
             work_sleepers_);
    if (stop_.load()) return;
    seen = static_cast<uint32_t>(state_.load() >> 32);
    run_chunks(seen);
  }
}

}  // namespace pare::rt
