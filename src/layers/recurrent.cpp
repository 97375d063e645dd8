#include "recur/layers/recurrent.hpp"

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor_pool.hpp"
#include "recur/layers/initializers.hpp"
#include "config_reader.hpp"

namespace recur {
namespace {

using json = nlohmann::json;
using ops::CellKind;

const char* kind_name(CellKind kind) {
  switch (kind) {
    case CellKind::kLstm: return "LSTM";
    case CellKind::kGru: return "GRU";
    default: return "SimpleRNN";
  }
}

// The spec of any option struct: the fields it has are copied, the others keep CellSpec's
// defaults.
template <typename O>
CellSpec spec_of(CellKind kind, const O& o) {
  CellSpec s;
  s.kind = kind;
  s.units = o.units();
  s.activation = o.activation();
  s.use_bias = o.use_bias();
  s.kernel_initializer = o.kernel_initializer();
  s.recurrent_initializer = o.recurrent_initializer();
  s.bias_initializer = o.bias_initializer();
  s.dropout = o.dropout();
  s.recurrent_dropout = o.recurrent_dropout();
  if constexpr (requires { o.recurrent_activation(); })
    s.recurrent_activation = o.recurrent_activation();
  if constexpr (requires { o.unit_forget_bias(); }) s.unit_forget_bias = o.unit_forget_bias();
  if constexpr (requires { o.reset_after(); }) s.reset_after = o.reset_after();
  return s;
}

template <typename O>
RnnOptions layer_options_of(const O& o) {
  return RnnOptions()
      .return_sequences(o.return_sequences())
      .return_state(o.return_state())
      .go_backwards(o.go_backwards())
      .stateful(o.stateful())
      .zero_output_for_mask(o.zero_output_for_mask())
      .name(o.name());
}

// Reads the cell fields of a config into any option struct (missing keys keep the defaults, so
// files written before a field existed still load).
template <typename O>
O cell_options_from(const json& c) {
  O o(detail::config_size(c, "units", detail::kMaxConfigUnits, "recurrent layer config"));
  o.activation(c.value("activation", o.activation()))
      .use_bias(c.value("use_bias", o.use_bias()))
      .kernel_initializer(c.value("kernel_initializer", o.kernel_initializer()))
      .recurrent_initializer(c.value("recurrent_initializer", o.recurrent_initializer()))
      .bias_initializer(c.value("bias_initializer", o.bias_initializer()))
      .dropout(c.value("dropout", o.dropout()))
      .recurrent_dropout(c.value("recurrent_dropout", o.recurrent_dropout()));
  if constexpr (requires { o.recurrent_activation(); })
    o.recurrent_activation(c.value("recurrent_activation", o.recurrent_activation()));
  if constexpr (requires { o.unit_forget_bias(); })
    o.unit_forget_bias(c.value("unit_forget_bias", o.unit_forget_bias()));
  if constexpr (requires { o.reset_after(); }) o.reset_after(c.value("reset_after", o.reset_after()));
  return o;
}

// Reads the layer arguments of a config into any option struct. zero_output_for_mask: a file
// written before the key existed comes from a recur that always zeroed masked outputs, so an
// absent key reads as true (Keras's and recur's default is false).
template <typename O>
void read_layer_options(O& o, const json& c) {
  o.return_sequences(c.value("return_sequences", false))
      .return_state(c.value("return_state", false))
      .go_backwards(c.value("go_backwards", false))
      .stateful(c.value("stateful", false))
      .zero_output_for_mask(c.value("zero_output_for_mask", true))
      .name(c.value("name", ""));
}

template <typename O>
O layer_options_from(const json& c) {
  O o = cell_options_from<O>(c);
  read_layer_options(o, c);
  return o;
}

// "LSTM" or "LSTM 'encoder'" for messages about a layer that has no name yet or has one.
std::string layer_label(const std::string& type, const std::string& name) {
  return name.empty() ? type : type + " '" + name + "'";
}

void check_rate(float rate, const std::string& who, const char* what) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw ValueError(who + ": " + what + " must be in [0, 1), got " + std::to_string(rate) +
                     ". It is the fraction of values dropped in training, e.g. 0.2.",
                     codes::kBadHyperparameter);
}

// A (rows, cols) keep-mask scaled by 1/(1-rate) (inverted dropout, as Keras).
Tensor dropout_mask(std::size_t rows, std::size_t cols, float rate, Rng& rng) {
  Tensor m({rows, cols});
  const float scale = 1.0f / (1.0f - rate);
  for (float& v : m.values()) v = rng.uniform() < rate ? 0.0f : scale;
  return m;
}

}  // namespace

