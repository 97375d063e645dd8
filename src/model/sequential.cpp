// Sequential: the layer list, its build, the chain graph and the Sequential summary. Training is
// Model's (training.cpp), the file format model_io.cpp.
#include "recur/model/sequential.hpp"
#include "recur/layers/wrappers.hpp"

#include <sstream>

#include "recur/core/error.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/merge.hpp"
#include "summary_format.hpp"

namespace recur {

Sequential::Sequential(std::string name) : Model(std::move(name)) {}
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

void Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer)
    throw ValueError("Sequential::add: expected a layer, got a null pointer; pass e.g. "
                     "std::make_unique<recur::Dense>(1).");
  if (auto* bi = dynamic_cast<Bidirectional*>(layer.get()); bi && bi->return_state())
    throw ValueError("Sequential::add: Bidirectional" +
                     (layer->name().empty() ? std::string() : " '" + layer->name() + "'") + " wraps a " +
                     bi->forward_layer().type() +
                     " with return_state=true, so it returns [output, forward states..., backward states...], but "
                     "a Sequential model passes one tensor from layer to layer. Set return_state=false, or build a "
                     "Functional recur::Model to use the states.");
  if (auto* rnn = dynamic_cast<RNN*>(layer.get()); rnn && rnn->rnn_options().return_state())
    throw ValueError("Sequential::add: " + layer->type() +
                     (layer->name().empty() ? std::string() : " '" + layer->name() + "'") +
                     " has return_state=true, so it returns [output, final states...], but a "
                     "Sequential model passes one tensor from layer to layer. Set "
                     "return_state=false, or build a Functional recur::Model to use the states.");
  if (dynamic_cast<Merge*>(layer.get()))
    throw ValueError("Sequential::add: " + layer->type() + " merges a list of tensors, but a Sequential model "
                     "passes one tensor from layer to layer. Build a Functional recur::Model instead.",
                     codes::kGraphCall);
  if (layer->name().empty()) {
    const std::string base = default_layer_name(layer->type());
    std::size_t count = 0;
    for (const auto& l : layers_)
      if (l->type() == layer->type()) ++count;
    std::string candidate = count == 0 ? base : base + "_" + std::to_string(count);
    for (std::size_t k = count;; ++k) {
      bool taken = false;
      for (const auto& l : layers_) taken = taken || l->name() == candidate;
      if (!taken) break;
      candidate = base + "_" + std::to_string(k + 1);
    }
    layer->set_name(candidate);
  }
  for (const auto& l : layers_)
    if (l->name() == layer->name())
      throw ValueError("Sequential::add: a layer named '" + layer->name() +
                       "' is already in the model; layer names must be unique.");
  if (built_) {
    Rng rng(layers_.size());
    build_layer(*layer, layers_.back().get(), output_shape(), rng);
  }
  layers_.push_back(std::shared_ptr<Layer>(std::move(layer)));
  if (built_) chain();
}

void Sequential::build_layer(Layer& layer, const Layer* previous, const Shape& input_shape, Rng& rng) {
  try {
    layer.build(input_shape, rng);
  } catch (const ShapeError& e) {
    if (!previous) throw;
    throw ShapeError(e.message() + " It receives the output of " + previous->type() + " '" + previous->name() +
                         "', of shape " + shape_str(with_batch(input_shape)) + ".",
                     codes::kLayerMisfit);
  }
}

void Sequential::build(const Shape& input_shape, std::uint64_t seed) {
  if (layers_.empty()) throw ValueError("Sequential::build: the model has no layers; add() at least one first.");
  for (std::size_t i = 0; i < input_shape.size(); ++i) {
    if (input_shape[i] == 0)
      throw ShapeError("Sequential::build: input_shape " + shape_str(input_shape) +
                       " has a zero extent; expected (timesteps, features) with both > 0.");
    // Keras's build((None, None, features)): the timesteps (axis 0) may be unknown, nothing else.
    if (input_shape[i] == kAnyDim && i > 0)
      throw ShapeError("Sequential::build: input_shape " + shape_str(input_shape) + " has an unknown extent "
                       "(None) on axis " + std::to_string(i) + "; only the timesteps (axis 0) may be None "
                       "(recur::kAnyDim), e.g. {recur::kAnyDim, features}.");
  }
  Rng rng(seed);
  Shape shape = input_shape;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    build_layer(*layers_[i], i == 0 ? nullptr : layers_[i - 1].get(), shape, rng);
    shape = layers_[i]->output_shape();
  }
  input_shape_ = input_shape;
  chain();
}

void Sequential::build_from(const Tensor& x, std::uint64_t seed) {
  if (x.rank() < 2) throw ShapeError("Sequential: x must be (samples, ...) with at least 2 axes to build the model from, got " + x.shape_str() + ".", codes::kInputRank);
  build({x.shape().begin() + 1, x.shape().end()}, seed);
}

void Sequential::chain() {
  SymbolicTensor t = Input(input_shape_, layers_.front()->name() + "_input");
  const SymbolicTensor x = t;
  for (const auto& l : layers_) t = detail::call_layer(l, {t}, {}, false).at(0);
  const std::vector<std::shared_ptr<Layer>> order = layers_;
  set_graph({x}, {t});
  layers_ = order;  // the same list (set_graph finds it again from the chain)
}

Shape Sequential::output_shape() const {
  if (!built_) throw ValueError("Sequential: the model is not built; call build(input_shape).");
  return layers_.back()->output_shape();
}

std::string Sequential::describe_input(std::size_t /*k*/) const {
  return layers_.front()->type() + " '" + layers_.front()->name() + "' (the first layer)";
}

std::string Sequential::summary() const {
  if (!built_)
    throw ValueError("Sequential::summary: the model is not built yet; call build({timesteps, features}) first.");
  const std::string rule(65, '_'), double_rule(65, '=');
  std::ostringstream out;
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << detail::pad(" Layer (type)", 29) << detail::pad("Output Shape", 26) << "Param #\n" << double_rule << "\n";
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = *layers_[i];
    out << detail::pad(" " + l.name() + " (" + l.type() + ")", 29) << detail::pad(shape_str(with_batch(l.output_shape())), 26)
        << detail::format_int(l.count_params()) << "\n";
    if (i + 1 < layers_.size()) out << "\n";
  }
  out << double_rule << "\n";
  out << "Total params: " << detail::format_int(count_params()) << "\n";
  out << "Trainable params: " << detail::format_int(count_params()) << "\n";
  out << "Non-trainable params: 0\n" << rule << "\n";
  return out.str();
}

}  // namespace recur
