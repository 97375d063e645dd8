#pragma once
// Forward and backward (full backpropagation through time) of the three recurrent cells on raw
// arrays, with masks and recurrent dropout.
//
// Where the maths lives (src/ops/):
//   cells/lstm_cell.cpp, cells/gru_cell.cpp, cells/simple_rnn_cell.cpp
//       one file per cell: its step forward and step backward side by side (the recurrent
//       product h_in R and the element-wise update of one timestep), and its naive reference.
//   recurrent_scan.cpp   the portable scan: time-major layout, one input-projection gemm for
//       all timesteps, the time loop over the cell's step, masks, recurrent dropout, outputs,
//       and the weight-gradient gemms over all timesteps.
//   lstm_fused.cpp, simd/   the fused LSTM (float, tanh / sigmoid, AVX2 or AVX-512).
//   gru_rnn_fused.cpp, simd/   the fused GRU and SimpleRNN (float, tanh / sigmoid, likewise).
//   recurrent_kernels.cpp   select_kernel() and recurrent_forward / recurrent_backward: the one
//       place that picks the portable scan or a fused kernel.
// For one timestep at a time on pre-packed weights, see recur/ops/recurrent_stepper.hpp.
//
// Equations (the same as Keras's layers and PyTorch's nn.RNN / nn.GRU / nn.LSTM):
//   SimpleRNN (Elman 1990)      h_t = a(x_t W + h_{t-1} R + b)
//   LSTM (Hochreiter & Schmidhuber 1997; forget gate Gers et al. 2000), gates i, f, c, o:
//     z = x_t W + h_{t-1} R + b;  i, f, o = ra(z_i, z_f, z_o);  g = a(z_c)
//     c_t = f c_{t-1} + i g;      h_t = o a(c_t)
//   GRU (Cho et al. 2014), gates z, r, h (Keras order; PyTorch's is r, z, n):
//     reset_after=true (Keras default, PyTorch's form), bias (2, 3U) = [input bias; recurrent bias]
//       u = x_t W + b_in;  v = h_{t-1} R + b_rec
//       z = ra(u_z + v_z);  r = ra(u_r + v_r);  hh = a(u_h + r * v_h)
//     reset_after=false, bias (3U,)
//       z = ra(u_z + h R_z);  r = ra(u_r + h R_r);  hh = a(u_h + (r * h) R_h)
//     h_t = z h_{t-1} + (1 - z) hh
// ra is recurrent_activation (sigmoid), a is activation (tanh).
//
// Layout: Keras's. kernel W (F, G), recurrent_kernel R (U, G), G = gates * U, gate blocks of U
// columns in Keras order. Inputs (B, T, F); outputs (B, T, U) with return_sequences, else (B, U).
//
// Masks (Keras semantics): mask (B, T), 1 keeps a step, 0 skips it: a skipped step carries the
// previous state through unchanged. Its output with return_sequences (Keras's RNN,
// keras/src/backend/tensorflow/rnn.py): with zero_output_for_mask false (Keras's default) the
// previous step's output - the carried h, or zeros while the sample has had no kept step yet,
// even with an initial state; with zero_output_for_mask true, zeros. Without return_sequences
// the output is the last step's under the default rule (Keras documents the flag as used only
// with return_sequences): the carried h, or zeros for a sample with no kept step.
// Recurrent dropout (Gal & Ghahramani 2016, as Keras): h_{t-1} is multiplied by a fixed
// (B, U) mask before the recurrent product (for GRU with reset_after=false: inside r * h); the
// state update itself uses the undropped h_{t-1}.
#include <cstddef>
#include <new>
#include <vector>

#include "recur/ops/activations.hpp"
#include "recur/ops/cpu.hpp"

