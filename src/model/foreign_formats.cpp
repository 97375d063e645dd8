// Which format a model file is in, and the hand-over to its converter (model_document.hpp).
#include <cstring>

#include "keras_format.hpp"
#include "model_document.hpp"
#include "onnx_format.hpp"
#include "recur/core/error.hpp"
#include "recur/io/files.hpp"
#include "recur/model/model.hpp"

namespace recur::detail {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  return true;
}

std::string read_model_bytes(const std::string& path) {
  return read_file_bounded(path, kMaxModelFileBytes, "model file");
}

std::string format_hint() {
  return " recur reads its own model files (.recur), Keras 3 .keras zips, Keras/tf.keras HDF5 files (.h5, "
         ".hdf5, .weights.h5) and ONNX models (.onnx), told apart by their first bytes.";
}

}  // namespace

FileFormat sniff_format(std::string_view head) {
  if (head.substr(0, 8) == std::string_view("RECURMDL", 8)) return FileFormat::kRecur;
  if (head.substr(0, 8) == std::string_view("\x89HDF\r\n\x1a\n", 8)) return FileFormat::kHdf5;
  if (head.substr(0, 4) == std::string_view("PK\x03\x04", 4) || head.substr(0, 4) == std::string_view("PK\x05\x06", 4))
    return FileFormat::kZip;
  // An ONNX ModelProto starts with a field key: ir_version (field 1, varint: 0x08), or another
  // of its fields written first by some producers (producer_name 0x12, graph 0x3a, opset 0x42).
  if (!head.empty()) {
    const unsigned char c = static_cast<unsigned char>(head[0]);
    if (c == 0x08 || c == 0x12 || c == 0x1a || c == 0x22 || c == 0x2a || c == 0x32 || c == 0x3a || c == 0x42)
      return FileFormat::kOnnx;
  }
  return FileFormat::kUnknown;
}

ModelFileContents read_any_model_file(const std::string& path) {
  std::string bytes = read_model_bytes(path);
  switch (sniff_format(bytes)) {
    case FileFormat::kRecur: return parse_model_file(path, bytes);
    case FileFormat::kHdf5: return keras::read_keras_h5(path, std::move(bytes));
    case FileFormat::kZip: return keras::read_keras_zip(path, std::move(bytes));
    case FileFormat::kOnnx:
      if (onnx::looks_like_onnx(bytes)) return onnx::read_onnx(path, bytes);
      break;
    case FileFormat::kUnknown: break;
  }
  if (bytes.size() < 8)
    throw ModelFormatError(path + ": the file is " + std::to_string(bytes.size()) +
                           " bytes long, too short for any model format." + format_hint());
  throw ModelFormatError(path + ": not a recur model file, nor a Keras or ONNX one (it starts with bytes that are no "
                         "model format's)." + format_hint());
}

bool save_foreign(const Model& model, const std::string& path, const std::string& metadata_json,
                  const TrainingState* state) {
  const bool weights = ends_with(path, ".weights.h5");
  const bool keras = ends_with(path, ".keras");
  const bool h5 = !weights && (ends_with(path, ".h5") || ends_with(path, ".hdf5"));
  const bool onnx_file = ends_with(path, ".onnx");
  if (!weights && !keras && !h5 && !onnx_file) return false;
  if (state)
    throw ValueError("save: " + path + " names a Keras or ONNX file, which cannot hold recur's training state; "
                     "write checkpoints as .recur files.");
  const ModelFileContents contents = model.contents(metadata_json);
  if (weights) keras::write_keras_weights(model, contents, path);
  else if (keras) keras::write_keras_zip(model, contents, path);
  else if (h5) keras::write_keras_h5(model, contents, path);
  else onnx::write_onnx(contents, path);
  return true;
}

void load_weights_foreign(Model& model, const std::string& path, std::string bytes) {
  switch (sniff_format(bytes)) {
    case FileFormat::kRecur: model.load_weights_from(parse_model_file(path, bytes), path); return;
    case FileFormat::kHdf5:
    case FileFormat::kZip: keras::load_keras_weights(model, path, std::move(bytes)); return;
    case FileFormat::kOnnx:
      if (onnx::looks_like_onnx(bytes))
        throw ModelFormatError(path + ": load_weights reads recur and Keras weight files; load an ONNX model "
                               "whole with recur::load_model.");
      break;
    case FileFormat::kUnknown: break;
  }
  throw ModelFormatError(path + ": the file is not a model or weights file recur knows." + format_hint());
}

ModelFileContents model_contents(const Model& model, const std::string& metadata_json, const TrainingState* state) {
  return model.contents(metadata_json, state);
}

}  // namespace recur::detail

namespace recur {

Model load_model(const std::string& path) { return Model::load(path); }

}  // namespace recur
