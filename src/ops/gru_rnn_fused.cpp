#include "gru_rnn_fused.hpp"

#include <algorithm>
#include <vector>

#include "fused_tiling.hpp"
#include "recur/ops/gemm.hpp"
#include "recurrent_layout.hpp"
#include "simd/gru_rnn_simd.hpp"

namespace recur::ops::detail {
namespace {

using simd::kPanelBlocks;
static_assert(simd::kGruZ == kGruZ && simd::kGruR == kGruR && simd::kGruH == kGruH,
              "the fused kernels use the gate order of recur/ops/recurrent_kernels.hpp");

const simd::GruRnnSimdKernels& kernels_of(RecurrentKernel path) {
#if defined(__x86_64__) && !defined(RECUR_NO_X86_KERNELS)
  if (path == RecurrentKernel::kFusedGruAvx512 || path == RecurrentKernel::kFusedSimpleRnnAvx512)
    return simd::avx512::kGruRnnKernels;
  if (path == RecurrentKernel::kFusedGruAvx2 || path == RecurrentKernel::kFusedSimpleRnnAvx2)
    return simd::avx2::kGruRnnKernels;
#endif
  no_fused_kernel(path);
}

// The shape of one call: NG gates of U units, padded to Up = whole vectors of VW, nb unit
// blocks, Gp = NG Up interleaved columns, backward panels of up to kPanelBlocks blocks.
struct Plan {
  bool gru = false, reset_after = false, reset_before = false;
  std::size_t NG = 1, VW = 0, U = 0, Up = 0, nb = 0, Gp = 0, panels = 0;
  Plan(const RecurrentConfig& config, std::size_t units, std::size_t width)
      : gru(config.kind == CellKind::kGru),
        reset_after(gru && config.reset_after),
        reset_before(gru && !config.reset_after),
        NG(gate_count(config.kind)),
        VW(width),
        U(units),
        Up(round_up(units, width)),
        nb(Up / width),
        Gp(NG * Up),
        panels((nb + kPanelBlocks - 1) / kPanelBlocks) {}
  std::size_t panel_blocks(std::size_t p) const {
    return std::min(kPanelBlocks, nb - kPanelBlocks * p);
  }
  // Floats per backward panel (Gp, kPanelBlocks, VW), padded to whole panels.
  std::size_t panel_size() const { return Gp * kPanelBlocks * VW; }
};

// Forward weights. GRU with reset_after: per unit block j, (U, NG, VW) (the tile takes all
// three gates of its units), blocks U NG VW floats apart. GRU without it: per block j
// (U, 2, VW) of z and r for pass 1, then (packed_h_offset) the h gate in panels as SimpleRNN's,
// for pass 2: each pass streams only its own weights, contiguously. SimpleRNN: per panel p of
// up to kPanelBlocks blocks, (U, nv, VW), each panel U kPanelBlocks VW floats apart.
std::size_t packed_h_offset(const Plan& pl) { return pl.nb * pl.U * 2 * pl.VW; }

// The panels (K, nv, VW) of gate g's columns of w (Keras layout (K, NG U): recurrent_kernel,
// K = U, or kernel, K = features), panel p K kPanelBlocks VW floats from the first.
void pack_panels(float* packed, const float* w, const Plan& pl, std::size_t g, std::size_t K) {
  const std::size_t G = pl.NG * pl.U, U = pl.U, VW = pl.VW, panel = K * kPanelBlocks * VW;
  parallel_pass(pl.panels, pl.panels * panel * sizeof(float), [&](std::size_t p0, std::size_t p1) {
    for (std::size_t p = p0; p < p1; ++p) {
      const std::size_t lanes = pl.panel_blocks(p) * VW, first = p * kPanelBlocks * VW;
      const std::size_t n = std::min(lanes, U - first);  // lanes that are units (the rest pad)
      for (std::size_t k = 0; k < K; ++k) {
        float* d = packed + p * panel + k * lanes;
        std::copy_n(w + k * G + g * U + first, n, d);
        std::fill(d + n, d + lanes, 0.0f);
      }
    }
  });
}

void pack_forward_of(float* packed, const float* r, const Plan& pl) {
  if (!pl.gru) return pack_panels(packed, r, pl, 0, pl.U);
  // reset_after: all three gates per block; otherwise z and r, then the h panels.
  pack_forward(packed, r, pl.U, pl.U, pl.VW, pl.NG, pl.reset_after ? pl.NG : 2);
  if (pl.reset_before) pack_panels(packed + packed_h_offset(pl), r, pl, kGruH, pl.U);
}

// The GRU without reset_after with its input projection in the tiles: kernel (F, 3U) as pass
// 1's blocks (F, 2, VW) of z and r, then (at nb F 2 VW) pass 2's h-gate panels (F, nv, VW).
std::size_t packed_x_h_offset(const Plan& pl, std::size_t F) { return pl.nb * F * 2 * pl.VW; }
void pack_input_reset_before(RecurrentCache<float>& cache, const float* kernel, const Plan& pl,
                             std::size_t F) {
  ensure(cache.packed_x, packed_x_h_offset(pl, F) + pl.panels * F * kPanelBlocks * pl.VW);
  pack_forward(cache.packed_x.data(), kernel, F, pl.U, pl.VW, pl.NG, 2);
  pack_panels(cache.packed_x.data() + packed_x_h_offset(pl, F), kernel, pl, kGruH, F);
}

// The time loop of a fused forward, from what fused_gru_rnn_forward put in the cache: the
// time-major input, the packed weights and interleaved bias (cache.has_bias), h[0] (and the
// recurrent dropout's hd[0]), the mask. Writes h of every step, hd when recurrent dropout is
// on, and the activated gates and the GRU's aux when cache.gates_stored (else the tiles store
// neither: the GRU with reset_after and its input projection in the tiles only).
void forward_steps(RecurrentCache<float>& cache, const simd::GruRnnSimdKernels& k,
                   const Plan& pl, bool input_in_tiles) {
  const RecurrentDims& dims = cache.dims;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t VW = pl.VW, Up = pl.Up, Gp = pl.Gp, NG = pl.NG;
  float* gates = cache.gates_stored ? cache.gates.data() : nullptr;
  const float* bias_il = cache.has_bias ? cache.bias_il.data() : nullptr;
  float* hs = cache.h.data();
  float* rmask = cache.has_rmask ? cache.rmask.data() : nullptr;
  float* hd = cache.has_rmask ? cache.hd.data() : nullptr;
  const float* keep = cache.has_mask ? cache.mask.data() : nullptr;
  float* aux = pl.gru && cache.gates_stored ? cache.aux.data() : nullptr;

  // GRU tiles: rows x unit blocks; SimpleRNN tiles, and the GRU's second pass without
  // reset_after: rows x panels (one gate of one block is too few accumulators for a tile).
  const std::size_t cols = pl.gru ? pl.nb : pl.panels;
  const std::size_t k_in = input_in_tiles ? F + U : U;  // the rows of a step's weights
  TimeLoop loop(input_in_tiles ? (pl.reset_after ? "fused-gru-forward-input"
                                                 : "fused-gru-v1-forward-input")
                : pl.gru       ? (pl.reset_after ? "fused-gru-forward" : "fused-gru-v1-forward")
                               : "fused-simple-rnn-forward",
                B, k.max_rows, cols, B * U * NG * k_in, TT, k_in * Gp * sizeof(float));
  // The fields of a tile at step s, rows r0.., first unit `unit`, gates at column `gcol`.
  auto place = [&](simd::CellFwdTile& t, std::size_t s, std::size_t r0, std::size_t rows,
                   std::size_t unit, std::size_t gcol) {
    t.rows = rows;
    t.gates = gates ? gates + (s * B + r0) * Gp + gcol : nullptr;  // null: not stored
    t.ldg = Gp;
    t.bias = bias_il ? bias_il + gcol : nullptr;
    t.h_in = (rmask ? hd + s * B * Up : hs + s * B * Up) + r0 * Up;
    t.kh = U;
    t.ld = Up;
    const std::size_t at = r0 * Up + unit;
    t.h_prev = hs + s * B * Up + at;
    t.h_next = hs + (s + 1) * B * Up + at;
    if (aux) t.aux = aux + s * B * Up + at;
    if (rmask) {
      t.rmask = rmask + at;
      t.hd_next = s + 1 < TT ? hd + (s + 1) * B * Up + at : nullptr;
    }
    t.keep = keep ? keep + s * B + r0 : nullptr;
  };
  loop.run([&](const LoopShare& share) {
    for (std::size_t s = 0; s < TT; ++s, share.step_done()) {
      if (!pl.gru) {
        share.tiles(cols, [&](std::size_t p, std::size_t r0, std::size_t rows) {
          simd::CellFwdTile t;
          place(t, s, r0, rows, p * kPanelBlocks * VW, p * kPanelBlocks * VW);
          t.nv = pl.panel_blocks(p);
          t.packed = cache.packed.data() + p * U * kPanelBlocks * VW;
          k.rnn_forward(t);
        });
      } else if (pl.reset_after) {
        share.tiles(cols, [&](std::size_t j, std::size_t r0, std::size_t rows) {
          simd::CellFwdTile t;
          place(t, s, r0, rows, j * VW, j * NG * VW);
          t.packed = cache.packed.data() + j * U * NG * VW;
          t.bias_h = bias_il ? bias_il + Gp + j * NG * VW + kGruH * VW : nullptr;
          if (input_in_tiles) {
            t.x = cache.x.data() + (s * B + r0) * F;
            t.ldx = F;
            t.kx = F;
            t.packed_x = cache.packed_x.data() + j * F * NG * VW;
          }
          k.gru_forward(t);
        });
      } else {
        share.tiles(cols, [&](std::size_t j, std::size_t r0, std::size_t rows) {
          simd::CellFwdTile t;
          place(t, s, r0, rows, j * VW, j * NG * VW);
          t.packed = cache.packed.data() + j * U * 2 * VW;
          t.col = j * VW;
          if (input_in_tiles) {
            t.x = cache.x.data() + (s * B + r0) * F;
            t.ldx = F;
            t.kx = F;
            t.packed_x = cache.packed_x.data() + j * F * 2 * VW;
          }
          k.gru_forward_reset_before_1(t);
        });
        share.tiles(pl.panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
          simd::CellFwdTile t;
          const std::size_t j0 = p * kPanelBlocks;  // the panel's first unit block
          place(t, s, r0, rows, j0 * VW, j0 * NG * VW);
          t.nv = pl.panel_blocks(p);
          t.packed = cache.packed.data() + packed_h_offset(pl) + p * U * kPanelBlocks * VW;
          t.h_in = aux + s * B * Up + r0 * Up;  // r h_in of the whole row, from pass 1
          if (input_in_tiles) {
            t.x = cache.x.data() + (s * B + r0) * F;
            t.ldx = F;
            t.kx = F;
            t.packed_x = cache.packed_x.data() + packed_x_h_offset(pl, F) +
                         p * F * kPanelBlocks * VW;
          }
          k.gru_forward_reset_before_2(t);
        });
      }
    }
  });
}

}  // namespace

