#pragma once
// The symbolic side of the Functional API (Keras's KerasTensor, Node and keras.Input):
// recur::Input makes a symbolic tensor; calling a layer on symbolic tensors builds the layer for
// their shapes and records a node; recur::Model(inputs, outputs) (recur/model/model.hpp) runs the
// graph those nodes form. Nothing is computed here: a symbolic tensor holds only a shape.
//
//   auto x = recur::Input({12, 3}, "series");                  // (batch, 12, 3)
//   auto lstm = recur::shared(recur::LSTM(recur::LstmOptions(32)));
//   auto h = lstm(x);                                           // (batch, 32)
//   auto y = recur::shared(recur::Dense(1))(h);                 // (batch, 1)
//   recur::Model model({x}, {y});
//
// A layer called twice shares its weights (Keras's shared layers). A recurrent layer with
// return_state gives [output, states...] through call<N>(); its initial states come from
// CallOptions::initial_state.
//
// Source: the Keras Functional API guide, keras.io/guides/functional_api/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "recur/core/shape.hpp"

namespace recur {

class Layer;
struct Node;

/// A symbolic tensor: output `index` of a graph node. Its shape excludes the batch axis, as
/// Keras prints (None, *shape).
class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  SymbolicTensor(std::shared_ptr<Node> node, std::size_t index) : node_(std::move(node)), index_(index) {}
  /// Shape without the batch axis. Throws ValueError for a default-constructed tensor.
  const Shape& shape() const;
  /// Keras's "Connected to" reference: "lstm[0][1]" is output 1 of the first call of "lstm".
  std::string ref() const;
  const std::shared_ptr<Node>& node() const noexcept { return node_; }
  std::size_t index() const noexcept { return index_; }
  bool valid() const noexcept { return node_ != nullptr; }
  bool operator==(const SymbolicTensor& o) const noexcept { return node_ == o.node_ && index_ == o.index_; }

 private:
  std::shared_ptr<Node> node_;
  std::size_t index_ = 0;
};

/// One call of a layer on symbolic tensors, or an Input (layer null).
struct Node {
  std::shared_ptr<Layer> layer;               // null for an Input
  std::string input_name;                     // an Input's name
  std::optional<std::size_t> batch_size;      // an Input's fixed batch size, if given
  std::vector<SymbolicTensor> inputs;         // x, or a merge layer's list
  std::vector<SymbolicTensor> initial_state;  // a recurrent layer's initial states
  std::vector<Shape> output_shapes;           // without the batch axis
  std::size_t call_index = 0;                 // this is the layer's call number call_index (0 first)
  std::uint64_t id = 0;                       // creation order, unique in the process
  bool is_input() const noexcept { return layer == nullptr; }
  /// The layer's name, or the Input's.
  std::string name() const;
  /// Every tensor the node reads: inputs, then initial states.
  std::vector<SymbolicTensor> all_inputs() const;
};

/// Options of a layer call on symbolic tensors.
struct CallOptions {
  /// Initial states of a recurrent layer, each (batch, units): {h, c} for an LSTM, {h} for GRU
  /// and SimpleRNN (Keras's initial_state). Their gradients reach the layers that made them.
  std::vector<SymbolicTensor> initial_state;
};

/// Keras's keras.Input: a symbolic input of shape (batch, *shape), e.g. {timesteps, features}.
/// The timesteps axis (shape[0]) may be recur::kAnyDim, Keras's None: Input({kAnyDim, 3}) is
/// Input(shape=(None, 3)), sequences of any length (every sample of one call has the same), and
/// Input({kAnyDim}) takes token ids for an Embedding. Layers keep None where Keras does (an RNN
/// with return_sequences gives (None, units), without it (units,)); Flatten refuses it.
/// Names default to "input_layer", "input_layer_1", ... (Keras 3's). batch_size fixes the
/// batch (stateful models); fit/predict refuse another. Throws ShapeError for an empty shape, a
/// zero extent, kAnyDim on another axis or more than 4 axes, ValueError for a batch_size of 0.
SymbolicTensor Input(const Shape& shape, const std::string& name = "",
                     std::optional<std::size_t> batch_size = std::nullopt);

