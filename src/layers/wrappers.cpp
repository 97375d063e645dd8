#include "recur/layers/wrappers.hpp"

#include <exception>

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor_pool.hpp"
#include "recur/ops/cpu.hpp"
#include "../ops/thread_pool.hpp"

namespace recur {
namespace {

using json = nlohmann::json;

// Replaces y (B, T, U) by its copy with the time axis reversed; y's old storage goes to the pool.
void reverse_time(Tensor& y) {
  const std::size_t B = y.dim(0), T = y.dim(1), U = y.dim(2);
  Tensor r = pooled_tensor(y.shape());
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      std::copy_n(y.data() + (b * T + t) * U, U, r.data() + (b * T + (T - 1 - t)) * U);
  recycle(std::move(y));
  y = std::move(r);
}

// Runs the two directions of a Bidirectional layer at the same time, each as one share of a
// pool region (their own kernels then find the pool busy and run single-threaded on their
// thread; when no worker claims the second share in time, the caller runs it after the first),
// when a timestep is too small for the kernels to split (below kParallelMacs, where they run on
// one thread anyway): two independent one-thread steps instead of two in a row. Larger steps
// keep the directions in a row, each split over the threads (measured: running them side by
// side there was slower, both directions' weights competing for the caches). An exception in
// either is rethrown here after both have finished.
template <class F, class B>
void both_directions(std::size_t macs_per_step, F&& forward, B&& backward) {
  if (ops::num_threads() < 2 || macs_per_step >= ops::detail::kParallelMacs) {
    forward();
    backward();
    return;
  }
  std::exception_ptr error[2];
  auto body = [&](std::size_t tid) {
    try {
      if (tid == 0) forward();
      else backward();
    } catch (...) {
      error[tid] = std::current_exception();
    }
  };
  ops::detail::ThreadPool::instance().run(2, body);
  for (const std::exception_ptr& e : error)
    if (e) std::rethrow_exception(e);
}

}  // namespace

// --- Bidirectional -----------------------------------------------------------------------------

Bidirectional::Bidirectional(std::unique_ptr<RNN> layer, const std::string& merge_mode,
                             std::string name)
    : forward_(std::move(layer)), merge_mode_(merge_mode) {
  set_name(std::move(name));
  if (!forward_)
    throw ValueError("Bidirectional: expected a recurrent layer, got a null pointer; pass e.g. "
                     "recur::LSTM(32).");
  if (merge_mode != "concat" && merge_mode != "sum" && merge_mode != "mul" && merge_mode != "ave")
    throw ValueError("Bidirectional: unknown merge_mode \"" + merge_mode +
                     "\"; expected concat, sum, mul or ave.");
  // As Keras's Bidirectional (force_zero_output_for_mask): with return_sequences a masked step
  // outputs zeros in both directions, so the two halves line up step by step.
  forward_->set_zero_output_for_mask(forward_->rnn_options().return_sequences());
  const std::string base =
      forward_->name().empty() ? default_layer_name(forward_->type()) : forward_->name();
  json config = forward_->get_config();
  config["go_backwards"] = !forward_->rnn_options().go_backwards();
  config["name"] = "backward_" + base;
  std::unique_ptr<Layer> copy = layer_from_config(forward_->type(), config);
  backward_.reset(dynamic_cast<RNN*>(copy.release()));
  forward_->set_name("forward_" + base);
}

void Bidirectional::build(const Shape& input_shape, Rng& rng) {
  forward_->build(input_shape, rng);
  backward_->build(input_shape, rng);
  // Weight names say which direction they belong to (they name the tensors in a model file).
  for (RNN* l : {forward_.get(), backward_.get()})
    for (Weight* w : l->weights())
      if (w->name.find('/') == std::string::npos) w->name = l->name() + "/" + w->name;
  mark_built(input_shape);
}

Shape Bidirectional::output_shape() const {
  Shape s = forward_->output_shape();
  if (merge_mode_ == "concat") s.back() *= 2;
  return s;
}

Tensor Bidirectional::forward(const Tensor& x, bool training) { return forward_masked(x, {}, training); }

Tensor Bidirectional::forward_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call(x, {}, mask, training).front();
}

