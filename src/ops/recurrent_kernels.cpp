#include "recur/ops/recurrent_kernels.hpp"

#include <algorithm>
#include <type_traits>

#include "lstm_fused.hpp"
#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace {

using detail::ensure;

// The input step processed at position s.
std::size_t step_index(std::size_t s, std::size_t timesteps, bool go_backwards) {
  return go_backwards ? timesteps - 1 - s : s;
}

// --- Per-cell fused element-wise passes, forward -----------------------------------------------

// LSTM: z (B, 4U) holds pre-activations; on return it holds the activated gates.
template <typename T>
void lstm_step(T* z, const T* c_prev, T* c_next, T* h_next, std::size_t B, std::size_t U,
               Activation act, Activation ract) {
  const std::size_t G = 4 * U;
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

}  // namespace

namespace detail {

template <typename T>
void load_time_major(RecurrentCache<T>& cache, const T* x, const RecurrentExtras<T>& extras,
                     const RecurrentDims& dims, bool go_backwards) {
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features;
  ensure(cache.x, TT * B * F);
  cache.has_mask = extras.mask != nullptr;
  cache.has_rmask = extras.recurrent_dropout != nullptr;
  if (cache.has_mask) ensure(cache.mask, TT * B);
  for (std::size_t s = 0; s < TT; ++s) {
    const std::size_t t = step_index(s, TT, go_backwards);
    for (std::size_t b = 0; b < B; ++b) {
      std::copy_n(x + (b * TT + t) * F, F, cache.x.data() + (s * B + b) * F);
      if (cache.has_mask) cache.mask[s * B + b] = extras.mask[b * TT + t];
    }
  }
}

template <typename T>
void store_input_gradient(T* dx, const RecurrentCache<T>& cache) {
  const std::size_t B = cache.dims.batch, TT = cache.dims.timesteps, F = cache.dims.features;
  for (std::size_t s = 0; s < TT; ++s) {
    const std::size_t t = step_index(s, TT, cache.config.go_backwards);
    for (std::size_t b = 0; b < B; ++b)
      std::copy_n(cache.dx.data() + (s * B + b) * F, F, dx + (b * TT + t) * F);
  }
}

template void load_time_major<float>(RecurrentCache<float>&, const float*,
                                     const RecurrentExtras<float>&, const RecurrentDims&, bool);
template void load_time_major<double>(RecurrentCache<double>&, const double*,
                                      const RecurrentExtras<double>&, const RecurrentDims&, bool);
template void store_input_gradient<float>(float*, const RecurrentCache<float>&);
template void store_input_gradient<double>(double*, const RecurrentCache<double>&);

}  // namespace detail

std::size_t bias_size(const RecurrentConfig& config, std::size_t units) {
  const std::size_t G = gate_count(config.kind) * units;
  return config.kind == CellKind::kGru && config.reset_after ? 2 * G : G;
}

