// Symbolic tensors and nodes: what a layer call on symbolic tensors records (graph.hpp).
#include "recur/layers/graph.hpp"

#include <algorithm>
#include <atomic>
#include <map>

#include "recur/core/error.hpp"
#include "recur/core/random.hpp"
#include "recur/layers/layer.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"

namespace recur {
namespace {

std::atomic<std::uint64_t> g_next_node_id{1};

// The generator of set_random_seed, and the per-thread counters of default names.
struct GraphThreadState {
  Rng rng{0};
  std::map<std::string, std::size_t> name_counts;
};
GraphThreadState& thread_state() {
  thread_local GraphThreadState s;
  return s;
}

// "lstm", then "lstm_1", "lstm_2", ... per thread (Keras's uniquified default names).
std::string next_default_name(const std::string& base) {
  std::size_t& n = thread_state().name_counts[base];
  const std::string name = n == 0 ? base : base + "_" + std::to_string(n);
  ++n;
  return name;
}

// A layer built for `built` takes a call on `shape` when they agree on every axis, a None axis
// (kAnyDim) of `built` taking any extent: a layer built for (None, 3) runs on (7, 3) too.
bool takes_shape(const Shape& built, const Shape& shape) {
  if (built.size() != shape.size()) return false;
  for (std::size_t i = 0; i < built.size(); ++i)
    if (built[i] != kAnyDim && built[i] != shape[i]) return false;
  return true;
}

std::string shapes_str(const std::vector<SymbolicTensor>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + shape_str(with_batch(x.shape()));
  return s;
}

// The recurrent layer a node runs with states (initial_state or return_state), or null.
RNN* stateful_call_rnn(Layer& layer) { return dynamic_cast<RNN*>(&layer); }

}  // namespace

const Shape& SymbolicTensor::shape() const {
  if (!node_)
    throw ValueError("SymbolicTensor: this tensor is empty (default-constructed); make one with "
                     "recur::Input or by calling a layer.", codes::kGraphCall);
  return node_->output_shapes.at(index_);
}

std::string SymbolicTensor::ref() const {
  if (!node_) return "<empty>";
  return node_->name() + "[" + std::to_string(node_->call_index) + "][" + std::to_string(index_) + "]";
}

std::string Node::name() const { return layer ? layer->name() : input_name; }

std::vector<SymbolicTensor> Node::all_inputs() const {
  std::vector<SymbolicTensor> all = inputs;
  all.insert(all.end(), initial_state.begin(), initial_state.end());
  return all;
}

SymbolicTensor Input(const Shape& shape, const std::string& name, std::optional<std::size_t> batch_size) {
  if (shape.empty() || shape.size() > 4)
    throw ShapeError("Input: shape must have 1 to 4 axes after the batch, e.g. {timesteps, features}; got " +
                     shape_str(shape) + ".", codes::kGraphShape);
  // Keras's Input(shape=(None, features)): the timesteps axis (the first after the batch) may be
  // None, any length >= 1 at run time; every other extent is a fixed positive size.
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == kAnyDim && i > 0)
      throw ShapeError("Input: shape " + shape_str(shape) + " has an unknown extent (None) on axis " +
                           std::to_string(i) + "; only the timesteps axis (axis 0, the first after the batch) "
                           "may be None (recur::kAnyDim), e.g. {recur::kAnyDim, features}.",
                       codes::kGraphShape);
    if (shape[i] == 0)
      throw ShapeError("Input: shape " + shape_str(shape) + " has a zero or unknown extent; every "
                       "extent must be a positive size.", codes::kGraphShape);
  }
  if (batch_size && *batch_size == 0)
    throw ValueError("Input: batch_size must be >= 1 when given, got 0.", codes::kBadHyperparameter);
  auto node = std::make_shared<Node>();
  node->input_name = name.empty() ? next_default_name("input_layer") : name;
  node->batch_size = batch_size;
  node->output_shapes = {shape};
  node->id = g_next_node_id++;
  return SymbolicTensor(node, 0);
}

void set_random_seed(std::uint64_t seed) { thread_state().rng = Rng(seed); }

