#pragma once
// The tiles of one timestep of a fused recurrent kernel (internal), shared by lstm_fused.cpp
// and gru_rnn_fused.cpp: rows of the batch in groups x column groups (unit blocks or panels),
// and the weight layouts both use.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "recur/ops/recurrent_kernels.hpp"
#include "thread_pool.hpp"

namespace recur::ops::detail {

/// Throws recur::Error naming `path`: a fused kernel asked for that this build lacks (a bug in
/// recur: select_kernel() never picks one).
[[noreturn]] void no_fused_kernel(RecurrentKernel path);

inline std::size_t round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }

// The fused kernels' weight layouts (defined in lstm_fused.cpp), for a cell of ng gates of U
// units (Keras layout: (K, ng U), gate g at columns g U ..), VW floats per vector, Up = U
// rounded up to VW, unit blocks of VW units, Gp = ng Up block-interleaved columns: block j
// holds ng x VW lanes, gate g of unit j VW + v at column j ng VW + g VW + v.

/// off[u] = the interleaved column of unit u's first gate: (u / VW) ng VW + u % VW.
void unit_offsets(std::vector<std::size_t>& off, std::size_t U, std::size_t VW, std::size_t ng);
/// Permutes a (K, ng U) matrix (or an (ng U,) bias with K = 1) to (K, Gp) interleaved columns
/// (pad columns zero).
void interleave_columns(float* out, const float* w, std::size_t K, std::size_t U,
                        std::size_t VW, std::size_t ng);
/// Adds an interleaved (K, Gp) gradient into a Keras-layout (K, ng U) one.
void add_deinterleaved(float* out, const float* il, std::size_t K, std::size_t U,
                       std::size_t VW, std::size_t ng);
/// The first `gates` gates of a (K, ng U) matrix per unit block j as (K, gates, VW),
/// zero-padded, blocks K gates VW floats apart (the forward tiles' weights).
void pack_forward(float* packed, const float* w, std::size_t K, std::size_t U, std::size_t VW,
                  std::size_t ng, std::size_t gates);
/// recurrent_kernel (U, ng U) transposed, in panels of up to kPanelBlocks (simd/lstm_simd.hpp)
/// unit blocks: panel p is (Gp, nv, VW), row k' an interleaved gate column, lane (q, v) unit
/// (kPanelBlocks p + q) VW + v (the backward tiles' weights).
void pack_transposed(float* packed, const float* r, std::size_t U, std::size_t VW,
                     std::size_t ng);

/// The input projection of a fused forward, after cache.x (T, B, F) and cache.kernel_il (F, Gp)
/// are set (cache.dims the call's): with in_tiles, kernel (F, ng U) packed into
/// cache.packed_x for the tiles (pack_forward, all ng gates); else cache.gates (T*B, Gp) =
/// x kernel by one BLAS gemm, without the bias (the tiles add it).
void input_projection(RecurrentCache<float>& cache, const float* kernel, std::size_t VW,
                      std::size_t ng, bool in_tiles);

/// The rule for putting the input projection x_t kernel inside the timestep tiles (a fused
/// forward on the AVX-512 path: the LSTM and the GRU, not SimpleRNN) instead of one BLAS gemm over
/// all timesteps, measured on a Zen 5 (BENCHMARKS.md, "Input projection in the tiles"). In the
/// tiles the gates make no round trip through memory and the gemm's zeroing and packing go;
/// that wins where the tiles run about as fast as the gemm - at least two full row groups
/// (batch >= 2 max_rows) - the packed weights of a step, (F + U) x ng Up floats, stay in the
/// caches (under kInputInTilesMaxBytes), and the input is at most 2 x units wide. (With the
/// AVX2 tiles, which take their weights from memory, the gemm won everywhere measured.) The cap
/// was 6 MiB until an inference forward stopped storing the gates in the tiles
/// (RecurrentExtras::inference): since then 6-10 MiB shapes infer 3-10% faster in the tiles and
/// train equally fast (BENCHMARKS.md, "Inference stores no gates"); at 12 MiB the two are equal,
/// at 24-32 MiB the gemm wins.
bool input_in_tiles_pays(const RecurrentDims& dims, std::size_t ng, std::size_t width,
                        std::size_t max_rows);
