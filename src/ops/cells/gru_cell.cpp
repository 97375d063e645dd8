// The GRU cell (Cho et al. 2014): one step forward, one step backward, and the naive reference,
// for float and double. Gate blocks z, r, h (Keras order; PyTorch's is r, z, n).
//   reset_after (Keras default, PyTorch's form), bias (2, 3U) = [input bias; recurrent bias]:
//     u = x_t W + b_in;  v = h_in R + b_rec
//     z = ra(u_z + v_z);  r = ra(u_r + v_r);  hh = a(u_h + r v_h)
//   otherwise, bias (3U,):
//     z = ra(u_z + h_in R_z);  r = ra(u_r + h_in R_r);  hh = a(u_h + (r h_in) R_h)
//   h_t = z h_{t-1} + (1 - z) hh
#include <algorithm>
#include <vector>

#include "cells.hpp"
#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace cells {

template <typename T>
void gru_step_forward(const StepForward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units, G = 3 * U;
  const Activation act = config.activation, ract = config.recurrent_activation;
  // Locals, not s's fields: the activations are calls, after which s.* would be reloaded.
  T* const z = s.z;
  T* const h = s.h;
  T* const aux = s.aux;
  const T* const h_prev = s.h_prev;
  const T* const h_in = s.h_in;
  const T* const R = s.recurrent_kernel;
  if (config.reset_after) {
    // v (B, 3U) = recurrent bias + h_in . R
    T* v = s.rec;
    for (std::size_t b = 0; b < B; ++b) {
      if (s.recurrent_bias) std::copy_n(s.recurrent_bias, G, v + b * G);
      else std::fill_n(v + b * G, G, T(0));
    }
    gemm<T>(false, false, B, G, U, T(1), h_in, U, R, G, T(1), v, G);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t u = 0; u < U; ++u) {
        T* zb = z + b * G;
        const T* vb = v + b * G;
        const T zg = activate(zb[kGruZ * U + u] + vb[kGruZ * U + u], ract);
        const T rg = activate(zb[kGruR * U + u] + vb[kGruR * U + u], ract);
        const T vh = vb[kGruH * U + u];
        const T hh = activate(zb[kGruH * U + u] + rg * vh, act);
        zb[kGruZ * U + u] = zg; zb[kGruR * U + u] = rg; zb[kGruH * U + u] = hh;
        aux[b * U + u] = vh;
        h[b * U + u] = zg * h_prev[b * U + u] + (T(1) - zg) * hh;
      }
    return;
  }
  // z, r blocks += h_in . R[:, :2U]; then rh = r * h_in; h block += rh . R[:, 2U:]
  gemm<T>(false, false, B, 2 * U, U, T(1), h_in, U, R, G, T(1), z, G);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < U; ++u) {
      T* zb = z + b * G;
      zb[kGruZ * U + u] = activate(zb[kGruZ * U + u], ract);
      zb[kGruR * U + u] = activate(zb[kGruR * U + u], ract);
      aux[b * U + u] = zb[kGruR * U + u] * h_in[b * U + u];
    }
  gemm<T>(false, false, B, U, U, T(1), aux, U, R + kGruH * U, G, T(1), z + kGruH * U, G);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < U; ++u) {
      T* zb = z + b * G;
      const T zg = zb[kGruZ * U + u];
      const T hh = activate(zb[kGruH * U + u], act);
      zb[kGruH * U + u] = hh;
      h[b * U + u] = zg * h_prev[b * U + u] + (T(1) - zg) * hh;
    }
}

