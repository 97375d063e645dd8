#include "lstm_fused.hpp"

#include <algorithm>
#include <string>

#include "fused_tiling.hpp"
#include "recur/core/error.hpp"
#include "recur/ops/gemm.hpp"
#include "recurrent_layout.hpp"

namespace recur::ops::detail {
namespace {

using simd::kGates;
using simd::kPanelBlocks;
static_assert(kGates == kNumGates && simd::kGateI == kGateI && simd::kGateF == kGateF &&
              simd::kGateC == kGateC && simd::kGateO == kGateO,
              "the fused kernels use the gate order of recur/ops/recurrent_kernels.hpp");

// Backward panels of a padded width Up: ceil(nb / kPanelBlocks), the last one maybe narrower.
std::size_t panel_count(std::size_t nb) { return (nb + kPanelBlocks - 1) / kPanelBlocks; }
std::size_t panel_blocks(std::size_t nb, std::size_t p) {
  return std::min(kPanelBlocks, nb - kPanelBlocks * p);
}

// Every helper below moves whole unit blocks (VW contiguous floats of one gate) at a time, so
// its inner loops are plain vector copies; the last block of a U that VW does not divide is
// `n` < VW units long, its pad lanes zero.
std::size_t block_units(std::size_t U, std::size_t VW, std::size_t j) {
  return std::min(VW, U - j * VW);
}

// fn(keras, il, n) for every row k, unit block j and gate g of a (K, ng U) matrix: the offsets
// of that block in the Keras layout and in the (K, Gp) interleaved one, and its unit count.
template <typename Fn>
void for_each_gate_block(std::size_t K, std::size_t U, std::size_t VW, std::size_t ng, Fn&& fn) {
  const std::size_t nb = round_up(U, VW) / VW, Gp = ng * nb * VW, G = ng * U;
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < nb; ++j) {
      const std::size_t n = block_units(U, VW, j);
      for (std::size_t g = 0; g < ng; ++g)
        fn(k * G + g * U + j * VW, k * Gp + (j * ng + g) * VW, n);
    }
}

}  // namespace

void pack_forward(float* packed, const float* w, std::size_t K, std::size_t U, std::size_t VW,
                  std::size_t ng, std::size_t gates) {
  const std::size_t nb = round_up(U, VW) / VW, G = ng * U;
  parallel_pass(nb, nb * K * gates * VW * sizeof(float), [&](std::size_t j0, std::size_t j1) {
    for (std::size_t j = j0; j < j1; ++j) {
      const std::size_t n = block_units(U, VW, j);
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t g = 0; g < gates; ++g) {
          float* d = packed + ((j * K + k) * gates + g) * VW;
          std::copy_n(w + k * G + g * U + j * VW, n, d);
          std::fill(d + n, d + VW, 0.0f);
        }
    }
  });
}

void unit_offsets(std::vector<std::size_t>& off, std::size_t U, std::size_t VW, std::size_t ng) {
  off.resize(U);
  for (std::size_t u = 0; u < U; ++u) off[u] = (u / VW) * ng * VW + u % VW;
}

void interleave_columns(float* out, const float* w, std::size_t K, std::size_t U,
                        std::size_t VW, std::size_t ng) {
  const std::size_t G = ng * U, Gp = ng * round_up(U, VW);
  parallel_pass(K, K * Gp * sizeof(float), [&](std::size_t k0, std::size_t k1) {
    const float* src = w + k0 * G;
    float* dst = out + k0 * Gp;
    for_each_gate_block(k1 - k0, U, VW, ng, [&](std::size_t keras, std::size_t il, std::size_t n) {
      std::copy_n(src + keras, n, dst + il);
      std::fill(dst + il + n, dst + il + VW, 0.0f);
    });
  });
}

void add_deinterleaved(float* out, const float* il, std::size_t K, std::size_t U,
                       std::size_t VW, std::size_t ng) {
  const std::size_t G = ng * U, Gp = ng * round_up(U, VW);
  parallel_pass(K, K * Gp * sizeof(float), [&](std::size_t k0, std::size_t k1) {
    float* dst = out + k0 * G;
    const float* src = il + k0 * Gp;
    for_each_gate_block(k1 - k0, U, VW, ng, [&](std::size_t keras, std::size_t at, std::size_t n) {
      for (std::size_t v = 0; v < n; ++v) dst[keras + v] += src[at + v];
    });
  });
}