bool fused_gru_input_in_tiles(RecurrentKernel path, const RecurrentConfig& config,
                              const RecurrentDims& dims) {
  if (path != RecurrentKernel::kFusedGruAvx512 || config.kind != CellKind::kGru) return false;
  const simd::GruRnnSimdKernels& k = kernels_of(path);
  return input_in_tiles_pays(dims, simd::kGruGates, k.width, k.max_rows);
}

void fused_gru_rnn_forward(RecurrentKernel path, float* y, float* h_last,
                           RecurrentCache<float>& cache, const float* x, const float* kernel,
                           const float* recurrent_kernel, const float* bias,
                           const RecurrentDims& dims, const RecurrentConfig& config,
                           const RecurrentExtras<float>& extras) {
  const simd::GruRnnSimdKernels& k = kernels_of(path);
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const Plan pl(config, U, k.width);
  const std::size_t VW = pl.VW, Up = pl.Up, Gp = pl.Gp, NG = pl.NG;
  cache.dims = dims;
  cache.config = config;
  cache.kernel = path;
  ensure(cache.h, (TT + 1) * B * Up);
  ensure(cache.kernel_il, F * Gp);
  ensure(cache.bias_il, (pl.reset_after ? 2 : 1) * Gp);
  ensure(cache.packed, pl.gru ? U * Gp : pl.panels * U * kPanelBlocks * VW);
  load_time_major(cache, x, extras, dims, config.go_backwards);
  if (cache.has_rmask) {
    ensure(cache.rmask, B * Up);
    ensure(cache.hd, TT * B * Up);
  }

  interleave_columns(cache.kernel_il.data(), kernel, F, U, VW, NG);
  float* bias_il = cache.bias_il.data();
  if (bias) {
    // reset_after: bias (2, 3U) = [input; recurrent]. The recurrent bias of z and r joins the
    // input projection; that of h stays apart (row 1), since r multiplies it.
    interleave_columns(bias_il, bias, pl.reset_after ? 2 : 1, U, VW, NG);
    if (pl.reset_after)
      for (std::size_t j = 0; j < pl.nb; ++j)
        for (std::size_t i = 0; i < 2 * VW; ++i)
          bias_il[j * NG * VW + i] += bias_il[Gp + j * NG * VW + i];
  } else {
    std::fill(cache.bias_il.begin(), cache.bias_il.end(), 0.0f);
  }
  pack_forward_of(cache.packed.data(), recurrent_kernel, pl);

  const bool input_in_tiles = fused_gru_input_in_tiles(path, config, dims);
  // An inference forward of the GRU with reset_after and the input projection in the tiles
  // stores no gates and no aux (only a backward reads them; it then runs the time loop again
  // first). Without reset_after, pass 2 reads pass 1's z and r h from them; with the gemm, the
  // gates buffer holds the projection anyway.
  cache.gates_stored = !(extras.inference && input_in_tiles && pl.reset_after);
  if (cache.gates_stored) {
    ensure(cache.gates, TT * B * Gp);
    if (pl.gru) ensure(cache.aux, TT * B * Up);
  }
  if (input_in_tiles && pl.reset_before) pack_input_reset_before(cache, kernel, pl, F);
  else input_projection(cache, kernel, VW, NG, input_in_tiles);

  float* hs = cache.h.data();
  padded_rows(hs, extras.h0, B, U, Up);
  if (cache.has_rmask)
    padded_dropout_start(cache.rmask.data(), cache.hd.data(), hs, extras.recurrent_dropout, B,
                         U, Up);
  cache.has_bias = bias != nullptr;
  forward_steps(cache, k, pl, input_in_tiles);

  store_outputs(y, hs, Up, cache);
  if (h_last)
    for (std::size_t b = 0; b < B; ++b) std::copy_n(hs + (TT * B + b) * Up, U, h_last + b * U);
}

