#pragma once
// Zip archives, read and written safely: the container of Keras 3 `.keras` files (members
// `metadata.json`, `config.json`, `model.weights.h5`; /work/shared/interop/KERAS-FORMATS.md
// section 2.1). A thin wrapper over libzip (Debian 12: 1.7.3) that treats every archive as
// hostile, as Keras' own `_reject_zip_bomb` and safetensors' loader do:
//
// - Opening checks the whole central directory (libzip ZIP_CHECKCONS, local headers against
//   central ones) and refuses, before any member is read: more than kMaxMembers members, a
//   member name that is empty, absolute ("/x", "C:x"), has a ".." component, a backslash or a
//   NUL byte (an extracting tool would write outside its folder; Keras never writes one), and
//   duplicate names. libzip hides NUL bytes in names (it turns them into spaces), so the central
//   directory is also walked here; an archive on which that walk and libzip disagree is refused.
// - Reading a member refuses, before a byte is decompressed: a declared size over the caller's
//   bound, a compression ratio over kMaxCompressionRatio (a zip bomb), encryption and
//   compression methods libzip cannot decode. It never reads more than the declared size plus
//   one byte, checks the count and the CRC-32.
// - Writing stores every member uncompressed (method 0) with a fixed date (1980-01-01 00:00,
//   Python's zipfile default), as Keras does, so the same members give the same bytes.
//
// Every refusal is a recur::ModelFormatError naming the archive's label and the member
// (recur::IoError for files that cannot be read or written, recur::ValueError for bad names
// given to the writer). Nothing is printed.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recur::zip {

/// The most members an archive may hold (a `.keras` file of a recurrent model holds 3).
inline constexpr std::size_t kMaxMembers = 10000;
/// The largest declared-size / compressed-size ratio a compressed member may have. DEFLATE
/// cannot exceed about 1032:1, so only near-maximal (bomb-like) members are refused.
inline constexpr std::uint64_t kMaxCompressionRatio = 1000;
/// The largest archive file Reader::open reads (4 GiB).
inline constexpr std::uint64_t kMaxArchiveBytes = std::uint64_t{4} << 30;

/// True when `head` starts with a zip local-file header "PK\x03\x04" or an empty archive's
/// end-of-central-directory record "PK\x05\x06". A sniff for dispatch (a `.keras` file may be
/// HDF5), not a validation: 4 bytes are enough.
bool is_zip(std::string_view head);

/// Why `name` cannot be a member name, or "" when it can: empty, absolute ("/x" or a drive
/// letter "C:"), a ".." component, a backslash, or a NUL byte. Directory entries ("assets/")
/// are allowed.
std::string member_name_problem(std::string_view name);

/// A zip archive held in memory, opened and validated (see the file comment). Movable, not
/// copyable; a moved-from Reader may only be destroyed or assigned to. Not thread-safe: read()
/// moves libzip's state (even though it is const), so use one Reader per thread.
class Reader {
 public:
  /// Opens the zip archive `bytes`; `label` names it in messages (usually its path).
  /// Throws ModelFormatError naming `label`: an empty input, not a zip archive, a truncated or
  /// damaged archive (central directory missing or inconsistent; libzip's reason is appended),
  /// more than kMaxMembers members, a refused or duplicate member name (named in the message).
  static Reader from_bytes(std::string bytes, const std::string& label);

  /// Reads the file at `path` with recur::read_file_bounded (at most kMaxArchiveBytes), then
  /// from_bytes with the path as label. `what` names the file's role in I/O messages.
  /// Throws IoError when the file cannot be read (missing, a folder, a device, too large), and
  /// what from_bytes throws.
  static Reader open(const std::string& path, const std::string& what = "zip archive");

  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  /// The label given at opening (usually the path).
  const std::string& label() const;
  /// Every member's name, in archive (central directory) order, as stored (no re-encoding).
  const std::vector<std::string>& names() const;
  /// True when a member is named exactly `name`.
  bool has(const std::string& name) const;
  /// The declared (uncompressed) size of member `name` in bytes, as its central directory entry
  /// says; not yet checked against the data. Throws ModelFormatError when it is missing.
  std::uint64_t declared_size(const std::string& name) const;

  /// The bytes of member `name`, at most `max_bytes`.
  /// Refused with ModelFormatError naming the archive and the member, before reading, when: the
  /// member is missing (the message lists the members present, at most 20); its declared size
  /// exceeds `max_bytes`; it is compressed and its declared size exceeds kMaxCompressionRatio
  /// times its compressed size (a zip bomb); it is encrypted; its compression method is one
  /// libzip cannot decode (STORE and DEFLATE always can); it is stored with different declared
  /// and compressed sizes. While reading, at most max_bytes + 1 bytes are produced whatever the
  /// header says, and refused: more or fewer bytes than declared, a CRC-32 mismatch, invalid
  /// compressed data.
  std::string read(const std::string& name, std::uint64_t max_bytes) const;

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A member of an archive to write: (name, bytes).
using Member = std::pair<std::string, std::string>;

/// The zip archive holding `members` in order, each STORED (compression method 0, as Keras
/// writes), dated 1980-01-01 00:00 local time (DOS time 0x0000, date 0x0021), Unix mode 0644:
/// the same members always give the same bytes. No members give the 22-byte empty archive.
/// Throws ValueError when a name is refused (member_name_problem), repeated, or there are more
/// than kMaxMembers members, so the writer never makes what the Reader refuses.
std::string archive_bytes(const std::vector<Member>& members);

/// Writes archive_bytes(members) to `path` with recur::write_file_atomic (a temporary file
/// beside it, fsync, rename: atomic and durable). Throws what archive_bytes throws, and IoError
/// naming the path when it cannot be written.
void write_archive(const std::string& path, const std::vector<Member>& members);

}  // namespace recur::zip
