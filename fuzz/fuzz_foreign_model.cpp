// Fuzz targets: model files written by other tools, read by Model::load (recur::load_model),
// which tells the formats apart by their first bytes (src/model/foreign_formats.cpp).
//
//   fuzz_onnx          the bytes as a file: ONNX ModelProto (libonnx's protobuf, then
//                      onnx_import.cpp: graph, initializers, LSTM/GRU/RNN nodes and the rest)
//   fuzz_keras_h5      the bytes as a file: legacy Keras / tf.keras HDF5 models (the
//                      model_config attribute, layer_names / weight_names, the weight datasets)
//   fuzz_keras_config  (RECUR_FUZZ_KERAS_CONFIG) the bytes after the first are a Keras 3
//                      config.json, packed into a .keras archive beside metadata.json and the
//                      model.weights.h5 of one of recur_fuzz::keras_config_models() (the first
//                      byte picks which). A .keras file's members carry CRC-32s that libzip
//                      checks, so mutating the archive itself rarely reaches the config; this
//                      reaches the converter of every Keras config (keras_import.cpp) and the
//                      matching of its layers to weights that do not fit them.
//
// A model that loads is exercised as fuzz_model_file does (recur_fuzz::exercise): summary,
// a prediction on zeros when small, and a save / load round trip as a .recur file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/model/model.hpp"

#ifdef RECUR_FUZZ_KERAS_CONFIG
#include "recur/io/zip_archive.hpp"

namespace {

// metadata.json and model.weights.h5 of each of keras_config_models(), as recur writes them.
struct KerasMembers {
  std::string metadata, weights;
};

const std::vector<KerasMembers>& keras_members() {
  static const std::vector<KerasMembers> members = [] {
    std::vector<KerasMembers> out;
    std::size_t i = 0;
    for (recur::Sequential& m : recur_fuzz::keras_config_models()) {
      const std::string path = recur_fuzz::scratch().path("model" + std::to_string(i++) + ".keras");
      m.save(path);
      const recur::zip::Reader archive = recur::zip::Reader::open(path);
      out.push_back({archive.read("metadata.json", 1 << 20), archive.read("model.weights.h5", 1 << 24)});
    }
    return out;
  }();
  return members;
}

}  // namespace
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#ifdef RECUR_FUZZ_KERAS_CONFIG
  if (size == 0) return 0;
  const std::vector<KerasMembers>& models = keras_members();
  const KerasMembers& chosen = models[data[0] % models.size()];
  const std::string config(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string archive = recur::zip::archive_bytes(
      {{"metadata.json", chosen.metadata}, {"config.json", config}, {"model.weights.h5", chosen.weights}});
  const std::string path = recur_fuzz::scratch().write(
      "input.keras", reinterpret_cast<const std::uint8_t*>(archive.data()), archive.size());
#else
  const std::string path = recur_fuzz::scratch().write("input.model", data, size);
#endif
  recur_fuzz::load_and_exercise<recur::Model>(path);
  return 0;
}