inline constexpr std::size_t kInputInTilesMaxBytes = std::size_t{10} << 20;

// Rows in groups of up to max_rows x column groups (unit blocks forward, panels backward),
// column group outermost so a thread's tiles share weights. The batch is split into
// ceil(batch / max_rows) row groups of near-equal size (64 rows by 6: 9 x 6 + 2 x 5, not
// 10 x 6 + 4; 8 rows: 4 + 4, not 6 + 2): a tile streams the same weights whatever its rows,
// so a narrow tail tile costs almost a full one's time for a fraction of the work.
struct Tiling {
  Tiling(std::size_t batch, std::size_t max_rows, std::size_t col_tiles)
      : row_tiles((batch + max_rows - 1) / max_rows), col_tiles(col_tiles),
        base(row_tiles ? batch / row_tiles : 0), extra(row_tiles ? batch % row_tiles : 0) {}
  std::size_t row_tiles, col_tiles;
  std::size_t base, extra;  // row group i has base + (i < extra) rows
  std::size_t count() const { return row_tiles * col_tiles; }
  std::size_t first_row(std::size_t i) const { return i * base + std::min(i, extra); }
  std::size_t rows(std::size_t i) const { return base + (i < extra ? 1 : 0); }
  // One parallel region: fn(col, r0, rows) for every tile, each thread a contiguous share.
  template <typename Fn>
  void run(std::size_t threads, Fn&& fn) const {
    auto body = [&](std::size_t tid) {
      std::size_t begin, end;
      split_range(count(), tid, threads, begin, end);
      for (std::size_t t = begin; t < end; ++t) {
        const std::size_t i = t % row_tiles;
        fn(t / row_tiles, first_row(i), rows(i));
      }
    };
    ThreadPool::instance().run(threads, body);
  }
};

/// The rule for running a fused time loop by rows (TimeLoop): at least two threads; a full
/// row group (max_rows rows) for each, with max_rows >= 3 (then no thread's row groups have a
/// single row, whose tile sums in another order: the bits stay those of the other modes); at
/// least kRowsModeMinMacs multiply-adds in the whole loop; and the weights a step streams
/// (`weight_bytes`: forward (F + U or U) x Gp, backward U x Gp floats) at most
/// kRowsModeStreamBytes / threads, since every thread then streams all of them every step
/// instead of its share of the columns. Measured on a 2-core Zen 5 (BENCHMARKS.md, "Time loops
/// by rows"), same binary, rows vs tiles: faster by rows up to 2 MiB ((32, 100, 32, 64)
/// forward -20..-25%; (64, 100, 128, 256) GRU reset_after=False forward -9..-15%; LSTM
/// (64, 100, 256, 256) forward, 2 MiB, -4%), equal within the noise at 3-6 MiB (GRU (64, 50,
/// 512, 512) backward, 3 MiB, and forward, 6 MiB), slower at 4-8 MiB (LSTM (64, 50, 512, 512)
/// backward, 4 MiB, +0.5-1%; forward, 8 MiB, +2%): 3 MiB a thread on 2 threads. That the cap
/// falls with the thread count (the weights streamed per step grow with it) is not measured.
bool time_loop_by_rows(std::size_t batch, std::size_t max_rows, std::size_t threads,
                       std::size_t total_macs, std::size_t weight_bytes);
inline constexpr std::size_t kRowsModeStreamBytes = std::size_t{6} << 20;
/// One region for a whole loop costs a worker's wake-up once per call, not per step: from 1M
/// multiply-adds (tens of microseconds on a core) it pays.
inline constexpr std::size_t kRowsModeMinMacs = std::size_t{1} << 20;