namespace detail {

void expect_outputs(const Layer& layer, std::size_t got, std::size_t want) {
  if (got == want) return;
  throw ValueError(layer.type() + " '" + layer.name() + "' gives " + std::to_string(got) + " output" +
                       (got == 1 ? "" : "s") + " here, but " + std::to_string(want) + " were asked for." +
                       (got > 1 ? " It has return_state=true: take all of them with call<" + std::to_string(got) +
                                      ">(x), e.g. auto [y, h, c] = lstm.call<3>(x)."
                                : " Only a recurrent layer with return_state=true gives more than one."),
                   codes::kGraphCall);
}

std::vector<SymbolicTensor> call_layer(const std::shared_ptr<Layer>& layer, const std::vector<SymbolicTensor>& inputs,
                                       const CallOptions& options, bool list_call) {
  if (!layer) throw ValueError("a null layer was called on symbolic tensors.", codes::kGraphCall);
  for (const auto& x : inputs)
    if (!x.valid())
      throw ValueError("a layer was called on an empty SymbolicTensor; make tensors with recur::Input or by "
                       "calling a layer.", codes::kGraphCall);
  for (const auto& s : options.initial_state)
    if (!s.valid()) throw ValueError("initial_state holds an empty SymbolicTensor.", codes::kGraphCall);
  if (layer->name().empty()) layer->set_name(next_default_name(default_layer_name(layer->type())));
  const std::string who = layer->type() + " '" + layer->name() + "'";
  auto node = std::make_shared<Node>();
  node->layer = layer;
  node->inputs = inputs;
  node->initial_state = options.initial_state;
  node->id = g_next_node_id++;
  // The call number: how many nodes this layer has made before (kept on the layer via a
  // per-layer counter in this map; layers are few and long-lived).
  static thread_local std::map<const Layer*, std::pair<std::weak_ptr<Layer>, std::size_t>> calls;
  auto& entry = calls[layer.get()];
  if (entry.first.lock() != layer) entry = {layer, 0};  // a new layer at a reused address
  node->call_index = entry.second;
  const std::string where = who + " (call " + std::to_string(node->call_index) + ")";

  if (auto* merge = dynamic_cast<Merge*>(layer.get())) {
    if (!list_call || inputs.size() < 2)
      throw ValueError(where + " merges a list of at least 2 tensors, e.g. add({a, b}); got " +
                           std::to_string(inputs.size()) + " tensor" + (inputs.size() == 1 ? "" : "s") + ".",
                       codes::kGraphCall);
    if (!options.initial_state.empty())
      throw ValueError(where + " takes no initial_state (only recurrent layers do).", codes::kGraphCall);
    std::vector<Shape> shapes;
    for (const auto& x : inputs) shapes.push_back(x.shape());
    if (!merge->built()) {
      merge->build_inputs(shapes);
    } else if (shapes.size() != merge->input_shapes().size() ||
               !std::equal(shapes.begin(), shapes.end(), merge->input_shapes().begin(),
                           [](const Shape& s, const Shape& built) { return takes_shape(built, s); })) {
      std::string was;
      for (const Shape& s : merge->input_shapes()) was += (was.empty() ? "" : ", ") + shape_str(with_batch(s));
      throw ShapeError(where + " was built for inputs " + was + ", but is called on " + shapes_str(inputs) +
                           ". A shared layer takes the same shapes at every call.",
                       codes::kGraphShape);
    }
    node->output_shapes = {merge->output_shape()};
  } else {
    if (list_call || inputs.size() != 1)
      throw ValueError(where + " takes one tensor, got a list of " + std::to_string(inputs.size()) +
                           ". Merge a list first (Concatenate, Add, Multiply, Average).",
                       codes::kGraphCall);
    const Shape& shape = inputs[0].shape();
    const std::string from = " (from " + inputs[0].ref() + ")";
    if (!layer->built()) {
      try {
        layer->build(shape, thread_state().rng);
      } catch (const ShapeError& e) {
        throw ShapeError(where + " cannot take its input " + shape_str(with_batch(shape)) + from + ": " +
                             e.message(),
                         codes::kGraphShape);
      }
    } else if (!takes_shape(layer->input_shape(), shape)) {
      throw ShapeError(where + " was built for input " + shape_str(with_batch(layer->input_shape())) +
                           ", but is called on " + shape_str(with_batch(shape)) + from +
                           ". A shared layer takes the same shape at every call.",
                       codes::kGraphShape);
    }
    node->output_shapes = {layer->output_shape()};
    // A recurrent layer (or Bidirectional, whose initial_state is the forward layer's states
    // then the backward layer's, as Keras's) checks its initial states; return_state adds the
    // final states (both directions') after the output. A stateful layer given initial states
    // starts every call from them and keeps its final states, as Keras's RNN.call (the kept
    // states serve only calls without initial_state).
    const RNN* rnn = stateful_call_rnn(*layer);
    const auto* bi = dynamic_cast<const Bidirectional*>(layer.get());
    if (bi) rnn = &bi->forward_layer();
    if (!rnn && !options.initial_state.empty())
      throw ValueError(where + " takes no initial_state; only recurrent layers (LSTM, GRU, SimpleRNN, RNN) and "
                               "Bidirectional do.",
                       codes::kGraphCall);
    if (rnn) {
      const std::size_t per_direction = rnn->cell().state_count(), units = rnn->cell().units();
      const std::size_t states = per_direction * (bi ? 2 : 1);
      const std::string kinds = per_direction == 2 ? "{h, c}" : "{h}";
      if (!options.initial_state.empty()) {
        if (options.initial_state.size() != states)
          throw ValueError(where + " takes " + std::to_string(states) + " initial state" + (states == 1 ? "" : "s") +
                               (bi ? " (the forward " + rnn->type() + "'s " + kinds + ", then the backward one's)"
                                   : " " + kinds) +
                               ", each (batch, " + std::to_string(units) + "); got " +
                               std::to_string(options.initial_state.size()) + ".",
                           codes::kGraphCall);
        for (std::size_t k = 0; k < states; ++k) {
          const Shape& s = options.initial_state[k].shape();
          if (s != Shape{units})
            throw ValueError(where + ": initial state " + std::to_string(k) + " (from " +
                                 options.initial_state[k].ref() + ") is " + shape_str(with_batch(s)) + ", but " +
                                 (bi ? "each direction has " : "the layer has ") + std::to_string(units) +
                                 " units: it must be " + shape_str(with_batch({units})) + ".",
                             codes::kGraphCall);
        }
      }
      if (rnn->rnn_options().return_state())
        for (std::size_t k = 0; k < states; ++k) node->output_shapes.push_back({units});
    }
  }
  ++entry.second;
  std::vector<SymbolicTensor> out;
  for (std::size_t i = 0; i < node->output_shapes.size(); ++i) out.emplace_back(node, i);
  return out;
}

}  // namespace detail
}  // namespace recur
