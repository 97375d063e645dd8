// The dispatch: which kernel runs a recurrent call. select_kernel() is the only place that
// chooses between the portable scan (recurrent_scan.cpp over cells/) and a fused kernel (the
// LSTM's lstm_fused.cpp, the GRU's and SimpleRNN's gru_rnn_fused.cpp, over simd/);
// recurrent_forward / recurrent_backward only follow it.
#include "recur/ops/recurrent_kernels.hpp"

#include <algorithm>
#include <iterator>
#include <type_traits>

#include "gru_rnn_fused.hpp"
#include "lstm_fused.hpp"
#include "recurrent_scan.hpp"

namespace recur::ops {
namespace {

// One row per kernel: its name, its cell, and the instruction set it is built for.
struct KernelInfo {
  RecurrentKernel kernel;
  const char* name;
  CellKind cell;
  Isa isa;
};
constexpr KernelInfo kKernelTable[] = {
    {RecurrentKernel::kPortable, "portable", CellKind::kLstm, Isa::kPortable},
    {RecurrentKernel::kFusedLstmAvx2, "fused-lstm-avx2", CellKind::kLstm, Isa::kAvx2},
    {RecurrentKernel::kFusedLstmAvx512, "fused-lstm-avx512", CellKind::kLstm, Isa::kAvx512},
    {RecurrentKernel::kFusedGruAvx2, "fused-gru-avx2", CellKind::kGru, Isa::kAvx2},
    {RecurrentKernel::kFusedGruAvx512, "fused-gru-avx512", CellKind::kGru, Isa::kAvx512},
    {RecurrentKernel::kFusedSimpleRnnAvx2, "fused-simple-rnn-avx2", CellKind::kSimpleRnn,
     Isa::kAvx2},
    {RecurrentKernel::kFusedSimpleRnnAvx512, "fused-simple-rnn-avx512", CellKind::kSimpleRnn,
     Isa::kAvx512},
};

const KernelInfo& info_of(RecurrentKernel kernel) {
  for (const KernelInfo& k : kKernelTable)
    if (k.kernel == kernel) return k;
  return kKernelTable[0];
}

bool is_fused_lstm(RecurrentKernel kernel) {
  return kernel != RecurrentKernel::kPortable && info_of(kernel).cell == CellKind::kLstm;
}

}  // namespace

std::size_t bias_size(const RecurrentConfig& config, std::size_t units) {
  const std::size_t G = gate_count(config.kind) * units;
  return config.kind == CellKind::kGru && config.reset_after ? 2 * G : G;
}

const char* recurrent_kernel_name(RecurrentKernel kernel) { return info_of(kernel).name; }

template <typename T>
RecurrentKernel select_kernel(const RecurrentConfig& config, Isa isa) {
  // The fused kernels are float, with tanh (and, for the gates, sigmoid) built in.
  const bool gates_ok = config.kind == CellKind::kSimpleRnn ||
                        config.recurrent_activation == Activation::kSigmoid;
  const bool fusable = std::is_same_v<T, float> && config.activation == Activation::kTanh &&
                       gates_ok;
  if (!fusable) return RecurrentKernel::kPortable;
#if defined(__x86_64__) && !defined(RECUR_NO_X86_KERNELS)
  const auto it = std::find_if(std::begin(kKernelTable), std::end(kKernelTable),
                               [&](const KernelInfo& k) {
                                 return k.isa != Isa::kPortable && k.isa == isa &&
                                        k.cell == config.kind;
                               });
  if (it != std::end(kKernelTable)) return it->kernel;
#else
  (void)isa;
#endif
  return RecurrentKernel::kPortable;
}

RecurrentKernel select_step_kernel(const RecurrentConfig& config, Isa isa) {
  const RecurrentKernel kernel = select_kernel<float>(config, isa);
  return is_fused_lstm(kernel) ? kernel : RecurrentKernel::kPortable;
}

template <typename T>
void recurrent_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                       const T* kernel, const T* recurrent_kernel, const T* bias,
                       const RecurrentDims& dims, const RecurrentConfig& config,
                       const RecurrentExtras<T>& extras) {
  const RecurrentKernel path = select_kernel<T>(config, active_isa());
  cache.gates_stored = true;  // only the fused kernels may skip them (RecurrentExtras::inference)
  if constexpr (std::is_same_v<T, float>) {
    if (is_fused_lstm(path)) {
      detail::fused_lstm_forward(path, y, h_last, c_last, cache, x, kernel, recurrent_kernel,
                                 bias, dims, config, extras);
      return;
    }
    if (path != RecurrentKernel::kPortable) {
      detail::fused_gru_rnn_forward(path, y, h_last, cache, x, kernel, recurrent_kernel, bias,
                                    dims, config, extras);
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
    if (is_fused_lstm(cache.kernel)) {
      detail::fused_lstm_backward(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias, cache, dy,
                                  dh_last, dc_last, recurrent_kernel);
      return;
    }
    if (cache.kernel != RecurrentKernel::kPortable) {
      // No cell state: its gradient is zeros, as the portable scan writes.
      if (dc0) std::fill_n(dc0, cache.dims.batch * cache.dims.units, 0.0f);
      detail::fused_gru_rnn_backward(dx, dh0, dkernel, drecurrent_kernel, dbias, cache, dy,
                                     dh_last, recurrent_kernel);
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