// --- RecurrentCell -----------------------------------------------------------------------------

RecurrentCell::RecurrentCell(const CellSpec& spec, const std::string& owner) : spec_(spec) {
  const std::string who = owner.empty() ? type() : owner;
  if (spec.units == 0)
    throw ValueError(who + ": units must be a positive integer, got 0. Typical values are 16 "
                     "to 512.", codes::kBadHyperparameter);
  config_.kind = spec.kind;
  config_.activation = ops::parse_activation(spec.activation, who + " activation");
  config_.recurrent_activation =
      ops::parse_activation(spec.recurrent_activation, who + " recurrent_activation");
  if (config_.activation == ops::Activation::kSoftmax ||
      config_.recurrent_activation == ops::Activation::kSoftmax)
    throw ValueError(who + ": softmax is not an element-wise activation and cannot be used "
                     "inside a recurrent cell; use tanh, sigmoid, relu or linear.");
  config_.reset_after = spec.reset_after;
  check_rate(spec.dropout, who, "dropout");
  check_rate(spec.recurrent_dropout, who, "recurrent_dropout");
}

std::string RecurrentCell::type() const { return std::string(kind_name(spec_.kind)) + "Cell"; }

std::size_t RecurrentCell::state_count() const noexcept {
  return spec_.kind == CellKind::kLstm ? 2 : 1;
}

void RecurrentCell::build(std::size_t features, Rng& rng) {
  if (features == 0)
    throw ShapeError(type() + " needs at least one feature per timestep, got 0.");
  const std::size_t U = spec_.units, G = ops::gate_count(spec_.kind) * U;
  create_weight(kernel_, {features, G}, spec_.kernel_initializer, rng, type() + " kernel_initializer");
  create_weight(recurrent_kernel_, {U, G}, spec_.recurrent_initializer, rng, type() + " recurrent_initializer");
  if (spec_.use_bias) {
    const Shape shape = spec_.kind == CellKind::kGru && spec_.reset_after ? Shape{2, G} : Shape{G};
    create_weight(bias_, shape, spec_.bias_initializer, rng, type() + " bias_initializer");
    if (spec_.kind == CellKind::kLstm && spec_.unit_forget_bias)
      for (std::size_t u = 0; u < U; ++u) bias_.value[ops::kGateF * U + u] += 1.0f;
  }
  features_ = features;
}

std::vector<Weight*> RecurrentCell::weights() {
  if (!built()) return {};
  if (spec_.use_bias) return {&kernel_, &recurrent_kernel_, &bias_};
  return {&kernel_, &recurrent_kernel_};
}

