#pragma once
// Shared by the fuzz targets. The library's readers take paths, so each input is written to a
// file in a directory of this process (under /dev/shm when it exists: no disk I/O per
// execution), removed at exit. Targets catch recur::Error and nothing else: any other exception
// escaping a reader (std::out_of_range, nlohmann::json's, std::bad_alloc, ...) reaches libFuzzer
// as an uncaught exception, which it reports as a crash.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"

namespace recur_fuzz {

class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                      : std::filesystem::temp_directory_path();
    dir_ = base / ("recur-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      std::fprintf(stderr, "recur fuzz: cannot create %s: %s\n", dir_.c_str(), ec.message().c_str());
      std::abort();
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // The path of file `name` in the directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `size` bytes to file `name` and returns its path.
  std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const {
    const std::string p = path(name);
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
      std::fprintf(stderr, "recur fuzz: cannot write %s\n", p.c_str());
      std::abort();
    }
    return p;
  }

 private:
  std::filesystem::path dir_;
};

inline const ScratchDir& scratch() {
  static const ScratchDir dir;
  return dir;
}

// The bytes with their last 4 replaced by the little-endian CRC-32 of the rest: a model file's
// trailing checksum (docs/model-format.md), so a mutated file is not rejected for its checksum
// alone. Inputs shorter than 4 bytes are returned as they are.
inline std::vector<std::uint8_t> with_crc(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes(data, data + size);
  if (size < 4) return bytes;
  const unsigned crc = recur::crc32(bytes.data(), size - 4);
  for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  return bytes;
}

// Aborts with `what` on stderr: an invariant of the library broken by an input that it accepted.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "recur fuzz: %s\n", what.c_str());
  std::abort();
}

// The model fuzz_load_weights loads into, and whose saved files seed its corpus: an LSTM with
// return_sequences, a GRU and a Dense head, for inputs (timesteps 4, features 2).
inline recur::Sequential load_weights_model() {
  recur::Sequential model("load_weights_target");
  model.add(recur::LSTM(recur::LstmOptions(3).return_sequences(true)));
  model.add(recur::GRU(2));
  model.add(recur::Dense(1));
  model.build({4, 2}, /*seed=*/1);
  return model;
}

// Bounds of the work done on a loaded model, so that a large but valid model is not mistaken
// for a CPU or memory bomb of the loader.
constexpr std::size_t kMaxPredictParams = 50'000;
constexpr std::size_t kMaxPredictInputs = 4'096;

// What `recur summary` and `recur predict` do with a model that loaded: summary, parameter
// count, one prediction on zeros when small; then a save / load round trip as a .recur file
// that must give the same weights and metadata (an accepted file that its own re-save rejects
// is a finding). `reload` reads the re-saved file back.
template <class M, class Reload>
void exercise(M& model, const std::string& metadata, Reload reload) {
  (void)model.summary();
  const std::size_t params = model.count_params();
  std::size_t inputs = 1;  // saturates at kMaxPredictInputs + 1
  std::vector<recur::Tensor> xs;
  for (const auto& in : model.inputs()) {
    for (std::size_t d : in.shape()) inputs = std::min(inputs * std::min(d, kMaxPredictInputs + 1), kMaxPredictInputs + 1);
    recur::Shape x_shape{1};
    x_shape.insert(x_shape.end(), in.shape().begin(), in.shape().end());
    if (inputs <= kMaxPredictInputs) xs.emplace_back(x_shape);
  }
  if (params <= kMaxPredictParams && inputs <= kMaxPredictInputs && xs.size() == model.inputs().size()) {
    try {
      (void)model.predict(xs);
    } catch (const recur::Error&) {
      // A loaded model that refuses zeros (e.g. its Embedding) is not a loader finding.
    }
  }

  const std::string again = scratch().path("again.recur");
  std::string metadata_again;
  const std::vector<recur::Tensor> before = model.get_weights();
  std::vector<recur::Tensor> after;
  try {
    model.save(again, metadata);
    after = reload(again, &metadata_again).get_weights();
  } catch (const recur::Error& e) {
    fail(std::string("a loaded model does not survive save and load: ") + e.what());
  }
  if (metadata_again != metadata) fail("metadata changed in a save/load round trip");
  if (after.size() != before.size()) fail("weight count changed in a save/load round trip");
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::vector<float>& a = after[i].values();
    const std::vector<float>& b = before[i].values();
    if (after[i].shape() != before[i].shape() || a.size() != b.size() ||
        (!a.empty() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0))
      fail("weight " + std::to_string(i) + " changed in a save/load round trip");
  }
}

// Loads `path` as an M (recur::Sequential or recur::Model) and exercises what loads; a typed
// refusal (recur::Error) is the expected outcome for a damaged or hostile file.
template <class M>
void load_and_exercise(const std::string& path) {
  try {
    std::string metadata;
    M model = M::load(path, &metadata);
    exercise(model, metadata, [](const std::string& p, std::string* m) { return M::load(p, m); });
  } catch (const recur::Error&) {
  }
}

// The models whose Keras 3 weights fuzz_keras_config packs beside a fuzzed config.json (the
// input's first byte picks one, modulo the count); make_corpus writes each one's config.json
// as a seed behind its byte, so unmutated seeds load whole. Deterministic: fixed seeds.
inline std::vector<recur::Sequential> keras_config_models() {
  std::vector<recur::Sequential> models;
  models.push_back(load_weights_model());
  {
    recur::Sequential m("bidirectional");
    m.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(2).return_sequences(true)), "concat"));
    m.add(recur::Bidirectional(recur::GRU(2), "sum"));
    m.add(recur::Dense(3, "softmax"));
    m.build({3, 2}, 5);
    m.compile("adam", "categorical_crossentropy");
    models.push_back(std::move(m));
  }
  {
    recur::Sequential m("tokens");
    m.add(recur::Embedding(recur::EmbeddingOptions(6, 3).mask_zero(true)));
    m.add(recur::SimpleRNN(recur::SimpleRnnOptions(2).return_sequences(true)));
    m.add(recur::TimeDistributed(recur::Dense(2, "relu")));
    m.add(recur::GlobalAveragePooling1D());
    m.add(recur::Dense(1));
    m.build({4}, 11);
    models.push_back(std::move(m));
  }
  return models;
}

}  // namespace recur_fuzz
