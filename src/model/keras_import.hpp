#pragma once
// The pieces of Keras import that keras_format.cpp assembles (private to src/model).
#include <optional>
#include <string>
#include <vector>

#include "keras_common.hpp"

namespace recur::detail::keras {

/// Where a Keras file came from: its path (for messages) and the Keras that wrote it, which
/// decides what "hard_sigmoid" and GRU's missing reset_after mean.
struct Source {
  std::string path;
  std::string keras_version;  // "1.2.2", "2.2.4-tf", "2.10.0", "3.8.0"; "" when unknown
  int major = 0;              // 1, 2 or 3 (keras_major)
  bool tf_keras = false;      // written by tf.keras (TF's Keras 2.x): GRU reset_after defaults to true
};

/// A Keras layer as the file declares it: its class, name and whole entry.
struct KerasLayer {
  std::string cls, name;
  json entry;
  /// Where a Keras 3 weights file keeps its variables: "layers/<snake_case(class)>[_k]", the
  /// counter per class over the model's layer list (keras/src/saving/saving_lib.py _walk_saveable).
  std::string weights_path;
};

/// A Keras model config converted: recur's architecture document (docs/model-format.md, without
/// weights) and the Keras layers in the order of the document's layers (for their weights).
struct KerasArchitecture {
  std::string class_name, name;
  json document;
  std::vector<KerasLayer> keras_layers;
};

/// Converts a Keras model config {"class_name": "Sequential" | "Functional" | "Model",
/// "config": ...} of any Keras version (1.2 to 3.x) to recur's architecture. ModelFormatError
/// for a malformed config; RECUR-E0021 naming the layer, its class and the option for what recur
/// cannot run (an unknown layer class, an activation recur lacks, merge_mode None, ...).
KerasArchitecture convert_architecture(const json& model, const Source& src);

/// Converts Keras compile settings (Keras 3 `compile_config`, or the legacy `training_config`
/// when `legacy`) to recur's "compile" object; nullopt (with the reason in `notes`) when they
/// use an optimizer, loss or option recur lacks: the model then loads uncompiled.
std::optional<json> convert_compile(const json& keras, bool legacy, const std::vector<std::string>& output_names,
                                    std::vector<std::string>& notes);

}  // namespace recur::detail::keras