// A transpose in VW x VW blocks (VW units of recurrent_kernel's rows x VW of one gate's
// columns), so the rows read and the panel rows written stay in L1 while a block is copied.
void pack_transposed(float* packed, const float* r, std::size_t U, std::size_t VW,
                     std::size_t ng) {
  const std::size_t Up = round_up(U, VW), nb = Up / VW, Gp = ng * Up, G = ng * U;
  const std::size_t panel_size = Gp * kPanelBlocks * VW;  // floats per panel, padded
  const std::size_t panels = panel_count(nb);
  parallel_pass(panels, panels * panel_size * sizeof(float), [&](std::size_t p0, std::size_t p1) {
    std::fill(packed + p0 * panel_size, packed + p1 * panel_size, 0.0f);
    for (std::size_t p = p0; p < p1; ++p) {
      const std::size_t nv = panel_blocks(nb, p), row_len = nv * VW;
      float* panel = packed + p * panel_size;
      for (std::size_t q = 0; q < nv; ++q) {
        const std::size_t j = p * kPanelBlocks + q, nu = block_units(U, VW, j);
        const float* rows = r + j * VW * G;  // recurrent_kernel rows of units j VW ..
        for (std::size_t g = 0; g < ng; ++g)
          for (std::size_t jb = 0; jb < nb; ++jb) {
            const std::size_t nc = block_units(U, VW, jb);
            // panel row (jb ng + g) VW + w is gate g of unit jb VW + w; lane q VW + v is unit
            // j VW + v
            float* d = panel + (jb * ng + g) * VW * row_len + q * VW;
            const float* src = rows + g * U + jb * VW;
            for (std::size_t w = 0; w < nc; ++w)
              for (std::size_t v = 0; v < nu; ++v) d[w * row_len + v] = src[v * G + w];
          }
      }
    }
  });
}

void input_projection(RecurrentCache<float>& cache, const float* kernel, std::size_t VW,
                      std::size_t ng, bool in_tiles) {
  const RecurrentDims& d = cache.dims;
  const std::size_t F = d.features, U = d.units, Gp = ng * round_up(U, VW);
  if (in_tiles) {
    ensure(cache.packed_x, F * Gp);
    pack_forward(cache.packed_x.data(), kernel, F, U, VW, ng, ng);
    return;
  }
  // gates (T*B, Gp) = x (T*B, F) . kernel (F, Gp): one gemm for all timesteps. The bias joins
  // inside the tiles: writing it into every row first would cost a pass over the whole
  // (T*B, Gp) buffer and the gemm a read of it.
  gemm<float>(false, false, d.timesteps * d.batch, Gp, F, 1.0f, cache.x.data(), F,
              cache.kernel_il.data(), Gp, 0.0f, cache.gates.data(), Gp);
}

bool input_in_tiles_pays(const RecurrentDims& dims, std::size_t ng, std::size_t width,
                        std::size_t max_rows) {
  const std::size_t B = dims.batch, F = dims.features, U = dims.units;
  const double weight_bytes = double(F + U) * double(ng * round_up(U, width)) * sizeof(float);
  return B >= 2 * max_rows && F <= 2 * U && weight_bytes < double(kInputInTilesMaxBytes);
}

bool fused_lstm_input_in_tiles(RecurrentKernel path, const RecurrentDims& dims) {
  if (path != RecurrentKernel::kFusedLstmAvx512) return false;
  const simd::LstmSimdKernels& k = fused_lstm_kernels(path);
  return input_in_tiles_pays(dims, kGates, k.width, k.max_rows);
}

void no_fused_kernel(RecurrentKernel path) {
  // select_kernel() never picks a kernel this build lacks: reaching here is a bug in recur.
  throw Error(std::string("fused recurrent kernels: this build has no ") +
              recurrent_kernel_name(path) +
              " kernel; recurrent kernels must be chosen by select_kernel() (an internal error).");
}

std::size_t fused_padded_units(RecurrentKernel path, std::size_t units) {
  return round_up(units, fused_lstm_kernels(path).width);
}

