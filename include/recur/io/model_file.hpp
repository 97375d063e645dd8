#pragma once
// The recur model file: versioned, self-describing, little-endian, written atomically.
// Format specification: docs/model-format.md.
#include <cstdint>
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

/// The largest model file read_model_file reads (4 GiB); a larger file, a folder, a device or a
/// pipe is refused before it is read.
inline constexpr std::uint64_t kMaxModelFileBytes = std::uint64_t{4} << 30;

/// Writes `contents` to `path` atomically and durably (write_file_atomic: a fresh O_EXCL
/// temporary file, fsync, rename, fsync of the folder), so an interrupted write never leaves a
/// partial model behind. Throws IoError naming the path and the OS reason.
void write_model_file(const std::string& path, const ModelFileContents& contents);

/// Reads and verifies a model file, trusting nothing in it: at most kMaxModelFileBytes are read;
/// the JSON (at most 16 MiB), the tensor count (at most 65536), names, ranks (1 to 4) and
/// extents (each >= 1, their product overflow-checked) are compared with the bytes present
/// before anything is allocated. Throws IoError if it cannot be opened or is not a regular
/// file; ModelFormatError if the magic, version, lengths, tensor records or checksum are wrong,
/// naming the field and byte offset, and (code RECUR-E0005) if a weight is NaN or infinite.
ModelFileContents read_model_file(const std::string& path);
/// read_model_file of bytes already read (`path` names them in messages).
ModelFileContents parse_model_file(const std::string& path, const std::string& bytes);

/// CRC-32 (IEEE 802.3, as zlib) of `n` bytes.
unsigned crc32(const unsigned char* data, std::size_t n);

}  // namespace recur
