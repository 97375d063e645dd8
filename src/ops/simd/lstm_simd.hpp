#pragma once
// Fused LSTM kernels for one instruction set (internal). Plain structs and function pointers
// only: the AVX2 and AVX-512 builds of these kernels are compiled with their own -m flags, and
// nothing they include may instantiate a template that the rest of the library shares.
//
// Layouts (VW = floats per vector, Up = units rounded up to VW, nb = Up / VW unit blocks):
//   gates, dz  (rows, Gp = kGates*Up), block-interleaved: block j holds [i f c o] x VW lanes for
//              units j*VW .. j*VW+VW-1, so one tile's four gates sit side by side.
//   h, c, dh   (rows, Up); the pad lanes stay zero.
//   packed     forward weights (K, 4U) Keras layout -> per block j: (K, kGates, VW), zero-padded.
//   packed_t   recurrent_kernel^T for backward -> per panel p of up to kPanelBlocks unit blocks:
//              (Gp, nv, VW): row k' (a block-interleaved gate column) holds R[unit, k'].
// Activations: sigmoid(x) = 1 / (1 + exp(-x)) and tanh, computed (their error bounds:
// recur/ops/cpu.hpp).
#include <cstddef>

namespace recur::ops::simd {

/// Gates of an LSTM, Keras order i, f, c, o (the same as recur::ops::kGateI... in
/// recur/ops/recurrent_kernels.hpp; lstm_fused.cpp asserts it). A unit block of the interleaved
/// layout is kGates vectors, one per gate.
inline constexpr std::size_t kGates = 4;
inline constexpr std::size_t kGateI = 0;
inline constexpr std::size_t kGateF = 1;
inline constexpr std::size_t kGateC = 2;
inline constexpr std::size_t kGateO = 3;
/// Unit blocks per backward panel (packed_t): a backward tile accumulates rows x kPanelBlocks
/// vectors of dh, so one pass over dz_s serves that many unit blocks.
inline constexpr std::size_t kPanelBlocks = 4;

/// One forward tile: rows (<= max_rows) x one unit block, at one timestep.
///   acc (rows, kGates VW) = init [+ bias] + x . packed_x + h_in . packed_r;  then the LSTM update.
struct FwdTile {
  std::size_t rows = 0;
  const float* init = nullptr;  // (rows, kGates VW), row stride ld_init (0: one row for all: a bias)
  std::size_t ld_init = 0;
  const float* bias = nullptr;  // (kGates VW) added to every row's init, or null
  const float* x = nullptr;     // (rows, kx), row stride ldx; null: no input part
  const float* packed_x = nullptr;  // (kx, kGates, VW) block
  std::size_t kx = 0, ldx = 0;
  const float* h_in = nullptr;  // (rows, kh), row stride ld: the state fed to the product
  const float* packed_r = nullptr;  // (kh, kGates, VW) block
  std::size_t kh = 0;
  float* gates_out = nullptr;   // (rows, kGates VW), row stride ldg: activated i, f, c, o; or null
  std::size_t ldg = 0;
  const float* h_prev = nullptr;  // (rows, VW) undropped h_{t-1}, for masked rows
  const float* c_prev = nullptr;  // (rows, VW)
  float* c_next = nullptr;
  float* h_next = nullptr;
  std::size_t ld = 0;            // row stride of h_in, h_prev, c_*, h_next, rmask, hd_next
  const float* rmask = nullptr;  // (rows, VW) recurrent-dropout mask, or null
  float* hd_next = nullptr;      // h_next * rmask, written when rmask is set and this is non-null
  const float* keep = nullptr;   // (rows,) 1 keep / 0 skip this step, or null (all kept)
};

/// dz at one timestep for rows x nv unit blocks, from dh, dc and the cached gates and states.
/// Writes dz and updates dc (a skipped row keeps dc and gets dz = 0).
struct Pointwise {
  std::size_t rows = 0, nv = 0;
  const float* gates = nullptr;  // (rows, kGates VW nv) at block j0, row stride ldg
  float* dz = nullptr;           // same layout as gates
  std::size_t ldg = 0;
  const float* c_prev = nullptr;  // (rows, VW * nv) at unit j0*VW, row stride ld
  const float* c_cur = nullptr;
  const float* dh = nullptr;
  float* dc = nullptr;
  std::size_t ld = 0;
  const float* keep = nullptr;    // (rows,) or null
};

/// One backward tile at timestep s: dh_{s-1} for rows x one panel of nv unit blocks,
///   acc (rows, nv*VW) = dz_s . packed_t panel;  dh = keep_s ? acc * rmask : dh;  dh += dy_prev,
/// then, if prev.gates is set, prev (the pointwise of step s-1 on the same rows and blocks).
struct BwdTile {
  std::size_t rows = 0, nv = 0;
  const float* dz = nullptr;       // (rows, kp), row stride ldz
  std::size_t kp = 0, ldz = 0;
  const float* packed_t = nullptr;  // (kp, nv, VW) panel
  float* dh = nullptr;             // (rows, nv*VW), row stride ld: in dh_s... out dh_{s-1}
  std::size_t ld = 0;
  const float* rmask = nullptr;    // (rows, nv*VW) or null
  const float* keep_s = nullptr;   // (rows,) step s mask, or null
  const float* dy_prev = nullptr;  // (rows, nv*VW) gradient of output s-1 (zero where masked)
  Pointwise prev;
};

struct LstmSimdKernels {
  const char* name;
  std::size_t width;     // VW
  std::size_t max_rows;  // rows per tile (RECUR_SIMD_MAX_ROWS of the instruction set's file)
  void (*forward_tile)(const FwdTile&);
  void (*pointwise)(const Pointwise&);
  void (*backward_tile)(const BwdTile&);
  // Element-wise activations on n floats (y may alias x); for the error-bound tests.
  void (*sigmoid)(float* y, const float* x, std::size_t n);
  void (*tanh)(float* y, const float* x, std::size_t n);
};

// Each build's kernels: constant-initialized objects, so taking them costs nothing per call.
namespace avx2 {
extern const LstmSimdKernels kKernels;
}
namespace avx512 {
extern const LstmSimdKernels kKernels;
}

}  // namespace recur::ops::simd