template <typename T>
void recurrent_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                       const T* kernel, const T* recurrent_kernel, const T* bias,
                       const RecurrentDims& dims, const RecurrentConfig& config,
                       const RecurrentExtras<T>& extras) {
  if constexpr (std::is_same_v<T, float>) {
    if (const auto* fused = detail::fused_lstm_kernels(config)) {
      detail::fused_lstm_forward(*fused, y, h_last, c_last, cache, x, kernel, recurrent_kernel,
                                 bias, dims, config, extras);
      return;
    }
  }
  cache.fused = 0;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = gate_count(config.kind) * U;
  const bool lstm = config.kind == CellKind::kLstm, gru = config.kind == CellKind::kGru;
  cache.dims = dims;
  cache.config = config;
  ensure(cache.gates, TT * B * G);
  ensure(cache.h, (TT + 1) * B * U);
  if (lstm) ensure(cache.c, (TT + 1) * B * U);
  if (gru) {
    ensure(cache.aux, TT * B * U);
    ensure(cache.rec, B * G);
  }
  detail::load_time_major(cache, x, extras, dims, config.go_backwards);
  if (cache.has_rmask) {
    ensure(cache.rmask, B * U);
    ensure(cache.hd, TT * B * U);
    std::copy_n(extras.recurrent_dropout, B * U, cache.rmask.data());
  }
  // gates (T*B, G) = input bias + x (T*B, F) . kernel (F, G): one gemm for all timesteps.
  T* gates = cache.gates.data();
  for (std::size_t r = 0; r < TT * B; ++r) {
    if (bias) std::copy_n(bias, G, gates + r * G);
    else std::fill_n(gates + r * G, G, T(0));
  }
  gemm<T>(false, false, TT * B, G, F, T(1), cache.x.data(), F, kernel, G, T(1), gates, G);

  T* hs = cache.h.data();
  T* cs = lstm ? cache.c.data() : nullptr;
  if (extras.h0) std::copy_n(extras.h0, B * U, hs); else std::fill_n(hs, B * U, T(0));
  if (lstm) {
    if (extras.c0) std::copy_n(extras.c0, B * U, cs); else std::fill_n(cs, B * U, T(0));
  }

  const Activation act = config.activation, ract = config.recurrent_activation;
  for (std::size_t s = 0; s < TT; ++s) {
    T* z = gates + s * B * G;           // (B, G)
    const T* h_prev = hs + s * B * U;   // (B, U)
    T* h_next = hs + (s + 1) * B * U;
    // The state fed to the recurrent product, after recurrent dropout.
    const T* h_in = h_prev;
    if (cache.has_rmask) {
      T* hd = cache.hd.data() + s * B * U;
      for (std::size_t k = 0; k < B * U; ++k) hd[k] = h_prev[k] * cache.rmask[k];
      h_in = hd;
    }
    switch (config.kind) {
      case CellKind::kLstm:
        gemm<T>(false, false, B, G, U, T(1), h_in, U, recurrent_kernel, G, T(1), z, G);
        lstm_step(z, cs + s * B * U, cs + (s + 1) * B * U, h_next, B, U, act, ract);
        break;
      case CellKind::kSimpleRnn:
        gemm<T>(false, false, B, G, U, T(1), h_in, U, recurrent_kernel, G, T(1), z, G);
        for (std::size_t k = 0; k < B * U; ++k) h_next[k] = z[k] = activate(z[k], act);
        break;
      case CellKind::kGru: {
        T* aux = cache.aux.data() + s * B * U;
        if (config.reset_after) {
          // v (B, 3U) = recurrent bias + h_in . R
          T* v = cache.rec.data();
          for (std::size_t b = 0; b < B; ++b) {
            if (bias) std::copy_n(bias + G, G, v + b * G);
            else std::fill_n(v + b * G, G, T(0));
          }
          gemm<T>(false, false, B, G, U, T(1), h_in, U, recurrent_kernel, G, T(1), v, G);
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
              h_next[b * U + u] = zg * h_prev[b * U + u] + (T(1) - zg) * hh;
            }
        } else {
          // z, r blocks += h_in . R[:, :2U]; then rh = r * h_in; h block += rh . R[:, 2U:]
          gemm<T>(false, false, B, 2 * U, U, T(1), h_in, U, recurrent_kernel, G, T(1), z, G);
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t u = 0; u < U; ++u) {
              T* zb = z + b * G;
              zb[kGruZ * U + u] = activate(zb[kGruZ * U + u], ract);
              zb[kGruR * U + u] = activate(zb[kGruR * U + u], ract);
              aux[b * U + u] = zb[kGruR * U + u] * h_in[b * U + u];
            }
          gemm<T>(false, false, B, U, U, T(1), aux, U, recurrent_kernel + kGruH * U, G, T(1),
                  z + kGruH * U, G);
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t u = 0; u < U; ++u) {
              T* zb = z + b * G;
              const T zg = zb[kGruZ * U + u];
              const T hh = activate(zb[kGruH * U + u], act);
              zb[kGruH * U + u] = hh;
              h_next[b * U + u] = zg * h_prev[b * U + u] + (T(1) - zg) * hh;
            }
        }
        break;
      }
    }
    // A masked step carries the state through unchanged.
    if (cache.has_mask)
      for (std::size_t b = 0; b < B; ++b)
        if (cache.mask[s * B + b] == T(0)) {
          std::copy_n(h_prev + b * U, U, h_next + b * U);
          if (lstm) std::copy_n(cs + (s * B + b) * U, U, cs + ((s + 1) * B + b) * U);
        }
  }

  if (config.return_sequences) {
    for (std::size_t s = 0; s < TT; ++s)
      for (std::size_t b = 0; b < B; ++b) {
        T* out = y + (b * TT + s) * U;
        if (cache.has_mask && cache.mask[s * B + b] == T(0)) std::fill_n(out, U, T(0));
        else std::copy_n(hs + ((s + 1) * B + b) * U, U, out);
      }
  } else {
    std::copy_n(hs + TT * B * U, B * U, y);
  }
  if (h_last) std::copy_n(hs + TT * B * U, B * U, h_last);
  if (c_last && lstm) std::copy_n(cs + TT * B * U, B * U, c_last);
}

