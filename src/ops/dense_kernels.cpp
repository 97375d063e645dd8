#include "recur/ops/dense_kernels.hpp"

#include <algorithm>

#include "recur/ops/gemm.hpp"

namespace recur::ops {

template <typename T>
void dense_forward(T* y, const T* x, const T* kernel, const T* bias, std::size_t n,
                   std::size_t features, std::size_t outputs, Activation activation) {
  for (std::size_t r = 0; r < n; ++r) {
    if (bias) std::copy_n(bias, outputs, y + r * outputs);
    else std::fill_n(y + r * outputs, outputs, T(0));
  }
  // y (N, O) += x (N, F) . kernel (F, O)
  gemm<T>(false, false, n, outputs, features, T(1), x, features, kernel, outputs, T(1), y,
          outputs);
  activation_forward(y, y, n, outputs, activation);
}

template <typename T>
void dense_backward(T* dx, T* dkernel, T* dbias, T* dz, const T* dy, const T* x, const T* y,
                    const T* kernel, std::size_t n, std::size_t features, std::size_t outputs,
                    Activation activation) {
  activation_backward(dz, dy, y, n, outputs, activation);
  // dkernel (F, O) += x^T (F, N) . dz (N, O)
  gemm<T>(true, false, features, outputs, n, T(1), x, features, dz, outputs, T(1), dkernel,
          outputs);
  if (dbias)
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < outputs; ++j) dbias[j] += dz[r * outputs + j];
  // dx (N, F) = dz (N, O) . kernel^T (O, F)
  if (dx)
    gemm<T>(false, true, n, features, outputs, T(1), dz, outputs, kernel, outputs, T(0), dx,
            features);
}

template void dense_forward<float>(float*, const float*, const float*, const float*,
                                   std::size_t, std::size_t, std::size_t, Activation);
template void dense_forward<double>(double*, const double*, const double*, const double*,
                                    std::size_t, std::size_t, std::size_t, Activation);
template void dense_backward<float>(float*, float*, float*, float*, const float*, const float*,
                                    const float*, const float*, std::size_t, std::size_t,
                                    std::size_t, Activation);
template void dense_backward<double>(double*, double*, double*, double*, const double*,
                                     const double*, const double*, const double*, std::size_t,
                                     std::size_t, std::size_t, Activation);

}  // namespace recur::ops