// The time loop of a fused forward, from what fused_lstm_forward put in the cache: the
// time-major input, the packed weights, the initial states in h[0] and c[0] (and the recurrent
// dropout's h[0] in hd), the mask. Writes h and c of every step, hd when recurrent dropout is
// on, and the activated gates when cache.gates_stored (else the tiles store none).
void forward_steps(RecurrentCache<float>& cache, const simd::LstmSimdKernels& k,
                   bool input_in_tiles) {
  const RecurrentDims& d = cache.dims;
  const std::size_t B = d.batch, TT = d.timesteps, F = d.features, U = d.units;
  const std::size_t VW = k.width, Up = round_up(U, VW), nb = Up / VW, Gp = kGates * Up;
  float* gates = cache.gates_stored ? cache.gates.data() : nullptr;
  float* hs = cache.h.data();
  float* cs = cache.c.data();
  float* rmask = cache.has_rmask ? cache.rmask.data() : nullptr;
  float* hd = cache.has_rmask ? cache.hd.data() : nullptr;
  const float* keep = cache.has_mask ? cache.mask.data() : nullptr;
  const std::size_t k_in = input_in_tiles ? F + U : U;  // the rows of a step's weights
  TimeLoop loop(input_in_tiles ? "fused-lstm-forward-input" : "fused-lstm-forward", B,
                k.max_rows, nb, B * U * kGates * k_in, TT, k_in * Gp * sizeof(float));
  loop.run([&](const LoopShare& share) {
    for (std::size_t s = 0; s < TT; ++s, share.step_done()) {
      share.tiles(nb, [&](std::size_t j, std::size_t r0, std::size_t rows) {
        simd::FwdTile ft;
        ft.rows = rows;
        float* g = gates ? gates + (s * B + r0) * Gp + j * kGates * VW : nullptr;
        if (input_in_tiles) {  // acc = bias + x_t kernel + h recurrent_kernel
          ft.init = cache.bias_il.data() + j * kGates * VW;
          ft.ld_init = 0;
          ft.x = cache.x.data() + (s * B + r0) * F;
          ft.ldx = F;
          ft.kx = F;
          ft.packed_x = cache.packed_x.data() + j * F * kGates * VW;
        } else {  // acc = gates (the gemm's x_t kernel) + bias + h recurrent_kernel
          ft.init = g;
          ft.ld_init = Gp;
          ft.bias = cache.bias_il.data() + j * kGates * VW;
        }
        ft.h_in = (rmask ? hd + s * B * Up : hs + s * B * Up) + r0 * Up;
        ft.packed_r = cache.packed.data() + j * U * kGates * VW;
        ft.kh = U;
        ft.gates_out = g;  // null: not stored
        ft.ldg = Gp;
        const std::size_t at = r0 * Up + j * VW;
        ft.h_prev = hs + s * B * Up + at;
        ft.c_prev = cs + s * B * Up + at;
        ft.c_next = cs + (s + 1) * B * Up + at;
        ft.h_next = hs + (s + 1) * B * Up + at;
        ft.ld = Up;
        if (rmask) {
          ft.rmask = rmask + at;
          ft.hd_next = s + 1 < TT ? hd + (s + 1) * B * Up + at : nullptr;
        }
        ft.keep = keep ? keep + s * B + r0 : nullptr;
        k.forward_tile(ft);
      });
    }
  });
}