std::vector<Tensor> RecurrentCell::call(const Tensor& x_t, const std::vector<Tensor>& states) {
  if (x_t.rank() != 2)
    throw ShapeError(type() + " processes one timestep: it expects x_t of rank 2 (batch, "
                     "features), got " + x_t.shape_str() + ". To run a whole sequence (batch, "
                     "timesteps, features) use RNN(cell) or the LSTM/GRU/SimpleRNN layer.");
  if (!built()) {
    Rng rng(0);
    build(x_t.dim(1), rng);
  }
  const std::size_t B = x_t.dim(0), U = spec_.units;
  if (x_t.dim(1) != features_)
    throw ShapeError(type() + " was built for " + std::to_string(features_) +
                     " features, got x_t " + x_t.shape_str() + ".");
  if (!states.empty() && states.size() != state_count())
    throw ShapeError(type() + " has " + std::to_string(state_count()) + " state(s) (" +
                     (state_count() == 2 ? "h, c" : "h") + "), got " +
                     std::to_string(states.size()) + ".");
  for (const Tensor& s : states)
    if (s.shape() != Shape{B, U})
      throw ShapeError(type() + " states must each be (batch, units) = " +
                       shape_str({B, U}) + ", got " + s.shape_str() + ".");
  std::vector<Tensor> out(state_count(), Tensor({B, U}));
  for (std::size_t k = 0; k < states.size(); ++k) out[k] = states[k];
  step(x_t.data(), out[0].data(), state_count() == 2 ? out[1].data() : nullptr, B);
  return out;
}

void RecurrentCell::step(const float* x_t, float* h, float* c, std::size_t batch) {
  // The weights are public (training and set_weights write them directly): sync() repacks
  // them for the fused kernel only when they differ from its snapshot, and lets the portable
  // kernel read them where they are.
  stepper_.sync(kernel_.value.data(), recurrent_kernel_.value.data(),
                spec_.use_bias ? bias_.value.data() : nullptr, features_, spec_.units, config_);
  stepper_.set_batch(batch);
  stepper_.step(x_t, h, c);
}

json RecurrentCell::get_config() const {
  json c = {{"units", spec_.units},
            {"activation", spec_.activation},
            {"use_bias", spec_.use_bias},
            {"kernel_initializer", spec_.kernel_initializer},
            {"recurrent_initializer", spec_.recurrent_initializer},
            {"bias_initializer", spec_.bias_initializer},
            {"dropout", spec_.dropout},
            {"recurrent_dropout", spec_.recurrent_dropout}};
  if (spec_.kind != CellKind::kSimpleRnn) c["recurrent_activation"] = spec_.recurrent_activation;
  if (spec_.kind == CellKind::kLstm) c["unit_forget_bias"] = spec_.unit_forget_bias;
  if (spec_.kind == CellKind::kGru) c["reset_after"] = spec_.reset_after;
  return c;
}

LSTMCell::LSTMCell(const LstmCellOptions& o) : RecurrentCell(spec_of(CellKind::kLstm, o)) {}
GRUCell::GRUCell(const GruCellOptions& o) : RecurrentCell(spec_of(CellKind::kGru, o)) {}
SimpleRNNCell::SimpleRNNCell(const SimpleRnnCellOptions& o)
    : RecurrentCell(spec_of(CellKind::kSimpleRnn, o)) {}

std::shared_ptr<RecurrentCell> cell_from_config(const std::string& type, const json& config) {
  if (type == "LSTMCell")
    return std::make_shared<LSTMCell>(cell_options_from<LstmCellOptions>(config));
  if (type == "GRUCell") return std::make_shared<GRUCell>(cell_options_from<GruCellOptions>(config));
  if (type == "SimpleRNNCell")
    return std::make_shared<SimpleRNNCell>(cell_options_from<SimpleRnnCellOptions>(config));
  throw ValueError("unknown cell class \"" + type + "\"; expected LSTMCell, GRUCell or "
                   "SimpleRNNCell.");
}

// --- RNN -----------------------------------------------------------------------------------

RNN::RNN(std::shared_ptr<RecurrentCell> cell, const RnnOptions& options)
    : cell_(std::move(cell)), rnn_(options) {
  set_name(options.name());
  if (!cell_)
    throw ValueError("RNN: expected a cell, got a null pointer; pass e.g. recur::LSTMCell(32).");
  config_ = cell_->kernel_config();
  config_.go_backwards = options.go_backwards();
  config_.return_sequences = options.return_sequences();
  config_.zero_output_for_mask = options.zero_output_for_mask();
}

