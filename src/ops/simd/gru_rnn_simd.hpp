#pragma once
// Fused GRU and SimpleRNN kernels for one instruction set (internal): the tile bodies that
// gru_rnn_fused.cpp runs, one pass over the tiles per timestep (or two: the GRU without
// reset_after). Plain structs and function pointers only, as lstm_simd.hpp, for the same reason.
//
// Layouts (VW = floats per vector, Up = units rounded up to VW, nb = Up / VW unit blocks,
// NG gates per cell: GRU 3 (z, r, h, Keras order), SimpleRNN 1):
//   gates, dz, drec  (rows, Gp = NG*Up), block-interleaved: block j holds NG x VW lanes for
//                    units j*VW .. j*VW+VW-1, gate g at column j*NG*VW + g*VW + lane.
//   h, dh, aux       (rows, Up); the pad lanes stay zero.
//   packed           forward, recurrent_kernel (U, NG*U) Keras layout -> GRU reset_after:
//                    per block j (U, 3, VW), blocks U 3 VW floats apart; GRU without it: per
//                    block j (U, 2, VW) of z and r, then the h gate in panels (U, nv, VW) as
//                    SimpleRNN's; SimpleRNN: per panel p of up to kPanelBlocks unit blocks
//                    (U, nv, VW). All zero-padded.
//   packed_t         backward, recurrent_kernel^T -> per panel p of up to kPanelBlocks unit
//                    blocks: (Gp, nv, VW), row k' (an interleaved gate column) holds R[unit, k'].
// A "product" below is acc (rows, n vectors) = sum over k of a[row, k] * w[k] for k in a set of
// columns of a: the unit columns 0..kh-1 forward, the interleaved columns j*NG*VW + c for every
// block j and c in [c0, c1) backward (so a backward product can take one or two of the gates).
// Activations: tanh and sigmoid of simd_math.inc (error bounds: recur/ops/cpu.hpp).
#include <cstddef>

#include "lstm_simd.hpp"  // kPanelBlocks

