// The dispatch: which kernel runs a recurrent call. select_kernel() is the only place that
// chooses between the portable scan (recurrent_scan.cpp over cells/) and the fused LSTM
// (lstm_fused.cpp over simd/); recurrent_forward / recurrent_backward only follow it.
#include "recur/ops/recurrent_kernels.hpp"

#include <type_traits>

#include "lstm_fused.hpp"
#include "recurrent_scan.hpp"

namespace recur::ops {

std::size_t bias_size(const RecurrentConfig& config, std::size_t units) {
  const std::size_t G = gate_count(config.kind) * units;
  return config.kind == CellKind::kGru && config.reset_after ? 2 * G : G;
}

template <typename T>
RecurrentKernel select_kernel(const RecurrentConfig& config, Isa isa) {
  // The fused kernels are float LSTMs with tanh and sigmoid built in.
  const bool fusable = std::is_same_v<T, float> && config.kind == CellKind::kLstm &&
                       config.activation == Activation::kTanh &&
                       config.recurrent_activation == Activation::kSigmoid;
  if (!fusable) return RecurrentKernel::kPortable;
#if defined(__x86_64__) && !defined(RECUR_NO_X86_KERNELS)
  if (isa == Isa::kAvx512) return RecurrentKernel::kFusedLstmAvx512;
  if (isa == Isa::kAvx2) return RecurrentKernel::kFusedLstmAvx2;
#else
  (void)isa;
#endif
  return RecurrentKernel::kPortable;
}

template <typename T>
void recurrent_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                       const T* kernel, const T* recurrent_kernel, const T* bias,
                       const RecurrentDims& dims, const RecurrentConfig& config,
                       const RecurrentExtras<T>& extras) {
  const RecurrentKernel path = select_kernel<T>(config, active_isa());
  if constexpr (std::is_same_v<T, float>) {
    if (path != RecurrentKernel::kPortable) {
      detail::fused_lstm_forward(path, y, h_last, c_last, cache, x, kernel, recurrent_kernel,
                                 bias, dims, config, extras);
      return;
    }
  }
  detail::scan_forward(y, h_last, c_last, cache, x, kernel, recurrent_kernel, bias, dims, config,
                       extras);
}

template <typename T>
void recurrent_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                        RecurrentCache<T>& cache, const T* dy, const T* dh_last,
                        const T* dc_last, const T* kernel, const T* recurrent_kernel) {
  // Backward follows the kernel that wrote the cache: their layouts differ.
  if constexpr (std::is_same_v<T, float>) {
    if (cache.kernel != RecurrentKernel::kPortable) {
      detail::fused_lstm_backward(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias, cache, dy,
                                  dh_last, dc_last, recurrent_kernel);
      return;
    }
  }
  detail::scan_backward(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias, cache, dy, dh_last,
                        dc_last, kernel, recurrent_kernel);
}

#define RECUR_INSTANTIATE_RECURRENT(T)                                                         \
  template RecurrentKernel select_kernel<T>(const RecurrentConfig&, Isa);                      \
  template void recurrent_forward<T>(T*, T*, T*, RecurrentCache<T>&, const T*, const T*,       \
                                     const T*, const T*, const RecurrentDims&,                 \
                                     const RecurrentConfig&, const RecurrentExtras<T>&);       \
  template void recurrent_backward<T>(T*, T*, T*, T*, T*, T*, RecurrentCache<T>&, const T*,    \
                                      const T*, const T*, const T*, const T*);
RECUR_INSTANTIATE_RECURRENT(float)
RECUR_INSTANTIATE_RECURRENT(double)
#undef RECUR_INSTANTIATE_RECURRENT

}  // namespace recur::ops