void RNN::set_zero_output_for_mask(bool zero) {
  rnn_.zero_output_for_mask(zero);
  config_.zero_output_for_mask = zero;
}

void RNN::build(const Shape& input_shape, Rng& rng) {
  if (input_shape.size() != 2) {
    const Shape got = with_batch(input_shape);
    std::string fix = ".";
    if (input_shape.size() == 1 && input_shape[0] == kAnyDim)
      fix = ". Sequences of any length need a feature axis: Input({kAnyDim, features}), (None, features) in Keras; "
            "token ids (None,) go through an Embedding first.";
    else if (input_shape.size() == 1)
      fix = ". If each sample is one sequence of " + std::to_string(input_shape[0]) +
            " steps with one feature, reshape the data to (batch, " +
            std::to_string(input_shape[0]) + ", 1); if it is one step of " +
            std::to_string(input_shape[0]) + " features, to (batch, 1, " +
            std::to_string(input_shape[0]) + ").";
    throw ShapeError(label() + " expects input of rank 3 (batch, timesteps, features), got rank " +
                     std::to_string(got.size()) + " with shape " + shape_str(got) + fix,
                     codes::kInputRank);
  }
  if (input_shape[0] == 0 || input_shape[1] == 0)
    throw ShapeError(label() + " expects at least one timestep and one feature, got input shape " +
                     shape_str({kAnyDim, input_shape[0], input_shape[1]}) + ".");
  cell_->build(input_shape[1], rng);
  rng_ = Rng(rng.next_seed());
  states_.clear();
  mark_built(input_shape);
}

Shape RNN::output_shape() const {
  if (rnn_.return_sequences()) return {input_shape().at(0), cell_->units()};
  return {cell_->units()};
}

RecurrentOutput RNN::call(const Tensor& x, const std::vector<Tensor>& initial_state,
                          const Tensor& mask, bool training) {
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
                     std::to_string(x.rank()) + " with shape " + x.shape_str() + "." + fix,
                     x.rank() == 3 ? codes::kFeatureCount : codes::kInputRank);
  }
  const std::size_t B = x.dim(0), T = x.dim(1), F = x.dim(2), U = cell_->units();
  if (T == 0 || B == 0)
    throw ShapeError(label() + " got an empty input " + x.shape_str() +
                     "; expected at least one sample and one timestep.");
  if (!mask.empty() && mask.shape() != Shape{B, T})
    throw ShapeError(label() + ": the mask must be (batch, timesteps) = " + shape_str({B, T}) +
                     ", got " + mask.shape_str() + ".");
  const std::size_t n_states = cell_->state_count();
  std::vector<Tensor> init = initial_state;
  if (!init.empty() && init.size() != n_states)
    throw ShapeError(label() + " has " + std::to_string(n_states) + " state(s), got an "
                     "initial_state of " + std::to_string(init.size()) + " tensor(s).");
  if (init.empty() && rnn_.stateful() && !states_.empty()) {
    if (states_[0].dim(0) != B)
      throw ShapeError(label() + " is stateful with batch size " +
                       std::to_string(states_[0].dim(0)) + " (fixed by its first batch), got a "
                       "batch of " + std::to_string(B) + ". Use the same batch_size for every "
                       "batch (a sample count divisible by it), or call reset_states() first.",
                       codes::kStatefulBatch);
    init = states_;
  }
  for (const Tensor& s : init)
    if (s.shape() != Shape{B, U})
      throw ShapeError(label() + " initial states must each be (batch, units) = " +
                       shape_str({B, U}) + ", got " + s.shape_str() + ".");

  ops::RecurrentExtras<float> extras;
  if (!init.empty()) {
    extras.h0 = init[0].data();
    if (n_states == 2) extras.c0 = init[1].data();
  }
  if (!mask.empty()) extras.mask = mask.data();
  extras.inference = !training;
  const CellSpec& spec = cell_->spec();
  const Tensor* input = &x;
  Tensor dropped;
  input_dropout_ = Tensor();
  if (training && spec.dropout > 0.0f) {
    input_dropout_ = dropout_mask(B, F, spec.dropout, rng_);
    dropped = pooled_tensor(x.shape());
    std::copy_n(x.data(), x.size(), dropped.data());
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t f = 0; f < F; ++f) dropped[(b * T + t) * F + f] *= input_dropout_[b * F + f];
    input = &dropped;
  }
  Tensor rmask;
  if (training && spec.recurrent_dropout > 0.0f) {
    rmask = dropout_mask(B, U, spec.recurrent_dropout, rng_);
    extras.recurrent_dropout = rmask.data();
  }

  RecurrentOutput out;
  // recurrent_forward writes every value of the output and the final states.
  out.output = pooled_tensor(rnn_.return_sequences() ? Shape{B, T, U} : Shape{B, U});
  for (std::size_t k = 0; k < n_states; ++k) out.states.push_back(pooled_tensor({B, U}));
  ops::recurrent_forward<float>(out.output.data(), out.states[0].data(),
                                n_states == 2 ? out.states[1].data() : nullptr, cache_,
                                input->data(), cell_->kernel().value.data(),
                                cell_->recurrent_kernel().value.data(),
                                spec.use_bias ? cell_->bias().value.data() : nullptr,
                                {B, T, F, U}, config_, extras);
  cached_ = true;
  if (rnn_.stateful()) states_ = out.states;
  recycle(std::move(dropped));
  return out;
}

