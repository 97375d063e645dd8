// The portable scan: what every cell shares, around the cell's own step (cells/cells.hpp).
//
// Forward: inputs to time-major order; gates (T*B, G) = x (T*B, F) . W + b in ONE gemm for all
// timesteps; then per timestep only the cell's step (h_in . R plus its element-wise update),
// with recurrent dropout applied to h_in before it and masked rows carried through after it.
// Backward: the same loop in reverse; the weight gradients are gemms over all timesteps at the
// end. Buffers live in the cache and are sized on the first call of a shape.
#include "recurrent_scan.hpp"

#include <algorithm>

#include "cells/cells.hpp"
#include "recur/ops/gemm.hpp"
#include "recurrent_layout.hpp"

namespace recur::ops::detail {

template <typename T>
void scan_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                  const T* kernel, const T* recurrent_kernel, const T* bias,
                  const RecurrentDims& dims, const RecurrentConfig& config,
                  const RecurrentExtras<T>& extras) {
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = gate_count(config.kind) * U;
  const bool lstm = config.kind == CellKind::kLstm, gru = config.kind == CellKind::kGru;
  const cells::Cell<T> cell = cells::cell_of<T>(config.kind);
  cache.kernel = RecurrentKernel::kPortable;
  cache.dims = dims;
  cache.config = config;
  ensure(cache.gates, TT * B * G);
  ensure(cache.h, (TT + 1) * B * U);
  if (lstm) ensure(cache.c, (TT + 1) * B * U);
  if (gru) {
    ensure(cache.aux, TT * B * U);
    ensure(cache.rec, B * G);
  }
  load_time_major(cache, x, extras, dims, config.go_backwards);
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

  cells::StepForward<T> step;
  step.rec = gru ? cache.rec.data() : nullptr;
  step.recurrent_kernel = recurrent_kernel;
  step.recurrent_bias = gru && config.reset_after && bias ? bias + G : nullptr;
  step.batch = B;
  step.units = U;
  for (std::size_t s = 0; s < TT; ++s) {
    const T* h_prev = hs + s * B * U;  // (B, U)
    T* h_next = hs + (s + 1) * B * U;
    // The state fed to the recurrent product, after recurrent dropout.
    const T* h_in = h_prev;
    if (cache.has_rmask) {
      T* hd = cache.hd.data() + s * B * U;
      for (std::size_t k = 0; k < B * U; ++k) hd[k] = h_prev[k] * cache.rmask[k];
      h_in = hd;
    }
    step.z = gates + s * B * G;
    step.h = h_next;
    step.h_prev = h_prev;
    step.h_in = h_in;
    if (lstm) {
      step.c_prev = cs + s * B * U;
      step.c = cs + (s + 1) * B * U;
    }
    if (gru) step.aux = cache.aux.data() + s * B * U;
    cell.forward(step, config);
    // A masked step carries the state through unchanged.
    if (cache.has_mask)
      for (std::size_t b = 0; b < B; ++b)
        if (cache.mask[s * B + b] == T(0)) {
          std::copy_n(h_prev + b * U, U, h_next + b * U);
          if (lstm) std::copy_n(cs + (s * B + b) * U, U, cs + ((s + 1) * B + b) * U);
        }
  }

  store_outputs(y, hs, U, cache);
  if (h_last) std::copy_n(hs + TT * B * U, B * U, h_last);
  if (c_last && lstm) std::copy_n(cs + TT * B * U, B * U, c_last);
}

