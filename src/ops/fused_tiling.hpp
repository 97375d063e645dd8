#pragma once
// The tiles of one timestep of a fused recurrent kernel (internal), shared by lstm_fused.cpp
// and gru_rnn_fused.cpp: rows of the batch in groups x column groups (unit blocks or panels).
#include <algorithm>
#include <cstddef>

#include "recur/ops/recurrent_kernels.hpp"
#include "thread_pool.hpp"

namespace recur::ops::detail {

/// Throws recur::Error naming `path`: a fused kernel asked for that this build lacks (a bug in
/// recur: select_kernel() never picks one).
[[noreturn]] void no_fused_kernel(RecurrentKernel path);

inline std::size_t round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }

// Rows in groups of max_rows x column groups (unit blocks forward, panels backward), column
// group outermost so a thread's tiles share weights.
struct Tiling {
  std::size_t row_tiles, col_tiles, max_rows, batch;
  std::size_t count() const { return row_tiles * col_tiles; }
  // One parallel region: fn(col, r0, rows) for every tile, each thread a contiguous share.
  template <typename Fn>
  void run(std::size_t threads, Fn&& fn) const {
    auto body = [&](std::size_t tid) {
      std::size_t begin, end;
      split_range(count(), tid, threads, begin, end);
      for (std::size_t t = begin; t < end; ++t) {
        const std::size_t r0 = (t % row_tiles) * max_rows;
        fn(t / row_tiles, r0, std::min(max_rows, batch - r0));
      }
    };
    ThreadPool::instance().run(threads, body);
  }
};

}  // namespace recur::ops::detail
