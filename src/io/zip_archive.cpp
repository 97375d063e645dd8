#include "recur/io/zip_archive.hpp"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur::zip {
namespace {

// ---- libzip handles, each owned once -------------------------------------------------------

struct ArchiveDiscard {
  void operator()(zip_t* za) const noexcept { zip_discard(za); }
};
struct FileClose {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
struct SourceFree {
  void operator()(zip_source_t* s) const noexcept { zip_source_free(s); }
};
using ArchivePtr = std::unique_ptr<zip_t, ArchiveDiscard>;
using FilePtr = std::unique_ptr<zip_file_t, FileClose>;
using SourcePtr = std::unique_ptr<zip_source_t, SourceFree>;

// A zip_error_t of our own (zip_error_strerror allocates into it; fini frees that).
class ZipError {
 public:
  ZipError() { zip_error_init(&e_); }
  ~ZipError() { zip_error_fini(&e_); }
  ZipError(const ZipError&) = delete;
  ZipError& operator=(const ZipError&) = delete;
  zip_error_t* get() { return &e_; }
  int code() { return zip_error_code_zip(&e_); }

 private:
  zip_error_t e_;
};

// libzip's text for an error (the "(libzip: ...)" appended to messages).
std::string reason(zip_error_t* e) {
  const char* s = zip_error_strerror(e);
  return s ? s : "unknown error";
}

// ---- message helpers -----------------------------------------------------------------------

// A member name as it can appear in a message: quoted, control and non-ASCII bytes as \xNN,
// at most 120 bytes shown (names come from hostile files).
std::string quoted(std::string_view name) {
  constexpr std::size_t kShown = 120;
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < name.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (name.size() > kShown) out += "...(" + std::to_string(name.size()) + " bytes)";
  return out + "'";
}

// "812 bytes", "5 MiB (5242880 bytes)".
std::string sized(std::uint64_t n) {
  const std::string exact = std::to_string(n) + " bytes";
  return n < 1024 ? exact : format_bytes(n) + " (" + exact + ")";
}

[[noreturn]] void refuse(const std::string& label, const std::string& what) {
  throw ModelFormatError(label + ": " + what);
}

[[noreturn]] void refuse_name(const std::string& label, const std::string& name, const std::string& problem) {
  refuse(label, "the zip archive has a member named " + quoted(name) + ": " + problem +
                    ". Such a name lets an extracting tool write outside its folder or readers disagree on the "
                    "member; a model archive never holds one.");
}

// ---- little-endian fields of the raw archive -----------------------------------------------

// True when [pos, pos + n) lies inside [0, end).
bool fits(std::uint64_t pos, std::uint64_t n, std::uint64_t end) { return pos <= end && n <= end - pos; }

std::uint64_t le(const std::string& b, std::uint64_t pos, int n) {  // caller checked fits()
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[pos + static_cast<std::uint64_t>(i)]);
  return v;
}

bool magic(const std::string& b, std::uint64_t pos, const char* sig) {
  return fits(pos, 4, b.size()) && std::memcmp(b.data() + pos, sig, 4) == 0;
}

constexpr const char* kLocalMagic = "PK\x03\x04";
constexpr const char* kCentralMagic = "PK\x01\x02";
constexpr const char* kEocdMagic = "PK\x05\x06";
constexpr const char* kEocd64LocatorMagic = "PK\x06\x07";
constexpr const char* kEocd64Magic = "PK\x06\x06";
constexpr std::uint64_t kEocdSize = 22, kEocd64LocatorSize = 20, kEocd64Size = 56, kCentralSize = 46;
// libzip looks for the end-of-central-directory record in the last 64 KiB + 42 bytes (the
// longest comment, the record and a Zip64 locator).
constexpr std::uint64_t kEocdSearch = 65535 + kEocdSize + kEocd64LocatorSize;

// The Zip64 end-of-central-directory record an EOCD at `eocd` points to through the locator
// just before it, or npos when there is none.
constexpr std::uint64_t kNone = ~std::uint64_t{0};
std::uint64_t eocd64_of(const std::string& b, std::uint64_t eocd) {
  if (eocd < kEocd64LocatorSize || !magic(b, eocd - kEocd64LocatorSize, kEocd64LocatorMagic)) return kNone;
  const std::uint64_t at = le(b, eocd - kEocd64LocatorSize + 8, 8);
  if (!fits(at, kEocd64Size, b.size()) || !magic(b, at, kEocd64Magic)) return kNone;
  return at;
}

// Before libzip sees the bytes: libzip sizes its entry table by the member count an EOCD
// record declares, and a Zip64 record can declare 2^64. Refuse any candidate record in the
// search window (libzip tries each) declaring more than kMaxMembers through Zip64. A 16-bit
// count costs libzip at most 65535 small entries and is checked after opening.
void refuse_huge_zip64_counts(const std::string& b, const std::string& label) {
  if (b.size() < kEocdSize) return;
  const std::uint64_t first = b.size() > kEocdSearch ? b.size() - kEocdSearch : 0;
  for (std::uint64_t pos = b.size() - kEocdSize + 1; pos-- > first;) {
    if (!magic(b, pos, kEocdMagic)) continue;
    const std::uint64_t at = eocd64_of(b, pos);
    if (at == kNone) continue;
    const std::uint64_t count = std::max(le(b, at + 24, 8), le(b, at + 32, 8));
    if (count > kMaxMembers)
      refuse(label, "the zip archive declares " + std::to_string(count) + " members in its Zip64 end record, more than " +
                        std::to_string(kMaxMembers) + " (a model archive holds a few); the file is damaged or hostile.");
  }
}

// The member names of the central directory, read directly from the bytes (libzip turns NUL
// bytes of names into spaces, hiding them). The EOCD record is the one whose comment ends
// exactly at the end of the bytes (what libzip requires under ZIP_CHECKCONS). Returns false
// with `why` set when the directory cannot be walked.
bool raw_names(const std::string& b, std::vector<std::string>& names, std::string& why) {
  names.clear();
  if (b.size() < kEocdSize) return why = "shorter than an end-of-central-directory record", false;
  const std::uint64_t first = b.size() > kEocdSearch ? b.size() - kEocdSearch : 0;
  std::uint64_t eocd = kNone;
  for (std::uint64_t pos = b.size() - kEocdSize + 1; pos-- > first;) {
    if (!magic(b, pos, kEocdMagic) || le(b, pos + 20, 2) != b.size() - pos - kEocdSize) continue;
    if (eocd != kNone) return why = "it holds two end-of-central-directory records", false;
    eocd = pos;
  }
  if (eocd == kNone) return why = "no end-of-central-directory record ends the file", false;

  std::uint64_t count = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_offset = le(b, eocd + 16, 4);
  std::uint64_t cd_limit = eocd;  // the central directory ends before the end records
  if (const std::uint64_t at = eocd64_of(b, eocd); at != kNone) {
    count = le(b, at + 32, 8);
    cd_size = le(b, at + 40, 8);
    cd_offset = le(b, at + 48, 8);
    cd_limit = std::min(at, eocd - kEocd64LocatorSize);
  }
  if (count > kMaxMembers)
    return why = "it declares " + std::to_string(count) + " members, more than " + std::to_string(kMaxMembers), false;
  if (!fits(cd_offset, cd_size, cd_limit)) return why = "the central directory lies outside the file", false;
  const std::uint64_t cd_end = cd_offset + cd_size;
  std::uint64_t p = cd_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!fits(p, kCentralSize, cd_end) || !magic(b, p, kCentralMagic))
      return why = "central directory entry " + std::to_string(i) + " is missing or damaged", false;
    const std::uint64_t n = le(b, p + 28, 2), m = le(b, p + 30, 2), k = le(b, p + 32, 2);
    if (!fits(p + kCentralSize, n + m + k, cd_end))
      return why = "central directory entry " + std::to_string(i) + " runs past the directory", false;
    names.emplace_back(b.data() + p + kCentralSize, n);
    p += kCentralSize + n + m + k;
  }
  if (p != cd_end) return why = "the central directory holds more bytes than its entries", false;
  return true;
}

