#pragma once
// The recur model file: versioned, self-describing, little-endian, written atomically.
// Format specification: docs/model-format.md.
#include <string>
#include <vector>

#include "recur/core/tensor.hpp"

namespace recur {

/// A tensor record of a model file, named "<layer>/<weight>", e.g. "lstm/kernel".
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

/// The contents of a model file: architecture and metadata as JSON text, and the tensors.
struct ModelFileContents {
  std::string json;
  std::vector<NamedTensor> tensors;
};

/// Current format version written by write_model_file.
inline constexpr unsigned kModelFileVersion = 1;

/// Writes `contents` to `path` atomically: to "<path>.tmp.<pid>" first, flushed and synced,
/// then renamed over `path`, so an interrupted write never leaves a partial model behind.
/// Throws IoError naming the path and the OS reason.
void write_model_file(const std::string& path, const ModelFileContents& contents);

/// Reads and verifies a model file. Throws IoError if it cannot be opened, ModelFormatError if
/// the magic, version, lengths, tensor records or checksum are wrong, naming the field and
/// byte offset.
ModelFileContents read_model_file(const std::string& path);

/// CRC-32 (IEEE 802.3, as zlib) of `n` bytes.
unsigned crc32(const unsigned char* data, std::size_t n);

}  // namespace recur