void fused_lstm_forward(RecurrentKernel path, float* y, float* h_last, float* c_last,
                        RecurrentCache<float>& cache, const float* x, const float* kernel,
                        const float* recurrent_kernel, const float* bias,
                        const RecurrentDims& dims, const RecurrentConfig& config,
                        const RecurrentExtras<float>& extras) {
  const simd::LstmSimdKernels& k = fused_lstm_kernels(path);
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t VW = k.width, Up = round_up(U, VW), Gp = kGates * Up;
  cache.dims = dims;
  cache.config = config;
  cache.kernel = path;
  ensure(cache.h, (TT + 1) * B * Up);
  ensure(cache.c, (TT + 1) * B * Up);
  ensure(cache.kernel_il, F * Gp);
  ensure(cache.bias_il, Gp);
  ensure(cache.packed, U * Gp);
  load_time_major(cache, x, extras, dims, config.go_backwards);
  if (cache.has_rmask) {
    ensure(cache.rmask, B * Up);
    ensure(cache.hd, TT * B * Up);
  }

  interleave_columns(cache.kernel_il.data(), kernel, F, U, VW, kGates);
  if (bias) interleave_columns(cache.bias_il.data(), bias, 1, U, VW, kGates);
  else std::fill(cache.bias_il.begin(), cache.bias_il.end(), 0.0f);
  pack_forward(cache.packed.data(), recurrent_kernel, U, U, VW, kGates, kGates);

  const bool input_in_tiles = fused_lstm_input_in_tiles(path, dims);
  // An inference forward with the input projection in the tiles stores no gates: nothing reads
  // them but a backward, which then runs the time loop again first (fused_lstm_backward). With
  // the gemm, the gates buffer holds the projection anyway.
  cache.gates_stored = !(extras.inference && input_in_tiles);
  if (cache.gates_stored) ensure(cache.gates, TT * B * Gp);
  input_projection(cache, kernel, VW, kGates, input_in_tiles);

  // Initial states into the padded layout (pad lanes zero).
  float* hs = cache.h.data();
  float* cs = cache.c.data();
  padded_rows(hs, extras.h0, B, U, Up);
  padded_rows(cs, extras.c0, B, U, Up);
  if (cache.has_rmask)
    padded_dropout_start(cache.rmask.data(), cache.hd.data(), hs, extras.recurrent_dropout, B,
                         U, Up);
  forward_steps(cache, k, input_in_tiles);
  store_outputs(y, hs, Up, cache);
  for (std::size_t b = 0; b < B; ++b) {
    if (h_last) std::copy_n(hs + (TT * B + b) * Up, U, h_last + b * U);
    if (c_last) std::copy_n(cs + (TT * B + b) * Up, U, c_last + b * U);
  }
}