/// Seeds the generator that layers built by a call draw their initial weights from (Keras's
/// keras.utils.set_random_seed); each build advances it, so the same program builds the same
/// weights. Default seed: 0. Per thread.
void set_random_seed(std::uint64_t seed);

namespace detail {
/// Calls `layer` on symbolic tensors: builds it on the first call (or checks that the shapes
/// are those it was built for; a None axis it was built for takes any extent), records a node
/// and returns its outputs. `list_call`: the
/// inputs were given as a list (merge layers). Throws ShapeError (RECUR-E0016) naming the layer,
/// the node and both shapes; ValueError (RECUR-E0017) for initial_state with the wrong count or
/// units, or a list given to a layer that takes one tensor (and the reverse).
std::vector<SymbolicTensor> call_layer(const std::shared_ptr<Layer>& layer,
                                       const std::vector<SymbolicTensor>& inputs,
                                       const CallOptions& options, bool list_call);
/// Throws ValueError (RECUR-E0017) unless `outputs` holds exactly `want` tensors.
void expect_outputs(const Layer& layer, std::size_t got, std::size_t want);
}  // namespace detail

/// A layer held by shared pointer so that graph nodes (and models) can share it, callable on
/// symbolic tensors. Make one with recur::shared(layer).
///   auto enc = recur::shared(recur::LSTM(recur::LstmOptions(64).return_state(true)));
///   auto [y, h, c] = enc.call<3>(x);                       // output, final h, final c
///   auto dec = recur::shared(recur::LSTM(recur::LstmOptions(64).return_sequences(true)));
///   auto s = dec(x_dec, {.initial_state = {h, c}});
///   auto z = recur::shared(recur::Concatenate())({s, other});
template <class L>
class Shared {
 public:
  explicit Shared(std::shared_ptr<L> layer) : layer_(std::move(layer)) {}
  /// The layer's single output for x. Throws ValueError when the layer has more outputs
  /// (return_state: use call<N>).
  SymbolicTensor operator()(const SymbolicTensor& x, const CallOptions& options = {}) const {
    return single(detail::call_layer(layer_, {x}, options, false));
  }
  /// A merge layer's output for a list of tensors.
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs, const CallOptions& options = {}) const {
    return single(detail::call_layer(layer_, xs, options, true));
  }
  /// All N outputs (e.g. 3 for an LSTM with return_state: output, h, c), for structured
  /// bindings. Throws ValueError when the layer gives another number.
  template <std::size_t N>
  std::array<SymbolicTensor, N> call(const SymbolicTensor& x, const CallOptions& options = {}) const {
    const std::vector<SymbolicTensor> out = detail::call_layer(layer_, {x}, options, false);
    detail::expect_outputs(*layer_, out.size(), N);
    std::array<SymbolicTensor, N> a;
    for (std::size_t i = 0; i < N; ++i) a[i] = out[i];
    return a;
  }
  /// All outputs, however many.
  std::vector<SymbolicTensor> call_all(const SymbolicTensor& x, const CallOptions& options = {}) const {
    return detail::call_layer(layer_, {x}, options, false);
  }
  L* operator->() const noexcept { return layer_.get(); }
  L& operator*() const noexcept { return *layer_; }
  const std::shared_ptr<L>& ptr() const noexcept { return layer_; }

 private:
  SymbolicTensor single(const std::vector<SymbolicTensor>& out) const {
    detail::expect_outputs(*layer_, out.size(), 1);
    return out[0];
  }
  std::shared_ptr<L> layer_;
};

/// Moves a layer into a Shared handle: recur::shared(recur::Dense(1)).
template <class L>
Shared<L> shared(L layer) {
  static_assert(std::is_base_of_v<Layer, L>, "recur::shared takes a layer (LSTM, Dense, Concatenate, ...)");
  return Shared<L>(std::make_shared<L>(std::move(layer)));
}
/// Wraps a layer that is already held by a shared pointer.
template <class L>
Shared<L> shared(std::shared_ptr<L> layer) {
  return Shared<L>(std::move(layer));
}

}  // namespace recur