RecurrentGradients RNN::backward_with_state(const Tensor& dy, const std::vector<Tensor>& dstates) {
  if (!cached_)
    throw ValueError(label() + ": backward called before forward; run forward (or call) first.");
  const ops::RecurrentDims& d = cache_.dims;
  const Shape state{d.batch, d.units};
  const Shape out = rnn_.return_sequences() ? Shape{d.batch, d.timesteps, d.units} : state;
  if (!dy.empty() && dy.shape() != out)
    throw ShapeError(label() + ": gradient of the output must be " + shape_str(out) + ", got " +
                     dy.shape_str() + ".");
  const std::size_t n_states = cell_->state_count();
  if (dstates.size() > n_states)
    throw ShapeError(label() + " has " + std::to_string(n_states) + " state(s), got " +
                     std::to_string(dstates.size()) + " state gradients.");
  for (const Tensor& t : dstates)
    if (!t.empty() && t.shape() != state)
      throw ShapeError(label() + ": gradient of a final state must be " + shape_str(state) +
                       ", got " + t.shape_str() + ".");
  auto state_grad = [&](std::size_t k) -> const float* {
    return k < dstates.size() && !dstates[k].empty() ? dstates[k].data() : nullptr;
  };
  // recurrent_backward writes every value of dx and of the initial states' gradients.
  RecurrentGradients g{pooled_tensor({d.batch, d.timesteps, d.features}), {}};
  for (std::size_t k = 0; k < n_states; ++k) g.dstates.push_back(pooled_tensor(state));
  RecurrentCell& c = *cell_;
  ops::recurrent_backward<float>(g.dx.data(), g.dstates[0].data(),
                                 n_states == 2 ? g.dstates[1].data() : nullptr,
                                 c.kernel().grad.data(), c.recurrent_kernel().grad.data(),
                                 c.spec().use_bias ? c.bias().grad.data() : nullptr, cache_,
                                 dy.empty() ? nullptr : dy.data(), state_grad(0), state_grad(1),
                                 c.kernel().value.data(), c.recurrent_kernel().value.data());
  if (!input_dropout_.empty()) {
    const std::size_t T = d.timesteps, F = d.features;
    for (std::size_t b = 0; b < d.batch; ++b)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t f = 0; f < F; ++f) g.dx[(b * T + t) * F + f] *= input_dropout_[b * F + f];
  }
  return g;
}