/// The rows of one thread of a time loop by rows (TimeLoop) or, in tiles mode, the whole batch
/// (first 0, threads > 1 meaning one parallel region per call of tiles()).
class LoopShare {
 public:
  LoopShare(std::size_t first, std::size_t rows, std::size_t max_rows, StepThreads* steps)
      : first_(first), rows_(rows), max_rows_(max_rows), steps_(steps) {}
  /// fn(col, r0, rows) for every tile of this share over `cols` column groups: by rows, this
  /// thread's row groups (balanced as Tiling's) x cols, column outermost, here; in tiles mode
  /// every tile of the batch, as one parallel region over StepThreads' threads.
  template <typename Fn>
  void tiles(std::size_t cols, Fn&& fn) const {
    const Tiling tiling(rows_, max_rows_, cols);
    if (steps_ != nullptr) return tiling.run(steps_->threads(), fn);
    for (std::size_t c = 0; c < cols; ++c)
      for (std::size_t i = 0; i < tiling.row_tiles; ++i)
        fn(c, first_ + tiling.first_row(i), tiling.rows(i));
  }
  /// After each step (tiles mode: StepThreads times it while learning).
  void step_done() const {
    if (steps_ != nullptr) steps_->step_done();
  }

 private:
  std::size_t first_, rows_, max_rows_;
  StepThreads* steps_;
};

/// How a fused time loop spreads its tiles over the threads (issue 14). The rows of a batch
/// never meet in a recurrent layer's time loop, so by rows (time_loop_by_rows) each thread
/// takes its own rows (batch tid / threads ..) through every step in one parallel region: no
/// wait for the other threads between steps. Else tiles mode: one region per pass of a step,
/// each thread a contiguous share of the tiles (Tiling::run, column groups outermost, so a
/// thread streams only its share of the weights), threads learned per shape (StepThreads).
/// Either way each row gets the same arithmetic (row groups of two or more rows; a one-row
/// group, batch 1, runs by tiles), so results do not depend on the mode or the thread count.
/// Inside a region of the pool (a busy pool: Bidirectional's two directions side by side) by
/// tiles, which StepThreads then runs on the caller alone.
///
///   TimeLoop loop("fused-lstm-forward", B, max_rows, nb, macs_per_step, TT, weight_bytes);
///   loop.run([&](const LoopShare& share) {
///     for (each step) { share.tiles(nb, tile_fn); share.step_done(); }
///   });
class TimeLoop {
 public:
  TimeLoop(const char* kernel, std::size_t batch, std::size_t max_rows, std::size_t cols,
           std::size_t macs_per_step, std::size_t steps, std::size_t weight_bytes);
  /// Threads by rows, or 0 in tiles mode.
  std::size_t row_threads() const { return row_threads_; }
  /// body(share) on each thread's share (by rows) or once (tiles mode).
  template <typename Body>
  void run(Body&& body) {
    if (row_threads_ == 0) {
      StepThreads st(kernel_, macs_per_step_, Tiling(batch_, max_rows_, cols_).count());
      body(LoopShare(0, batch_, max_rows_, &st));
      return;
    }
    note_rows_mode();
    auto share = [&](std::size_t tid) {
      std::size_t begin, end;
      split_range(batch_, tid, row_threads_, begin, end);
      body(LoopShare(begin, end - begin, max_rows_, nullptr));
    };
    ThreadPool::instance().run(row_threads_, share);
  }

 private:
  // Adds this loop to rows_mode_loops() (once per kernel and shape).
  void note_rows_mode() const;
  const char* kernel_;
  std::size_t batch_, max_rows_, cols_, macs_per_step_, row_threads_ = 0;
};

/// The time loops run by rows so far, one line each: "kernel macs=M: by rows on N threads".
std::vector<std::string> rows_mode_loops();

}  // namespace recur::ops::detail