std::vector<Tensor> Bidirectional::call(const Tensor& x, const std::vector<Tensor>& initial_state, const Tensor& mask,
                                        bool training) {
  check_input(x);
  const std::size_t n = state_count();
  if (!initial_state.empty() && initial_state.size() != 2 * n)
    throw ShapeError(label() + " takes " + std::to_string(2 * n) + " initial states (the forward layer's " +
                     std::to_string(n) + ", then the backward layer's), got " + std::to_string(initial_state.size()) +
                     ".");
  const std::vector<Tensor> init_f(initial_state.begin(), initial_state.begin() + (initial_state.empty() ? 0 : n));
  const std::vector<Tensor> init_b(initial_state.begin() + (initial_state.empty() ? 0 : n), initial_state.end());
  RecurrentOutput rf, rb;
  both_directions(step_macs(x.dim(0)), [&] { rf = forward_->call(x, init_f, mask, training); },
                  [&] { rb = backward_->call(x, init_b, mask, training); });
  initial_states_ = initial_state.size();
  std::vector<Tensor> out;
  out.push_back(merge(std::move(rf.output), std::move(rb.output)));
  for (RecurrentOutput* r : {&rf, &rb})
    for (Tensor& s : r->states) {
      if (return_state()) out.push_back(std::move(s));
      else recycle(std::move(s));
    }
  return out;
}

std::size_t Bidirectional::step_macs(std::size_t batch) const {
  const RecurrentCell& cell = forward_->cell();
  return batch * cell.units() * cell.units() * ops::gate_count(cell.spec().kind);
}

Tensor Bidirectional::merge(Tensor yf, Tensor yb) {
  recycle(std::move(yf_));
  recycle(std::move(yb_));
  yf_ = std::move(yf);
  yb_ = std::move(yb);
  const bool seq = forward_->rnn_options().return_sequences();
  if (seq) reverse_time(yb_);
  const std::size_t U = yf_.shape().back(), rows = yf_.size() / U;
  if (merge_mode_ == "concat") {
    Shape s = yf_.shape();
    s.back() = 2 * U;
    Tensor y = pooled_tensor(s);
    for (std::size_t r = 0; r < rows; ++r) {
      std::copy_n(yf_.data() + r * U, U, y.data() + r * 2 * U);
      std::copy_n(yb_.data() + r * U, U, y.data() + r * 2 * U + U);
    }
    return y;
  }
  Tensor y = pooled_tensor(yf_.shape());
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (merge_mode_ == "sum") y[i] = yf_[i] + yb_[i];
    else if (merge_mode_ == "mul") y[i] = yf_[i] * yb_[i];
    else y[i] = 0.5f * (yf_[i] + yb_[i]);
  }
  return y;
}

void Bidirectional::split_gradient(const Tensor& dy, Tensor& dyf, Tensor& dyb) const {
  const Shape out = output_shape();
  if (dy.rank() != out.size() + 1 || dy.shape().back() != out.back() || yf_.empty())
    throw ShapeError(label() + ": gradient must have the output's shape " +
                     shape_str(with_batch(out)) + ", got " + dy.shape_str() + ".");
  // The loop below writes every value of both.
  dyf = pooled_tensor(yf_.shape());
  dyb = pooled_tensor(yf_.shape());
  const std::size_t U = yf_.shape().back(), rows = yf_.size() / U;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t u = 0; u < U; ++u) {
      const std::size_t i = r * U + u;
      if (merge_mode_ == "concat") {
        dyf[i] = dy[r * 2 * U + u];
        dyb[i] = dy[r * 2 * U + U + u];
      } else if (merge_mode_ == "sum") {
        dyf[i] = dyb[i] = dy[i];
      } else if (merge_mode_ == "mul") {
        dyf[i] = dy[i] * yb_[i];
        dyb[i] = dy[i] * yf_[i];
      } else {
        dyf[i] = dyb[i] = 0.5f * dy[i];
      }
    }
  if (forward_->rnn_options().return_sequences()) reverse_time(dyb);
}

Tensor Bidirectional::backward(const Tensor& dy) { return backward_with_states({dy}).front(); }