void fused_lstm_backward(float* dx, float* dh0, float* dc0, float* dkernel,
                         float* drecurrent_kernel, float* dbias, RecurrentCache<float>& cache,
                         const float* dy, const float* dh_last, const float* dc_last,
                         const float* recurrent_kernel) {
  const simd::LstmSimdKernels& k = fused_lstm_kernels(cache.kernel);
  const RecurrentDims& dims = cache.dims;
  const RecurrentConfig& config = cache.config;
  const std::size_t B = dims.batch, TT = dims.timesteps, F = dims.features, U = dims.units;
  const std::size_t VW = k.width, Up = round_up(U, VW), nb = Up / VW, Gp = kGates * Up;
  const std::size_t panels = panel_count(nb), panel_size = Gp * kPanelBlocks * VW;
  if (!cache.gates_stored) {
    // An inference forward stored no gates (fused_lstm_forward): its time loop runs again,
    // storing them - the same tiles on the same inputs, weights and initial states, so the
    // same h, c and gates.
    cache.gates_stored = true;
    ensure(cache.gates, TT * B * Gp);
    forward_steps(cache, k, true);
  }
  ensure(cache.dgates, TT * B * Gp);
  ensure(cache.dh, B * Up);
  ensure(cache.dc, B * Up);
  ensure(cache.dx, TT * B * F);
  ensure(cache.packed_t, panels * panel_size);
  // [x_t | h_in | 1] rows: K = F + U (+ 1 with a bias) for both weight gradients in one gemm.
  const std::size_t KW = F + U + (dbias ? 1 : 0);
  ensure(cache.xh, TT * B * KW);
  ensure(cache.dw_pad, KW * Gp);
  const bool seq_dy = dy != nullptr && config.return_sequences;
  if (seq_dy) ensure(cache.dy_pad, TT * B * Up);

  // The interleaved kernel is forward's (backward runs with the weights of the last forward,
  // as recurrent_backward's contract says).
  pack_transposed(cache.packed_t.data(), recurrent_kernel, U, VW, kGates);
  const float* keep = cache.has_mask ? cache.mask.data() : nullptr;
  const float* rmask = cache.has_rmask ? cache.rmask.data() : nullptr;
  float* dyp = seq_dy ? cache.dy_pad.data() : nullptr;
  float* dh = cache.dh.data();
  float* dc = cache.dc.data();
  padded_output_gradients(dyp, dh, dy, dh_last, cache, Up);
  std::fill_n(dc, B * Up, 0.0f);
  if (dc_last)
    for (std::size_t b = 0; b < B; ++b) std::copy_n(dc_last + b * U, U, dc + b * Up);

  const float* gates = cache.gates.data();
  float* dgates = cache.dgates.data();
  const float* cs = cache.c.data();
  TimeLoop loop("fused-lstm-backward", B, k.max_rows, panels, B * U * kGates * U, TT,
                U * Gp * sizeof(float));
  // The pointwise pass of step s on one tile (rows from r0, panel p).
  auto pointwise_at = [&](std::size_t s, std::size_t p, std::size_t r0, std::size_t rows) {
    simd::Pointwise pw;
    pw.rows = rows;
    pw.nv = panel_blocks(nb, p);
    const std::size_t go = (s * B + r0) * Gp + p * kPanelBlocks * kGates * VW;
    const std::size_t uo = r0 * Up + p * kPanelBlocks * VW;
    pw.gates = gates + go;
    pw.dz = dgates + go;
    pw.ldg = Gp;
    pw.c_prev = cs + s * B * Up + uo;
    pw.c_cur = cs + (s + 1) * B * Up + uo;
    pw.dh = dh + uo;
    pw.dc = dc + uo;
    pw.ld = Up;
    pw.keep = keep ? keep + s * B + r0 : nullptr;
    return pw;
  };
  loop.run([&](const LoopShare& share) {
    if (TT > 0)
      share.tiles(panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
        k.pointwise(pointwise_at(TT - 1, p, r0, rows));
      });
    for (std::size_t s = TT; s-- > 0; share.step_done()) {
      share.tiles(panels, [&](std::size_t p, std::size_t r0, std::size_t rows) {
        simd::BwdTile bt;
        bt.rows = rows;
        bt.nv = panel_blocks(nb, p);
        bt.dz = dgates + (s * B + r0) * Gp;
        bt.kp = Gp;
        bt.ldz = Gp;
        bt.packed_t = cache.packed_t.data() + p * panel_size;
        const std::size_t uo = r0 * Up + p * kPanelBlocks * VW;
        bt.dh = dh + uo;
        bt.ld = Up;
        bt.rmask = rmask ? rmask + uo : nullptr;
        bt.keep_s = keep ? keep + s * B + r0 : nullptr;
        if (s > 0) {
          bt.dy_prev = seq_dy ? dyp + (s - 1) * B * Up + uo : nullptr;
          bt.prev = pointwise_at(s - 1, p, r0, rows);
        }
        k.backward_tile(bt);
      });
    }
  });
  for (std::size_t b = 0; b < B; ++b) {
    if (dh0) std::copy_n(dh + b * Up, U, dh0 + b * U);
    if (dc0) std::copy_n(dc + b * Up, U, dc0 + b * U);
  }

  // Weight gradients as one large gemm over all timesteps, in the interleaved order, then added
  // into the Keras layout: [dkernel; drecurrent_kernel; dbias] (F + U + 1, Gp) = [x | h_in | 1]^T
  // (F + U + 1, T*B) . dgates (T*B, Gp), h_in = h_{t-1} (after dropout). One gemm packs dgates
  // once where a gemm per weight packed it again for each and the bias's column sums read it a
  // third time ((64, 100, 128, 256) backward: 39.9-40.8 -> 37.6-37.8 ms, BENCHMARKS.md).
  float* dw = cache.dw_pad.data();
  float* xh = cache.xh.data();
  const float* xs = cache.x.data();
  const float* h_in = cache.has_rmask ? cache.hd.data() : cache.h.data();
  parallel_pass(TT * B, TT * B * KW * sizeof(float), [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      float* d = xh + r * KW;
      std::copy_n(xs + r * F, F, d);
      std::copy_n(h_in + r * Up, U, d + F);
      if (dbias) d[F + U] = 1.0f;
    }
  });
  gemm<float>(true, false, KW, Gp, TT * B, 1.0f, xh, KW, dgates, Gp, 0.0f, dw, Gp);
  add_deinterleaved(dkernel, dw, F, U, VW, kGates);
  add_deinterleaved(drecurrent_kernel, dw + F * Gp, U, U, VW, kGates);
  if (dbias) add_deinterleaved(dbias, dw + (F + U) * Gp, 1, U, VW, kGates);
  // dx (T*B, F) = dgates (T*B, Gp) . kernel^T (Gp, F), then back to (B, T, F) input order.
  gemm<float>(false, true, TT * B, F, Gp, 1.0f, dgates, Gp, cache.kernel_il.data(), Gp, 0.0f,
              cache.dx.data(), F);
  store_input_gradient(dx, cache);
}

