// Fuzz target: a model file read by Sequential::load and Model::load (read_model_file, the
// architecture JSON, the layer registry, a Functional file's graph, the tensor records). Built twice: fuzz_model_file takes the bytes as they
// are, so most mutations stop at the checksum; fuzz_model_file_crc (RECUR_FUZZ_FIX_CRC)
// recomputes the trailing CRC-32 first, so they reach the JSON and tensor parsing.
//
// A model that loads is then exercised the way `recur summary` and `recur predict` would:
// summary, parameter count, and, when small, one prediction on zeros. It must also survive a
// round trip: saved again, it loads again with the same weights (an accepted file that its own
// re-save rejects is a finding). The file is also read as a checkpoint, with its training state.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"

namespace {

// Bounds of the work done on a loaded model, so that a large but valid model is not mistaken
// for a CPU or memory bomb of the loader.
constexpr std::size_t kMaxPredictParams = 50'000;
constexpr std::size_t kMaxPredictInputs = 4'096;

// Summary, parameter count, one prediction on zeros when small, and a save / load round trip
// that must give the same weights and metadata. `reload` reads the re-saved file back.
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

  const std::string again = recur_fuzz::scratch().path("again.recur");
  std::string metadata_again;
  const std::vector<recur::Tensor> before = model.get_weights();
  std::vector<recur::Tensor> after;
  try {
    model.save(again, metadata);
    after = reload(again, &metadata_again).get_weights();
  } catch (const recur::Error& e) {
    recur_fuzz::fail(std::string("a loaded model does not survive save and load: ") + e.what());
  }
  if (metadata_again != metadata) recur_fuzz::fail("metadata changed in a save/load round trip");
  if (after.size() != before.size()) recur_fuzz::fail("weight count changed in a save/load round trip");
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::vector<float>& a = after[i].values();
    const std::vector<float>& b = before[i].values();
    if (after[i].shape() != before[i].shape() || a.size() != b.size() ||
        (!a.empty() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0))
      recur_fuzz::fail("weight " + std::to_string(i) + " changed in a save/load round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#ifdef RECUR_FUZZ_FIX_CRC
  const std::vector<std::uint8_t> bytes = recur_fuzz::with_crc(data, size);
  const std::string path = recur_fuzz::scratch().write("input.recur", bytes.data(), bytes.size());
#else
  const std::string path = recur_fuzz::scratch().write("input.recur", data, size);
#endif
  try {
    std::string metadata;
    recur::Sequential model = recur::Sequential::load(path, &metadata);
    exercise(model, metadata, [](const std::string& p, std::string* m) { return recur::Sequential::load(p, m); });
  } catch (const recur::Error&) {
    // A typed refusal is the expected outcome for a damaged file.
  }
  try {
    std::string metadata;
    recur::Model model = recur::Model::load(path, &metadata);
    exercise(model, metadata, [](const std::string& p, std::string* m) { return recur::Model::load(p, m); });
  } catch (const recur::Error&) {
  }
  // The training state of a checkpoint (decode_training_state), read as a resumed fit reads it.
  try {
    recur::TrainingState state;
    (void)recur::Sequential::load(path, nullptr, &state);
  } catch (const recur::Error&) {
  }
  return 0;
}
