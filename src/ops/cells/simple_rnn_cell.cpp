// The fully connected recurrent cell (Elman 1990): one step forward and one step backward, for
// float and double.
//   h_t = a(x_t W + b + h_in R)
#include <algorithm>

#include "cells.hpp"
#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace cells {

// z (B, U) += h_in . R;  h_t = z = a(z)
template <typename T>
void simple_rnn_step_forward(const StepForward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units;
  T* const z = s.z;
  T* const h = s.h;
  gemm<T>(false, false, B, U, U, T(1), s.h_in, U, s.recurrent_kernel, U, T(1), z, U);
  for (std::size_t k = 0; k < B * U; ++k) h[k] = z[k] = activate(z[k], config.activation);
}

// dz = dh a'(h_t);  dh_in = dz R^T
template <typename T>
void simple_rnn_step_backward(const StepBackward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units;
  T* const dz = s.dz;
  const T* const dh = s.dh;
  const T* const z = s.z;
  for (std::size_t b = 0; b < B; ++b) {
    const bool kept = s.keep == nullptr || s.keep[b] != T(0);
    for (std::size_t k = b * U; k < (b + 1) * U; ++k)
      dz[k] = kept ? dh[k] * activation_grad_from_output(z[k], config.activation) : T(0);
  }
  gemm<T>(false, true, B, U, U, T(1), s.dz, U, s.recurrent_kernel, U, T(0), s.dh_in, U);
  std::fill_n(s.dh_skip, B * U, T(0));
}

}  // namespace cells

#define RECUR_INSTANTIATE_SIMPLE_RNN_CELL(T)                                                   \
  template void cells::simple_rnn_step_forward<T>(const cells::StepForward<T>&,                \
                                                  const RecurrentConfig&);                     \
  template void cells::simple_rnn_step_backward<T>(const cells::StepBackward<T>&,              \
                                                   const RecurrentConfig&);
RECUR_INSTANTIATE_SIMPLE_RNN_CELL(float)
RECUR_INSTANTIATE_SIMPLE_RNN_CELL(double)
#undef RECUR_INSTANTIATE_SIMPLE_RNN_CELL

}  // namespace recur::ops
