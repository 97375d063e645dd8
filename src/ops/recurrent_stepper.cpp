#include "recur/ops/recurrent_stepper.hpp"

#include <algorithm>
#include <cstring>

#include "cells/cells.hpp"
#include "lstm_fused.hpp"
#include "recur/ops/gemm.hpp"

namespace recur::ops {
namespace {

bool same_bits(const std::vector<float>& snapshot, const float* p, std::size_t n) {
  if (snapshot.size() != n) return false;
  return n == 0 || std::memcmp(snapshot.data(), p, n * sizeof(float)) == 0;
}

// The fields of a config that change a step's maths.
bool same_cell(const RecurrentConfig& a, const RecurrentConfig& b) {
  return a.kind == b.kind && a.activation == b.activation &&
         a.recurrent_activation == b.recurrent_activation && a.reset_after == b.reset_after;
}

}  // namespace

void RecurrentStepper::load(const float* kernel, const float* recurrent_kernel,
                            const float* bias, std::size_t features, std::size_t units,
                            const RecurrentConfig& config) {
  // The states survive a reload with the same units (e.g. new weights mid-stream).
  std::vector<float> h, c;
  const bool keep_states = loaded_ && units == units_;
  if (keep_states) {
    h.assign(this->h(), this->h() + batch_ * units_);
    if (const float* cp = this->c()) c.assign(cp, cp + batch_ * units_);
  }
  const std::size_t G = gate_count(config.kind) * units;
  config_ = config;
  features_ = features;
  units_ = units;
  path_ = select_step_kernel(config, active_isa());
  borrowed_ = false;
  kernel_copy_.assign(kernel, kernel + features * G);
  recurrent_copy_.assign(recurrent_kernel, recurrent_kernel + units * G);
  if (bias) bias_copy_.assign(bias, bias + bias_size(config, units));
  else bias_copy_.clear();
  if (fused()) {
    width_ = detail::fused_padded_units(path_, units);
    packed_x_.resize(features * kNumGates * width_);
    packed_r_.resize(units * kNumGates * width_);
    bias_il_.resize(kNumGates * width_);
    detail::pack_step_weights(path_, packed_x_.data(), packed_r_.data(), bias_il_.data(), kernel,
                              recurrent_kernel, bias, features, units);
  } else {
    packed_x_.clear();
    packed_r_.clear();
    bias_il_.clear();
    width_ = units;
  }
  loaded_ = true;
  size_states();
  if (keep_states) set_state(h.data(), c.empty() ? nullptr : c.data());
}

bool RecurrentStepper::sync(const float* kernel, const float* recurrent_kernel,
                            const float* bias, std::size_t features, std::size_t units,
                            const RecurrentConfig& config) {
  const std::size_t G = gate_count(config.kind) * units;
  const RecurrentKernel path = select_step_kernel(config, active_isa());
  const bool same_shape = loaded_ && features == features_ && units == units_ &&
                          same_cell(config, config_) && path == path_;
  if (path == RecurrentKernel::kPortable) {
    // Nothing to pack: the steps read the caller's arrays where they are.
    if (!same_shape) load(kernel, recurrent_kernel, bias, features, units, config);
    borrowed_ = true;
    kernel_ptr_ = kernel;
    recurrent_ptr_ = recurrent_kernel;
    bias_ptr_ = bias;
    return !same_shape;
  }
  const bool same = same_shape && same_bits(kernel_copy_, kernel, features * G) &&
                    same_bits(recurrent_copy_, recurrent_kernel, units * G) &&
                    same_bits(bias_copy_, bias, bias ? bias_size(config, units) : 0);
  if (!same) load(kernel, recurrent_kernel, bias, features, units, config);
  return !same;
}

void RecurrentStepper::set_batch(std::size_t batch) {
  if (batch == batch_) return;
  batch_ = batch;
  size_states();
}

// (Re)sizes the states and the scratch for batch_ and width_, all zeros.
void RecurrentStepper::size_states() {
  const std::size_t n = batch_ * width_, G = gate_count(config_.kind) * units_;
  for (auto* v : {&h_, &h_next_, &c_, &c_next_}) v->assign(n, 0.0f);
  if (fused()) {
    z_.clear();
    rec_.clear();
    aux_.clear();
  } else {
    z_.assign(batch_ * G, 0.0f);
    const bool gru = config_.kind == CellKind::kGru;
    rec_.assign(gru ? batch_ * G : 0, 0.0f);
    aux_.assign(gru ? batch_ * units_ : 0, 0.0f);
  }
  const std::size_t out = width_ == units_ ? 0 : batch_ * units_;
  h_out_.assign(out, 0.0f);
  c_out_.assign(out, 0.0f);
}

// Makes h() and c() show the states: free when they are unpadded, else a copy of each row.
void RecurrentStepper::publish() {
  if (width_ == units_) return;
  for (std::size_t b = 0; b < batch_; ++b) {
    std::copy_n(h_.data() + b * width_, units_, h_out_.data() + b * units_);
    std::copy_n(c_.data() + b * width_, units_, c_out_.data() + b * units_);
  }
}

const float* RecurrentStepper::c() const noexcept {
  if (config_.kind != CellKind::kLstm) return nullptr;
  return width_ == units_ ? c_.data() : c_out_.data();
}

void RecurrentStepper::reset() {
  std::fill(h_.begin(), h_.end(), 0.0f);
  std::fill(c_.begin(), c_.end(), 0.0f);
  std::fill(h_out_.begin(), h_out_.end(), 0.0f);
  std::fill(c_out_.begin(), c_out_.end(), 0.0f);
}

void RecurrentStepper::set_state(const float* h, const float* c) {
  for (std::size_t b = 0; b < batch_; ++b) {
    std::copy_n(h + b * units_, units_, h_.data() + b * width_);
    if (c != nullptr) std::copy_n(c + b * units_, units_, c_.data() + b * width_);
  }
  publish();
}

const float* RecurrentStepper::step(const float* x_t) {
  const std::size_t B = batch_, F = features_, U = units_;
  if (fused()) {
    // c is updated in place; h goes to the other buffer (every tile reads all of h).
    detail::fused_lstm_step(path_, h_next_.data(), c_.data(), x_t, h_.data(), packed_x_.data(),
                            packed_r_.data(), bias_il_.data(), B, F, U);
    h_.swap(h_next_);
    if (width_ != units_) publish();
    return h();
  }
  // z (B, G) = b + x_t (B, F) . kernel (F, G), then the cell's step (h R and its update).
  const std::size_t G = gate_count(config_.kind) * U;
  const float* W = borrowed_ ? kernel_ptr_ : kernel_copy_.data();
  const float* R = borrowed_ ? recurrent_ptr_ : recurrent_copy_.data();
  const float* bias = borrowed_ ? bias_ptr_ : bias_copy_.empty() ? nullptr : bias_copy_.data();
  float* z = z_.data();
  for (std::size_t b = 0; b < B; ++b) {
    if (bias == nullptr) std::fill_n(z + b * G, G, 0.0f);
    else std::copy_n(bias, G, z + b * G);
  }
  gemm<float>(false, false, B, G, F, 1.0f, x_t, F, W, G, 1.0f, z, G);
  const bool lstm = config_.kind == CellKind::kLstm, gru = config_.kind == CellKind::kGru;
  cells::StepForward<float> s;
  s.z = z;
  s.h = h_next_.data();
  s.c = lstm ? c_next_.data() : nullptr;
  s.aux = gru ? aux_.data() : nullptr;
  s.rec = gru ? rec_.data() : nullptr;
  s.h_prev = h_.data();
  s.h_in = h_.data();
  s.c_prev = lstm ? c_.data() : nullptr;
  s.recurrent_kernel = R;
  s.recurrent_bias = gru && config_.reset_after && bias != nullptr ? bias + G : nullptr;
  s.batch = B;
  s.units = U;
  cells::cell_of<float>(config_.kind).forward(s, config_);
  h_.swap(h_next_);
  if (lstm) c_.swap(c_next_);
  return h();
}

void RecurrentStepper::step(const float* x_t, float* h, float* c) {
  const bool lstm = config_.kind == CellKind::kLstm;
  set_state(h, lstm ? c : nullptr);
  if (lstm && c == nullptr)
    for (std::size_t b = 0; b < batch_; ++b) std::fill_n(c_.data() + b * width_, units_, 0.0f);
  const float* h_new = step(x_t);
  std::copy_n(h_new, batch_ * units_, h);
  if (lstm && c != nullptr) std::copy_n(this->c(), batch_ * units_, c);
}

}  // namespace recur::ops