void fused_gru_rnn_backward(float* dx, float* dh0, float* dkernel, float* drecurrent_kernel,
                            float* dbias, RecurrentCache<float>& cache, const float* dy,
                            const float* dh_last, const float* recurrent_kernel) {
  const simd::GruRnnSimdKernels& k = kernels_of(cache.kernel);
  const RecurrentDims& dims = cache.dims;
  const RecurrentConfig& config = cache.config;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const Plan pl(config, U, k.width);
  const std::size_t VW = pl.VW, Up = pl.Up, Gp = pl.Gp, NG = pl.NG;
  const std::size_t panel_size = pl.panel_size();
  if (!cache.gates_stored) {
    // An inference forward stored no gates and no aux (fused_gru_rnn_forward): its time loop
    // runs again, storing them - the same tiles on the same inputs, weights and initial state,
    // so the same values.
    cache.gates_stored = true;
    ensure(cache.gates, TT * B * Gp);
    if (pl.gru) ensure(cache.aux, TT * B * Up);
    forward_steps(cache, k, pl, fused_gru_input_in_tiles(cache.kernel, config, dims));
  }
  ensure(cache.dgates, TT * B * Gp);
  // drec: reset_after the recurrent product's gradient (T, B, Gp); otherwise scratch for dgates
  // in Keras order (T*B, 3U) for the weight gradient.
  if (pl.gru) ensure(cache.drec, TT * B * (pl.reset_after ? Gp : NG * U));
  ensure(cache.dh, B * Up);
  if (pl.reset_before) ensure(cache.dh_in, B * Up);
  ensure(cache.dx, TT * B * F);
  ensure(cache.packed_t, pl.panels * panel_size);
  ensure(cache.dw_pad, std::max(F, U) * Gp);
  const bool seq_dy = dy != nullptr && config.return_sequences && TT > 0;
  if (seq_dy) ensure(cache.dy_pad, TT * B * Up);

  // The unit offsets and the interleaved kernel are forward's (backward runs with the weights
  // of the last forward, as recurrent_backward's contract says).
  pack_transposed(cache.packed_t.data(), recurrent_kernel, U, VW, NG);
  const float* keep = cache.has_mask ? cache.mask.data() : nullptr;
  const float* rmask = cache.has_rmask ? cache.rmask.data() : nullptr;
  float* dyp = seq_dy ? cache.dy_pad.data() : nullptr;
  float* dh = cache.dh.data();
  padded_output_gradients(dyp, dh, dy, dh_last, cache, Up);

  const float* gates = cache.gates.data();
  const float* hs = cache.h.data();
  const float* h_in_all = cache.has_rmask ? cache.hd.data() : hs;  // h_{t-1} after dropout
  const float* aux = pl.gru ? cache.aux.data() : nullptr;
  float* dgates = cache.dgates.data();
  float* drec = pl.reset_after ? cache.drec.data() : nullptr;
  float* drh = pl.reset_before ? cache.dh_in.data() : nullptr;
  const auto pointwise = pl.gru ? k.gru_pointwise : k.rnn_pointwise;
  const auto backward = pl.gru ? k.gru_backward : k.rnn_backward;
  // The bias gradients are summed where the gate gradients are made (the pointwise, and pass 1
  // without reset_after), each batch row into its own part: a part's sums run over the steps
  // in one order whatever thread runs the row, and the parts are added in row order at the end,
  // so the bits depend neither on the thread count nor on which rows share a tile. Before, a
  // pass over all of dgates (and drec's h columns) on one thread after the time loop:
  // memory-bound, 1.3-1.4 ms of a 28 ms (64, 100, 128, 256) GRU backward (2-core Zen 5;
  // BENCHMARKS.md).
  const std::size_t part_size = Gp + (pl.reset_after ? Up : 0);
  float* parts = nullptr;
  if (dbias) {
    ensure(cache.bias_parts, B * part_size);
    parts = cache.bias_parts.data();
    std::fill_n(parts, B * part_size, 0.0f);
  }
  // The sums of the tile with rows from r0 at panel p: its first row's part at the panel
  // (dgates's columns, then drec's h lanes); the tile's rows follow part_size apart.
  auto sums_at = [&](std::size_t p, std::size_t r0) {
    return parts ? parts + r0 * part_size + p * kPanelBlocks * NG * VW : nullptr;
  };
  auto rec_sums_at = [&](std::size_t p, std::size_t r0) {
    return parts && pl.reset_after ? parts + r0 * part_size + Gp + p * kPanelBlocks * VW
                                   : nullptr;
  };
  TimeLoop loop(pl.gru ? (pl.reset_after ? "fused-gru-backward" : "fused-gru-v1-backward")
                       : "fused-simple-rnn-backward",
                B, k.max_rows, pl.panels, B * U * NG * U, TT, U * Gp * sizeof(float));
  // Offsets of a tile (step s, rows from r0, panel p) in the (T, B, Gp) and (B, Up) arrays.
  auto gate_at = [&](std::size_t s, std::size_t p, std::size_t r0) {
    return (s * B + r0) * Gp + p * kPanelBlocks * NG * VW;
  };
  auto unit_at = [&](std::size_t p, std::size_t r0) { return r0 * Up + p * kPanelBlocks * VW; };
  // The gate gradients of step s on one tile.
  auto pointwise_at = [&](std::size_t s, std::size_t p, std::size_t r0, std::size_t rows) {
    simd::CellPointwise pw;
    pw.rows = rows;
    pw.nv = pl.panel_blocks(p);
    const std::size_t go = gate_at(s, p, r0), uo = unit_at(p, r0);
    pw.gates = gates + go;
    pw.dz = dgates + go;
    pw.drec = drec ? drec + go : nullptr;
    pw.ldg = Gp;
    pw.aux = pl.reset_after ? aux + s * B * Up + uo : nullptr;
    pw.h_prev = hs + s * B * Up + uo;
    pw.dh = dh + uo;
    pw.ld = Up;
    pw.keep = keep ? keep + s * B + r0 : nullptr;
    pw.sums = sums_at(p, r0);
    pw.sums_rec = rec_sums_at(p, r0);
    pw.lds = part_size;
    return pw;
  };
  // A backward tile's product over the columns [c0, c1) of every block of d (rows, Gp).
  auto product_of = [&](simd::CellBwdTile& bt, const float* d, std::size_t s, std::size_t p,
                        std::size_t r0, std::size_t rows, std::size_t c0, std::size_t c1) {
    bt.rows = rows;
    bt.nv = pl.panel_blocks(p);
    bt.d = d + (s * B + r0) * Gp;
    bt.ldd = Gp;
    bt.nb = pl.nb;
    bt.bs = NG * VW;
    bt.c0 = c0;
    bt.c1 = c1;
    bt.packed_t = cache.packed_t.data() + p * panel_size;
    bt.ld = Up;
    bt.gates = gates + gate_at(s, p, r0);
    bt.ldg = Gp;
    bt.keep_s = keep ? keep + s * B + r0 : nullptr;
  };
  loop.run([&](const LoopShare& share) {
    if (TT > 0)
      share.tiles(pl.panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
        pointwise(pointwise_at(TT - 1, p, r0, rows));
      });
    for (std::size_t s = TT; s-- > 0; share.step_done()) {
      if (pl.reset_before) {
        // d(r h_in) = dhh R_h^T, then dz_r and d(r h_in) r, for all of the row's units.
        share.tiles(pl.panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
          simd::CellBwdTile bt;
          product_of(bt, dgates, s, p, r0, rows, kGruH * VW, (kGruH + 1) * VW);
          const std::size_t uo = unit_at(p, r0);
          bt.dz = dgates + gate_at(s, p, r0);
          bt.h_in = h_in_all + s * B * Up + uo;
          bt.drh = drh + uo;
          bt.sums = sums_at(p, r0);
          bt.lds = part_size;
          k.gru_backward_reset_before_1(bt);
        });
      }
      share.tiles(pl.panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
        simd::CellBwdTile bt;
        // The recurrent product's gradient: reset_after drec (all gates); otherwise dz of z and
        // r (h went through r h_in above); SimpleRNN dz.
        product_of(bt, pl.reset_after ? drec : dgates, s, p, r0, rows, 0,
                   pl.reset_before ? 2 * VW : NG * VW);
        const std::size_t uo = unit_at(p, r0);
        bt.dh = dh + uo;
        bt.drh = drh ? drh + uo : nullptr;
        bt.rmask = rmask ? rmask + uo : nullptr;
        if (s > 0) {
          bt.dy_prev = seq_dy ? dyp + (s - 1) * B * Up + uo : nullptr;
          bt.prev = pointwise_at(s - 1, p, r0, rows);
        }
        backward(bt);
      });
    }
  });
  if (dh0)
    for (std::size_t b = 0; b < B; ++b) std::copy_n(dh + b * Up, U, dh0 + b * U);

  // Weight gradients as large gemms over all timesteps, in the interleaved order, then added
  // into the Keras layout.
  float* dw = cache.dw_pad.data();
  // dkernel (F, G) += x^T (F, T*B) . dgates (T*B, Gp)
  gemm<float>(true, false, F, Gp, TT * B, 1.0f, cache.x.data(), F, dgates, Gp, 0.0f, dw, Gp);
  add_deinterleaved(dkernel, dw, F, U, VW, NG);
  // drecurrent_kernel (U, G) += h_in^T (U, T*B) . d(recurrent product) (T*B, Gp).
  if (pl.reset_before) {
    // The h gate's product is (r h_in) . R_h: its columns come from aux = r h_in, those of z
    // and r from h_in. dgates in Keras order (T*B, G) first, so that each is one gemm.
    const std::size_t G = NG * U;
    float* dk = cache.drec.data();
    // Unit block j of gate g is VW contiguous floats at j NG VW + g VW (the last one partial).
    // Split over the pool by rows (on one core this copy took ~4% of a (64, 100, 128, 256)
    // training step; 2.1-2.6 -> 0.8-1.4 ms split, 2-core Zen 5).
    parallel_pass(TT * B, 2 * TT * B * Gp * sizeof(float), [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r)
        for (std::size_t g = 0; g < NG; ++g)
          for (std::size_t j = 0; j < pl.nb; ++j)
            std::copy_n(dgates + r * Gp + (j * NG + g) * VW, std::min(VW, U - j * VW),
                        dk + r * G + g * U + j * VW);
    });
    gemm<float>(true, false, U, 2 * U, TT * B, 1.0f, h_in_all, Up, dk, G, 1.0f,
                drecurrent_kernel, G);
    gemm<float>(true, false, U, U, TT * B, 1.0f, aux, Up, dk + kGruH * U, G, 1.0f,
                drecurrent_kernel + kGruH * U, G);
  } else {
    gemm<float>(true, false, U, Gp, TT * B, 1.0f, h_in_all, Up, drec ? drec : dgates, Gp, 0.0f,
                dw, Gp);
    add_deinterleaved(drecurrent_kernel, dw, U, U, VW, NG);
  }
  if (dbias) {
    // (G,) = the parts' sums of dgates; reset_after (2, G) = [those; drec's], where drec's z and
    // r columns hold the very values of dgates's (the pointwise stores dz_z and dz_r in both),
    // so only its h sums were kept apart.
    std::fill_n(dw, Gp, 0.0f);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < Gp; ++j) dw[j] += parts[b * part_size + j];
    add_deinterleaved(dbias, dw, 1, U, VW, NG);
    if (pl.reset_after) {
      for (std::size_t j = 0; j < pl.nb; ++j) {
        float* h = dw + (j * NG + kGruH) * VW;
        std::fill_n(h, VW, 0.0f);
        for (std::size_t b = 0; b < B; ++b)
          for (std::size_t v = 0; v < VW; ++v) h[v] += parts[b * part_size + Gp + j * VW + v];
      }
      add_deinterleaved(dbias + NG * U, dw, 1, U, VW, NG);
    }
  }
  // dx (T*B, F) = dgates (T*B, Gp) . kernel^T (Gp, F), then back to (B, T, F) input order.
  gemm<float>(false, true, TT * B, F, Gp, 1.0f, dgates, Gp, cache.kernel_il.data(), Gp, 0.0f,
              cache.dx.data(), F);
  store_input_gradient(dx, cache);
}

}  // namespace recur::ops::detail