namespace recur::ops {

enum class CellKind { kSimpleRnn, kGru, kLstm };

/// Gates per cell: 1 (SimpleRNN), 3 (GRU), 4 (LSTM).
constexpr std::size_t gate_count(CellKind kind) {
  return kind == CellKind::kLstm ? 4 : kind == CellKind::kGru ? 3 : 1;
}

/// LSTM gate blocks (Keras order i, f, c, o).
inline constexpr std::size_t kGateI = 0;
inline constexpr std::size_t kGateF = 1;
inline constexpr std::size_t kGateC = 2;
inline constexpr std::size_t kGateO = 3;
inline constexpr std::size_t kNumGates = 4;
/// GRU gate blocks (Keras order z, r, h).
inline constexpr std::size_t kGruZ = 0;
inline constexpr std::size_t kGruR = 1;
inline constexpr std::size_t kGruH = 2;

/// B batch, T timesteps, F features, U units.
struct RecurrentDims {
  std::size_t batch = 0;
  std::size_t timesteps = 0;
  std::size_t features = 0;
  std::size_t units = 0;
  bool operator==(const RecurrentDims&) const = default;
};

/// Options that change the maths. Defaults are Keras's LSTM.
struct RecurrentConfig {
  CellKind kind = CellKind::kLstm;
  Activation activation = Activation::kTanh;
  /// Gate activation (LSTM, GRU); unused by SimpleRNN.
  Activation recurrent_activation = Activation::kSigmoid;
  /// Process the sequence last step first; outputs are in processing order (as Keras).
  bool go_backwards = false;
  /// Output every step's h (B, T, U) instead of only the last (B, U).
  bool return_sequences = false;
  /// GRU only: apply the reset gate after the recurrent product (Keras default, PyTorch).
  bool reset_after = true;
  /// With return_sequences and a mask: a masked step outputs zeros (true) or repeats the
  /// previous step's output (false, Keras's default). See "Masks" above.
  bool zero_output_for_mask = false;
};

/// Shape of the bias for a cell: (G,) or, for GRU with reset_after, (2, G). Empty if no bias.
std::size_t bias_size(const RecurrentConfig& config, std::size_t units);

/// The kernels that can run a recurrent cell.
enum class RecurrentKernel {
  kPortable,              // the cell's step in plain C++ around BLAS, scanned by recurrent_scan.cpp
  kFusedLstmAvx2,         // the fused LSTM built for AVX2 + FMA (src/ops/simd)
  kFusedLstmAvx512,       // the fused LSTM built for AVX-512
  kFusedGruAvx2,          // the fused GRU, both reset_after forms (src/ops/gru_rnn_fused.cpp)
  kFusedGruAvx512,
  kFusedSimpleRnnAvx2,    // the fused SimpleRNN (src/ops/gru_rnn_fused.cpp)
  kFusedSimpleRnnAvx512,
};

/// The kernel's name, for logs and benchmarks: "portable", "fused-lstm-avx2",
/// "fused-lstm-avx512", "fused-gru-avx2", "fused-gru-avx512", "fused-simple-rnn-avx2",
/// "fused-simple-rnn-avx512".
const char* recurrent_kernel_name(RecurrentKernel kernel);

/// The one place the choice is made, for recurrent_forward: a fused kernel of `isa` when T is
/// float, `isa` has a fused build in this library and the cell is
///   an LSTM or a GRU (either reset_after) with activation tanh and recurrent_activation
///   sigmoid, or a SimpleRNN with activation tanh
/// (the fused kernels have those activations built in); otherwise the portable kernel. Callers
/// pass active_isa() (recur/ops/cpu.hpp).
template <typename T>
RecurrentKernel select_kernel(const RecurrentConfig& config, Isa isa);

/// The kernel RecurrentStepper (one timestep at a time) runs: select_kernel's choice when it is
/// the fused LSTM, the only fused kernel with a one-step form; otherwise the portable kernel.
RecurrentKernel select_step_kernel(const RecurrentConfig& config, Isa isa);

/// Per-call inputs besides x and the weights; all optional (null).
template <typename T>
struct RecurrentExtras {
  const T* h0 = nullptr;      // (B, U) initial hidden state; null: zeros
  const T* c0 = nullptr;      // (B, U) initial cell state (LSTM); null: zeros
  const T* mask = nullptr;    // (B, T) in input time order; 1 keep, 0 skip
  const T* recurrent_dropout = nullptr;  // (B, U) scaled keep-mask for h_{t-1}
  /// The caller is not expected to run recurrent_backward on this forward (a layer's forward
  /// with training false): a kernel may then skip storing what only backward reads (the fused
  /// LSTM and GRU with reset_after skip the gates, and the GRU its aux, where the input
  /// projection runs in their tiles). recurrent_backward still works after such a forward: it
  /// recomputes what was skipped first, with the same values.
  bool inference = false;
};

/// An allocator on 64-byte boundaries (a cache line, one AVX-512 vector): the fused step's
/// vector loads of packed weights and states then never straddle two cache lines, and the
/// fused GRU can write whole lines with streaming stores.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
};

