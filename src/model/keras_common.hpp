#pragma once
// What Keras import and export share (private to src/model): Keras's names for classes and
// activations, its version-dependent meanings, and the weight paths of its file formats.
// Sources: ../shared/interop/KERAS-FORMATS.md (copied facts, each with its place in Keras's code).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor.hpp"

namespace recur::detail::keras {

using json = nlohmann::json;

/// Largest number of layers a Keras file may declare, and of calls (nodes) in its graph.
inline constexpr std::size_t kMaxKerasLayers = 10000;
/// Largest config.json / model_config accepted (16 MiB; real ones are a few KiB to a few MiB).
inline constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
/// Deepest JSON nesting accepted (Keras configs of seq2seq models nest about 15 levels).
inline constexpr int kMaxConfigDepth = 64;
/// The most values (numbers, strings, lists, objects) a config may hold.
inline constexpr std::size_t kMaxConfigValues = std::size_t{1} << 21;

/// Keras's `to_snake_case` (keras/src/utils/naming.py): "LSTM" -> "lstm", "SimpleRNN" ->
/// "simple_rnn", "GlobalAveragePooling1D" -> "global_average_pooling1d", "InputLayer" ->
/// "input_layer". Names the groups of a Keras 3 weights file.
std::string to_snake_case(const std::string& class_name);

/// Parses Keras configuration JSON (config.json, model_config, training_config) with its size
/// and nesting capped. ModelFormatError naming `where` otherwise.
json parse_json(const std::string& text, const std::string& where);

/// The Keras major version a version string means: "1.2.2" -> 1, "2.2.4-tf" -> 2, "3.8.0" -> 3;
/// 0 for an empty or unparsable string.
int keras_major(const std::string& version);

/// The number of gate blocks of a recurrent class: LSTM 4, GRU 3, SimpleRNN 1 (0 otherwise).
std::size_t gate_count_of(const std::string& recurrent_class);

/// An E0021 error: the file holds something recur cannot run or write.
inline ModelFormatError unsupported(const std::string& message) {
  return ModelFormatError(message, codes::kUnsupportedImport);
}

}  // namespace recur::detail::keras
