#include "recur/layers/streaming.hpp"

#include <algorithm>
#include <string>

#include "../ops/lstm_fused.hpp"
#include "recur/core/error.hpp"

namespace recur {
namespace {

const ops::simd::LstmSimdKernels* kernels_of(const void* k) {
  return static_cast<const ops::simd::LstmSimdKernels*>(k);
}

}  // namespace

RecurrentStream::RecurrentStream(const RecurrentCell& cell, std::size_t batch)
    : cell_(&cell), batch_(batch), features_(cell.features()), units_(cell.units()) {
  if (!cell.built())
    throw ValueError("RecurrentStream: the " + cell.type() +
                     " is not built yet (its features are unknown); build it, or run it once "
                     "through its layer, before streaming.");
  if (batch == 0)
    throw ValueError("RecurrentStream: batch (the number of parallel streams) must be at least "
                     "1, got 0; pass 1 to stream one sequence.");
  refresh();
  reset();
}

void RecurrentStream::refresh() {
  const RecurrentCell& cell = *cell_;
  if (cell.features() != features_ || cell.units() != units_)
    throw ValueError("RecurrentStream::refresh: the " + cell.type() + " now has " +
                     std::to_string(cell.features()) + " features and " +
                     std::to_string(cell.units()) + " units, the stream was made for " +
                     std::to_string(features_) + " and " + std::to_string(units_) +
                     "; make a new RecurrentStream.");
  const auto* k = ops::detail::fused_lstm_kernels(cell.kernel_config());
  kernels_ = k;
  const float* w = cell.kernel().value.data();
  const float* r = cell.recurrent_kernel().value.data();
  const bool has_bias = cell.spec().use_bias;
  if (k != nullptr) {
    const std::size_t VW = k->width, U = units_, F = features_;
    const std::size_t Up = (U + VW - 1) / VW * VW;
    if (padded_ != Up) {
      padded_ = Up;
      h_.assign(batch_ * Up, 0.0f);
      h_next_.assign(batch_ * Up, 0.0f);
      c_.assign(batch_ * Up, 0.0f);
    }
    packed_x_.assign(F * 4 * Up, 0.0f);
    packed_r_.assign(U * 4 * Up, 0.0f);
    bias_.assign(4 * Up, 0.0f);
    ops::detail::pack_forward(packed_x_.data(), w, F, U, VW);
    ops::detail::pack_forward(packed_r_.data(), r, U, U, VW);
    if (has_bias) {
      std::vector<std::size_t> off;
      ops::detail::unit_offsets(off, U, VW);
      ops::detail::interleave_columns(bias_.data(), cell.bias().value.data(), 1, U, VW,
                                      off.data());
    }
  } else {
    padded_ = units_;
    w_.assign(w, w + cell.kernel().value.size());
    r_.assign(r, r + cell.recurrent_kernel().value.size());
    const Tensor& b = cell.bias().value;
    if (has_bias) b_.assign(b.data(), b.data() + b.size());
    else b_.clear();
    if (h_.size() != batch_ * units_) {
      h_.assign(batch_ * units_, 0.0f);
      c_.assign(batch_ * units_, 0.0f);
    }
  }
  if (padded_ != units_) {
    h_out_.resize(batch_ * units_);
    c_out_.resize(batch_ * units_);
  }
  copy_out();
}

const float* RecurrentStream::c() const noexcept {
  return cell_->spec().kind == ops::CellKind::kLstm ? c_view_ : nullptr;
}

void RecurrentStream::reset() {
  std::fill(h_.begin(), h_.end(), 0.0f);
  std::fill(c_.begin(), c_.end(), 0.0f);
  copy_out();
}

void RecurrentStream::set_state(const float* h, const float* c) {
  for (std::size_t b = 0; b < batch_; ++b) {
    std::copy_n(h + b * units_, units_, h_.data() + b * padded_);
    if (c != nullptr) std::copy_n(c + b * units_, units_, c_.data() + b * padded_);
  }
  copy_out();
}

void RecurrentStream::copy_out() {
  if (padded_ == units_) {
    h_view_ = h_.data();
    c_view_ = c_.data();
    return;
  }
  for (std::size_t b = 0; b < batch_; ++b) {
    std::copy_n(h_.data() + b * padded_, units_, h_out_.data() + b * units_);
    std::copy_n(c_.data() + b * padded_, units_, c_out_.data() + b * units_);
  }
  h_view_ = h_out_.data();
  c_view_ = c_out_.data();
}

const float* RecurrentStream::step(const float* x_t) {
  const auto* k = kernels_of(kernels_);
  if (k == nullptr) {
    // Portable: one timestep of the cell's kernel; h and c are updated in place.
    ops::RecurrentExtras<float> extras;
    extras.h0 = h_.data();
    extras.c0 = c_.data();
    ops::recurrent_forward<float>(h_.data(), nullptr, c_.data(), cache_, x_t, w_.data(),
                                  r_.data(), b_.empty() ? nullptr : b_.data(),
                                  {batch_, 1, features_, units_}, cell_->kernel_config(),
                                  extras);
    return h_view_;
  }
  const std::size_t VW = k->width, Up = padded_, nb = Up / VW;
  const std::size_t F = features_, U = units_;
  for (std::size_t r0 = 0; r0 < batch_; r0 += k->max_rows) {
    const std::size_t rows = std::min(k->max_rows, batch_ - r0);
    for (std::size_t j = 0; j < nb; ++j) {
      ops::simd::FwdTile t;
      t.rows = rows;
      t.init = bias_.data() + j * 4 * VW;
      t.ld_init = 0;
      t.x = x_t + r0 * F;
      t.ldx = F;
      t.kx = F;
      t.packed_x = packed_x_.data() + j * F * 4 * VW;
      t.h_in = h_.data() + r0 * Up;
      t.packed_r = packed_r_.data() + j * U * 4 * VW;
      t.kh = U;
      const std::size_t off = r0 * Up + j * VW;
      t.h_prev = h_.data() + off;
      t.c_prev = c_.data() + off;
      t.c_next = c_.data() + off;
      t.h_next = h_next_.data() + off;
      t.ld = Up;
      k->forward_tile(t);
    }
  }
  h_.swap(h_next_);
  copy_out();  // no copy when units fill whole vectors: the views move to the new buffers
  return h_view_;
}

}  // namespace recur
