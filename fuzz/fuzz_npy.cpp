// Fuzz target: recur::load_npy (the .npy magic, version, header dict, dtype, shape and data).
// An array that loads must hold exactly prod(shape) finite values, prod(shape) computed without
// wrapping.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = recur_fuzz::scratch().write("input.npy", data, size);
  recur::Tensor t;
  try {
    t = recur::load_npy(path);
  } catch (const recur::Error&) {
    return 0;  // a typed refusal is the expected outcome for a damaged file
  }
  std::size_t count = 1;
  bool wrapped = false;
  for (std::size_t d : t.shape()) wrapped = __builtin_mul_overflow(count, d, &count) || wrapped;
  if (wrapped) recur_fuzz::fail("load_npy accepted a shape whose element count overflows size_t");
  if (t.shape().empty() || t.shape().size() > 4 || count != t.size())
    recur_fuzz::fail("load_npy returned a tensor whose shape does not match its size");
  for (float v : t.values())
    if (!std::isfinite(v)) recur_fuzz::fail("load_npy returned a non-finite value");
  return 0;
}
