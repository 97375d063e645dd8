#pragma once
// Foreign model files (Keras .keras / .h5 / .weights.h5, ONNX) meet recur's own format here
// (private to src/model). A foreign file is converted to the contents of a recur model file
// (recur's architecture JSON, docs/model-format.md, and the weights named "<layer>/<weight>" in
// the model's order), so every format is built by the same checked code as recur's own files
// (Model::from_contents); and a model is exported from the same contents that Model::save
// writes (Model::contents).
#include <string>
#include <string_view>

#include "recur/io/model_file.hpp"

namespace recur {
class Model;
struct TrainingState;
}  // namespace recur

namespace recur::detail {

/// The formats recur reads, told apart by their first bytes (never the extension).
enum class FileFormat { kRecur, kHdf5, kZip, kOnnx, kUnknown };

/// The format of a file that starts with `head` (at least its first 8 bytes when it has them):
/// "RECURMDL" recur, "\x89HDF\r\n\x1a\n" HDF5 (Keras .h5 / .weights.h5), "PK\x03\x04" zip
/// (Keras 3 .keras), a protobuf ModelProto's first field (ONNX) otherwise when plausible.
FileFormat sniff_format(std::string_view head);

/// The contents of the model file at `path` in recur's form: recur's own file as read by
/// read_model_file, a Keras or ONNX file converted. Throws IoError when it cannot be read,
/// ModelFormatError when it is damaged, hostile, or holds something recur cannot express
/// (naming the layer, its class and the option).
ModelFileContents read_any_model_file(const std::string& path);

/// Writes `model` in the format `path`'s extension names, when it names a foreign one: ".keras"
/// (Keras 3 zip), ".h5" / ".hdf5" (Keras legacy HDF5), ".weights.h5" (Keras 3 weights only),
/// ".onnx". Returns false for any other extension (the caller writes a recur file).
bool save_foreign(const Model& model, const std::string& path, const std::string& metadata_json,
                  const TrainingState* state);

/// Loads the weights of a foreign file (Keras .weights.h5, a Keras .h5 with or without its
/// architecture, a .keras zip), its bytes already read from `path`, into `model`.
/// ModelFormatError for an ONNX file (load it whole) or an unknown format.
void load_weights_foreign(Model& model, const std::string& path, std::string bytes);

/// The contents Model::save writes for `model` (Model::contents).
ModelFileContents model_contents(const Model& model, const std::string& metadata_json = "{}",
                                 const TrainingState* state = nullptr);

}  // namespace recur::detail
