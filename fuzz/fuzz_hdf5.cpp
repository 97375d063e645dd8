// Fuzz target: recur::hdf5 (src/io/hdf5.cpp), the reader under Keras .h5 model files and the
// model.weights.h5 member of .keras archives. The bytes are opened in memory with
// File::from_bytes and everything is walked the way the Keras importer would: the members of
// every group to depth 8, every attribute as a string and as a string list, every dataset's shape,
// its values as float32 (at most 1 << 20) and, when it holds one value, as an integer.
//
// Invariants checked on what is accepted: a dataset read as float32 has as many values as its
// shape says (one for a scalar), and members() is sorted without duplicates.
//
// Findings inside libhdf5 itself (its superblock, object header, B-tree and heap parsing) are
// libhdf5's; the library is not built with the sanitizers, so they show where ASan's
// interceptors see them (memcpy, strdup, malloc) or as crashes. scripts/fuzz.sh runs this target
// with the sanitizer options that libhdf5 needs; fuzz/README.md lists what was found and what
// src/io/hdf5.cpp checks before libhdf5 reads a file because of it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/io/hdf5.hpp"

namespace {

constexpr int kMaxDepth = 8;
constexpr std::uint64_t kMaxValues = std::uint64_t{1} << 20;
// Hard links may form cycles and groups may be wide: the walk visits at most this many objects
// per input, so that one input cannot take minutes.
constexpr int kMaxVisits = 2000;

void read_attributes(const recur::hdf5::Group& g) {
  std::vector<std::string> names;
  try {
    names = g.attribute_names();
  } catch (const recur::Error&) {
    return;
  }
  for (const std::string& name : names) {
    try {
      (void)g.has_attribute(name);
      (void)g.string_list_attribute(name);
    } catch (const recur::Error&) {
    }
    try {
      (void)g.string_attribute(name);
    } catch (const recur::Error&) {
    }
  }
}

void read_dataset(const recur::hdf5::Group& g, const std::string& name) {
  std::vector<std::uint64_t> shape;
  try {
    shape = g.dataset_shape(name);
  } catch (const recur::Error&) {
    return;
  }
  try {
    const recur::Tensor t = g.float_dataset(name, kMaxValues);
    std::uint64_t count = 1;
    for (std::uint64_t d : shape) count *= d;  // dataset_shape() refuses an overflowing product
    if (t.size() != count) recur_fuzz::fail("float_dataset size differs from dataset_shape for " + g.path() + "/" + name);
  } catch (const recur::Error&) {
  }
  try {
    (void)g.integer_scalar(name);
  } catch (const recur::Error&) {
  }
}

void walk(const recur::hdf5::Group& g, int depth, int& visits) {
  if (++visits > kMaxVisits) return;
  read_attributes(g);
  std::vector<std::string> members;
  try {
    members = g.members();
  } catch (const recur::Error&) {
    return;
  }
  if (!std::is_sorted(members.begin(), members.end()) ||
      std::adjacent_find(members.begin(), members.end()) != members.end())
    recur_fuzz::fail("members() of " + g.path() + " is not sorted and unique");
  for (const std::string& name : members) {
    if (visits > kMaxVisits) return;
    try {
      if (g.has_group(name)) {
        if (depth < kMaxDepth) walk(g.group(name), depth + 1, visits);
      } else if (g.has_dataset(name)) {
        ++visits;
        read_dataset(g, name);
      }
    } catch (const recur::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const recur::hdf5::File file =
        recur::hdf5::File::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
    int visits = 0;
    walk(file.root(), 0, visits);
  } catch (const recur::Error&) {
    // A typed refusal is the expected outcome for a damaged file.
  }
  return 0;
}