/// What backward reads, written by forward, plus scratch kept to avoid allocation: buffers are
/// resized only when the dims change, so nothing is allocated after the first call of a shape.
template <typename T>
struct RecurrentCache {
  RecurrentDims dims;
  RecurrentConfig config;
  std::vector<T> x;      // (T, B, F)   inputs in processing order
  // gates and aux on 64-byte boundaries: the fused GRU's forward tiles write them with
  // streaming stores, which need whole aligned vectors (src/ops/simd/gru_rnn_simd_impl.inc).
  std::vector<T, CacheLineAllocator<T>> gates;  // (T, B, G) activated gates (SimpleRNN: h_t)
  std::vector<T, CacheLineAllocator<T>> aux;    // (T, B, U) GRU: v_h (reset_after) or r * h
  std::vector<T> h;      // (T+1, B, U) h[0] = initial state
  std::vector<T> c;      // (T+1, B, U) LSTM cell states, c[0] = initial
  std::vector<T> hd;     // (T, B, U)   h_{t-1} after recurrent dropout (when used)
  std::vector<T> mask;   // (T, B)      processing order (when used)
  std::vector<T> rmask;  // (B, U)      recurrent dropout mask (when used)
  std::vector<std::size_t> first_kept;  // (B,) each sample's first kept step, processing
                                        // order; T if none (when a mask is used)
  bool has_mask = false;
  bool has_rmask = false;
  // False after an inference forward that did not store `gates` (RecurrentExtras::inference);
  // backward recomputes them first.
  bool gates_stored = true;
  bool has_bias = true;  // the fused GRU/SimpleRNN: whether the forward had a bias
  // Scratch.
  std::vector<T> rec;     // (B, G)     GRU recurrent product of one step
  std::vector<T> dgates;  // (T, B, G)  gradient w.r.t. the input-projection pre-activations
  std::vector<T> drec;    // (T, B, G)  GRU: gradient w.r.t. the recurrent product
  std::vector<T> dh, dc, dh_in, dh_skip;  // (B, U) one step's gradients (cells/cells.hpp)
  std::vector<T> dx;      // (T, B, F)
  // The kernel that wrote the cache (select_kernel); backward takes the same one. For a fused
  // kernel, gates, dgates, drec, aux, h, c, hd and rmask use its padded, block-interleaved
  // layout (src/ops/simd/lstm_simd.hpp, gru_rnn_simd.hpp) and the buffers below are used.
  RecurrentKernel kernel = RecurrentKernel::kPortable;
  std::vector<T> kernel_il;  // (F, Gp) kernel with columns in the block-interleaved order
  std::vector<T> bias_il;    // (Gp,); fused GRU with reset_after: (2, Gp)
  std::vector<T> packed;     // recurrent_kernel packed for the forward tiles
  std::vector<T> packed_x;   // kernel packed for forward tiles that do the input projection
  std::vector<T> packed_t;   // recurrent_kernel^T packed for the backward tiles
  std::vector<T> dy_pad;     // (T, B, Up) output gradients in processing order
  std::vector<T> dw_pad;     // weight-gradient scratch: (max(F, U), Gp); the LSTM's
                             // (F + U + 1, Gp) (without a bias F + U)
  std::vector<T> xh;         // the fused LSTM's backward: (T*B, F + U + 1) rows [x_t | h_in | 1]
  std::vector<T> bias_parts;  // the fused GRU/SimpleRNN backward: per batch row (B rows), the
                              // sums over the steps of dgates (Gp) and, reset_after, drec's h (Up)
};

/// Forward pass.
///   y:      (B, T, U) with config.return_sequences, else (B, U); written.
///   h_last: (B, U) final hidden state, may be null.  c_last: (B, U) final cell (LSTM), may be null.
///   x:      (B, T, F).  kernel (F, G), recurrent_kernel (U, G), bias bias_size() or null.
template <typename T>
void recurrent_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                       const T* kernel, const T* recurrent_kernel, const T* bias,
                       const RecurrentDims& dims, const RecurrentConfig& config,
                       const RecurrentExtras<T>& extras = {});

/// Backward pass through time; reads `cache` from the last recurrent_forward with these weights.
///   dx: (B, T, F) written.  dh0, dc0: (B, U) written, may be null.
///   dkernel (F, G), drecurrent_kernel (U, G), dbias (bias_size) ACCUMULATE (+=); dbias may be null.
///   dy: gradient of y (same shape), may be null.  dh_last, dc_last: (B, U), may be null.
template <typename T>
void recurrent_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                        RecurrentCache<T>& cache, const T* dy, const T* dh_last,
                        const T* dc_last, const T* kernel, const T* recurrent_kernel);

/// One LSTM step for a batch, the unfused reference: per gate, per unit, dot products with no
/// BLAS. Tests check the fused kernels against it (STYLE.md: the naive reference is kept).
///   h, c: (B, U) in/out.  x_t: (B, F).
template <typename T>
void lstm_cell_step_naive(T* h, T* c, const T* x_t, const T* kernel, const T* recurrent_kernel,
                          const T* bias, std::size_t batch, std::size_t features,
                          std::size_t units, const RecurrentConfig& config);

/// One GRU step, unfused reference (both reset_after forms). h: (B, U) in/out, x_t (B, F).
template <typename T>
void gru_cell_step_naive(T* h, const T* x_t, const T* kernel, const T* recurrent_kernel,
                         const T* bias, std::size_t batch, std::size_t features,
                         std::size_t units, const RecurrentConfig& config);

}  // namespace recur::ops
