#include "recur/ops/lstm_kernels.hpp"

#include <algorithm>

#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace {

template <typename V>
void ensure(V& v, std::size_t n) {
  if (v.size() != n) v.assign(n, 0);
}

}  // namespace

template <typename T>
void lstm_forward(T* y, T* h_last, T* c_last, LstmCache<T>& cache, const T* x, const T* h0,
                  const T* c0, const T* kernel, const T* recurrent_kernel, const T* bias,
                  const LstmDims& dims, const LstmConfig& config) {
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = kNumGates * U;
  cache.dims = dims;
  ensure(cache.x, TT * B * F);
  ensure(cache.gates, TT * B * G);
  ensure(cache.c, (TT + 1) * B * U);
  ensure(cache.h, (TT + 1) * B * U);

  // x (B, T, F) -> cache.x (T, B, F) in processing order.
  for (std::size_t s = 0; s < TT; ++s) {
    const std::size_t t = config.go_backwards ? TT - 1 - s : s;
    for (std::size_t b = 0; b < B; ++b)
      std::copy_n(x + (b * TT + t) * F, F, cache.x.data() + (s * B + b) * F);
  }
  // gates (T*B, 4U) = bias + x (T*B, F) . kernel (F, 4U): one gemm for all timesteps.
  T* gates = cache.gates.data();
  for (std::size_t r = 0; r < TT * B; ++r) {
    if (bias) std::copy_n(bias, G, gates + r * G);
    else std::fill_n(gates + r * G, G, T(0));
  }
  gemm<T>(false, false, TT * B, G, F, T(1), cache.x.data(), F, kernel, G, T(1), gates, G);

  T* hs = cache.h.data();
  T* cs = cache.c.data();
  if (h0) std::copy_n(h0, B * U, hs); else std::fill_n(hs, B * U, T(0));
  if (c0) std::copy_n(c0, B * U, cs); else std::fill_n(cs, B * U, T(0));

  const Activation act = config.activation, ract = config.recurrent_activation;
  for (std::size_t s = 0; s < TT; ++s) {
    T* z = gates + s * B * G;                  // (B, 4U)
    const T* h_prev = hs + s * B * U;          // (B, U)
    const T* c_prev = cs + s * B * U;
    T* h_next = hs + (s + 1) * B * U;
    T* c_next = cs + (s + 1) * B * U;
    // z (B, 4U) += h_prev (B, U) . recurrent_kernel (U, 4U)
    gemm<T>(false, false, B, G, U, T(1), h_prev, U, recurrent_kernel, G, T(1), z, G);
    // Fused element-wise pass: activations, cell update, output; activated gates stay in z.
    for (std::size_t b = 0; b < B; ++b) {
      T* zi = z + b * G + kGateI * U;
      T* zf = z + b * G + kGateF * U;
      T* zc = z + b * G + kGateC * U;
      T* zo = z + b * G + kGateO * U;
      const T* cp = c_prev + b * U;
      T* cn = c_next + b * U;
      T* hn = h_next + b * U;
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

  if (config.return_sequences) {
    for (std::size_t s = 0; s < TT; ++s)
      for (std::size_t b = 0; b < B; ++b)
        std::copy_n(hs + ((s + 1) * B + b) * U, U, y + (b * TT + s) * U);
  } else {
    std::copy_n(hs + TT * B * U, B * U, y);
  }
  if (h_last) std::copy_n(hs + TT * B * U, B * U, h_last);
  if (c_last) std::copy_n(cs + TT * B * U, B * U, c_last);
}

template <typename T>
void lstm_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                   LstmCache<T>& cache, const T* dy, const T* dh_last, const T* dc_last,
                   const T* kernel, const T* recurrent_kernel, const LstmConfig& config) {
  const LstmDims& dims = cache.dims;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = kNumGates * U;
  ensure(cache.dgates, TT * B * G);
  ensure(cache.dh, B * U);
  ensure(cache.dc, B * U);
  ensure(cache.dx, TT * B * F);
  T* dh = cache.dh.data();
  T* dc = cache.dc.data();
  if (dh_last) std::copy_n(dh_last, B * U, dh); else std::fill_n(dh, B * U, T(0));
  if (dc_last) std::copy_n(dc_last, B * U, dc); else std::fill_n(dc, B * U, T(0));
  if (dy && !config.return_sequences)
    for (std::size_t k = 0; k < B * U; ++k) dh[k] += dy[k];

  const Activation act = config.activation, ract = config.recurrent_activation;
  const T* gates = cache.gates.data();
  const T* cs = cache.c.data();
  for (std::size_t s = TT; s-- > 0;) {
    if (dy && config.return_sequences)
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t u = 0; u < U; ++u) dh[b * U + u] += dy[(b * TT + s) * U + u];
    const T* z = gates + s * B * G;
    T* dz = cache.dgates.data() + s * B * G;
    for (std::size_t b = 0; b < B; ++b) {
      const T* zb = z + b * G;
      T* dzb = dz + b * G;
      const T* c_prev = cs + (s * B + b) * U;
      const T* c_cur = cs + ((s + 1) * B + b) * U;
      for (std::size_t u = 0; u < U; ++u) {
        const T i = zb[kGateI * U + u], f = zb[kGateF * U + u];
        const T g = zb[kGateC * U + u], o = zb[kGateO * U + u];
        const T ac = activate(c_cur[u], act);
        const T dhv = dh[b * U + u];
        const T dcv = dc[b * U + u] + dhv * o * activation_grad_from_output(ac, act);
        dzb[kGateI * U + u] = dcv * g * activation_grad_from_output(i, ract);
        dzb[kGateF * U + u] = dcv * c_prev[u] * activation_grad_from_output(f, ract);
        dzb[kGateC * U + u] = dcv * i * activation_grad_from_output(g, act);
        dzb[kGateO * U + u] = dhv * ac * activation_grad_from_output(o, ract);
        dc[b * U + u] = dcv * f;
      }
    }
    // dh (B, U) = dz (B, 4U) . recurrent_kernel^T (4U, U)
    gemm<T>(false, true, B, U, G, T(1), dz, G, recurrent_kernel, G, T(0), dh, U);
  }
  if (dh0) std::copy_n(dh, B * U, dh0);
  if (dc0) std::copy_n(dc, B * U, dc0);

  const T* dgates = cache.dgates.data();
  // Weight gradients as large gemms over all timesteps at once.
  // dkernel (F, 4U) += x^T (F, T*B) . dz (T*B, 4U)
  gemm<T>(true, false, F, G, TT * B, T(1), cache.x.data(), F, dgates, G, T(1), dkernel, G);
  // drecurrent_kernel (U, 4U) += h_prev^T (U, T*B) . dz (T*B, 4U); h_prev = h[0..T-1]
  gemm<T>(true, false, U, G, TT * B, T(1), cache.h.data(), U, dgates, G, T(1),
          drecurrent_kernel, G);
  if (dbias)
    for (std::size_t r = 0; r < TT * B; ++r)
      for (std::size_t j = 0; j < G; ++j) dbias[j] += dgates[r * G + j];
  // dx (T*B, F) = dz (T*B, 4U) . kernel^T (4U, F), then back to (B, T, F) input order.
  gemm<T>(false, true, TT * B, F, G, T(1), dgates, G, kernel, G, T(0), cache.dx.data(), F);
  for (std::size_t s = 0; s < TT; ++s) {
    const std::size_t t = config.go_backwards ? TT - 1 - s : s;
    for (std::size_t b = 0; b < B; ++b)
      std::copy_n(cache.dx.data() + (s * B + b) * F, F, dx + (b * TT + t) * F);
  }
}

template <typename T>
void lstm_cell_step_naive(T* h, T* c, const T* x_t, const T* kernel, const T* recurrent_kernel,
                          const T* bias, std::size_t batch, std::size_t features,
                          std::size_t units, const LstmConfig& config) {
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

#define RECUR_INSTANTIATE_LSTM(T)                                                            \
  template void lstm_forward<T>(T*, T*, T*, LstmCache<T>&, const T*, const T*, const T*,     \
                                const T*, const T*, const T*, const LstmDims&,               \
                                const LstmConfig&);                                          \
  template void lstm_backward<T>(T*, T*, T*, T*, T*, T*, LstmCache<T>&, const T*, const T*,  \
                                 const T*, const T*, const T*, const LstmConfig&);           \
  template void lstm_cell_step_naive<T>(T*, T*, const T*, const T*, const T*, const T*,      \
                                        std::size_t, std::size_t, std::size_t,               \
                                        const LstmConfig&);
RECUR_INSTANTIATE_LSTM(float)
RECUR_INSTANTIATE_LSTM(double)
#undef RECUR_INSTANTIATE_LSTM

}  // namespace recur::ops