void pack_step_weights(RecurrentKernel path, float* packed_x, float* packed_r, float* bias_il,
                       const float* kernel, const float* recurrent_kernel, const float* bias,
                       std::size_t features, std::size_t units) {
  const std::size_t VW = fused_lstm_kernels(path).width;
  pack_forward(packed_x, kernel, features, units, VW, kGates, kGates);
  pack_forward(packed_r, recurrent_kernel, units, units, VW, kGates, kGates);
  if (bias) {
    interleave_columns(bias_il, bias, 1, units, VW, kGates);
  } else {
    std::fill_n(bias_il, kGates * round_up(units, VW), 0.0f);
  }
}

void fused_lstm_step(RecurrentKernel path, float* h_next, float* c, const float* x_t,
                     const float* h, const float* packed_x, const float* packed_r,
                     const float* bias_il, std::size_t batch, std::size_t features,
                     std::size_t units) {
  const simd::LstmSimdKernels& k = fused_lstm_kernels(path);
  const std::size_t VW = k.width, Up = round_up(units, VW), nb = Up / VW;
  const std::size_t F = features, U = units;
  simd::FwdTile shared;  // the fields every tile has in common
  shared.ld_init = 0;    // one bias row for all the rows of a tile
  shared.ldx = F;
  shared.kx = F;
  shared.kh = U;
  shared.ld = Up;
  // Tile (unit block j, rows r0 .. r0 + rows - 1); c is updated in place.
  auto place = [&](simd::FwdTile& t, std::size_t j, std::size_t r0, std::size_t rows) {
    const std::size_t at = r0 * Up + j * VW;
    t.rows = rows;
    t.x = x_t + r0 * F;
    t.h_in = h + r0 * Up;
    t.init = bias_il + j * kGates * VW;
    t.packed_x = packed_x + j * F * kGates * VW;
    t.packed_r = packed_r + j * U * kGates * VW;
    t.h_prev = h + at;
    t.c_prev = c + at;
    t.c_next = c + at;
    t.h_next = h_next + at;
  };
  const Tiling tiling(batch, k.max_rows, nb);
  const std::size_t threads = step_threads(batch * U * kGates * (F + U), tiling.count());
  if (threads > 1) {
    tiling.run(threads, [&](std::size_t j, std::size_t r0, std::size_t rows) {
      simd::FwdTile t = shared;
      place(t, j, r0, rows);
      k.forward_tile(t);
    });
    return;
  }
  // One thread (a stream of one or a few sequences, a few hundred nanoseconds a step): the
  // same tiles as place() sets, in a plain loop that updates one tile description in place.
  // Written out rather than through place(): the lambda costs 15 instructions a tile here.
  const auto forward_tile = k.forward_tile;
  simd::FwdTile t = shared;
  for (std::size_t i = 0; i < tiling.row_tiles; ++i) {
    const std::size_t r0 = tiling.first_row(i);
    t.rows = tiling.rows(i);
    t.x = x_t + r0 * F;
    t.h_in = h + r0 * Up;
    for (std::size_t j = 0; j < nb; ++j) {
      const std::size_t at = r0 * Up + j * VW;
      t.init = bias_il + j * kGates * VW;
      t.packed_x = packed_x + j * F * kGates * VW;
      t.packed_r = packed_r + j * U * kGates * VW;
      t.h_prev = h + at;
      t.c_prev = c + at;
      t.c_next = c + at;
      t.h_next = h_next + at;
      forward_tile(t);
    }
  }
}

}  // namespace recur::ops::detail
