// The run-time choice of threads per recurrent shape (src/ops/thread_pool.hpp): the decision
// rule on given timings, and the cases that never learn.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "recur/ops/cpu.hpp"
#include "../../src/ops/thread_pool.hpp"

namespace {

using recur::ops::detail::StepThreads;
using recur::ops::detail::ThreadChoice;

// Feeds `choice` the timings of its own next() picks: one thread takes `one` seconds a step,
// n threads `many`.
void learn(ThreadChoice& choice, double one, double many) {
  for (int step = 0; step < 100 && !choice.decided(); ++step) {
    const std::size_t t = choice.next();
    choice.add(t, t == 1 ? one : many);
  }
}

TEST(ThreadChoice, TimesABlockOnNThreadsThenOnOneAndKeepsTheFaster) {
  ThreadChoice c(2);
  const std::size_t block = ThreadChoice::kWarmup + ThreadChoice::kSamples;
  for (std::size_t k = 0; k < block; ++k) {
    EXPECT_EQ(c.next(), 2u) << k;
    c.add(2, k < ThreadChoice::kWarmup ? 1.0 : 4e-6);  // warm-up steps (waking workers) not counted
  }
  EXPECT_EQ(c.describe(), "learning");
  for (std::size_t k = 0; k < block; ++k) {
    EXPECT_EQ(c.next(), 1u) << k;
    EXPECT_FALSE(c.decided());
    c.add(1, 1e-5);
  }
  ASSERT_TRUE(c.decided());
  EXPECT_EQ(c.next(), 2u);
  EXPECT_NE(c.describe().find("2 threads (1: 10.00 us, 2: 4.00 us"), std::string::npos) << c.describe();
  c.add(1, 1e-9);  // ignored once decided
  EXPECT_EQ(c.next(), 2u);
}

TEST(ThreadChoice, MoreThreadsMustWinByTheMargin) {
  ThreadChoice slower(4);
  learn(slower, 1e-5, 2e-5);
  EXPECT_EQ(slower.next(), 1u);
  ThreadChoice barely(4);
  learn(barely, 1e-5, 0.95e-5);  // 5% faster: not worth a region's synchronisation
  EXPECT_EQ(barely.next(), 1u);
  EXPECT_NE(barely.describe().find("1 thread "), std::string::npos) << barely.describe();
}

TEST(ThreadChoice, TheMedianIgnoresAFewOutliers) {
  ThreadChoice c(2);
  for (int step = 0; step < 100 && !c.decided(); ++step) {
    const std::size_t t = c.next();
    // Two counted one-thread steps hit by a preemption.
    c.add(t, t == 2 ? 1.2e-5 : step == 10 || step == 12 ? 1e-2 : 1e-5);
  }
  ASSERT_TRUE(c.decided());
  EXPECT_EQ(c.next(), 1u);  // a mean would have picked 2 threads
}

TEST(ThreadChoice, ADisturbedMeasurementIsTakenAgain) {
  // n threads 100x slower (another pool spinning on the worker's core): not decided yet.
  ThreadChoice c(2);
  const std::size_t both = 2 * (ThreadChoice::kWarmup + ThreadChoice::kSamples);
  for (std::size_t k = 0; k < both; ++k) {
    const std::size_t t = c.next();
    c.add(t, t == 1 ? 1e-5 : 1e-3);
  }
  EXPECT_FALSE(c.decided());
  learn(c, 1e-5, 5e-6);  // the disturbance has gone
  ASSERT_TRUE(c.decided());
  EXPECT_EQ(c.next(), 2u);
  // A disturbance that stays: one thread after kRetries retries.
  ThreadChoice stuck(2);
  learn(stuck, 1e-5, 1e-3);
  ASSERT_TRUE(stuck.decided());
  EXPECT_EQ(stuck.next(), 1u);
}

TEST(ThreadChoice, ATimingForTheOtherOptionIsIgnored) {
  ThreadChoice c(2);
  c.add(1, 1e-5);  // next() is 2 until the n-thread block is done
  learn(c, 1.0, 1e-6);
  EXPECT_EQ(c.next(), 2u);
}

TEST(StepThreads, OneThreadWhenThereIsNothingToLearn) {
  const std::size_t saved = recur::ops::num_threads();
  recur::ops::set_num_threads(2);
  EXPECT_EQ(StepThreads("test", StepThreads::kMinCalibrateMacs - 1, 64).threads(), 1u);  // tiny
  EXPECT_EQ(StepThreads("test", StepThreads::kAlwaysParallelMacs, 1).threads(), 1u);    // one tile
  EXPECT_EQ(StepThreads("test", StepThreads::kAlwaysParallelMacs, 64).threads(), 2u);   // large
  recur::ops::set_num_threads(1);
  EXPECT_EQ(StepThreads("test", StepThreads::kAlwaysParallelMacs, 64).threads(), 1u);
  recur::ops::set_num_threads(saved);
}

TEST(StepThreads, LearnsAMidSizedShapeOnceAndReportsIt) {
  const std::size_t saved = recur::ops::num_threads();
  recur::ops::set_num_threads(2);
  const std::size_t macs = StepThreads::kMinCalibrateMacs * 4;
  std::size_t steps = 0;
  // Learning carries over from call to call, each call on one option from start to end; 32
  // calls of 5 steps (3 timed) cover every retry ThreadChoice may take when these empty steps
  // happen to time n threads far slower than one.
  for (int call = 0; call < 32; ++call) {
    StepThreads st("test-learn", macs, 8);
    const std::size_t threads = st.threads();
    EXPECT_TRUE(threads == 1 || threads == 2);
    for (int s = 0; s < 5; ++s, ++steps) {
      EXPECT_EQ(st.threads(), threads) << "call " << call << " step " << s;
      st.step_done();
    }
  }
  bool found = false;
  for (const std::string& line : recur::ops::detail::learned_step_threads())
    if (line.rfind("test-learn macs=" + std::to_string(macs) + " tiles=8 threads=2: ", 0) == 0) {
      found = true;
      EXPECT_EQ(line.find("learning"), std::string::npos) << line;
    }
  EXPECT_TRUE(found);
  EXPECT_GE(steps, (ThreadChoice::kRetries + 1) * 2 * (ThreadChoice::kWarmup + ThreadChoice::kSamples));
  recur::ops::set_num_threads(saved);
}

// A layout pass: below kParallelPassBytes one call on the caller with every item; above it
// contiguous shares, on num_threads() threads (at most one per item), that cover every item once.
TEST(ParallelPass, SmallPassesStayOnTheCallerLargeOnesCoverEveryItemOnce) {
  using recur::ops::detail::kParallelPassBytes;
  using recur::ops::detail::parallel_pass;
  const std::size_t saved = recur::ops::num_threads();
  for (const std::size_t threads : {1, 2, 3}) {
    recur::ops::set_num_threads(threads);
    for (const std::size_t n : {1, 2, 7, 100}) {
      for (const std::size_t bytes : {kParallelPassBytes - 1, kParallelPassBytes}) {
        std::vector<int> hits(n, 0);
        std::atomic<std::size_t> calls{0};
        parallel_pass(n, bytes, [&](std::size_t begin, std::size_t end) {
          ASSERT_LT(begin, end);
          ASSERT_LE(end, n);
          for (std::size_t i = begin; i < end; ++i) ++hits[i];  // shares are disjoint
          ++calls;
        });
        const std::string label = "threads " + std::to_string(threads) + " n " +
                                  std::to_string(n) + " bytes " + std::to_string(bytes);
        EXPECT_EQ(hits, std::vector<int>(n, 1)) << label;
        const std::size_t expected = bytes < kParallelPassBytes ? 1 : std::min(threads, n);
        EXPECT_EQ(calls.load(), expected) << label;
      }
    }
  }
  recur::ops::set_num_threads(saved);
}

// An n-thread step that no worker took part in measured one thread: it is not counted (up to
// kMaxUnhelped of them), so a worker that the OS placed on the caller's core for a process's
// first milliseconds cannot make n threads look no faster than one.
TEST(ThreadChoice, StepsNoWorkerHelpedAreNotCountedUpToALimit) {
  ThreadChoice c(2);
  for (std::size_t k = 0; k < ThreadChoice::kMaxUnhelped; ++k) {
    ASSERT_EQ(c.next(), 2u);
    c.add(2, 1e-5, /*helped=*/false);
  }
  EXPECT_EQ(c.describe(), "learning");
  learn(c, 1e-5, 4e-6);  // helped from now on: 2 threads win
  ASSERT_TRUE(c.decided());
  EXPECT_EQ(c.next(), 2u);
  // Past the limit the samples count: a process confined to one core still decides (for one).
  ThreadChoice confined(2);
  for (int step = 0; step < 2000 && !confined.decided(); ++step) {
    const std::size_t t = confined.next();
    confined.add(t, 1e-5, t == 1);
  }
  ASSERT_TRUE(confined.decided());
  EXPECT_EQ(confined.next(), 1u);
}

// A decision is learned again after kRelearnCalls calls of its shape, then 4x as many.
TEST(ThreadChoice, LearnsAgainAfterKRelearnCallsThenFourTimesAsMany) {
  ThreadChoice c(2);
  learn(c, 1e-5, 2e-5);  // one thread wins at first
  ASSERT_TRUE(c.decided());
  ASSERT_EQ(c.next(), 1u);
  for (std::size_t k = 0; k + 1 < ThreadChoice::kRelearnCalls; ++k) c.call_started();
  EXPECT_TRUE(c.decided());
  c.call_started();
  EXPECT_FALSE(c.decided());
  learn(c, 1e-5, 4e-6);  // now two threads win
  ASSERT_TRUE(c.decided());
  EXPECT_EQ(c.next(), 2u);
  for (std::size_t k = 0; k + 1 < 4 * ThreadChoice::kRelearnCalls; ++k) c.call_started();
  EXPECT_TRUE(c.decided());
  c.call_started();
  EXPECT_FALSE(c.decided());
}

// Every share of every region runs exactly once, whoever claims it (the caller or a worker),
// for regions of 2 to 4 shares back to back, after idle gaps (workers asleep) and nested.
TEST(ThreadPool, EveryShareOfEveryRegionRunsOnce) {
  auto& pool = recur::ops::detail::ThreadPool::instance();
  for (int region = 0; region < 3000; ++region) {
    const std::size_t shares = 2 + region % 3;
    std::vector<std::atomic<int>> runs(shares);
    for (auto& r : runs) r = 0;
    auto fn = [&](std::size_t share) {
      ASSERT_LT(share, shares);
      ++runs[share];
      if (region % 97 == 0 && share == 0) {  // a nested region runs its shares on this thread
        std::atomic<int> inner{0};
        auto inner_fn = [&](std::size_t) { ++inner; };
        pool.run(2, inner_fn);
        EXPECT_EQ(inner.load(), 2);
      }
    };
    if (region % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    pool.run(shares, fn);
    for (std::size_t k = 0; k < shares; ++k)
      ASSERT_EQ(runs[k].load(), 1) << "region " << region << " share " << k;
  }
}

}  // namespace
