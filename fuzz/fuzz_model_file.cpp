// Fuzz target: a model file read by Sequential::load and Model::load (read_model_file, the
// architecture JSON, the layer registry, a Functional file's graph, the tensor records). Built twice: fuzz_model_file takes the bytes as they
// are, so most mutations stop at the checksum; fuzz_model_file_crc (RECUR_FUZZ_FIX_CRC)
// recomputes the trailing CRC-32 first, so they reach the JSON and tensor parsing.
//
// A model that loads is then exercised the way `recur summary` and `recur predict` would:
// summary, parameter count, and, when small, one prediction on zeros. It must also survive a
// round trip: saved again, it loads again with the same weights (an accepted file that its own
// re-save rejects is a finding). The file is also read as a checkpoint, with its training state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#ifdef RECUR_FUZZ_FIX_CRC
  const std::vector<std::uint8_t> bytes = recur_fuzz::with_crc(data, size);
  const std::string path = recur_fuzz::scratch().write("input.recur", bytes.data(), bytes.size());
#else
  const std::string path = recur_fuzz::scratch().write("input.recur", data, size);
#endif
  recur_fuzz::load_and_exercise<recur::Sequential>(path);
  recur_fuzz::load_and_exercise<recur::Model>(path);
  // The training state of a checkpoint (decode_training_state), read as a resumed fit reads it.
  try {
    recur::TrainingState state;
    (void)recur::Sequential::load(path, nullptr, &state);
  } catch (const recur::Error&) {
  }
  return 0;
}
