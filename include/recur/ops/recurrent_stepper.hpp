#pragma once
// One timestep at a time on weights packed once: the engine of streaming inference
// (RecurrentStream, recur/layers/streaming.hpp) and of RecurrentCell::step.
#include <cstddef>
#include <vector>

#include "recur/ops/recurrent_kernels.hpp"

namespace recur::ops {

/// Advances `batch` parallel streams through a cell, one timestep per step() call, on a
/// snapshot of its weights packed for the kernel that select_step_kernel(config,
/// active_isa()) picks:
///   fused LSTM   the tiles compute x_t W + h R + b for all four gates in one pass over the
///                packed weights, then the update from registers (src/ops/lstm_fused.cpp);
///   portable     x_t W + b in one gemm, then the cell's own step (src/ops/cells/).
/// The equations are the cell's (recur/ops/recurrent_kernels.hpp). Inference only: no dropout,
/// no masks. step() allocates nothing.
///
/// After load() the stepper runs on its own snapshot, which does not follow later changes of the
/// source weights: load() again. sync() is for a caller that passes its live weights before
/// every step (RecurrentCell::step): it packs only when the weights changed.
///
/// B batch, F features, U units, G = gates * U.
class RecurrentStepper {
 public:
  /// Copies kernel (F, G), recurrent_kernel (U, G) and bias (bias_size(config, U), or null) and
  /// packs them for `config`'s cell (its kind, activations and reset_after; go_backwards and
  /// return_sequences mean nothing here). The states are kept when the units stay the same,
  /// else set to zeros. No checks: the arrays must hold the sizes stated.
  void load(const float* kernel, const float* recurrent_kernel, const float* bias,
            std::size_t features, std::size_t units, const RecurrentConfig& config);
  /// Makes the next steps use these weights, doing as little as it can. Fused kernel: load()
  /// only if something differs from the snapshot, the weights' values (compared bit for bit,
  /// one sequential read of them: far cheaper than packing), the sizes, the config or the
  /// kernel select_step_kernel picks now (after set_isa). Portable kernel, which needs no packing:
  /// no copy and no comparison, the steps read the arrays passed, so they must stay alive
  /// until the next load() or sync() (a copy of the stepper reads them too). Returns whether
  /// it loaded.
  bool sync(const float* kernel, const float* recurrent_kernel, const float* bias,
            std::size_t features, std::size_t units, const RecurrentConfig& config);
  /// Sets the number of parallel streams (default 1); the states are zeroed when it changes.
  void set_batch(std::size_t batch);

  /// Advances every stream one timestep. x_t: (B, F). Returns h (B, U), valid until the next
  /// call. No checks: load() must have run and x_t hold B * F floats.
  const float* step(const float* x_t);
  /// The same step on the caller's states, in place: h and, for an LSTM, c (B, U) are read and
  /// overwritten with the new states. An LSTM's c may be null: zeros in, nothing written;
  /// other cells ignore c.
  void step(const float* x_t, float* h, float* c);

  /// The hidden state h (B, U) after the last step.
  const float* h() const noexcept { return width_ == units_ ? h_.data() : h_out_.data(); }
  /// The LSTM cell state c (B, U) after the last step; null for GRU and SimpleRNN.
  const float* c() const noexcept;
  /// Sets every state to zero (a new sequence).
  void reset();
  /// Sets the states: h and (LSTM) c, each (B, U). A null c leaves c as it was.
  void set_state(const float* h, const float* c);

  std::size_t batch() const noexcept { return batch_; }
  std::size_t features() const noexcept { return features_; }
  std::size_t units() const noexcept { return units_; }
  /// The kernel the last load() packed for.
  RecurrentKernel kernel() const noexcept { return path_; }
  bool fused() const noexcept { return path_ != RecurrentKernel::kPortable; }

 private:
  void size_states();
  void publish();

  RecurrentConfig config_;
  RecurrentKernel path_ = RecurrentKernel::kPortable;
  bool loaded_ = false;
  std::size_t batch_ = 1, features_ = 0, units_ = 0;
  std::size_t width_ = 0;  // row stride of the states: U, or U padded to whole vectors (fused)
  // The snapshot in Keras layout: what sync() compares with, and the portable path's weights.
  std::vector<float> kernel_copy_, recurrent_copy_, bias_copy_;
  // The caller's arrays, which the portable path reads instead after sync() (borrowed_).
  bool borrowed_ = false;
  const float* kernel_ptr_ = nullptr;
  const float* recurrent_ptr_ = nullptr;
  const float* bias_ptr_ = nullptr;
  // Fused path: the weights packed per unit block, the bias interleaved.
  using Aligned = std::vector<float, CacheLineAllocator<float>>;
  Aligned packed_x_, packed_r_, bias_il_;
  // States (B, width_), double-buffered; pad lanes stay zero.
  Aligned h_, h_next_, c_, c_next_;
  // Portable path scratch: z (B, G), the GRU's recurrent product (B, G) and aux (B, U).
  std::vector<float> z_, rec_, aux_;
  std::vector<float> h_out_, c_out_;  // unpadded copies, when width_ > units_
};

}  // namespace recur::ops
