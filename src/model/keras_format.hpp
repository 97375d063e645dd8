#pragma once
// Keras model files <-> recur's model contents (private to src/model). Layouts: docs/keras.md
// and ../shared/interop/KERAS-FORMATS.md (each fact with its source in Keras's code).
#include <string>

#include "recur/io/model_file.hpp"

namespace recur {
class Model;
}

namespace recur::detail::keras {

/// A Keras 3 `.keras` zip (config.json + model.weights.h5), its bytes already read from `path`.
ModelFileContents read_keras_zip(const std::string& path, std::string bytes);
/// A legacy HDF5 model (`model_config` + `model_weights`): Keras 1.2, Keras 2.x, tf.keras 2.x,
/// Keras 3's legacy writer.
ModelFileContents read_keras_h5(const std::string& path, std::string bytes);

/// Writes `model` (its contents: Model::contents) as a Keras 3 `.keras` zip.
void write_keras_zip(const Model& model, const ModelFileContents& contents, const std::string& path);
/// Writes `model` in the legacy HDF5 layout tf.keras 2.x and Keras 3 read (`.h5`).
void write_keras_h5(const Model& model, const ModelFileContents& contents, const std::string& path);
/// Writes the weights of `model` as a Keras 3 `.weights.h5` file.
void write_keras_weights(const Model& model, const ModelFileContents& contents, const std::string& path);

/// Loads the weights of a Keras file (`.weights.h5`, a legacy `.h5` with or without its
/// architecture, or a `.keras` zip), bytes already read from `path`, into `model`.
void load_keras_weights(Model& model, const std::string& path, std::string bytes);

}  // namespace recur::detail::keras