namespace recur::ops::simd {

/// GRU gate blocks (Keras order; the same as recur::ops::kGruZ... in
/// recur/ops/recurrent_kernels.hpp: gru_rnn_fused.cpp asserts it).
inline constexpr std::size_t kGruGates = 3;
inline constexpr std::size_t kGruZ = 0;
inline constexpr std::size_t kGruR = 1;
inline constexpr std::size_t kGruH = 2;

/// One forward tile at one timestep: rows (<= max_rows) x one unit block (GRU) or one panel of
/// nv unit blocks (SimpleRNN, the GRU's second pass without reset_after). Which fields a kernel
/// reads is said at each kernel below.
struct CellFwdTile {
  std::size_t rows = 0, nv = 1;
  float* gates = nullptr;        // (rows, NG VW nv), row stride ldg: in x W, out activated;
                                 // null (reset_after, x given): not stored, nor aux
  std::size_t ldg = 0;
  const float* bias = nullptr;   // (NG VW nv) the input bias at the same columns (with reset_after
                                 // the recurrent bias of z and r too), added to gates; or null
  const float* x = nullptr;      // GRU: (rows, kx), row stride ldx: the input, whose product
                                 // with packed_x then replaces gates' x W; or null
  const float* packed_x = nullptr;  // kernel: this block's (kx, NG, VW) (reset_after), (kx, 2,
                                    // VW) (pass 1 without) or this panel's (kx, nv, VW) (pass 2)
  std::size_t kx = 0, ldx = 0;
  const float* h_in = nullptr;   // (rows, kh), row stride ld: what multiplies recurrent_kernel
  const float* packed = nullptr;  // this block's (kh, NG or 2, VW) or this panel's (kh, nv, VW)
  std::size_t kh = 0;
  std::size_t col = 0;           // the tile's first unit (j*VW): h_in's columns of this block
  const float* bias_h = nullptr;  // (VW) GRU reset_after: recurrent bias of the h gate, or null
  const float* h_prev = nullptr;  // (rows, VW nv) undropped h_{t-1}, row stride ld
  float* h_next = nullptr;
  float* aux = nullptr;          // (rows, VW) GRU: v_h (reset_after) or r * h_in (otherwise)
  std::size_t ld = 0;            // row stride of h_in, h_prev, h_next, aux, rmask, hd_next
  const float* rmask = nullptr;  // (rows, VW nv) recurrent-dropout mask, or null
  float* hd_next = nullptr;      // h_next * rmask, written when rmask is set and this is non-null
  const float* keep = nullptr;   // (rows,) 1 keep / 0 skip this step, or null (all kept)
};

/// The gradients of one timestep's gates for rows x nv unit blocks, from dh and the forward's
/// cache. A skipped row gets zeros.
///   GRU: dz = [dh (h_prev - hh) z(1-z), dhh v_h r(1-r), dhh] with dhh = dh (1-z)(1-hh^2);
///        drec = [dz_z, dz_r, dhh r] (reset_after; v_h = aux). Without reset_after dz_r and
///        drec are left for the backward tiles (drec is dz then, and is not written here).
///   SimpleRNN: dz = dh (1 - h^2), h = the stored gate.
/// With sums set, each row's dz is added to that row's sums (row r's at sums + r lds), and with
/// sums_rec drec's h gate to sums_rec (same stride): the bias gradients, summed over the steps
/// where dz is made instead of in a pass over all of dgates afterwards. One sum per row, so the
/// bits do not depend on which rows share a tile (the thread count); the caller adds the rows'
/// sums in row order at the end.
struct CellPointwise {
  std::size_t rows = 0, nv = 0;
  const float* gates = nullptr;  // (rows, NG VW nv) at block j0, row stride ldg
  float* dz = nullptr;           // same layout as gates
  float* drec = nullptr;         // same layout as gates (GRU reset_after), else null
  std::size_t ldg = 0;
  const float* aux = nullptr;    // (rows, VW nv) at unit j0*VW, row stride ld (GRU reset_after)
  const float* h_prev = nullptr;  // (rows, VW nv) undropped h_{t-1}
  const float* dh = nullptr;     // (rows, VW nv)
  std::size_t ld = 0;
  const float* keep = nullptr;   // (rows,) or null
  float* sums = nullptr;         // (rows, NG VW nv) as dz, row stride lds, or null
  float* sums_rec = nullptr;     // (rows, VW nv) the h gate's drec sums (reset_after), or null
  std::size_t lds = 0;
};

/// One backward tile at timestep s for rows x one panel of nv unit blocks:
///   acc (rows, nv VW) = the product of d's columns {j*bs + c : j < nb, c0 <= c < c1} with the
///   packed_t panel; then the kernel's update of dh (below), then, if prev.gates is set, prev
///   (the pointwise of step s-1 on the same rows and blocks).
struct CellBwdTile {
  std::size_t rows = 0, nv = 0;
  const float* d = nullptr;      // (rows, nb bs), row stride ldd
  std::size_t ldd = 0, nb = 0, bs = 0, c0 = 0, c1 = 0;
  const float* packed_t = nullptr;  // (nb bs, nv, VW) panel
  float* dh = nullptr;           // (rows, nv VW), row stride ld: in dh_s... out dh_{s-1}
  std::size_t ld = 0;
  const float* gates = nullptr;  // (rows, NG VW nv) step s's gates at the panel, stride ldg (GRU)
  float* dz = nullptr;           // step s's dz at the panel, same layout (GRU reset-before pass 1)
  std::size_t ldg = 0;
  const float* h_in = nullptr;   // (rows, nv VW) step s's h_in, stride ld (GRU reset-before pass 1)
  float* drh = nullptr;          // (rows, nv VW) d(r h_in) r, stride ld (GRU reset-before)
  const float* rmask = nullptr;  // (rows, nv VW) or null
  const float* keep_s = nullptr;  // (rows,) step s mask, or null
  const float* dy_prev = nullptr;  // (rows, nv VW) gradient of output s-1 (zero where masked)
  float* sums = nullptr;         // (rows, NG VW nv), row stride lds: GRU reset-before pass 1
  std::size_t lds = 0;           // adds each row's dz_r to its r lanes (as CellPointwise::sums)
  CellPointwise prev;
};

struct GruRnnSimdKernels {
  const char* name;
  std::size_t width;     // VW
  std::size_t max_rows;  // rows per tile
  // GRU with reset_after, one pass per step. Forward reads gates (u + b_in, with b_rec added
  // to the z and r blocks), bias_h, h_in (kh = U), packed, h_prev, keep; writes z, r, hh to
  // gates, v_h = (h_in R + b_rec)_h to aux, h_next (and hd_next).
  void (*gru_forward)(const CellFwdTile&);
  // GRU without reset_after, two passes per step. Pass 1 reads gates (z, r blocks),
  // h_in (kh = U), col, packed; writes z, r to gates and r * h_in (this block's units) to aux.
  // Pass 2, on a panel of nv unit blocks (packed: the h gate's panel), reads gates (h
  // blocks), aux as h_in (the whole row: h_in = aux row, kh = U), h_prev, keep; writes hh to
  // gates, h_next (and hd_next). Both passes: with x set, the input part (x packed_x + bias)
  // comes from a product in the tile instead of the gates buffer.
  void (*gru_forward_reset_before_1)(const CellFwdTile&);
  void (*gru_forward_reset_before_2)(const CellFwdTile&);
  // SimpleRNN: gates (one panel) += h_in . packed; h = tanh; h_next = keep ? h : h_prev.
  void (*rnn_forward)(const CellFwdTile&);
  void (*gru_pointwise)(const CellPointwise&);
  void (*rnn_pointwise)(const CellPointwise&);
  // GRU, reset_after (d = drec, all columns) or reset-before pass 2 (d = dz, z and r columns):
  //   dh = keep_s ? (acc + drh) * rmask + dh z : dh;  dh += dy_prev  (drh null: no term).
  void (*gru_backward)(const CellBwdTile&);
  // GRU reset-before pass 1 (d = dz, h columns; acc = d(r h_in)): for kept rows
  //   dz_r = acc h_in r(1-r) into dz;  drh = acc r;  skipped rows: dz_r = 0, drh = 0. No prev.
  //   With sums set, dz_r's column sums are added to its r lanes.
  void (*gru_backward_reset_before_1)(const CellBwdTile&);
  // SimpleRNN (d = dz): dh = keep_s ? acc * rmask : dh;  dh += dy_prev.
  void (*rnn_backward)(const CellBwdTile&);
};

// Each build's kernels (gru_rnn_simd_avx2.cpp, gru_rnn_simd_avx512.cpp).
namespace avx2 {
extern const GruRnnSimdKernels kGruRnnKernels;
}
namespace avx512 {
extern const GruRnnSimdKernels kGruRnnKernels;
}

}  // namespace recur::ops::simd
