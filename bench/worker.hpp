#pragma once
// The worker side of recur-bench: one process per implementation (recur, oneDNN, libtorch), so
// their thread pools never spin against each other and each one's peak memory is its own. The
// driver (recur_bench.cpp) talks to a worker over its stdin/stdout, one command per line:
//
//   setup CELL B T F U make the data for this cell (lstm, gru, gru_v1) and configuration and
//                      set the implementation up
//   check PATH         one training step from zero gradients; write y, dx, dkernel,
//                      drecurrent_kernel, dbias (float32, Keras layouts) to PATH
//   time MODE SECONDS  run MODE for at least SECONDS; reply the mean seconds per call
//   stream CELL F U    set up streaming (batch 1); then `time stream S` is seconds per step
//   mem                peak RSS growth (bytes) since the data was made (clear_refs reset)
//   peak               OpenBLAS sgemm 2048^3 GFLOP/s (recur worker only)
//   blas               the OpenBLAS core this worker runs (recur worker only; else "-")
//   threads            the thread counts chosen at run time so far (recur worker only; else "-")
//   quit
// Every reply is one line starting with "ok" or "error".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

/// The recurrent layer timed: Keras's LSTM, GRU (reset_after=True, its default; PyTorch's and
/// cuDNN's form) or GRU with reset_after=False (the original Cho et al. form).
enum class Cell { kLstm, kGru, kGruV1 };

struct CellEntry {
  Cell cell;
  const char* name;   // --cell and the worker protocol
  const char* title;  // reports
};
/// The one name <-> cell table.
inline constexpr CellEntry kCells[] = {
    {Cell::kLstm, "lstm", "LSTM"},
    {Cell::kGru, "gru", "GRU (reset_after=True)"},
    {Cell::kGruV1, "gru_v1", "GRU (reset_after=False)"},
};

inline const CellEntry& cell_entry(Cell c) {
  for (const auto& e : kCells)
    if (e.cell == c) return e;
  return kCells[0];
}
inline const char* cell_name(Cell c) { return cell_entry(c).name; }
inline bool parse_cell(const std::string& s, Cell& c) {
  for (const auto& e : kCells)
    if (s == e.name) {
      c = e.cell;
      return true;
    }
  return false;
}

/// Gate blocks: 4 (LSTM: i, f, c, o) or 3 (GRU: z, r, h).
inline std::size_t gate_count(Cell c) { return c == Cell::kLstm ? 4 : 3; }
/// Keras's bias size: G = gates * U, or 2G for GRU with reset_after (input and recurrent bias).
inline std::size_t bias_size(Cell c, std::size_t units) {
  return (c == Cell::kGru ? 2 : 1) * gate_count(c) * units;
}

struct Config {
  std::size_t batch = 0, timesteps = 0, features = 0, units = 0;
  Cell cell = Cell::kLstm;
};

/// The same data for every implementation: Keras layouts, deterministic; G = gates * U.
///   x (B, T, F), kernel (F, G), recurrent_kernel (U, G), bias (bias_size,), dy (B, T, U)
struct Data {
  Config cfg;
  std::vector<float> x, kernel, recurrent_kernel, bias, dy;
};

inline Data make_data(const Config& c) {
  Data d;
  d.cfg = c;
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state](float scale) {  // xorshift64*, uniform in [-scale, scale)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const std::uint64_t r = state * 0x2545F4914F6CDD1Dull;
    return scale * (static_cast<float>(r >> 40) / 8388608.0f - 1.0f);
  };
  const double units = static_cast<double>(c.units > 0 ? c.units : 1);
  const float ws = 1.0f / static_cast<float>(std::sqrt(units));
  const std::size_t G = gate_count(c.cell) * c.units;
  d.x.resize(c.batch * c.timesteps * c.features);
  d.kernel.resize(c.features * G);
  d.recurrent_kernel.resize(c.units * G);
  d.bias.resize(bias_size(c.cell, c.units));
  d.dy.resize(c.batch * c.timesteps * c.units);
  for (auto& v : d.x) v = next(1.0f);
  for (auto& v : d.kernel) v = next(ws);
  for (auto& v : d.recurrent_kernel) v = next(ws);
  for (auto& v : d.bias) v = next(0.1f);
  for (auto& v : d.dy) v = next(1.0f);
  return d;
}

/// What `check` writes, in this order, each Keras layout.
struct Outputs {
  std::vector<float> y, dx, dkernel, drecurrent_kernel, dbias;
};

enum class Mode { kForward, kForwardTraining, kBackward, kForwardBackward, kStream };

class Worker {
 public:
  virtual ~Worker() = default;
  /// Sets up one layer of d.cfg.cell (return_sequences, zero initial state) with d's weights.
  virtual void setup(const Data& d) = 0;
  /// One call of a mode. kBackward may assume a kForwardTraining call before it.
  virtual void run(Mode mode) = 0;
  /// One training step from zero gradients, outputs copied out.
  virtual void check(Outputs& out) = 0;
  /// Streaming: batch 1, the weights of d (d.cfg has the cell, F and U), steps through d.x's
  /// timesteps. False: not supported (for this cell).
  virtual bool stream_setup(const Data& d) = 0;
  virtual void stream_step() = 0;
  virtual double sgemm_peak() { return 0; }
  /// openblas_get_corename() where the worker calls OpenBLAS; "-" elsewhere.
  virtual std::string blas_core() { return "-"; }
  /// The thread counts the implementation chose at run time, "; "-separated ("-": none).
  virtual std::string thread_choices() { return "-"; }
};

/// Runs the command loop on stdin/stdout; returns the process exit code.
int serve(Worker& worker);

}  // namespace bench