namespace {

// out's output; its final states' storage goes back to the current pool.
Tensor output_only(RecurrentOutput out) {
  for (Tensor& s : out.states) recycle(std::move(s));
  return std::move(out.output);
}

}  // namespace

Tensor RNN::forward(const Tensor& x, bool training) { return output_only(call(x, {}, {}, training)); }

Tensor RNN::forward_masked(const Tensor& x, const Tensor& mask, bool training) {
  return output_only(call(x, {}, mask, training));
}

Tensor RNN::backward(const Tensor& dy) {
  RecurrentGradients g = backward_with_state(dy, {});
  for (Tensor& d : g.dstates) recycle(std::move(d));
  return std::move(g.dx);
}

void RNN::reset_states() { states_.clear(); }

void RNN::add_layer_config(json& c) const {
  c["name"] = name();
  c["return_sequences"] = rnn_.return_sequences();
  c["return_state"] = rnn_.return_state();
  c["go_backwards"] = rnn_.go_backwards();
  c["stateful"] = rnn_.stateful();
  c["zero_output_for_mask"] = rnn_.zero_output_for_mask();
}

json RNN::get_config() const {
  // LSTM, GRU and SimpleRNN store their cell's arguments flat, as Keras does; RNN(cell) nests
  // the cell's class and config.
  json c = type() == "RNN"
               ? json{{"cell", {{"class_name", cell_->type()}, {"config", cell_->get_config()}}}}
               : cell_->get_config();
  add_layer_config(c);
  return c;
}

// --- LSTM, GRU, SimpleRNN ----------------------------------------------------------------------

LSTM::LSTM(const LstmOptions& o)
    : RNN(std::make_shared<RecurrentCell>(spec_of(CellKind::kLstm, o), layer_label("LSTM", o.name())),
          layer_options_of(o)),
      options_(o) {}

LstmOutput LSTM::call(const Tensor& x, const LstmState* initial_state) {
  std::vector<Tensor> init;
  if (initial_state) init = {initial_state->h, initial_state->c};
  RecurrentOutput out = RNN::call(x, init);
  return {std::move(out.output), std::move(out.states[0]), std::move(out.states[1])};
}

LstmGradients LSTM::backward_with_state(const Tensor& dy, const Tensor* dh, const Tensor* dc) {
  RecurrentGradients g = RNN::backward_with_state(dy, {dh ? *dh : Tensor(), dc ? *dc : Tensor()});
  return {std::move(g.dx), std::move(g.dstates[0]), std::move(g.dstates[1])};
}

GRU::GRU(const GruOptions& o)
    : RNN(std::make_shared<RecurrentCell>(spec_of(CellKind::kGru, o), layer_label("GRU", o.name())),
          layer_options_of(o)),
      options_(o) {}

SimpleRNN::SimpleRNN(const SimpleRnnOptions& o)
    : RNN(std::make_shared<RecurrentCell>(spec_of(CellKind::kSimpleRnn, o), layer_label("SimpleRNN", o.name())),
          layer_options_of(o)),
      options_(o) {}

// Used by the layer registry (layer_from_config).
std::unique_ptr<Layer> recurrent_layer_from_config(const std::string& type, const json& c) {
  if (type == "LSTM") return std::make_unique<LSTM>(layer_options_from<LstmOptions>(c));
  if (type == "GRU") return std::make_unique<GRU>(layer_options_from<GruOptions>(c));
  if (type == "SimpleRNN") return std::make_unique<SimpleRNN>(layer_options_from<SimpleRnnOptions>(c));
  if (type == "RNN") {
    const json& cell = c.at("cell");
    RnnOptions o;
    read_layer_options(o, c);
    return std::make_unique<RNN>(
        cell_from_config(cell.at("class_name").get<std::string>(), cell.at("config")), o);
  }
  return nullptr;
}

}  // namespace recur
