#include "recur/layers/lstm.hpp"

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/layers/initializers.hpp"

namespace recur {

LSTM::LSTM(const LstmOptions& options) : options_(options) {
  set_name(options.name());
  const std::string who = "LSTM" + (options.name().empty() ? "" : " '" + options.name() + "'");
  if (options.units() == 0)
    throw ValueError(who + ": units must be a positive integer, got 0. Typical values are "
                     "16 to 512.");
  config_.activation = ops::parse_activation(options.activation(), who + " activation");
  config_.recurrent_activation =
      ops::parse_activation(options.recurrent_activation(), who + " recurrent_activation");
  if (config_.activation == ops::Activation::kSoftmax ||
      config_.recurrent_activation == ops::Activation::kSoftmax)
    throw ValueError(who + ": softmax is not an element-wise activation and cannot be used "
                     "inside an LSTM; use tanh, sigmoid, relu or linear.");
  config_.go_backwards = options.go_backwards();
  config_.return_sequences = options.return_sequences();
}

void LSTM::build(const Shape& input_shape, Rng& rng) {
  if (input_shape.size() != 2) {
    const Shape got = with_batch(input_shape);
    std::string fix = ".";
    if (input_shape.size() == 1)
      fix = ". If each sample is one sequence of " + std::to_string(input_shape[0]) +
            " steps with one feature, reshape the data to (batch, " +
            std::to_string(input_shape[0]) + ", 1); if it is one step of " +
            std::to_string(input_shape[0]) + " features, to (batch, 1, " +
            std::to_string(input_shape[0]) + ").";
    throw ShapeError(label() + " expects input of rank 3 (batch, timesteps, features), got rank " +
                     std::to_string(got.size()) + " with shape " + shape_str(got) + fix);
  }
  const std::size_t F = input_shape[1], U = options_.units(), G = ops::kNumGates * U;
  if (F == 0 || input_shape[0] == 0)
    throw ShapeError(label() + " expects at least one timestep and one feature, got input shape " +
                     shape_str({kAnyDim, input_shape[0], F}) + ".");
  kernel_.value = Tensor({F, G});
  recurrent_kernel_.value = Tensor({U, G});
  initialize(kernel_.value, options_.kernel_initializer(), rng, label() + " kernel_initializer");
  initialize(recurrent_kernel_.value, options_.recurrent_initializer(), rng,
             label() + " recurrent_initializer");
  kernel_.grad = Tensor({F, G});
  recurrent_kernel_.grad = Tensor({U, G});
  if (options_.use_bias()) {
    bias_.value = Tensor({G});
    initialize(bias_.value, options_.bias_initializer(), rng, label() + " bias_initializer");
    if (options_.unit_forget_bias())
      for (std::size_t u = 0; u < U; ++u) bias_.value[ops::kGateF * U + u] += 1.0f;
    bias_.grad = Tensor({G});
  }
  mark_built(input_shape);
}

Shape LSTM::output_shape() const {
  if (options_.return_sequences()) return {input_shape().at(0), options_.units()};
  return {options_.units()};
}

std::vector<Weight*> LSTM::weights() {
  if (options_.use_bias()) return {&kernel_, &recurrent_kernel_, &bias_};
  return {&kernel_, &recurrent_kernel_};
}

ops::LstmDims LSTM::dims_for(const Tensor& x) const {
  return {x.dim(0), x.dim(1), x.dim(2), options_.units()};
}

LstmOutput LSTM::call(const Tensor& x, const LstmState* initial_state) {
  if (!built()) {
    // Lazy build from the data, as Keras does on first call; build() throws the rank error
    // (with its reshape fix) for anything but (batch, timesteps, features).
    Rng rng(0);
    build(Shape(x.shape().begin() + 1, x.shape().end()), rng);
  }
  if (x.rank() != 3 || x.dim(2) != input_shape()[1]) {
    std::string fix = x.rank() == 2 ? " If each row is one sequence with one feature, reshape to " +
                                          shape_str({x.dim(0), x.dim(1), 1}) + "."
                                    : "";
    throw ShapeError(label() + " expects input of rank 3 (batch, timesteps, features) = " +
                     shape_str({kAnyDim, kAnyDim, input_shape()[1]}) + ", got rank " +
                     std::to_string(x.rank()) + " with shape " + x.shape_str() + "." + fix);
  }
  const ops::LstmDims d = dims_for(x);
  if (d.timesteps == 0 || d.batch == 0)
    throw ShapeError(label() + " got an empty input " + x.shape_str() +
                     "; expected at least one sample and one timestep.");
  const float* h0 = nullptr;
  const float* c0 = nullptr;
  if (initial_state) {
    const Shape want{d.batch, d.units};
    if (initial_state->h.shape() != want || initial_state->c.shape() != want)
      throw ShapeError(label() + " initial_state [h, c] must each be (batch, units) = " +
                       shape_str(want) + ", got h " + initial_state->h.shape_str() + " and c " +
                       initial_state->c.shape_str() + ".");
    h0 = initial_state->h.data();
    c0 = initial_state->c.data();
  }
  LstmOutput out;
  out.output = options_.return_sequences() ? Tensor({d.batch, d.timesteps, d.units})
                                           : Tensor({d.batch, d.units});
  out.h = Tensor({d.batch, d.units});
  out.c = Tensor({d.batch, d.units});
  ops::lstm_forward<float>(out.output.data(), out.h.data(), out.c.data(), cache_, x.data(), h0,
                           c0, kernel_.value.data(), recurrent_kernel_.value.data(),
                           options_.use_bias() ? bias_.value.data() : nullptr, d, config_);
  cached_ = true;
  return out;
}

LstmGradients LSTM::backward_with_state(const Tensor& dy, const Tensor* dh, const Tensor* dc) {
  if (!cached_)
    throw ValueError(label() + ": backward called before forward; run forward (or call) first.");
  const ops::LstmDims& d = cache_.dims;
  const Shape state{d.batch, d.units};
  const Shape out = options_.return_sequences() ? Shape{d.batch, d.timesteps, d.units} : state;
  if (!dy.empty() && dy.shape() != out)
    throw ShapeError(label() + ": gradient of the output must be " + shape_str(out) + ", got " +
                     dy.shape_str() + ".");
  for (const Tensor* t : {dh, dc})
    if (t && t->shape() != state)
      throw ShapeError(label() + ": gradient of a final state must be " + shape_str(state) +
                       ", got " + t->shape_str() + ".");
  LstmGradients g{Tensor({d.batch, d.timesteps, d.features}), Tensor(state), Tensor(state)};
  ops::lstm_backward<float>(g.dx.data(), g.dh0.data(), g.dc0.data(), kernel_.grad.data(),
                            recurrent_kernel_.grad.data(),
                            options_.use_bias() ? bias_.grad.data() : nullptr, cache_,
                            dy.empty() ? nullptr : dy.data(), dh ? dh->data() : nullptr,
                            dc ? dc->data() : nullptr, kernel_.value.data(),
                            recurrent_kernel_.value.data(), config_);
  return g;
}

Tensor LSTM::forward(const Tensor& x, bool /*training*/) { return call(x).output; }

Tensor LSTM::backward(const Tensor& dy) { return backward_with_state(dy, nullptr, nullptr).dx; }

nlohmann::json LSTM::get_config() const {
  return {{"name", name()},
          {"units", options_.units()},
          {"activation", options_.activation()},
          {"recurrent_activation", options_.recurrent_activation()},
          {"use_bias", options_.use_bias()},
          {"unit_forget_bias", options_.unit_forget_bias()},
          {"kernel_initializer", options_.kernel_initializer()},
          {"recurrent_initializer", options_.recurrent_initializer()},
          {"bias_initializer", options_.bias_initializer()},
          {"return_sequences", options_.return_sequences()},
          {"return_state", options_.return_state()},
          {"go_backwards", options_.go_backwards()}};
}

}  // namespace recur
