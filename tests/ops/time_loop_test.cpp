// The schedule of a fused time loop (src/ops/fused_tiling.hpp): by rows (each thread its own
// rows through every step, one region) or by tiles (a region per pass of a step). Either way
// every tile of every pass must run once, a row's steps in order, and the rule must say which.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "recur/ops/cpu.hpp"
#include "support/isa.hpp"
#include "../../src/ops/fused_tiling.hpp"

namespace {

using recur::ops::detail::kRowsModeMinMacs;
using recur::ops::detail::kRowsModeStreamBytes;
using recur::ops::detail::LoopShare;
using recur::ops::detail::StepThreads;
using recur::ops::detail::ThreadPool;
using recur::ops::detail::time_loop_by_rows;
using recur::ops::detail::TimeLoop;

TEST(TimeLoop, ByRowsOnlyWithAFullRowGroupPerThreadWorkAndWeightsThatStayCached) {
  const std::size_t work = kRowsModeMinMacs, small = 1 << 20, cap2 = kRowsModeStreamBytes / 2;
  EXPECT_TRUE(time_loop_by_rows(64, 6, 2, work, small));
  EXPECT_TRUE(time_loop_by_rows(12, 6, 2, work, cap2));
  EXPECT_TRUE(time_loop_by_rows(9, 3, 3, work, kRowsModeStreamBytes / 3));
  EXPECT_FALSE(time_loop_by_rows(64, 6, 1, work, small)) << "one thread";
  EXPECT_FALSE(time_loop_by_rows(11, 6, 2, work, small)) << "a thread with less than a row group";
  EXPECT_FALSE(time_loop_by_rows(17, 6, 3, work, small)) << "a thread with less than a row group";
  EXPECT_FALSE(time_loop_by_rows(64, 2, 2, work, small)) << "row groups of 2 may leave one row";
  EXPECT_FALSE(time_loop_by_rows(64, 6, 2, work - 1, small)) << "too little work";
  EXPECT_FALSE(time_loop_by_rows(64, 6, 2, work, cap2 + 1)) << "weights too large";
  EXPECT_FALSE(time_loop_by_rows(64, 6, 4, work, kRowsModeStreamBytes / 4 + 1))
      << "the cap is shared by the threads";
}

// Two passes per step over different column counts, as the GRU without reset_after runs them.
// For each row, a visit of (step s, pass p, column c) must come after every column of the
// passes before p in step s, and after all of step s - 1: seen[p][c][r] counts the visits.
void expect_every_tile_once_in_step_order(std::size_t batch, std::size_t threads,
                                          std::size_t macs_per_step, bool rows_expected) {
  recur::ops::set_num_threads(threads);
  const std::size_t steps = 5, max_rows = 6, cols[2] = {7, 2};
  TimeLoop loop("time-loop-test", batch, max_rows, cols[0], macs_per_step, steps, 1024);
  const std::string at = "batch " + std::to_string(batch) + " threads " +
                         std::to_string(threads) + " macs " + std::to_string(macs_per_step);
  EXPECT_EQ(loop.row_threads(), rows_expected ? threads : 0) << at;
  std::vector<std::unique_ptr<std::atomic<int>[]>> seen;
  for (std::size_t pass = 0; pass < 2; ++pass) {
    seen.emplace_back(new std::atomic<int>[cols[pass] * batch]);
    for (std::size_t i = 0; i < cols[pass] * batch; ++i) seen.back()[i] = 0;
  }
  auto count = [&](std::size_t pass, std::size_t c, std::size_t r) {
    return seen[pass][c * batch + r].load();
  };
  std::atomic<int> out_of_order{0}, bad_tiles{0};
  loop.run([&](const LoopShare& share) {
    for (std::size_t s = 0; s < steps; ++s, share.step_done())
      for (std::size_t pass = 0; pass < 2; ++pass)
        share.tiles(cols[pass], [&](std::size_t c, std::size_t r0, std::size_t rows) {
          if (rows == 0 || rows > max_rows || r0 + rows > batch || c >= cols[pass]) {
            ++bad_tiles;
            return;
          }
          const int step = static_cast<int>(s);
          for (std::size_t r = r0; r < r0 + rows; ++r) {
            for (std::size_t p = 0; p < 2; ++p)
              for (std::size_t c2 = 0; c2 < cols[p]; ++c2) {
                const int n = count(p, c2, r);
                // Earlier passes of this step done; later ones not yet; this pass's other
                // columns either.
                const bool ok = p < pass ? n == step + 1 : p > pass ? n == step
                                                                    : n == step || n == step + 1;
                if (!ok) ++out_of_order;
              }
            if (seen[pass][c * batch + r].fetch_add(1) != step) ++out_of_order;
          }
        });
  });
  EXPECT_EQ(bad_tiles.load(), 0) << at;
  EXPECT_EQ(out_of_order.load(), 0) << at;
  for (std::size_t pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < cols[pass] * batch; ++i)
      ASSERT_EQ(seen[pass][i].load(), static_cast<int>(steps))
          << at << " pass " << pass << " column " << i / batch << " row " << i % batch;
}

TEST(TimeLoop, EveryTileOfEveryStepRunsOnceAndEachRowsStepsInOrder) {
  recur::test::IsaGuard guard;  // puts the thread count back
  for (std::size_t threads : {1, 2, 3})
    for (std::size_t batch : {1, 5, 12, 13, 19, 26, 64}) {
      const bool rows = threads >= 2 && batch >= threads * 6;
      // By rows where the rule allows; tiles on one thread (tiny steps); tiles on all threads
      // (steps too large to learn: StepThreads always splits them).
      expect_every_tile_once_in_step_order(batch, threads, kRowsModeMinMacs, rows);
      expect_every_tile_once_in_step_order(batch, threads, 1, false);
      if (!rows)
        expect_every_tile_once_in_step_order(batch, threads, StepThreads::kAlwaysParallelMacs,
                                             false);
    }
}

TEST(TimeLoop, ReportsTheLoopsRunByRowsAndNotTheOthers) {
  recur::test::IsaGuard guard;  // puts the thread count back
  recur::ops::set_num_threads(2);
  TimeLoop by_rows("time-loop-report-rows", 64, 6, 4, kRowsModeMinMacs, 1, 1024);
  TimeLoop tiles("time-loop-report-tiles", 64, 6, 4, kRowsModeMinMacs, 1,
                 kRowsModeStreamBytes);
  by_rows.run([](const LoopShare&) {});
  tiles.run([](const LoopShare&) {});
  EXPECT_EQ(by_rows.row_threads(), 2u);
  EXPECT_EQ(tiles.row_threads(), 0u);
  const std::vector<std::string> lines = recur::ops::detail::rows_mode_loops();
  const auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("time-loop-report-rows macs=" + std::to_string(kRowsModeMinMacs) +
                  ": by rows on 2 threads"));
  for (const std::string& line : lines)
    EXPECT_EQ(line.find("time-loop-report-tiles"), std::string::npos) << line;
}

// Inside a region of the pool (Bidirectional's two directions) a loop runs by tiles, on the
// caller: by rows its shares would run one after another anyway.
TEST(TimeLoop, InsideARegionOfThePoolRunsByTiles) {
  recur::test::IsaGuard guard;  // puts the thread count back
  recur::ops::set_num_threads(2);
  std::atomic<int> by_rows{0};
  auto body = [&](std::size_t) {
    TimeLoop loop("time-loop-nested", 64, 6, 4, kRowsModeMinMacs, 4, 1024);
    by_rows += loop.row_threads() != 0 ? 1 : 0;
  };
  ThreadPool::instance().run(2, body);
  EXPECT_EQ(by_rows.load(), 0);
}

}  // namespace
