#pragma once
// The portable kernel of recurrent_forward / recurrent_backward (internal): the scan of one
// cell's step over time, for float and double. Contracts: recur/ops/recurrent_kernels.hpp.
#include "recur/ops/recurrent_kernels.hpp"

namespace recur::ops::detail {

template <typename T>
void scan_forward(T* y, T* h_last, T* c_last, RecurrentCache<T>& cache, const T* x,
                  const T* kernel, const T* recurrent_kernel, const T* bias,
                  const RecurrentDims& dims, const RecurrentConfig& config,
                  const RecurrentExtras<T>& extras);

template <typename T>
void scan_backward(T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent_kernel, T* dbias,
                   RecurrentCache<T>& cache, const T* dy, const T* dh_last, const T* dc_last,
                   const T* kernel, const T* recurrent_kernel);

}  // namespace recur::ops::detail
