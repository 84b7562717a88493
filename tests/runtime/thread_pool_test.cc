// The pool's hand-offs: every index of every job runs exactly once, on the
// partition the thread count fixes, whether the workers are still polling
// (back-to-back jobs) or asleep (a pause longer than the spin), and the pool
// shuts down from either state (a lost wake-up would hang the test).
#include "lib/runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>

namespace pare::rt {
namespace {

// Runs `jobs` jobs of n indices; each index adds its job number + 1 to its slot.
void run_jobs(ThreadPool& pool, int jobs, int64_t n, std::chrono::microseconds pause) {
  std::vector<std::atomic<int64_t>> slots(static_cast<size_t>(n));
  for (int job = 0; job < jobs; ++job) {
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) slots[static_cast<size_t>(i)].fetch_add(job + 1);
    });
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  int64_t expected = int64_t{jobs} * (jobs + 1) / 2;
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(slots[static_cast<size_t>(i)].load(), expected) << "index " << i;
}

TEST(ThreadPool, BackToBackJobsRunEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    run_jobs(pool, 2000, 7, std::chrono::microseconds(0));
    run_jobs(pool, 200, 1, std::chrono::microseconds(0));
    run_jobs(pool, 50, 1000, std::chrono::microseconds(0));
  }
}

TEST(ThreadPool, JobsAfterTheWorkersSleptStillRun) {
  ThreadPool pool(3);
  auto pause = std::chrono::microseconds(3 * ThreadPool::kSpinMicros);
  run_jobs(pool, 20, 9, pause);
}

TEST(ThreadPool, ChunksFollowTheThreadCount) {
  ThreadPool pool(3);
  using Range = std::pair<int64_t, int64_t>;
  std::vector<Range> seen(3, Range{-1, -1});
  pool.parallel_for(10, [&](int64_t b, int64_t e) { seen[b == 0 ? 0 : b == 3 ? 1 : 2] = Range{b, e}; });
  EXPECT_EQ(seen, (std::vector<Range>{{0, 3}, {3, 6}, {6, 10}}));
}

TEST(ThreadPool, ShutsDownWhetherPollingOrAsleep) {
  { ThreadPool pool(4); run_jobs(pool, 3, 8, std::chrono::microseconds(0)); }  // workers still polling
  {
    ThreadPool pool(4);
    run_jobs(pool, 1, 8, std::chrono::microseconds(0));
    std::this_thread::sleep_for(std::chrono::microseconds(3 * ThreadPool::kSpinMicros));  // now asleep
  }
}

TEST(ThreadPool, RefusesAbsurdThreadCounts) { EXPECT_ANY_THROW(ThreadPool(kMaxThreads + 1)); }

}  // namespace
}  // namespace pare::rt
