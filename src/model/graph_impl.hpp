#pragma once
// Model::Graph: a model's nodes in topological order with what one forward pass leaves behind
// (private to src/model).
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recur/core/tensor.hpp"
#include "recur/core/tensor_pool.hpp"
#include "recur/layers/graph.hpp"
#include "recur/model/model.hpp"

namespace recur {

struct Model::Graph {
  /// How a node runs its layer: Layer::forward / forward_masked (one tensor in, one out),
  /// Merge::forward_inputs (a list in), or RNN::call with initial states and/or return_state.
  enum class Kind { kPlain, kMerge, kRecurrent, kBidirectional };
  /// A value is addressed by (slot, index): slots [0, input_count) are the model's inputs,
  /// slot input_count + e is entry e's outputs.
  using Ref = std::pair<std::size_t, std::size_t>;
  struct Entry {
    std::shared_ptr<Node> node;
    Kind kind = Kind::kPlain;
    std::vector<Ref> args;        // the layer's inputs
    std::vector<Ref> state_args;  // its initial states
    bool shared = false;          // its layer runs at other entries too
    // What the last forward left (outputs, their masks) and, for a shared layer, the states of
    // its generators before this entry ran (to run it again before its backward).
    std::vector<Tensor> outputs, masks;
    std::vector<std::string> rng_states;
  };
  std::size_t input_count = 0;
  std::vector<Entry> entries;
  std::vector<Ref> output_refs;
  std::vector<std::vector<Layer*>> input_consumers;  // per input: the layers that read it directly
  // Per forward / backward pass.
  bool training = false;
  std::vector<Tensor> inputs;
  std::vector<std::vector<Tensor>> grads;      // per slot, per output index (empty: zeros)
  std::map<const Layer*, std::size_t> last_forward;  // the entry whose values a layer's caches hold
  // What one pass drops (old outputs, used gradients) for the next one's layers to write into
  // (recur/core/tensor_pool.hpp); current on the thread while forward or backward runs.
  TensorPool pool;

  const Tensor& value(std::size_t slot, std::size_t index) const;
  const Tensor& mask(std::size_t slot, std::size_t index) const;
  void run_forward(std::size_t entry);
  void run_backward(std::size_t entry);
};

}  // namespace recur
