#pragma once
// Shared by the fuzz targets. The library's readers take paths, so each input is written to a
// file in a directory of this process (under /dev/shm when it exists: no disk I/O per
// execution), removed at exit. Targets catch recur::Error and nothing else: any other exception
// escaping a reader (std::out_of_range, nlohmann::json's, std::bad_alloc, ...) reaches libFuzzer
// as an uncaught exception, which it reports as a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
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

}  // namespace recur_fuzz