// The first name that appears twice, or nullptr.
const std::string* first_duplicate(const std::vector<std::string>& names) {
  std::unordered_set<std::string_view> seen;
  for (const std::string& n : names)
    if (!seen.insert(n).second) return &n;
  return nullptr;
}

const char* method_name(std::int32_t m) {
  switch (m) {
    case ZIP_CM_STORE: return "stored";
    case ZIP_CM_DEFLATE: return "DEFLATE";
    case ZIP_CM_DEFLATE64: return "Deflate64";
    case ZIP_CM_BZIP2: return "bzip2";
    case ZIP_CM_LZMA: return "LZMA";
    case ZIP_CM_XZ: return "XZ";
    case 93: return "Zstandard";
    case ZIP_CM_PPMD: return "PPMd";
    case ZIP_CM_IMPLODE: return "implode";
    case ZIP_CM_SHRINK: return "shrink";
    default: return "unknown";
  }
}

// 1980-01-01 00:00 local time: libzip turns a time_t into DOS fields with localtime(), so this
// is the instant whose DOS time and date are 0x0000 and 0x0021 in any time zone.
std::time_t dos_epoch() {
  std::tm t{};
  t.tm_year = 80;
  t.tm_mon = 0;
  t.tm_mday = 1;
  t.tm_isdst = -1;
  return std::mktime(&t);
}

}  // namespace