// dz_z = dh (h_{t-1} - hh) ra'(z);  dz_h = dh (1 - z) a'(hh);  dh_skip = dh z.
//   reset_after: dz_r = dz_h v_h ra'(r);  drec = [dz_z, dz_r, dz_h r];  dh_in = drec R^T
//   otherwise:   d(rh) = dz_h R_h^T;  dz_r = d(rh) h_in ra'(r);  drec = [dz_z, dz_r, dz_h];
//                dh_in = d(rh) r + [dz_z, dz_r] R[:, :2U]^T
template <typename T>
void gru_step_backward(const StepBackward<T>& s, const RecurrentConfig& config) {
  const std::size_t B = s.batch, U = s.units, G = 3 * U;
  const Activation act = config.activation, ract = config.recurrent_activation;
  T* const dz = s.dz;
  T* const drec = s.drec;
  T* const dh_in = s.dh_in;
  T* const dh_skip = s.dh_skip;
  const T* const dh = s.dh;
  const T* const z = s.z;
  const T* const aux = s.aux;
  const T* const h_prev = s.h_prev;
  const T* const h_in = s.h_in;
  const T* const keep = s.keep;
  const T* const R = s.recurrent_kernel;
  auto kept = [&](std::size_t b) { return keep == nullptr || keep[b] != T(0); };
  for (std::size_t b = 0; b < B; ++b) {
    T* dzb = dz + b * G;
    T* dvb = drec + b * G;
    if (!kept(b)) {  // a skipped step: no gate gradient
      std::fill_n(dzb, G, T(0));
      std::fill_n(dvb, G, T(0));
      continue;
    }
    const T* zb = z + b * G;
    for (std::size_t u = 0; u < U; ++u) {
      const T zg = zb[kGruZ * U + u], rg = zb[kGruR * U + u], hh = zb[kGruH * U + u];
      const T dhv = dh[b * U + u];
      const T dzp = dhv * (h_prev[b * U + u] - hh) * activation_grad_from_output(zg, ract);
      const T dhh = dhv * (T(1) - zg) * activation_grad_from_output(hh, act);
      dh_skip[b * U + u] = dhv * zg;  // h_t = z h_{t-1} + ...: around the recurrent product
      dzb[kGruZ * U + u] = dzp;
      dzb[kGruH * U + u] = dhh;
      dvb[kGruZ * U + u] = dzp;
      if (config.reset_after) {
        const T drp = dhh * aux[b * U + u] * activation_grad_from_output(rg, ract);
        dzb[kGruR * U + u] = drp;
        dvb[kGruR * U + u] = drp;
        dvb[kGruH * U + u] = dhh * rg;
      } else {
        dvb[kGruH * U + u] = dhh;  // r is finished below, once d(r*h) is known
      }
    }
  }
  if (config.reset_after) {
    // dh_in (B, U) = drec (B, 3U) . R^T
    gemm<T>(false, true, B, U, G, T(1), drec, G, R, G, T(0), dh_in, U);
  } else {
    // d(rh) (B, U) = dz_h . R_h^T, into dh_in; then each element becomes d(rh) r in place.
    gemm<T>(false, true, B, U, U, T(1), drec + kGruH * U, G, R + kGruH * U, G, T(0), dh_in,
            U);
    for (std::size_t b = 0; b < B; ++b) {
      if (!kept(b)) {
        std::fill_n(dh_in + b * U, U, T(0));
        continue;
      }
      for (std::size_t u = 0; u < U; ++u) {
        const T rg = z[b * G + kGruR * U + u];
        const T drh = dh_in[b * U + u];
        const T drp = drh * h_in[b * U + u] * activation_grad_from_output(rg, ract);
        dz[b * G + kGruR * U + u] = drp;
        drec[b * G + kGruR * U + u] = drp;
        dh_in[b * U + u] = drh * rg;
      }
    }
    // dh_in += [dz_z, dz_r] (B, 2U) . R[:, :2U]^T
    gemm<T>(false, true, B, U, 2 * U, T(1), drec, G, R, G, T(1), dh_in, U);
  }
}

}  // namespace cells

// Dot products per gate and unit, no BLAS (both reset_after forms): the reference.
template <typename T>
void gru_cell_step_naive(T* h, const T* x_t, const T* kernel, const T* recurrent_kernel,
                         const T* bias, std::size_t batch, std::size_t features,
                         std::size_t units, const RecurrentConfig& config) {
  const std::size_t U = units, G = 3 * U;
  std::vector<T> h_new(batch * U);
  auto xdot = [&](std::size_t b, std::size_t col) {
    T acc = bias ? bias[col] : T(0);
    for (std::size_t k = 0; k < features; ++k) acc += x_t[b * features + k] * kernel[k * G + col];
    return acc;
  };
  // sum_k v[k] R[k, col] for a vector v of U values
  auto rdot = [&](const T* v, std::size_t col) {
    T acc = 0;
    for (std::size_t k = 0; k < U; ++k) acc += v[k] * recurrent_kernel[k * G + col];
    return acc;
  };
  for (std::size_t b = 0; b < batch; ++b) {
    const T* hb = h + b * U;
    std::vector<T> r(U), z(U), rh(U);
    for (std::size_t u = 0; u < U; ++u) {
      const T rec_bias_z = bias && config.reset_after ? bias[G + kGruZ * U + u] : T(0);
      const T rec_bias_r = bias && config.reset_after ? bias[G + kGruR * U + u] : T(0);
      z[u] = activate(xdot(b, kGruZ * U + u) + rdot(hb, kGruZ * U + u) + rec_bias_z,
                      config.recurrent_activation);
      r[u] = activate(xdot(b, kGruR * U + u) + rdot(hb, kGruR * U + u) + rec_bias_r,
                      config.recurrent_activation);
      rh[u] = r[u] * hb[u];
    }
    for (std::size_t u = 0; u < U; ++u) {
      const std::size_t col = kGruH * U + u;
      T pre;
      if (config.reset_after) {
        const T rec_bias_h = bias ? bias[G + col] : T(0);
        pre = xdot(b, col) + r[u] * (rdot(hb, col) + rec_bias_h);
      } else {
        pre = xdot(b, col) + rdot(rh.data(), col);
      }
      const T hh = activate(pre, config.activation);
      h_new[b * U + u] = z[u] * hb[u] + (T(1) - z[u]) * hh;
    }
  }
  std::copy(h_new.begin(), h_new.end(), h);
}

#define RECUR_INSTANTIATE_GRU_CELL(T)                                                          \
  template void cells::gru_step_forward<T>(const cells::StepForward<T>&,                       \
                                           const RecurrentConfig&);                            \
  template void cells::gru_step_backward<T>(const cells::StepBackward<T>&,                     \
                                            const RecurrentConfig&);                           \
  template void gru_cell_step_naive<T>(T*, const T*, const T*, const T*, const T*, std::size_t, \
                                       std::size_t, std::size_t, const RecurrentConfig&);
RECUR_INSTANTIATE_GRU_CELL(float)
RECUR_INSTANTIATE_GRU_CELL(double)
#undef RECUR_INSTANTIATE_GRU_CELL

}  // namespace recur::ops
