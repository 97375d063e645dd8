#pragma once
// TrainingState <-> the model file: a "training_state" JSON object plus tensors named
// "training/..." after the weights (docs/model-format.md).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recur/io/model_file.hpp"
#include "recur/model/training_state.hpp"

namespace recur::detail {

/// The JSON object of `state`; its arrays are appended to `tensors`.
nlohmann::json encode_training_state(const TrainingState& state, std::vector<NamedTensor>& tensors);

/// The state stored in `j` with its arrays, tensors[first..]. Every field is type- and
/// range-checked (counts against the tensors present, generator texts parsed); throws
/// ModelFormatError naming `path` and the field.
TrainingState decode_training_state(const nlohmann::json& j, const std::vector<NamedTensor>& tensors,
                                    std::size_t first, const std::string& path);

}  // namespace recur::detail