template <typename T>
void recurrent_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                        RecurrentCache<T>& cache, const T* dy, const T* dh_last,
                        const T* dc_last, const T* kernel, const T* recurrent_kernel) {
  if constexpr (std::is_same_v<T, float>) {
    if (cache.fused != 0) {
      detail::fused_lstm_backward(*detail::fused_kernels_for_isa(cache.fused), dx, dh0, dc0,
                                  dkernel, drecurrent_kernel, dbias, cache, dy, dh_last,
                                  dc_last, kernel, recurrent_kernel);
      return;
    }
  }
  const RecurrentDims& dims = cache.dims;
  const RecurrentConfig& config = cache.config;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = gate_count(config.kind) * U;
  const bool lstm = config.kind == CellKind::kLstm, gru = config.kind == CellKind::kGru;
  ensure(cache.dgates, TT * B * G);
  if (gru) ensure(cache.drec, TT * B * G);
  ensure(cache.dh, B * U);
  ensure(cache.dc, B * U);
  ensure(cache.dh_tmp, B * U);
  ensure(cache.dhd, B * U);
  ensure(cache.dx, TT * B * F);
  T* dh = cache.dh.data();
  T* dc = cache.dc.data();
  T* dh_new = cache.dh_tmp.data();
  T* dhd = cache.dhd.data();
  if (dh_last) std::copy_n(dh_last, B * U, dh); else std::fill_n(dh, B * U, T(0));
  if (dc_last && lstm) std::copy_n(dc_last, B * U, dc); else std::fill_n(dc, B * U, T(0));
  if (dy && !config.return_sequences)
    for (std::size_t k = 0; k < B * U; ++k) dh[k] += dy[k];

  const Activation act = config.activation, ract = config.recurrent_activation;
  const T* hs = cache.h.data();
  const T* cs = lstm ? cache.c.data() : nullptr;
  auto masked = [&](std::size_t s, std::size_t b) {
    return cache.has_mask && cache.mask[s * B + b] == T(0);
  };
  for (std::size_t s = TT; s-- > 0;) {
    if (dy && config.return_sequences)
      for (std::size_t b = 0; b < B; ++b)
        if (!masked(s, b))
          for (std::size_t u = 0; u < U; ++u) dh[b * U + u] += dy[(b * TT + s) * U + u];
    const T* z = cache.gates.data() + s * B * G;
    T* dz = cache.dgates.data() + s * B * G;
    const T* h_prev = hs + s * B * U;
    const T* h_in = cache.has_rmask ? cache.hd.data() + s * B * U : h_prev;
    switch (config.kind) {
      case CellKind::kLstm:
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
            if (!masked(s, b)) dc[b * U + u] = dcv * f;
          }
        }
        break;
      case CellKind::kSimpleRnn:
        for (std::size_t k = 0; k < B * U; ++k)
          dz[k] = dh[k] * activation_grad_from_output(z[k], act);
        break;
      case CellKind::kGru: {
        T* dv = cache.drec.data() + s * B * G;
        const T* aux = cache.aux.data() + s * B * U;
        for (std::size_t b = 0; b < B; ++b)
          for (std::size_t u = 0; u < U; ++u) {
            const T* zb = z + b * G;
            T* dzb = dz + b * G;
            T* dvb = dv + b * G;
            const T zg = zb[kGruZ * U + u], rg = zb[kGruR * U + u], hh = zb[kGruH * U + u];
            const T dhv = dh[b * U + u];
            const T dzp = dhv * (h_prev[b * U + u] - hh) * activation_grad_from_output(zg, ract);
            const T dhh = dhv * (T(1) - zg) * activation_grad_from_output(hh, act);
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
        if (config.reset_after) {
          // dhd = dv (B, 3U) . R^T
          gemm<T>(false, true, B, U, G, T(1), dv, G, recurrent_kernel, G, T(0), dhd, U);
        } else {
          // d(rh) (B, U) = dhh . R_h^T, kept in dh_new for the moment.
          gemm<T>(false, true, B, U, U, T(1), dv + kGruH * U, G, recurrent_kernel + kGruH * U, G,
                  T(0), dh_new, U);
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t u = 0; u < U; ++u) {
              const T rg = z[b * G + kGruR * U + u];
              const T drh = dh_new[b * U + u];
              const T drp = drh * h_in[b * U + u] * activation_grad_from_output(rg, ract);
              dz[b * G + kGruR * U + u] = drp;
              dv[b * G + kGruR * U + u] = drp;
              dhd[b * U + u] = drh * rg;
            }
          // dhd += [dz, dr] (B, 2U) . R[:, :2U]^T
          gemm<T>(false, true, B, U, 2 * U, T(1), dv, G, recurrent_kernel, G, T(1), dhd, U);
        }
        break;
      }
    }
    // A masked step has no gate gradient: its state passed through unchanged.
    if (cache.has_mask)
      for (std::size_t b = 0; b < B; ++b)
        if (masked(s, b)) {
          std::fill_n(dz + b * G, G, T(0));
          if (gru) std::fill_n(cache.drec.data() + (s * B + b) * G, G, T(0));
        }
    // Gradient w.r.t. the state fed to the recurrent product (LSTM, SimpleRNN: dz . R^T).
    if (!gru) gemm<T>(false, true, B, U, G, T(1), dz, G, recurrent_kernel, G, T(0), dhd, U);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t u = 0; u < U; ++u) {
        const std::size_t k = b * U + u;
        if (masked(s, b)) { dh_new[k] = dh[k]; continue; }
        T v = cache.has_rmask ? dhd[k] * cache.rmask[k] : dhd[k];
        if (gru) v += dh[k] * z[b * G + kGruZ * U + u];  // h_t = z h_{t-1} + ...
        dh_new[k] = v;
      }
    std::copy_n(dh_new, B * U, dh);
  }
  if (dh0) std::copy_n(dh, B * U, dh0);
  if (dc0 && lstm) std::copy_n(dc, B * U, dc0);
  else if (dc0) std::fill_n(dc0, B * U, T(0));

  // Weight gradients as large gemms over all timesteps at once.
  const T* dgates = cache.dgates.data();
  const T* h_in_all = cache.has_rmask ? cache.hd.data() : cache.h.data();  // h_{t-1}, t = 0..T-1
  // dkernel (F, G) += x^T (F, T*B) . dgates (T*B, G)
  gemm<T>(true, false, F, G, TT * B, T(1), cache.x.data(), F, dgates, G, T(1), dkernel, G);
  if (!gru) {
    // drecurrent_kernel (U, G) += h_in^T (U, T*B) . dgates (T*B, G)
    gemm<T>(true, false, U, G, TT * B, T(1), h_in_all, U, dgates, G, T(1), drecurrent_kernel, G);
  } else if (config.reset_after) {
    gemm<T>(true, false, U, G, TT * B, T(1), h_in_all, U, cache.drec.data(), G, T(1),
            drecurrent_kernel, G);
  } else {
    gemm<T>(true, false, U, 2 * U, TT * B, T(1), h_in_all, U, cache.drec.data(), G, T(1),
            drecurrent_kernel, G);
    gemm<T>(true, false, U, U, TT * B, T(1), cache.aux.data(), U, cache.drec.data() + kGruH * U,
            G, T(1), drecurrent_kernel + kGruH * U, G);
  }
  if (dbias) {
    for (std::size_t r = 0; r < TT * B; ++r)
      for (std::size_t j = 0; j < G; ++j) dbias[j] += dgates[r * G + j];
    if (gru && config.reset_after)
      for (std::size_t r = 0; r < TT * B; ++r)
        for (std::size_t j = 0; j < G; ++j) dbias[G + j] += cache.drec[r * G + j];
  }
  // dx (T*B, F) = dgates (T*B, G) . kernel^T (G, F), then back to (B, T, F) input order.
  gemm<T>(false, true, TT * B, F, G, T(1), dgates, G, kernel, G, T(0), cache.dx.data(), F);
  detail::store_input_gradient(dx, cache);
}

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

#define RECUR_INSTANTIATE_RECURRENT(T)                                                         \
  template void recurrent_forward<T>(T*, T*, T*, RecurrentCache<T>&, const T*, const T*,       \
                                     const T*, const T*, const RecurrentDims&,                 \
                                     const RecurrentConfig&, const RecurrentExtras<T>&);       \
  template void recurrent_backward<T>(T*, T*, T*, T*, T*, T*, RecurrentCache<T>&, const T*,    \
                                      const T*, const T*, const T*, const T*);                 \
  template void lstm_cell_step_naive<T>(T*, T*, const T*, const T*, const T*, const T*,        \
                                        std::size_t, std::size_t, std::size_t,                 \
                                        const RecurrentConfig&);                               \
  template void gru_cell_step_naive<T>(T*, const T*, const T*, const T*, const T*, std::size_t, \
                                       std::size_t, std::size_t, const RecurrentConfig&);
RECUR_INSTANTIATE_RECURRENT(float)
RECUR_INSTANTIATE_RECURRENT(double)
#undef RECUR_INSTANTIATE_RECURRENT

}  // namespace recur::ops