std::vector<Tensor> Bidirectional::backward_with_states(const std::vector<Tensor>& dys) {
  if (yf_.empty()) throw ShapeError(label() + ": backward before any forward call.");
  Tensor dyf, dyb;
  if (!dys.empty() && !dys[0].empty()) {
    split_gradient(dys[0], dyf, dyb);
  } else {
    dyf = Tensor(yf_.shape());
    dyb = Tensor(yf_.shape());
  }
  const std::size_t n = state_count();
  std::vector<Tensor> dstates_f, dstates_b;
  for (std::size_t k = 0; k < n; ++k) {
    dstates_f.push_back(1 + k < dys.size() ? dys[1 + k] : Tensor());
    dstates_b.push_back(1 + n + k < dys.size() ? dys[1 + n + k] : Tensor());
  }
  RecurrentGradients gf, gb;
  both_directions(step_macs(yf_.dim(0)), [&] { gf = forward_->backward_with_state(dyf, dstates_f); },
                  [&] { gb = backward_->backward_with_state(dyb, dstates_b); });
  for (std::size_t i = 0; i < gf.dx.size(); ++i) gf.dx[i] += gb.dx[i];
  recycle(std::move(gb.dx));
  recycle(std::move(dyf));
  recycle(std::move(dyb));
  std::vector<Tensor> out;
  out.push_back(std::move(gf.dx));
  for (RecurrentGradients* g : {&gf, &gb})
    for (Tensor& d : g->dstates) {
      if (initial_states_ > 0) out.push_back(std::move(d));
      else recycle(std::move(d));
    }
  return out;
}

std::vector<Weight*> Bidirectional::weights() {
  std::vector<Weight*> ws = forward_->weights();
  for (Weight* w : backward_->weights()) ws.push_back(w);
  return ws;
}

void Bidirectional::reset_states() {
  forward_->reset_states();
  backward_->reset_states();
}

json Bidirectional::get_config() const {
  json inner = forward_->get_config();
  inner["name"] = forward_->name().substr(std::string("forward_").size());
  return {{"name", name()},
          {"merge_mode", merge_mode_},
          {"layer", {{"class_name", forward_->type()}, {"config", inner}}}};
}

// --- TimeDistributed ---------------------------------------------------------------------------

TimeDistributed::TimeDistributed(std::unique_ptr<Layer> layer, std::string name)
    : layer_(std::move(layer)) {
  set_name(std::move(name));
  if (!layer_)
    throw ValueError("TimeDistributed: expected a layer, got a null pointer; pass e.g. "
                     "recur::Dense(1).");
  if (layer_->name().empty()) layer_->set_name(default_layer_name(layer_->type()));
}

void TimeDistributed::build(const Shape& input_shape, Rng& rng) {
  if (input_shape.size() < 2)
    throw ShapeError(label() + " expects input (batch, timesteps, ...), got " +
                     shape_str(with_batch(input_shape)) + "; it applies " + layer_->type() +
                     " to every timestep, so the input needs a timestep axis.");
  layer_->build(Shape(input_shape.begin() + 1, input_shape.end()), rng);
  mark_built(input_shape);
}

Shape TimeDistributed::output_shape() const {
  Shape s{input_shape().at(0)};
  const Shape inner = layer_->output_shape();
  s.insert(s.end(), inner.begin(), inner.end());
  return s;
}

Tensor TimeDistributed::forward(const Tensor& x, bool training) {
  check_input(x);
  x_shape_ = x.shape();
  const std::size_t B = x.dim(0), T = x.dim(1);
  Shape flat{B * T};
  flat.insert(flat.end(), x.shape().begin() + 2, x.shape().end());
  const Tensor y = layer_->forward(x.reshape(flat), training);
  Shape out{B, T};
  out.insert(out.end(), y.shape().begin() + 1, y.shape().end());
  return y.reshape(out);
}

Tensor TimeDistributed::backward(const Tensor& dy) {
  if (x_shape_.empty() || dy.rank() < 2 || dy.dim(0) != x_shape_[0] || dy.dim(1) != x_shape_[1])
    throw ShapeError(label() + ": gradient " + dy.shape_str() + " does not fit the last input " +
                     shape_str(x_shape_) + ".");
  Shape flat{dy.dim(0) * dy.dim(1)};
  flat.insert(flat.end(), dy.shape().begin() + 2, dy.shape().end());
  return layer_->backward(dy.reshape(flat)).reshape(x_shape_);
}

json TimeDistributed::get_config() const {
  return {{"name", name()},
          {"layer", {{"class_name", layer_->type()}, {"config", layer_->get_config()}}}};
}

std::vector<Rng*> Bidirectional::random_generators() {
  std::vector<Rng*> out = forward_->random_generators();
  for (Rng* r : backward_->random_generators()) out.push_back(r);
  return out;
}

}  // namespace recur
