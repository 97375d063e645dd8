#include "recurrent_layout.hpp"

#include <algorithm>

#include "thread_pool.hpp"

namespace recur::ops::detail {
namespace {

// fn(s, b) for every processing step s and sample b: the row-by-row copies between the (B, T,
// ..) layouts the layers use and the (T, B, ..) ones the kernels use. Steps are split over the
// pool when the pass moves `bytes` >= kParallelPassBytes (each (s, b) writes its own row).
template <typename Fn>
void for_each_step_row(std::size_t TT, std::size_t B, std::size_t bytes, Fn&& fn) {
  parallel_pass(TT, bytes, [&](std::size_t s0, std::size_t s1) {
    for (std::size_t s = s0; s < s1; ++s)
      for (std::size_t b = 0; b < B; ++b) fn(s, b);
  });
}

}  // namespace

template <typename T>
void load_time_major(RecurrentCache<T>& cache, const T* x, const RecurrentExtras<T>& extras,
                     const RecurrentDims& dims, bool go_backwards) {
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features;
  ensure(cache.x, TT * B * F);
  cache.has_mask = extras.mask != nullptr;
  cache.has_rmask = extras.recurrent_dropout != nullptr;
  if (cache.has_mask) {
    ensure(cache.mask, TT * B);
    ensure(cache.first_kept, B);
    std::fill(cache.first_kept.begin(), cache.first_kept.end(), TT);
  }
  for_each_step_row(TT, B, TT * B * F * sizeof(T), [&](std::size_t s, std::size_t b) {
    const std::size_t t = step_index(s, TT, go_backwards);
    std::copy_n(x + (b * TT + t) * F, F, cache.x.data() + (s * B + b) * F);
  });
  if (!cache.has_mask) return;
  for (std::size_t s = 0; s < TT; ++s) {
    const std::size_t t = step_index(s, TT, go_backwards);
    for (std::size_t b = 0; b < B; ++b) {
      const T keep = extras.mask[b * TT + t];
      cache.mask[s * B + b] = keep;
      if (keep != T(0) && cache.first_kept[b] == TT) cache.first_kept[b] = s;
    }
  }
}

template <typename T>
void store_input_gradient(T* dx, const RecurrentCache<T>& cache) {
  const std::size_t B = cache.dims.batch, TT = cache.dims.timesteps, F = cache.dims.features;
  for_each_step_row(TT, B, TT * B * F * sizeof(T), [&](std::size_t s, std::size_t b) {
    const std::size_t t = step_index(s, TT, cache.config.go_backwards);
    std::copy_n(cache.dx.data() + (s * B + b) * F, F, dx + (b * TT + t) * F);
  });
}

template <typename T>
void store_outputs(T* y, const T* hs, std::size_t ld, const RecurrentCache<T>& cache) {
  const std::size_t B = cache.dims.batch, TT = cache.dims.timesteps, U = cache.dims.units;
  if (cache.config.return_sequences) {
    for_each_step_row(TT, B, TT * B * U * sizeof(T), [&](std::size_t s, std::size_t b) {
      T* out = y + (b * TT + s) * U;
      if (sequence_output_is_state(cache, s, b)) std::copy_n(hs + ((s + 1) * B + b) * ld, U, out);
      else std::fill_n(out, U, T(0));
    });
  } else {
    for (std::size_t b = 0; b < B; ++b) {
      if (last_output_is_state(cache, b)) std::copy_n(hs + (TT * B + b) * ld, U, y + b * U);
      else std::fill_n(y + b * U, U, T(0));
    }
  }
}

#define RECUR_INSTANTIATE_LAYOUT(T)                                                            \
  template void load_time_major<T>(RecurrentCache<T>&, const T*, const RecurrentExtras<T>&,    \
                                   const RecurrentDims&, bool);                                \
  template void store_input_gradient<T>(T*, const RecurrentCache<T>&);                         \
  template void store_outputs<T>(T*, const T*, std::size_t, const RecurrentCache<T>&);
RECUR_INSTANTIATE_LAYOUT(float)
RECUR_INSTANTIATE_LAYOUT(double)
#undef RECUR_INSTANTIATE_LAYOUT

void padded_rows(float* dst, const float* src, std::size_t B, std::size_t U, std::size_t Up) {
  std::fill_n(dst, B * Up, 0.0f);
  if (src)
    for (std::size_t b = 0; b < B; ++b) std::copy_n(src + b * U, U, dst + b * Up);
}

void padded_dropout_start(float* rmask, float* hd, const float* hs, const float* mask,
                          std::size_t B, std::size_t U, std::size_t Up) {
  padded_rows(rmask, mask, B, U, Up);
  for (std::size_t i = 0; i < B * Up; ++i) hd[i] = hs[i] * rmask[i];
}

void padded_output_gradients(float* dy_pad, float* dh, const float* dy, const float* dh_last,
                             const RecurrentCache<float>& cache, std::size_t Up) {
  const std::size_t B = cache.dims.batch, TT = cache.dims.timesteps, U = cache.dims.units;
  const bool seq_dy = dy != nullptr && cache.config.return_sequences && dy_pad != nullptr;
  if (seq_dy)
    for_each_step_row(TT, B, TT * B * Up * sizeof(float), [&](std::size_t s, std::size_t b) {
      float* out = dy_pad + (s * B + b) * Up;
      if (sequence_output_is_state(cache, s, b)) {
        std::copy_n(dy + (b * TT + s) * U, U, out);
        std::fill(out + U, out + Up, 0.0f);
      } else {
        std::fill_n(out, Up, 0.0f);
      }
    });
  std::fill_n(dh, B * Up, 0.0f);
  for (std::size_t b = 0; b < B; ++b) {
    const bool last_dy = dy && !cache.config.return_sequences && last_output_is_state(cache, b);
    for (std::size_t u = 0; u < U; ++u) {
      float v = dh_last ? dh_last[b * U + u] : 0.0f;
      if (last_dy) v += dy[b * U + u];
      if (seq_dy && TT > 0) v += dy_pad[((TT - 1) * B + b) * Up + u];
      dh[b * Up + u] = v;
    }
  }
}

}  // namespace recur::ops::detail
