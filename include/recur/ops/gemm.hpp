#pragma once
// General matrix multiply on row-major matrices, the one place recur calls BLAS.
//   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C
// op(X) is X or its transpose; lda/ldb/ldc are row strides in elements, so a block of a larger
// row-major matrix can be passed without copying.
#include <cstddef>

namespace recur::ops {

/// C = alpha * op(A) * op(B) + beta * C through OpenBLAS (cblas_sgemm / cblas_dgemm).
/// T is float or double. No checks: callers pass consistent sizes (an internal routine).
template <typename T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
          std::size_t ldc);

/// The plain triple loop with the same contract as gemm(), kept as the reference that the
/// BLAS path is tested against (STYLE.md: a naive reference kept forever).
template <typename T>
void gemm_naive(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                std::size_t ldc);

}  // namespace recur::ops