template <typename T>
void scan_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                   RecurrentCache<T>& cache, const T* dy, const T* dh_last, const T* dc_last,
                   const T* kernel, const T* recurrent_kernel) {
  const RecurrentDims& dims = cache.dims;
  const RecurrentConfig& config = cache.config;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t G = gate_count(config.kind) * U;
  const bool lstm = config.kind == CellKind::kLstm, gru = config.kind == CellKind::kGru;
  const cells::Cell<T> cell = cells::cell_of<T>(config.kind);
  ensure(cache.dgates, TT * B * G);
  if (gru) ensure(cache.drec, TT * B * G);
  ensure(cache.dh, B * U);
  ensure(cache.dc, B * U);
  ensure(cache.dh_in, B * U);
  ensure(cache.dh_skip, B * U);
  ensure(cache.dx, TT * B * F);
  T* dh = cache.dh.data();
  T* dc = cache.dc.data();
  T* dh_in = cache.dh_in.data();
  T* dh_skip = cache.dh_skip.data();
  if (dh_last) std::copy_n(dh_last, B * U, dh); else std::fill_n(dh, B * U, T(0));
  if (dc_last && lstm) std::copy_n(dc_last, B * U, dc); else std::fill_n(dc, B * U, T(0));
  // The gradient of an output goes into dh at the step whose h it is (recurrent_layout.hpp);
  // none for an output that was zeros.
  if (dy && !config.return_sequences)
    for (std::size_t b = 0; b < B; ++b)
      if (last_output_is_state(cache, b))
        for (std::size_t u = 0; u < U; ++u) dh[b * U + u] += dy[b * U + u];

  const T* hs = cache.h.data();
  const T* cs = lstm ? cache.c.data() : nullptr;
  auto masked = [&](std::size_t s, std::size_t b) {
    return cache.has_mask && cache.mask[s * B + b] == T(0);
  };
  cells::StepBackward<T> step;
  step.dh_in = dh_in;
  step.dh_skip = dh_skip;
  step.dc = dc;
  step.dh = dh;
  step.recurrent_kernel = recurrent_kernel;
  step.batch = B;
  step.units = U;
  for (std::size_t s = TT; s-- > 0;) {
    // A masked step's output repeats h_{s+1}, carried from the sample's last kept step: its
    // gradient joins dh here and flows back unchanged through the masked steps to that step.
    if (dy && config.return_sequences)
      for (std::size_t b = 0; b < B; ++b)
        if (sequence_output_is_state(cache, s, b))
          for (std::size_t u = 0; u < U; ++u) dh[b * U + u] += dy[(b * TT + s) * U + u];
    step.dz = cache.dgates.data() + s * B * G;
    step.drec = gru ? cache.drec.data() + s * B * G : nullptr;
    step.z = cache.gates.data() + s * B * G;
    step.aux = gru ? cache.aux.data() + s * B * U : nullptr;
    step.h_prev = hs + s * B * U;
    step.h_in = cache.has_rmask ? cache.hd.data() + s * B * U : step.h_prev;
    if (lstm) {
      step.c_prev = cs + s * B * U;
      step.c = cs + (s + 1) * B * U;
    }
    step.keep = cache.has_mask ? cache.mask.data() + s * B : nullptr;
    cell.backward(step, config);
    // dh_{t-1}: through the recurrent product (times the dropout mask) and around it; a masked
    // step passed its state through unchanged, and so does its gradient.
    for (std::size_t b = 0; b < B; ++b) {
      if (masked(s, b)) continue;
      for (std::size_t u = 0; u < U; ++u) {
        const std::size_t k = b * U + u;
        const T v = cache.has_rmask ? dh_in[k] * cache.rmask[k] : dh_in[k];
        dh[k] = v + dh_skip[k];
      }
    }
  }
  if (dh0) std::copy_n(dh, B * U, dh0);
  if (dc0 && lstm) std::copy_n(dc, B * U, dc0);
  else if (dc0) std::fill_n(dc0, B * U, T(0));

  // Weight gradients as large gemms over all timesteps at once.
  const T* dgates = cache.dgates.data();
  const T* h_in_all = cache.has_rmask ? cache.hd.data() : cache.h.data();  // h_{t-1}, t = 0..T-1
  // dkernel (F, G) += x^T (F, T*B) . dgates (T*B, G)
  gemm<T>(true, false, F, G, TT * B, T(1), cache.x.data(), F, dgates, G, T(1), dkernel, G);
  // drecurrent_kernel (U, G) += h_in^T (U, T*B) . d(recurrent product) (T*B, G); for the GRU
  // without reset_after, the h block's product is (r * h_in) . R_h instead.
  if (!gru) {
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
  store_input_gradient(dx, cache);
}

#define RECUR_INSTANTIATE_SCAN(T)                                                              \
  template void scan_forward<T>(T*, T*, T*, RecurrentCache<T>&, const T*, const T*, const T*,  \
                                const T*, const RecurrentDims&, const RecurrentConfig&,        \
                                const RecurrentExtras<T>&);                                    \
  template void scan_backward<T>(T*, T*, T*, T*, T*, T*, RecurrentCache<T>&, const T*,         \
                                 const T*, const T*, const T*, const T*);
RECUR_INSTANTIATE_SCAN(float)
RECUR_INSTANTIATE_SCAN(double)
#undef RECUR_INSTANTIATE_SCAN

}  // namespace recur::ops::detail