// ---- names ---------------------------------------------------------------------------------

bool is_zip(std::string_view head) {
  return head.size() >= 4 && (head.substr(0, 4) == std::string_view(kLocalMagic, 4) ||
                              head.substr(0, 4) == std::string_view(kEocdMagic, 4));
}

std::string member_name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.find('\0') != std::string_view::npos) return "the name holds a NUL byte";
  if (name.find('\\') != std::string_view::npos) return "the name holds a backslash";
  if (name.front() == '/') return "the name is an absolute path";
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
    return "the name starts with a drive letter";
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    if (name.substr(start, end - start) == "..") return "the name has a '..' component";
    start = end + 1;
  }
  return "";
}

// ---- Reader --------------------------------------------------------------------------------

struct Reader::Impl {
  // Declared first, destroyed last: libzip's buffer source reads these bytes until the archive
  // is discarded. Impl lives on the heap, so moving a Reader never moves them.
  std::string bytes;
  std::string label;
  ArchivePtr archive;
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint64_t> index;

  std::uint64_t locate(const std::string& name) const {
    const auto it = index.find(name);
    if (it != index.end()) return it->second;
    std::string listed;
    for (std::size_t i = 0; i < names.size() && i < 20; ++i) listed += (i ? ", " : "") + quoted(names[i]);
    if (names.size() > 20) listed += " (and " + std::to_string(names.size() - 20) + " more)";
    refuse(label, "the zip archive has no member " + quoted(name) + "; its " + std::to_string(names.size()) +
                      " members are: " + (names.empty() ? std::string("(none)") : listed) +
                      ". Member names are exact and case-sensitive.");
  }
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

Reader Reader::from_bytes(std::string bytes, const std::string& label) {
  auto impl = std::make_unique<Impl>();
  impl->bytes = std::move(bytes);
  impl->label = label;
  const std::string& b = impl->bytes;
  if (b.empty())
    refuse(label, "the file is empty (0 bytes); expected a zip archive (such as a Keras 3 .keras file, which "
                  "starts with \"PK\\x03\\x04\").");
  refuse_huge_zip64_counts(b, label);

  ZipError err;
  SourcePtr source(zip_source_buffer_create(b.data(), b.size(), 0, err.get()));
  if (!source) refuse(label, "cannot read the zip archive (libzip: " + reason(err.get()) + ").");
  // On success the archive owns the source; on failure it is still ours to free.
  impl->archive.reset(zip_open_from_source(source.get(), ZIP_RDONLY | ZIP_CHECKCONS, err.get()));
  if (!impl->archive) {
    const std::string why = " (libzip: " + reason(err.get()) + ")";
    switch (err.code()) {
      case ZIP_ER_NOZIP:
        refuse(label, std::string(is_zip(b) ? "a truncated zip archive" : "not a zip archive") +
                          ": its end-of-central-directory record was not found" + why +
                          ". If the file was downloaded or copied, it may have been cut short; fetch it again.");
      case ZIP_ER_EXISTS: {  // libzip refuses duplicate names under ZIP_CHECKCONS without naming them
        std::vector<std::string> names;
        std::string walk_error;
        const bool walked = raw_names(b, names, walk_error);
        for (const std::string& n : names)  // libzip's "a " and "a\0" collide: name the NUL first
          if (const std::string problem = member_name_problem(n); !problem.empty()) refuse_name(label, n, problem);
        const std::string* dup = walked ? first_duplicate(names) : nullptr;
        refuse(label, "the zip archive holds two members named " + (dup ? quoted(*dup) : std::string("alike")) +
                          why + "; a reader could take either. Rebuild the archive with unique names.");
      }
      case ZIP_ER_INCONS:
        refuse(label, "a damaged zip archive: its central directory, member headers or end record disagree" + why +
                          ". The file is truncated, corrupted or has bytes appended; fetch it again.");
      case ZIP_ER_MULTIDISK:
        refuse(label, "a multi-disk (split) zip archive, which is not supported" + why + "; join the parts first.");
      default:
        refuse(label, "cannot open the zip archive" + why + ".");
    }
  }
  (void)source.release();
  zip_t* za = impl->archive.get();

  const zip_int64_t count = zip_get_num_entries(za, 0);
  if (count < 0 || static_cast<std::uint64_t>(count) > kMaxMembers)
    refuse(label, "the zip archive holds " + std::to_string(count) + " members, more than " +
                      std::to_string(kMaxMembers) + " (a model archive holds a few); the file is damaged or hostile.");

  // The names as stored, checked against libzip's view of the same directory.
  std::string walk_error;
  if (!raw_names(b, impl->names, walk_error))
    refuse(label, "a damaged zip archive: " + walk_error + ", although libzip opened it; refusing an archive "
                  "that readers could read differently.");
  if (impl->names.size() != static_cast<std::uint64_t>(count))
    refuse(label, "a damaged zip archive: its central directory lists " + std::to_string(impl->names.size()) +
                      " members but libzip found " + std::to_string(count) + ".");
  for (std::uint64_t i = 0; i < impl->names.size(); ++i) {
    const std::string& raw = impl->names[i];
    if (const std::string problem = member_name_problem(raw); !problem.empty()) refuse_name(label, raw, problem);
    std::string seen = raw;  // libzip's copy has NUL bytes as spaces (none are left here)
    const char* libzip_name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    if (libzip_name == nullptr || seen != libzip_name)
      refuse(label, "a damaged zip archive: member " + std::to_string(i) + " is named " + quoted(raw) +
                        " in the central directory but " + quoted(libzip_name ? libzip_name : "") + " by libzip.");
    if (!impl->index.emplace(raw, i).second)
      refuse(label, "the zip archive holds two members named " + quoted(raw) +
                        "; a reader could take either. Rebuild the archive with unique names.");
  }
  return Reader(std::move(impl));
}

Reader Reader::open(const std::string& path, const std::string& what) {
  return from_bytes(read_file_bounded(path, kMaxArchiveBytes, what, /*allow_fifo=*/false,
                                      "Archives over 4 GiB are not supported."),
                    path);
}

const std::string& Reader::label() const { return impl_->label; }
const std::vector<std::string>& Reader::names() const { return impl_->names; }
bool Reader::has(const std::string& name) const { return impl_->index.count(name) != 0; }

std::uint64_t Reader::declared_size(const std::string& name) const {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(impl_->archive.get(), impl_->locate(name), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    refuse(impl_->label, "cannot read the header of member " + quoted(name) + " of the zip archive.");
  return st.size;
}

std::string Reader::read(const std::string& name, std::uint64_t max_bytes) const {
  const std::string& label = impl_->label;
  zip_t* za = impl_->archive.get();
  const std::uint64_t idx = impl_->locate(name);
  const std::string member = "member " + quoted(name) + " of the zip archive";

  zip_stat_t st;
  zip_stat_init(&st);
  constexpr zip_uint64_t kNeeded = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  if (zip_stat_index(za, idx, 0, &st) != 0 || (st.valid & kNeeded) != kNeeded)
    refuse(label, "cannot read the header of " + member + ".");
  if (st.encryption_method != ZIP_EM_NONE)
    refuse(label, member + " is encrypted (method " + std::to_string(st.encryption_method) +
                      "); model archives are never encrypted. Extract it with its password and re-zip it unencrypted.");
  const std::int32_t method = st.comp_method;
  if (method != ZIP_CM_STORE && method != ZIP_CM_DEFLATE && !zip_compression_method_supported(method, 0))
    refuse(label, member + " uses compression method " + std::to_string(method) + " (" + method_name(method) +
                      "), which cannot be decompressed here; re-zip it stored or with DEFLATE (zip -0 or zip -6).");
  if (st.size > max_bytes)
    refuse(label, member + " declares " + sized(st.size) + ", more than the limit of " + sized(max_bytes) +
                      " set for it; the file is damaged, hostile, or not the model it should be.");
  if (st.comp_size > impl_->bytes.size())
    refuse(label, member + " declares " + std::to_string(st.comp_size) + " compressed bytes, more than the " +
                      std::to_string(impl_->bytes.size()) + " bytes of the whole archive; it is damaged.");
  if (method == ZIP_CM_STORE && st.comp_size != st.size)
    refuse(label, member + " is stored (uncompressed) but declares " + std::to_string(st.size) + " bytes and " +
                      std::to_string(st.comp_size) + " stored bytes; it is damaged.");
  if (method != ZIP_CM_STORE && st.size > 0 &&
      (st.comp_size == 0 || (st.comp_size <= ~std::uint64_t{0} / kMaxCompressionRatio &&
                             st.size > st.comp_size * kMaxCompressionRatio)))
    refuse(label, member + " would expand from " + std::to_string(st.comp_size) + " to " + std::to_string(st.size) +
                      " bytes, more than " + std::to_string(kMaxCompressionRatio) +
                      " times: a zip bomb. It was not decompressed.");

  FilePtr file(zip_fopen_index(za, idx, 0));
  if (!file) {
    const std::string why = reason(zip_get_error(za));
    zip_error_clear(za);
    refuse(label, "cannot open " + member + " (libzip: " + why + "); the archive is damaged.");
  }
  // At most size + 1 bytes, read to the end so that libzip checks the CRC-32 (it does so when
  // the member's data is exhausted). Memory follows the bytes actually produced (at most
  // max_bytes + 1), not the declared size: a compressed member may declare up to 1000 times
  // its data and still deliver less.
  constexpr std::uint64_t kChunk = 1 << 20;
  std::string out;
  out.reserve(static_cast<std::size_t>(std::min(st.size, st.comp_size + kChunk)));
  for (;;) {
    const std::uint64_t want = std::min<std::uint64_t>(kChunk, st.size + 1 - out.size());
    const std::size_t old = out.size();
    out.resize(old + static_cast<std::size_t>(want));
    const zip_int64_t n = zip_fread(file.get(), out.data() + old, want);
    if (n < 0) {
      zip_error_t* e = zip_file_get_error(file.get());
      const int code = zip_error_code_zip(e);
      const std::string why = " (libzip: " + reason(e) + ")";
      if (code == ZIP_ER_CRC)
        refuse(label, member + " fails its CRC-32 check" + why + ": its bytes are corrupted. Fetch the file again.");
      if (code == ZIP_ER_COMPRESSED_DATA || code == ZIP_ER_ZLIB)
        refuse(label, member + " holds invalid compressed data" + why + "; the archive is corrupted.");
      refuse(label, "cannot read " + member + why + "; the archive is damaged.");
    }
    out.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
    if (out.size() > st.size)
      refuse(label, member + " holds more bytes than the " + std::to_string(st.size) +
                        " it declares; the archive is damaged or hostile.");
  }
  if (out.size() != st.size)
    refuse(label, member + " holds " + std::to_string(out.size()) + " bytes but declares " + std::to_string(st.size) +
                      "; the archive is truncated or damaged.");
  return out;
}

// ---- writing -------------------------------------------------------------------------------

std::string archive_bytes(const std::vector<Member>& members) {
  if (members.size() > kMaxMembers)
    throw ValueError("zip archive: " + std::to_string(members.size()) + " members, more than the " +
                     std::to_string(kMaxMembers) + " a zip archive may hold here.");
  std::unordered_set<std::string_view> seen;
  for (const auto& [name, data] : members) {
    if (const std::string problem = member_name_problem(name); !problem.empty())
      throw ValueError("zip archive: cannot write a member named " + quoted(name) + ": " + problem +
                       ". Member names are relative paths with '/' separators and no '..'.");
    if (!seen.insert(name).second)
      throw ValueError("zip archive: two members are named " + quoted(name) + "; member names must be unique.");
  }
  // libzip writes nothing at all for an archive without members; the empty archive is its end
  // record alone.
  if (members.empty()) return std::string(kEocdMagic, 4) + std::string(kEocdSize - 4, '\0');

  const auto fail = [](const std::string& what, zip_error_t* e) {
    throw IoError("zip archive: cannot " + what + " (libzip: " + reason(e) + ").");
  };
  ZipError err;
  SourcePtr out(zip_source_buffer_create(nullptr, 0, 0, err.get()));
  if (!out) fail("create an in-memory archive", err.get());
  ArchivePtr za(zip_open_from_source(out.get(), ZIP_CREATE | ZIP_TRUNCATE, err.get()));
  if (!za) fail("create an in-memory archive", err.get());
  zip_source_keep(out.get());  // the archive drops its reference when closed; `out` keeps the bytes

  const std::time_t mtime = dos_epoch();
  for (const auto& [name, data] : members) {
    // The member's bytes are read at zip_close, while `members` is still alive.
    SourcePtr src(zip_source_buffer(za.get(), data.data(), data.size(), 0));
    if (!src) fail("add member " + quoted(name), zip_get_error(za.get()));
    const zip_int64_t idx = zip_file_add(za.get(), name.c_str(), src.get(), ZIP_FL_ENC_GUESS);
    if (idx < 0) fail("add member " + quoted(name), zip_get_error(za.get()));
    (void)src.release();  // the archive owns it now
    const auto i = static_cast<zip_uint64_t>(idx);
    if (zip_set_file_compression(za.get(), i, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za.get(), i, mtime, 0) != 0 ||
        zip_file_set_external_attributes(za.get(), i, 0, ZIP_OPSYS_UNIX, 0100644u << 16) != 0)
      fail("set the attributes of member " + quoted(name), zip_get_error(za.get()));
  }
  if (zip_close(za.get()) != 0) fail("write the archive", zip_get_error(za.get()));
  (void)za.release();  // zip_close freed it

  if (zip_source_open(out.get()) != 0) fail("read the archive back", zip_source_error(out.get()));
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const zip_int64_t n = zip_source_read(out.get(), buf, sizeof buf);
    if (n < 0) {
      zip_source_close(out.get());
      fail("read the archive back", zip_source_error(out.get()));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  zip_source_close(out.get());
  return bytes;
}

void write_archive(const std::string& path, const std::vector<Member>& members) {
  write_file_atomic(path, archive_bytes(members));
}

}  // namespace recur::zip
