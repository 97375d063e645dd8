// The LSTM cell (Hochreiter & Schmidhuber 1997; forget gate Gers et al. 2000): one step forward,
// one step backward, and the naive reference, for float and double. Gate blocks i, f, c, o.
//   z = x_t W + b + h_in R;  i, f, o = ra(z_i, z_f, z_o);  g = a(z_c)
//   c_t = f c_{t-1} + i g;   h_t = o a(c_t)
// The fused kernels (lstm_fused.cpp, simd/) compute the same step for float with tanh / sigmoid.
#include <algorithm>
#include <vector>

#include "cells.hpp"
#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace cells {

// z (B, 4U) += h_in (B, U) . R (U, 4U); then the gates and the update.
template <typename T>
void lstm_step_forward(const StepForward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units, G = kNumGates * U;
  const Activation act = config.activation, ract = config.recurrent_activation;
  gemm<T>(false, false, B, G, U, T(1), s.h_in, U, s.recurrent_kernel, G, T(1), s.z, G);
  for (std::size_t b = 0; b < B; ++b) {
    T* zi = s.z + b * G + kGateI * U;
    T* zf = s.z + b * G + kGateF * U;
    T* zc = s.z + b * G + kGateC * U;
    T* zo = s.z + b * G + kGateO * U;
    const T* cp = s.c_prev + b * U;
    T* cn = s.c + b * U;
    T* hn = s.h + b * U;
    for (std::size_t u = 0; u < U; ++u) {
      const T i = activate(zi[u], ract), f = activate(zf[u], ract);
      const T g = activate(zc[u], act), o = activate(zo[u], ract);
      zi[u] = i; zf[u] = f; zc[u] = g; zo[u] = o;
      const T c = f * cp[u] + i * g;
      cn[u] = c;
      hn[u] = o * activate(c, act);
    }
  }
}

// dc_t = dc + dh o a'(c_t);  dz_i = dc_t g ra'(i);  dz_f = dc_t c_{t-1} ra'(f);
// dz_c = dc_t i a'(g);  dz_o = dh a(c_t) ra'(o);  dc_{t-1} = dc_t f;  dh_in = dz R^T.
// (Derivatives from the activations' outputs: a'(g) for g = a(z).)
template <typename T>
void lstm_step_backward(const StepBackward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units, G = kNumGates * U;
  const Activation act = config.activation, ract = config.recurrent_activation;
  for (std::size_t b = 0; b < B; ++b) {
    T* dzb = s.dz + b * G;
    if (s.keep != nullptr && s.keep[b] == T(0)) {
      std::fill_n(dzb, G, T(0));  // a skipped step: no gate gradient, dc passes through
      continue;
    }
    const T* zb = s.z + b * G;
    const T* c_prev = s.c_prev + b * U;
    const T* c_cur = s.c + b * U;
    const T* dh = s.dh + b * U;
    T* dc = s.dc + b * U;
    for (std::size_t u = 0; u < U; ++u) {
      const T i = zb[kGateI * U + u], f = zb[kGateF * U + u];
      const T g = zb[kGateC * U + u], o = zb[kGateO * U + u];
      const T ac = activate(c_cur[u], act);
      const T dhv = dh[u];
      const T dcv = dc[u] + dhv * o * activation_grad_from_output(ac, act);
      dzb[kGateI * U + u] = dcv * g * activation_grad_from_output(i, ract);
      dzb[kGateF * U + u] = dcv * c_prev[u] * activation_grad_from_output(f, ract);
      dzb[kGateC * U + u] = dcv * i * activation_grad_from_output(g, act);
      dzb[kGateO * U + u] = dhv * ac * activation_grad_from_output(o, ract);
      dc[u] = dcv * f;
    }
  }
  // dh_in (B, U) = dz (B, 4U) . R^T (4U, U)
  gemm<T>(false, true, B, U, G, T(1), s.dz, G, s.recurrent_kernel, G, T(0), s.dh_in, U);
  std::fill_n(s.dh_skip, B * U, T(0));
}

}  // namespace cells

// Per gate, per unit dot products, no BLAS: the reference the scan and the fused kernels are
// tested against.
template <typename T>
void lstm_cell_step_naive(T* h, T* c, const T* x_t, const T* kernel, const T* recurrent_kernel,
                          const T* bias, std::size_t batch, std::size_t features,
                          std::size_t units, const RecurrentConfig& config) {
  const std::size_t U = units, G = kNumGates * U;
  std::vector<T> h_new(batch * U), c_new(batch * U);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t u = 0; u < U; ++u) {
      T z[kNumGates];
      for (std::size_t gate = 0; gate < kNumGates; ++gate) {
        const std::size_t col = gate * U + u;
        T acc = bias ? bias[col] : T(0);
        for (std::size_t k = 0; k < features; ++k) acc += x_t[b * features + k] * kernel[k * G + col];
        for (std::size_t k = 0; k < U; ++k) acc += h[b * U + k] * recurrent_kernel[k * G + col];
        z[gate] = acc;
      }
      const T i = activate(z[kGateI], config.recurrent_activation);
      const T f = activate(z[kGateF], config.recurrent_activation);
      const T g = activate(z[kGateC], config.activation);
      const T o = activate(z[kGateO], config.recurrent_activation);
      c_new[b * U + u] = f * c[b * U + u] + i * g;
      h_new[b * U + u] = o * activate(c_new[b * U + u], config.activation);
    }
  }
  std::copy(h_new.begin(), h_new.end(), h);
  std::copy(c_new.begin(), c_new.end(), c);
}

#define RECUR_INSTANTIATE_LSTM_CELL(T)                                                         \
  template void cells::lstm_step_forward<T>(const cells::StepForward<T>&,                      \
                                            const RecurrentConfig&);                           \
  template void cells::lstm_step_backward<T>(const cells::StepBackward<T>&,                    \
                                             const RecurrentConfig&);                          \
  template void lstm_cell_step_naive<T>(T*, T*, const T*, const T*, const T*, const T*,        \
                                        std::size_t, std::size_t, std::size_t,                 \
                                        const RecurrentConfig&);
RECUR_INSTANTIATE_LSTM_CELL(float)
RECUR_INSTANTIATE_LSTM_CELL(double)
#undef RECUR_INSTANTIATE_LSTM_CELL

}  // namespace recur::ops
