#pragma once
// Which instruction set recur's fused recurrent kernels use, and how many threads they run on.
//
// The library is built for any x86-64 (no -march=native): the fused LSTM kernels exist in an
// AVX2+FMA and an AVX-512 build, and the one to use is picked at run time from what the CPU
// reports (cpuid), the best it supports. Everything else, and every other CPU, uses the portable
// path: plain C++ loops around BLAS, the reference that the fused kernels are tested against.
//
// Accuracy of the fused path. Its sigmoid and tanh are computed, not looked up: exp by range
// reduction and a degree-6 polynomial (Cephes expf), tanh by an odd polynomial below |x| 0.625
// and 1 - 2 / (e^{2|x|} + 1) above (Cephes tanhf). Their error against double precision, over a
// dense grid of [-30, 30] and extreme values, is at most 3e-7 absolute for both and 4e-7
// relative for tanh near 0 (tests/ops/fused_lstm_test.cpp asserts these bounds); NaN stays NaN.
// A whole LSTM forward and backward stays within 1e-5 (max error / max value per array) of the
// portable kernel run in double, on every size the tests try.
//
// Environment (read once, on first use):
//   RECUR_ISA=portable|avx2|avx512   use this path instead of the best one (a path the CPU lacks
//                                    falls back to the best it has, with no error)
//   RECUR_NUM_THREADS=N              threads for the per-timestep kernels and recur's GEMMs
//                                    (default: hardware threads, hardware_concurrency())
//   RECUR_BLAS_THREADS=native        let OpenBLAS thread its GEMMs itself. By default recur sets
//                                    OpenBLAS to one thread (openblas_set_num_threads(1), for
//                                    the whole process, on recur's first GEMM) and splits each
//                                    large GEMM over its own pool, so BLAS's idle spinning
//                                    threads never take cores from recur's timestep kernels.
//
// OpenBLAS picks its own kernels when it loads, before any recur code runs (0.3.21 has no call
// to change them later): on a Zen 5 it picks its AVX-512 "Cooperlake" kernels by itself; an
// OPENBLAS_CORETYPE set in the environment overrides that (=Haswell: its AVX2 kernels, half the
// speed). See BENCHMARKS.md, "The BLAS choice".
#include <cstddef>
#include <string>

namespace recur::ops {

/// Instruction-set paths of the fused kernels, from least to most capable.
enum class Isa { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

/// "portable", "avx2" or "avx512".
std::string isa_name(Isa isa);
/// The best path this CPU supports (AVX-512 needs F, VL and DQ; AVX2 needs AVX2 and FMA).
Isa detected_isa();
/// The path the kernels use now: RECUR_ISA or set_isa(), else detected_isa().
Isa active_isa();
/// Chooses the path for the kernels that run from now on (e.g. to compare against the portable
/// one). Throws ValueError if this CPU cannot run `isa`.
void set_isa(Isa isa);

/// A note for the user when the BLAS that runs recur's large GEMMs does not use this CPU's
/// widest vectors: OpenBLAS reports an older core than the CPU's (e.g. "Haswell", its AVX2
/// kernels, on a CPU with AVX-512: OPENBLAS_CORETYPE=Haswell in the environment does that), so
/// the GEMMs run at about half speed. It names the core, the variable's value and the fix
/// (unset OPENBLAS_CORETYPE, or set it to SkylakeX). Empty when the core fits the CPU. recur
/// cannot change OpenBLAS's core once it has loaded; the CLI prints this note beside its timings.
std::string blas_core_note();

/// Threads the per-timestep kernels and recur's GEMMs split their work over (>= 1).
std::size_t num_threads();
/// Sets the thread count for the per-timestep kernels; 0 restores the default. BLAS calls keep
/// their own setting (OPENBLAS_NUM_THREADS).
void set_num_threads(std::size_t n);

}  // namespace recur::ops
