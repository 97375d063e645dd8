#include "recur/data/npy.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <cctype>
#include <string_view>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur {
namespace {

// The value of 'key' in the header dict, as the raw text up to the next ',' at depth 0 or '}'.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    throw ParseError(path, 1, 1, "the .npy header has no '" + key + "' entry: " + header);
  std::size_t i = header.find(':', k);
  if (i == std::string::npos) throw ParseError(path, 1, 1, "damaged .npy header: " + header);
  ++i;
  int depth = 0;
  std::string v;
  for (; i < header.size(); ++i) {
    const char c = header[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    v += c;
  }
  const auto b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

constexpr std::uint64_t kMaxNpyBytes = std::uint64_t{4} << 30;
constexpr std::size_t kMaxHeader = 1u << 16;

// A Python shape tuple: "()", "(3,)", "(2, 3)" - non-negative decimal integers only, each
// below 2^63. Anything else ("(-3,)", "(1.5,)", "[3]", a 30-digit extent) is refused.
Shape parse_shape(const std::string& text, const std::string& path) {
  const auto fail = [&] {
    return ParseError(path, 1, 1, "'shape' " + text.substr(0, 80) + " is not a shape: expected a tuple of "
                      "non-negative integers such as (100, 12, 1).");
  };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') throw fail();
  Shape shape;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  auto skip_space = [&] {
    while (i < end && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_space();
  while (i < end) {
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (i < end && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (++digits > 18) throw fail();  // < 10^18 < 2^63
      v = v * 10 + static_cast<std::uint64_t>(text[i++] - '0');
    }
    if (digits == 0) throw fail();
    shape.push_back(static_cast<std::size_t>(v));
    skip_space();
    if (i < end && text[i] == ',') {
      ++i;
      skip_space();
    } else if (i < end) {
      throw fail();
    }
  }
  return shape;
}

template <typename T>
T read_scalar(const unsigned char* p, bool swap) {
  unsigned char buf[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) buf[i] = p[swap ? sizeof(T) - 1 - i : i];
  T v;
  std::memcpy(&v, buf, sizeof(T));
  return v;
}

}  // namespace

Tensor load_npy(const std::string& path) {
  const std::string text = read_file_bounded(path, kMaxNpyBytes, ".npy file");
  const std::basic_string_view<unsigned char> bytes(reinterpret_cast<const unsigned char*>(text.data()), text.size());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw ParseError(path, 1, 1, "not a .npy file (no \\x93NUMPY magic).");
  const int major = bytes[6];
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw ParseError(path, 1, 1, "truncated .npy header.");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<std::size_t>(bytes[11]) << 24);
    offset = 12;
  } else {
    throw ParseError(path, 1, 1, ".npy format version " + std::to_string(major) + " is not supported.");
  }
  if (header_len > kMaxHeader || offset + header_len > bytes.size())
    throw ParseError(path, 1, 1, "truncated or oversized .npy header (" + std::to_string(header_len) + " bytes).");
  const std::string header(bytes.begin() + static_cast<long>(offset),
                           bytes.begin() + static_cast<long>(offset + header_len));
  std::string descr = dict_value(header, "descr", path);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  const std::string fortran = dict_value(header, "fortran_order", path);
  const std::string shape_text = dict_value(header, "shape", path);

  const char order = descr.empty() ? '?' : descr[0];
  const char kind = descr.size() > 1 ? descr[1] : '?';
  const std::size_t width = descr.size() == 3 && std::isdigit(static_cast<unsigned char>(descr[2]))
                                ? static_cast<std::size_t>(descr[2] - '0') : 0;
  if (kind == 'O' || kind == 'U' || kind == 'S' || kind == 'V')
    throw ValueError(path + ": the array has dtype '" + descr + "' (" +
                     (kind == 'O' ? "Python objects" : "text") + "), not numbers. This happens "
                     "when a column held text such as \"N/A\": convert it in NumPy first, e.g. "
                     "np.asarray(a, dtype=np.float32) after replacing the missing values.",
                     codes::kNonNumericCell);
  if (!(kind == 'f' && (width == 4 || width == 8)) && !((kind == 'i' || kind == 'u') &&
                                                        (width == 1 || width == 2 || width == 4 || width == 8)))
    throw ValueError(path + ": dtype '" + descr + "' is not supported; save float32, float64 or "
                     "integer arrays.");
  if (fortran != "False")
    throw ValueError(path + ": the array is in Fortran order; save np.ascontiguousarray(a).");
  const Shape shape = parse_shape(shape_text, path);
  if (shape.empty() || shape.size() > 4)
    throw ValueError(path + ": the array has rank " + std::to_string(shape.size()) +
                     "; recur takes rank 1 to 4.");
  // Overflow-checked: (2^32, 2^32) must not wrap to 0 values.
  std::size_t count = 1, bytes_needed = 0;
  for (std::size_t d : shape)
    if (__builtin_mul_overflow(count, d, &count))
      throw ParseError(path, 1, 1, "shape " + shape_text + " overflows: its element count does not fit in 64 bits.");
  if (__builtin_mul_overflow(count, width, &bytes_needed))
    throw ParseError(path, 1, 1, "shape " + shape_text + " overflows: its byte count does not fit in 64 bits.");
  const std::size_t data_at = offset + header_len;
  if (bytes.size() - data_at < bytes_needed)
    throw ParseError(path, 1, 1, "the file holds " + std::to_string(bytes.size() - data_at) +
                     " data bytes, but shape " + shape_text + " of '" + descr + "' needs " +
                     std::to_string(bytes_needed) + ".");
  const std::uint16_t probe = 1;
  const bool little_host = *reinterpret_cast<const unsigned char*>(&probe) == 1;
  const bool swap = width > 1 && ((order == '<' && !little_host) || (order == '>' && little_host));
  Tensor t(shape);
  const unsigned char* p = bytes.data() + data_at;
  for (std::size_t i = 0; i < count; ++i, p += width) {
    double v = 0;
    if (kind == 'f') v = width == 4 ? read_scalar<float>(p, swap) : read_scalar<double>(p, swap);
    else if (kind == 'i')
      v = width == 1 ? static_cast<std::int8_t>(*p) : width == 2 ? read_scalar<std::int16_t>(p, swap)
          : width == 4 ? read_scalar<std::int32_t>(p, swap) : static_cast<double>(read_scalar<std::int64_t>(p, swap));
    else
      v = width == 1 ? *p : width == 2 ? read_scalar<std::uint16_t>(p, swap)
          : width == 4 ? read_scalar<std::uint32_t>(p, swap) : static_cast<double>(read_scalar<std::uint64_t>(p, swap));
    if (!std::isfinite(v))
      throw ValueError(path + ": element " + std::to_string(i) + " (flat index) is " +
                       std::to_string(v) + "; clean or impute the array first.", codes::kNonFiniteData);
    // A float64 beyond float32's range would become infinite (and the cast is undefined).
    if (std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max()))
      throw ValueError(path + ": element " + std::to_string(i) + " (flat index) is " + std::to_string(v).substr(0, 40) +
                       ", beyond float32's range (3.4e38) that recur computes in; rescale the array first.",
                       codes::kNonFiniteData);
    t[i] = to_float32(v, "an array element");
  }
  return t;
}

std::string npy_bytes(const Tensor& t) {
  std::string shape = "(";
  for (std::size_t i = 0; i < t.rank(); ++i) shape += (i ? ", " : "") + std::to_string(t.dim(i));
  shape += t.rank() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64 and
  // ended by a newline (numpy.lib.format).
  const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  const std::size_t at = out.size();
  out.resize(at + t.size() * 4);
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, t.data() + i, 4);
    for (int b = 0; b < 4; ++b) out[at + i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

void save_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, npy_bytes(t)); }

}  // namespace recur
