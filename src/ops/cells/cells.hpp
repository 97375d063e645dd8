#pragma once
// One timestep of each recurrent cell, forward and backward (internal). The scan
// (recurrent_scan.cpp) and the stepper (recurrent_stepper.cpp) call a cell only through these;
// each cell's two functions sit side by side in its own file, next to its naive reference.
//
// A step gets the input projection x_t W + b already computed (the scan does it for all
// timesteps in one gemm) and does the rest: the recurrent product h_in R and the element-wise
// update. Masks and recurrent dropout stay in the scan, except that a skipped row (keep 0) has
// no gate gradient, which only the cell can write.
//
// B batch, U units, G = gates * U. Every array is row-major and contiguous: (B, U) or (B, G).
// Equations: recur/ops/recurrent_kernels.hpp.
#include <cstddef>

#include "recur/ops/recurrent_kernels.hpp"

namespace recur::ops::cells {

/// What one forward step reads and writes.
template <typename T>
struct StepForward {
  T* z = nullptr;       // (B, G) in: x_t W + b; out: the activated gates (SimpleRNN: h_t)
  T* h = nullptr;       // (B, U) out: h_t
  T* c = nullptr;       // (B, U) out: c_t (LSTM); may alias c_prev
  T* aux = nullptr;     // (B, U) out (GRU): v_h = (h_in R + b_rec)_h (reset_after), else r * h_in
  T* rec = nullptr;     // (B, G) scratch (GRU reset_after): the recurrent product
  const T* h_prev = nullptr;  // (B, U) h_{t-1}
  const T* h_in = nullptr;    // (B, U) h_{t-1} after recurrent dropout (h_prev without it)
  const T* c_prev = nullptr;  // (B, U) c_{t-1} (LSTM)
  const T* recurrent_kernel = nullptr;  // (U, G)
  const T* recurrent_bias = nullptr;    // (G,) GRU reset_after: bias row 1; null: none
  std::size_t batch = 0, units = 0;
};

/// What one backward step reads and writes: the gradients of step t given dL/dh_t and dL/dc_t.
template <typename T>
struct StepBackward {
  T* dz = nullptr;       // (B, G) out: dL/d(x_t W + b), the input projection's pre-activations
  T* drec = nullptr;     // (B, G) out (GRU): dL/d(recurrent product)
  T* dh_in = nullptr;    // (B, U) out: dL/dh_in through the recurrent product
  T* dh_skip = nullptr;  // (B, U) out, kept rows: the part of dL/dh_{t-1} that bypasses the
                         //   recurrent product (GRU: dh z; LSTM, SimpleRNN: 0)
  T* dc = nullptr;       // (B, U) in: dL/dc_t; out: dL/dc_{t-1} (LSTM; a skipped row keeps it)
  const T* dh = nullptr;      // (B, U) dL/dh_t
  const T* z = nullptr;       // (B, G) the forward's activated gates
  const T* aux = nullptr;     // (B, U) the forward's aux (GRU)
  const T* h_prev = nullptr;  // (B, U) h_{t-1}
  const T* h_in = nullptr;    // (B, U) h_{t-1} after recurrent dropout
  const T* c_prev = nullptr;  // (B, U) c_{t-1} (LSTM)
  const T* c = nullptr;       // (B, U) c_t (LSTM)
  const T* keep = nullptr;    // (B,) 1 a real step, 0 a skipped one (dz = drec = 0); null: all
  const T* recurrent_kernel = nullptr;  // (U, G)
  std::size_t batch = 0, units = 0;
};

// LSTM (cells/lstm_cell.cpp), gates i, f, c, o.
template <typename T>
void lstm_step_forward(const StepForward<T>& s, const RecurrentConfig& config);
template <typename T>
void lstm_step_backward(const StepBackward<T>& s, const RecurrentConfig& config);

// GRU (cells/gru_cell.cpp), gates z, r, h, both reset_after forms.
template <typename T>
void gru_step_forward(const StepForward<T>& s, const RecurrentConfig& config);
template <typename T>
void gru_step_backward(const StepBackward<T>& s, const RecurrentConfig& config);

// SimpleRNN (cells/simple_rnn_cell.cpp).
template <typename T>
void simple_rnn_step_forward(const StepForward<T>& s, const RecurrentConfig& config);
template <typename T>
void simple_rnn_step_backward(const StepBackward<T>& s, const RecurrentConfig& config);

/// A cell's step functions, looked up once per call, outside the time loop.
template <typename T>
struct Cell {
  void (*forward)(const StepForward<T>&, const RecurrentConfig&);
  void (*backward)(const StepBackward<T>&, const RecurrentConfig&);
};

template <typename T>
Cell<T> cell_of(CellKind kind) {
  switch (kind) {
    case CellKind::kLstm: return {lstm_step_forward<T>, lstm_step_backward<T>};
    case CellKind::kGru: return {gru_step_forward<T>, gru_step_backward<T>};
    case CellKind::kSimpleRnn: break;
  }
  return {simple_rnn_step_forward<T>, simple_rnn_step_backward<T>};
}

}  // namespace recur::ops::cells
