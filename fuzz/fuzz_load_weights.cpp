// Fuzz target: Sequential::load_weights into a fixed built model (recur_fuzz::load_weights_model)
// - the file reader, the architecture comparison against the model's own config, and the
// tensor matching. For a recur file the trailing CRC-32 is recomputed over the mutated body
// first, so mutations reach the JSON and the tensors (the checksum itself is fuzzed by
// fuzz_model_file). Keras weight files (.weights.h5, a legacy .h5 model's weights) are seeds
// too: load_weights tells the formats apart by their first bytes and reads those with
// load_keras_weights.
//
// The model is built afresh for every input, so a half-applied load cannot leak into the next
// input and every reproducer replays alone. Weights that load must keep their shapes and give
// a prediction.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/model/sequential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool recur_file = size >= 8 && std::memcmp(data, "RECURMDL", 8) == 0;
  const std::vector<std::uint8_t> bytes =
      recur_file ? recur_fuzz::with_crc(data, size) : std::vector<std::uint8_t>(data, data + size);
  const std::string path = recur_fuzz::scratch().write("weights.recur", bytes.data(), bytes.size());
  recur::Sequential model = recur_fuzz::load_weights_model();
  const std::vector<recur::Tensor> before = model.get_weights();
  try {
    model.load_weights(path);
  } catch (const recur::Error&) {
    return 0;  // a typed refusal is the expected outcome for a damaged or foreign file
  }
  const std::vector<recur::Tensor> after = model.get_weights();
  if (after.size() != before.size()) recur_fuzz::fail("load_weights changed the weight count");
  for (std::size_t i = 0; i < before.size(); ++i)
    if (after[i].shape() != before[i].shape())
      recur_fuzz::fail("load_weights changed the shape of weight " + std::to_string(i));
  try {
    (void)model.predict(recur::Tensor(recur::Shape{2, 4, 2}));
  } catch (const recur::Error&) {
  }
  return 0;
}
