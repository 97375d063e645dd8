#pragma once
// LSTM forward and backward (full backpropagation through time) on raw arrays.
//
// Equations (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000; the same
// as Keras's LSTM and PyTorch's nn.LSTM):
//   z_t = x_t . kernel + h_{t-1} . recurrent_kernel + bias          z: (B, 4U), gates i, f, c, o
//   i = ra(z_i)   f = ra(z_f)   g = a(z_c)   o = ra(z_o)             ra: recurrent_activation
//   c_t = f * c_{t-1} + i * g                                        a: activation
//   h_t = o * a(c_t)
//
// Layout: Keras's. kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U,), each with its four
// gate blocks of U columns in the order i, f, c, o (kGateI...). Inputs (B, T, F), outputs
// (B, T, U) or (B, U). Internally time-major so that each step's gates are one contiguous
// (B, 4U) block: the input projection of all timesteps is ONE gemm, and a step is one recurrent
// gemm plus one fused element-wise pass. Nothing is allocated inside the time loop; buffers live
// in LstmCache and are resized only when the dims change.
#include <cstddef>
#include <vector>

#include "recur/ops/activations.hpp"

namespace recur::ops {

/// Gate block indices in kernel/recurrent_kernel/bias columns (Keras order i, f, c, o).
inline constexpr std::size_t kGateI = 0;
inline constexpr std::size_t kGateF = 1;
inline constexpr std::size_t kGateC = 2;
inline constexpr std::size_t kGateO = 3;
inline constexpr std::size_t kNumGates = 4;

/// B batch, T timesteps, F features, U units.
struct LstmDims {
  std::size_t batch = 0;
  std::size_t timesteps = 0;
  std::size_t features = 0;
  std::size_t units = 0;
  bool operator==(const LstmDims&) const = default;
};

/// Options that change the maths. Defaults are Keras's.
struct LstmConfig {
  Activation activation = Activation::kTanh;
  Activation recurrent_activation = Activation::kSigmoid;
  /// Process the sequence last step first; outputs are in processing order (as Keras).
  bool go_backwards = false;
  /// Output every step's h (B, T, U) instead of only the last (B, U).
  bool return_sequences = false;
};

/// What the backward pass reads, written by the forward pass (oneDNN calls it the workspace).
template <typename T>
struct LstmCache {
  LstmDims dims;
  std::vector<T> x;      // (T, B, F)   inputs in processing order
  std::vector<T> gates;  // (T, B, 4U)  activated gates i, f, g, o
  std::vector<T> c;      // (T+1, B, U) c[0] = initial state
  std::vector<T> h;      // (T+1, B, U) h[0] = initial state
  // Backward scratch, kept to avoid allocation on every call.
  std::vector<T> dgates;  // (T, B, 4U) gradient w.r.t. pre-activation gates z
  std::vector<T> dh;      // (B, U)
  std::vector<T> dc;      // (B, U)
  std::vector<T> dx;      // (T, B, F)
};

/// Forward pass.
///   y:        (B, T, U) if config.return_sequences else (B, U); written.
///   h_last:   (B, U) final hidden state, may be null.   c_last: (B, U) final cell, may be null.
///   x:        (B, T, F).   h0, c0: (B, U) initial state, null for zeros.
///   kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U,) or null (use_bias=false).
template <typename T>
void lstm_forward(T* y, T* h_last, T* c_last, LstmCache<T>& cache, const T* x, const T* h0,
                  const T* c0, const T* kernel, const T* recurrent_kernel, const T* bias,
                  const LstmDims& dims, const LstmConfig& config);

/// Backward pass through time; reads `cache` from the last lstm_forward with these weights.
///   dx: (B, T, F) written.  dh0, dc0: (B, U) written, may be null.
///   dkernel (F, 4U), drecurrent_kernel (U, 4U), dbias (4U,) ACCUMULATE (+=); dbias may be null.
///   dy: gradient of the output y (same shape), may be null.
///   dh_last, dc_last: (B, U) gradients of the returned final states, may be null.
template <typename T>
void lstm_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                   LstmCache<T>& cache, const T* dy, const T* dh_last, const T* dc_last,
                   const T* kernel, const T* recurrent_kernel, const LstmConfig& config);

/// One step of the cell for a batch, the unfused reference: per gate, per unit, dot products
/// with no BLAS. Used by tests to check the layer kernels (STYLE.md: naive reference kept).
///   h, c: (B, U) in/out.  x_t: (B, F).
template <typename T>
void lstm_cell_step_naive(T* h, T* c, const T* x_t, const T* kernel, const T* recurrent_kernel,
                          const T* bias, std::size_t batch, std::size_t features,
                          std::size_t units, const LstmConfig& config);

}  // namespace recur::ops
