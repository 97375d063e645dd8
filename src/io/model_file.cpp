#include "recur/io/model_file.hpp"


#include <array>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur {
namespace {

constexpr char kMagic[8] = {'R', 'E', 'C', 'U', 'R', 'M', 'D', 'L'};
constexpr std::uint32_t kDtypeFloat32 = 1;
constexpr std::uint64_t kMaxJson = 16u << 20;   // the architecture and metadata JSON
constexpr std::uint64_t kMaxTensors = 1u << 16;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian fields from the file image, with errors that name the field and offset.
class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes) : path_(path), b_(bytes) {}
  std::uint64_t u(int width, const std::string& field) {
    need(static_cast<std::size_t>(width), field);
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::size_t>(width);
    return v;
  }
  std::string bytes(std::uint64_t n, const std::string& field) {
    need(n, field);
    std::string s = b_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelFormatError(path_ + ": " + what + " (at byte " + std::to_string(pos_) + ").");
  }

 private:
  void need(std::uint64_t n, const std::string& field) {
    if (n > b_.size() - pos_)
      throw ModelFormatError(path_ + ": file is truncated: reading " + field + " needs " +
                             std::to_string(n) + " bytes at byte " + std::to_string(pos_) +
                             ", but the file ends at byte " + std::to_string(b_.size()) +
                             ". Re-save the model; the file was cut short.");
  }
  const std::string& path_;
  const std::string& b_;
  std::size_t pos_ = 0;
};

}  // namespace

unsigned crc32(const unsigned char* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void write_model_file(const std::string& path, const ModelFileContents& contents) {
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, kModelFileVersion);
  put_u64(out, contents.json.size());
  out += contents.json;
  put_u32(out, static_cast<std::uint32_t>(contents.tensors.size()));
  for (const NamedTensor& nt : contents.tensors) {
    put_u32(out, static_cast<std::uint32_t>(nt.name.size()));
    out += nt.name;
    put_u32(out, kDtypeFloat32);
    put_u32(out, static_cast<std::uint32_t>(nt.tensor.rank()));
    for (std::size_t d : nt.tensor.shape()) put_u64(out, d);
    for (float f : nt.tensor.values()) {
      std::uint32_t bits;
      std::memcpy(&bits, &f, 4);
      put_u32(out, bits);
    }
  }
  put_u32(out, crc32(reinterpret_cast<const unsigned char*>(out.data()), out.size()));

  write_file_atomic(path, out);
}

ModelFileContents read_model_file(const std::string& path) {
  return parse_model_file(path, read_file_bounded(path, kMaxModelFileBytes, "model file"));
}

ModelFileContents parse_model_file(const std::string& path, const std::string& bytes) {

  Reader r(path, bytes);
  if (r.bytes(8, "magic") != std::string(kMagic, 8))
    throw ModelFormatError(path + ": not a recur model file (the first 8 bytes are not "
                           "\"RECURMDL\"). Pass a file written by Sequential::save or "
                           "`recur forecast --model`.");
  const auto version = r.u(4, "version");
  if (version != kModelFileVersion)
    throw ModelFormatError(path + ": model file version " + std::to_string(version) +
                           " is not supported; this recur reads version " +
                           std::to_string(kModelFileVersion) + ".");
  // The checksum is the last 4 bytes; a file too short to hold the JSON length field has none
  // (reading the field reports the truncation).
  if (bytes.size() < 16) r.u(8, "JSON length");
  const std::size_t body = bytes.size() - 4;
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[body + i])) << (8 * i);
  const auto actual = crc32(reinterpret_cast<const unsigned char*>(bytes.data()), body);

  ModelFileContents c;
  std::string non_finite;  // the last non-finite weight value seen, reported once the checksum is known good
  std::size_t non_finite_at = 0;
  try {
  const auto json_len = r.u(8, "JSON length");
  if (json_len > kMaxJson || json_len > bytes.size())
    r.fail("JSON length " + std::to_string(json_len) + " is larger than the file; it is "
           "truncated or corrupted");
  c.json = r.bytes(json_len, "architecture JSON");
  const auto count = r.u(4, "tensor count");
  if (count > kMaxTensors)
    r.fail("tensor count " + std::to_string(count) + " is more than the " + std::to_string(kMaxTensors) +
           " a model file may hold");
  for (std::uint64_t t = 0; t < count; ++t) {
    const std::string which = "tensor " + std::to_string(t);
    const auto name_len = r.u(4, which + " name length");
    if (name_len > 4096) r.fail(which + " name length " + std::to_string(name_len) + " is implausible");
    NamedTensor nt;
    nt.name = r.bytes(name_len, which + " name");
    const std::string field = "tensor '" + nt.name + "'";
    const auto dtype = r.u(4, field + " dtype");
    if (dtype != kDtypeFloat32)
      r.fail(field + " has dtype code " + std::to_string(dtype) + "; only 1 (float32) is known");
    const auto rank = r.u(4, field + " rank");
    if (rank < 1 || rank > 4) r.fail(field + " has rank " + std::to_string(rank) + "; expected 1 to 4");
    Shape shape;
    std::uint64_t n = 1;
    for (std::uint64_t k = 0; k < rank; ++k) {
      const auto d = r.u(8, field + " shape");
      if (d == 0) r.fail(field + " has an extent of 0; a weight has at least one value per axis");
      // Overflow-checked: (2^32, 2^32) must not wrap to 0 values.
      if (d > bytes.size() || __builtin_mul_overflow(n, d, &n) || n > bytes.size())
        r.fail(field + " has extent " + std::to_string(d) + ": more values than the file holds");
      shape.push_back(static_cast<std::size_t>(d));
    }
    if (n > (bytes.size() - r.pos()) / 4) r.fail(field + " claims more data than the file holds");
    const std::string data = r.bytes(n * 4, field + " data");
    std::vector<float> values(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::uint32_t bits = 0;
      for (int k = 0; k < 4; ++k)
        bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i * 4 + k])) << (8 * k);
      std::memcpy(&values[i], &bits, 4);
      if (!std::isfinite(values[i])) {
        non_finite = field + " value " + std::to_string(i) + " is " + (std::isnan(values[i]) ? "NaN" : "infinite");
        non_finite_at = r.pos();
      }
    }
    nt.tensor = Tensor(shape, std::move(values));
    c.tensors.push_back(std::move(nt));
  }
  if (r.pos() != body) {
    if (r.pos() > body) r.fail("the checksum is missing; the file is truncated");
    r.fail(std::to_string(body - r.pos()) + " unexpected bytes after the last tensor");
  }
  } catch (const ModelFormatError& e) {
    if (stored == actual) throw;
    // A damaged file: say so first, then the first inconsistency the parser found.
    throw ModelFormatError(path + ": checksum mismatch; the file is corrupted or truncated. "
                           "First problem found: " + e.message());
  }
  if (stored != actual)
    throw ModelFormatError(path + ": checksum mismatch (stored " + std::to_string(stored) +
                           ", computed " + std::to_string(actual) +
                           "); the file is corrupted. Re-save or restore the model.");
  if (!non_finite.empty())
    throw ModelFormatError(path + ": " + non_finite + " (tensor data ending at byte " + std::to_string(non_finite_at) +
                           "); a model with NaN or infinite weights predicts nothing useful. It was "
                           "saved from a run that diverged: retrain with a lower learning_rate.",
                           codes::kNonFiniteData);
  return c;
}

}  // namespace recur
