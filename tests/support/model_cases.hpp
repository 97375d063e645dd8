#pragma once
// Models that cover every layer type and option, each with the inputs it is checked on: the
// round trips through every file format (ONNX, .keras, .h5, .weights.h5, .recur) run over them.
#include <memory>
#include <string>
#include <vector>

#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"

namespace recur::test {

/// A built model with random weights (biases too) and the inputs it is checked on.
struct ModelCase {
  std::string name;
  std::shared_ptr<Model> model;
  std::vector<Tensor> xs;
};

/// Sets every weight of `m` (biases too, so that their mapping is tested) to seeded random
/// values of scale 0.6.
void randomize(Model& m, unsigned seed);

/// A Sequential of `layers` built for `input` (one sample's shape), weights randomized.
Sequential sequential(std::vector<std::unique_ptr<Layer>> layers, const Shape& input, unsigned seed);

/// The layers passed by value, as the vector sequential() takes.
template <class... L>
std::vector<std::unique_ptr<Layer>> layers(L... l) {
  std::vector<std::unique_ptr<Layer>> v;
  (v.push_back(std::make_unique<L>(std::move(l))), ...);
  return v;
}

/// The activation names recur's layers take, and those a recurrent cell takes.
const std::vector<std::string>& layer_activation_names();
const std::vector<std::string>& cell_activation_names();
bool activation_exists(const std::string& name);

std::vector<ModelCase> lstm_cases();
std::vector<ModelCase> gru_cases();
std::vector<ModelCase> simple_rnn_cases();
std::vector<ModelCase> go_backwards_cases();
std::vector<ModelCase> bidirectional_cases();
std::vector<ModelCase> state_cases();
std::vector<ModelCase> embedding_cases();
std::vector<ModelCase> merge_cases();
std::vector<ModelCase> masking_cases();
std::vector<ModelCase> activation_cases();
std::vector<ModelCase> shared_layer_cases();
std::vector<ModelCase> any_length_cases();
/// All of the above.
std::vector<ModelCase> all_model_cases();

}  // namespace recur::test
