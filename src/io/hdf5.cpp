#include "recur/io/hdf5.hpp"

// What this wrapper does not take from libhdf5, and why:
//
// - Chunked datasets are not read with H5Dread. libhdf5 1.10's deflate filter inflates into a
//   buffer that it doubles without limit (a few KB of deflate stream can claim gigabytes), its
//   fletcher32 filter trusts the chunk's size, and its shuffle filter divides by an element size
//   read from the file. Each chunk is therefore read raw (H5Dread_chunk) and decoded here, its
//   output bounded to the chunk's declared size. Predefined filters cannot be replaced
//   (H5Zregister refuses "predefined filters"), hence the raw read.
// - zlib's inflate is called through symbols looked up at run time: libhdf5 itself links zlib,
//   so libz.so.1 is always loaded with it, but the hdf5::hdf5 CMake target does not put zlib on
//   the link line. (Linking ZLIB::ZLIB would allow direct calls; ZlibApi is the one place.)
// - Variable-length strings: libhdf5 allocates each one from the length stored in the
//   attribute, times its character size, before reading it; it loops forever on a global heap
//   collection with a free-space entry of size 0 and copies a heap object into that allocation
//   without comparing sizes. The stored elements are read first, raw, through a no-op
//   conversion to a tagged opaque type (raw_vlen_conversion); lengths are bounded, characters
//   must be bytes, and every heap collection they point to is walked here first
//   (check_heap_references).
// - Files are opened in memory with our own file image callbacks (H5LTopen_file_image leaks
//   on every open, or copies the image), under a name that cannot exist on disk (the core
//   driver probes the name in the file system).
// - Values are converted to float32 here, not by libhdf5's conversions (which clamp some
//   out-of-range values silently), with defined results for every bit pattern.
// - Object headers are walked here, in the image, before libhdf5 reads them
//   (check_object_header: the root's before H5Fopen, every other one before H5Oopen).
//   libhdf5 1.10.8 decodes attribute, link, layout, fill value and filter messages by the sizes
//   stored in them; fuzzing this wrapper (fuzz/fuzz_hdf5.cpp) found heap-buffer-overflow reads
//   in its attribute decoding (H5O_attr_decode, from H5Aiterate, H5Aexists and H5Aopen: strdup
//   of a name without its NUL, memcpy of a value larger than what is left of the message). A
//   header whose chunks, messages or those inner sizes do not fit is refused. Attributes in
//   dense storage (a fractal heap) and shared messages (named datatypes) are not walked, and
//   refused; Keras and h5py's defaults write neither.
//
// - A group's symbol table message (the oldest format's groups) is checked in the same walk:
//   its B-tree and local heap must be defined, in the file and signed, the heap's data segment
//   in the file (libhdf5 follows an undefined heap address into a null-pointer read; fuzz_hdf5),
//   and the group's whole B-tree is walked: every node and symbol table node signed, in the file,
//   of the right level and within its K, reached once, every name a string inside the heap
//   (libhdf5 follows an undefined child address the same way; a crafted file). Dataspace and
//   storage layout classes must be ones the enumerations hold (libhdf5 keeps any byte, which
//   recur would load as an out-of-range enumerator; fuzz_hdf5 under UBSan).
//
// What is still libhdf5's own, and so trusted: the superblock, local heaps' free lists, fractal
// heaps (a group's links in dense storage), the chunk index, B-trees other than groups', and
// within a message the fields whose sizes are fixed. fuzz_hdf5 finds no memory error there after the walk above
// (fuzz/README.md lists what it found and ran), but libhdf5 is not built with the sanitizers,
// its code is not what the fuzzer's coverage guides, and it also allocates buffers sized by the
// file before checking them (malloc returns NULL for the absurd ones, and libhdf5 refuses the
// file). A file from an untrusted source is still best opened in a process that can afford to
// crash (the CLI), not in a long-lived service.
#include <dlfcn.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur::hdf5 {
namespace {

constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
// Tag of the opaque type that raw_vlen_conversion converts variable-length strings to.
constexpr const char* kRawVlenTag = "recur.hdf5.raw-vlen";

// ---------------------------------------------------------------------------------------------
// The library lock, initialization and handles.

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex m;
  return m;
}

// Set by an atexit handler that runs before libhdf5's own (H5close): a handle released after it
// (a static File) is left to the process's end instead of calling into a closed library.
std::atomic<bool> g_exiting{false};

// A no-op conversion from a variable-length string (as stored: a 4-byte length, a global heap
// address, a 4-byte index) to an opaque type of the same size tagged kRawVlenTag: reading an
// attribute with that type gives the stored lengths without libhdf5 allocating the strings.
herr_t raw_vlen_conversion(hid_t src, hid_t dst, H5T_cdata_t* cdata, size_t /*nelmts*/, size_t buf_stride,
                           size_t /*bkg_stride*/, void* /*buf*/, void* /*bkg*/, hid_t /*dxpl*/) {
  switch (cdata->command) {
    case H5T_CONV_INIT: {
      cdata->need_bkg = H5T_BKG_NO;
      if (H5Tis_variable_str(src) <= 0 || H5Tget_class(dst) != H5T_OPAQUE) return -1;
      char* tag = H5Tget_tag(dst);
      const bool ours = tag != nullptr && std::strcmp(tag, kRawVlenTag) == 0;
      if (tag != nullptr) H5free_memory(tag);
      return ours && H5Tget_size(src) == H5Tget_size(dst) ? 0 : -1;
    }
    case H5T_CONV_CONV:
      return buf_stride == 0 ? 0 : -1;  // in place, packed: the stored bytes stay as they are
    case H5T_CONV_FREE:
      return 0;
  }
  return -1;
}

// Holds the library lock; the first one initializes libhdf5 with error printing off.
class Lock {
 public:
  Lock() : guard_(library_mutex()) {
    static bool initialized = false;
    if (initialized) return;
    if (H5open() < 0) throw ModelFormatError("libhdf5 could not be initialized.");
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t vlen = H5Tcopy(H5T_C_S1);
    const hid_t opaque = H5Tcreate(H5T_OPAQUE, 1);
    const bool ok = vlen >= 0 && opaque >= 0 && H5Tset_size(vlen, H5T_VARIABLE) >= 0 &&
                    H5Tregister(H5T_PERS_SOFT, "recur raw vlen", vlen, opaque, raw_vlen_conversion) >= 0;
    if (vlen >= 0) H5Tclose(vlen);
    if (opaque >= 0) H5Tclose(opaque);
    if (!ok) throw ModelFormatError("libhdf5 could not be initialized (type conversion registry).");
    std::atexit(+[] { g_exiting = true; });
    initialized = true;
  }

 private:
  std::lock_guard<std::recursive_mutex> guard_;
};

// Owns one HDF5 identifier (file, group, dataset, attribute, type, space, property list).
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  ~Hid() { reset(); }
  Hid(Hid&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  hid_t get() const noexcept { return id_; }
  void reset() noexcept {
    if (id_ >= 0 && !g_exiting) {
      std::lock_guard<std::recursive_mutex> lock(library_mutex());
      H5Idec_ref(id_);
    }
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// ---------------------------------------------------------------------------------------------
// Messages.

// `s` quoted for a message: non-printable bytes as \xNN, cut after `max` bytes.
std::string printable(std::string_view s, std::size_t max = 200) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string quoted(std::string_view s) {
  std::string out(1, '\'');
  out += printable(s);
  out += '\'';
  return out;
}

// The innermost description on libhdf5's error stack (where the error was detected), then
// clears the stack. Empty when libhdf5 recorded none.
std::string hdf5_reason() {
  std::string reason;
  auto walk = [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
    if (n == 0 && e != nullptr && e->desc != nullptr) *static_cast<std::string*>(data) = e->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &reason);
  H5Eclear2(H5E_DEFAULT);
  return printable(reason, 300);
}

std::string dims_str(const std::vector<std::uint64_t>& dims) {
  if (dims.empty()) return "() (a scalar)";
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared state.

namespace detail {

// The bytes of an opened file, as the udata of the file image callbacks (open_image()).
struct ImageView {
  void* data = nullptr;
  std::size_t size = 0;
};

// The nodes, entries and symbols that the walks of one file's group B-trees may read in all
// (check_object_header(), group_btree()): nodes may overlap in the image and subtrees be shared
// between groups, so without a budget a small file could make the walks take quadratic time.
constexpr std::uint64_t kGroupTreeBudget = std::uint64_t{1} << 22;

struct FileState {
  std::string image;    // the bytes libhdf5 reads in place: must outlive `file`
  ImageView view;       // {image.data(), image.size()}, handed to libhdf5's callbacks
  Hid file;             // declared after `image` and `view`, so closed first
  std::string label;    // File::label()
  std::string context;  // how messages name the file: "Keras model file 'm.h5'"
  bool writable = false;
  // From the superblock of an opened image (read_superblock()): the byte sizes of addresses
  // and lengths, used to check global heap references before libhdf5 follows them.
  unsigned sizeof_offsets = 8;
  unsigned sizeof_lengths = 8;
  // Also from the superblock: the object headers libhdf5 reads when it opens the file.
  std::uint64_t root_address = 0;
  std::uint64_t extension_address = ~std::uint64_t{0};  // the superblock extension (none: all ones)
  // The object headers check_object_header() has walked, by address: true when the object
  // keeps its attributes in dense storage (a fractal heap), which recur does not read.
  mutable std::map<std::uint64_t, bool> checked_headers;
  // The K values of the group B-trees (superblock versions 0 and 1; else the superblock
  // extension's B-tree 'K' values message, read when its header is checked; else the
  // defaults), and what the walks of those B-trees may still read (check_object_header()).
  mutable unsigned group_leaf_k = 4;
  mutable unsigned group_internal_k = 16;
  mutable std::uint64_t group_tree_budget = kGroupTreeBudget;

  ~FileState() {
    if (g_exiting || file.get() < 0) return;
    std::lock_guard<std::recursive_mutex> lock(library_mutex());
    // Every Group holds this state, so nothing of this file should be open here; but a file
    // that libhdf5 keeps open past H5Fclose (weak close) would read `image` after it is freed,
    // so whatever is still open is closed first.
    const unsigned kinds = H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL;
    const ssize_t n = H5Fget_obj_count(file.get(), kinds);
    if (n > 0) {
      std::vector<hid_t> ids(static_cast<std::size_t>(n));
      const ssize_t got = H5Fget_obj_ids(file.get(), kinds, ids.size(), ids.data());
      for (ssize_t i = 0; i < got; ++i)
        while (H5Iget_ref(ids[static_cast<std::size_t>(i)]) > 0 && H5Idec_ref(ids[static_cast<std::size_t>(i)]) > 0) {
        }
    }
    file.reset();
  }
};

// An open group; keeps the file's state alive for as long as it is open.
struct Object {
  std::shared_ptr<FileState> file;
  Hid id;  // declared after `file`, so closed before the file is released
  bool dense_attributes = false;  // from check_object_header(): attribute calls refuse it
};

}  // namespace detail

namespace {

using detail::FileState;
using detail::Object;

[[noreturn]] void fail(const FileState& f, std::string_view object, const std::string& what) {
  throw ModelFormatError(f.context + ", object " + quoted(object) + ": " + what);
}

// As fail(), with libhdf5's reason appended.
[[noreturn]] void fail_hdf5(const FileState& f, std::string_view object, const std::string& what) {
  const std::string reason = hdf5_reason();
  std::string message = what;
  if (!message.empty() && message.back() == '.') message.pop_back();
  fail(f, object, message + (reason.empty() ? "" : " (libhdf5: " + reason + ")") + ".");
}

template <typename T>
T check(T r, const FileState& f, std::string_view object, const std::string& what) {
  if (r < 0) fail_hdf5(f, object, what);
  return r;
}

Hid check_id(hid_t id, const FileState& f, std::string_view object, const std::string& what) {
  if (id < 0) fail_hdf5(f, object, what);
  return Hid(id);
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

// ---------------------------------------------------------------------------------------------
// Object headers, walked here before libhdf5 reads them (see the top of this file).
//
// libhdf5 1.10.8 checks that each message of an object header lies inside its chunk, but it
// decodes several kinds of message trusting the sizes they hold: an attribute's name (strdup to
// a NUL) and value (memcpy of elements x element size), compound and enum member names, link
// names and soft-link values, filter names, fill values and a compact dataset's data are read
// from the chunk's buffer by those sizes, past its end on a crafted file (fuzz/fuzz_hdf5.cpp
// finds these as heap-buffer-overflow reads). Each object header is therefore walked here in the
// image before libhdf5 loads it: its chunks, its messages, and inside those messages every
// size that libhdf5 reads by; a header where one of them does not fit is refused. The layouts
// are the file format specification's ("Data Object Headers"), as libhdf5 1.10 decodes them
// (H5Ocache.c and the H5O*.c message decoders).

namespace header {

// Message types (the specification's "Header Message Type #").
constexpr unsigned kDataspace = 0x01, kLinkInfo = 0x02, kDatatype = 0x03, kFillOld = 0x04, kFill = 0x05,
                   kLink = 0x06, kExternalFiles = 0x07, kLayout = 0x08, kGroupInfo = 0x0a, kFilters = 0x0b,
                   kAttribute = 0x0c, kContinuation = 0x10, kSymbolTable = 0x11, kBtreeK = 0x13,
                   kAttributeInfo = 0x15, kRefCount = 0x16;
constexpr unsigned kMessageShared = 0x02;   // message flag: the message is stored elsewhere
constexpr int kMaxTypeDepth = 16;           // nesting of compound, array, enum and vlen types
constexpr std::size_t kMaxChunks = 1024;    // chunks of one object header

// The K values of a file's group B-trees (the superblock's in versions 0 and 1, else the
// superblock extension's B-tree 'K' values message, else the specification's defaults): a
// B-tree node holds at most 2 internal entries, a symbol table node at most 2 leaf symbols.
struct GroupNodeK {
  unsigned leaf = 4;
  unsigned internal = 16;
};

// A little-endian reader over [pos, end) of the image. A read past `end` marks it bad (and
// reads zeros), so a parse checks ok() once after a group of reads.
class Cursor {
 public:
  Cursor(const unsigned char* image, std::uint64_t pos, std::uint64_t end) : image_(image), pos_(pos), end_(end) {}
  bool ok() const { return ok_; }
  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return ok_ ? end_ - pos_ : 0; }
  void fail() { ok_ = false; }
  std::uint64_t get(std::size_t n) {
    if (!ok_ || n > end_ - pos_) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | image_[pos_ + i];
    pos_ += n;
    return v;
  }
  void skip(std::uint64_t n) {
    if (!ok_ || n > end_ - pos_) ok_ = false;
    else pos_ += n;
  }
  // The length of the NUL-terminated string here, NUL excluded; bad when no NUL comes before
  // the end (libhdf5 runs strlen or strdup over it).
  std::uint64_t string_length() {
    if (!ok_) return 0;
    const void* nul = std::memchr(image_ + pos_, 0, static_cast<std::size_t>(end_ - pos_));
    if (nul == nullptr) {
      ok_ = false;
      return 0;
    }
    return static_cast<std::uint64_t>(static_cast<const unsigned char*>(nul) - (image_ + pos_));
  }
  // A sub-reader over the next n bytes (bad when they are not all here); this one skips them.
  Cursor take(std::uint64_t n) {
    Cursor sub(image_, pos_, pos_);
    if (!ok_ || n > end_ - pos_) {
      ok_ = false;
      sub.ok_ = false;
      return sub;
    }
    sub.end_ = pos_ + n;
    pos_ += n;
    return sub;
  }

 private:
  const unsigned char* image_;
  std::uint64_t pos_, end_;
  bool ok_ = true;
};

std::uint64_t align8(std::uint64_t n) { return n > ~std::uint64_t{0} - 7 ? ~std::uint64_t{0} : (n + 7) & ~std::uint64_t{7}; }

// A member name of a compound or enum type: NUL-terminated, padded to 8 bytes before version 3.
void member_name(Cursor& c, unsigned version) {
  const std::uint64_t n = c.string_length();
  c.skip(version >= 3 ? n + 1 : align8(n + 1));
}

// Walks a datatype (H5O_dtype_decode_helper); returns its element size.
std::uint64_t datatype(Cursor& c, int depth) {
  if (depth > kMaxTypeDepth) {
    c.fail();
    return 0;
  }
  const unsigned head = static_cast<unsigned>(c.get(1));
  const unsigned cls = head & 0x0f, version = head >> 4;
  const std::uint64_t bits = c.get(3);
  const std::uint64_t size = c.get(4);
  if (version < 1 || version > 3) c.fail();
  switch (cls) {
    case 0: case 4: c.skip(4); break;  // integer, bitfield: bit offset and precision
    case 1: c.skip(12); break;         // float: offset, precision, exponent and mantissa fields, bias
    case 2: c.skip(2); break;          // time: precision
    case 3: case 7: break;             // string, reference
    case 5: c.skip(bits & 0xff); break;  // opaque: its tag, padded
    case 6: {  // compound: name, offset, [version 1: dimensions], type, per member
      // Version 3 stores each offset in as few bytes as the compound's size needs.
      std::size_t offset_bytes = 1;
      for (std::uint64_t s = size >> 8; s != 0; s >>= 8) ++offset_bytes;
      for (std::uint64_t i = 0, n = bits & 0xffff; i < n && c.ok(); ++i) {
        member_name(c, version);
        c.skip(version >= 3 ? offset_bytes : 4);
        if (version == 1) c.skip(28);
        datatype(c, depth + 1);
      }
      break;
    }
    case 8: {  // enum: base type, names, values
      const std::uint64_t base = datatype(c, depth + 1);
      const std::uint64_t n = bits & 0xffff;
      for (std::uint64_t i = 0; i < n && c.ok(); ++i) member_name(c, version);
      std::uint64_t values = 0;
      if (mul_overflows(n, base, &values)) c.fail();
      c.skip(values);
      break;
    }
    case 9: datatype(c, depth + 1); break;  // variable-length: base type
    case 10: {  // array: rank, [reserved], extents, [permutation], base type
      const std::uint64_t rank = c.get(1);
      if (version < 2 || rank > H5S_MAX_RANK) c.fail();
      if (version == 2) c.skip(3);
      c.skip(4 * rank);
      if (version == 2) c.skip(4 * rank);
      datatype(c, depth + 1);
      break;
    }
    default: c.fail();
  }
  return size;
}

// Walks a dataspace (H5O_sdspace_decode); returns its element count (0 for a null space),
// all ones when the extents' product overflows (the dataset readers refuse that themselves).
std::uint64_t dataspace(Cursor& c, unsigned sizeof_lengths) {
  const std::uint64_t version = c.get(1), rank = c.get(1), flags = c.get(1);
  std::uint64_t kind = 1;  // version 1 has no class: scalar or simple
  if (version == 1) c.skip(5);
  else kind = c.get(1);
  // libhdf5 keeps any class byte, which recur would then load as an H5S_class_t out of its range
  // (undefined behaviour; fuzz_hdf5, UBSan): 0 scalar, 1 simple, 2 null only.
  if (version < 1 || version > 2 || rank > H5S_MAX_RANK || kind > 2) c.fail();
  std::uint64_t count = 1;
  for (std::uint64_t i = 0; i < rank && c.ok(); ++i)
    if (mul_overflows(count, c.get(sizeof_lengths), &count)) count = ~std::uint64_t{0};
  if (flags & 1) c.skip(rank * sizeof_lengths);  // maximum extents
  return kind == 2 ? 0 : count;
}

// A filter pipeline (H5O_pline_decode): id, [name length], flags, values, [name], values.
void filters(Cursor& c) {
  const std::uint64_t version = c.get(1), n = c.get(1);
  if (version < 1 || version > 2 || n > 32) c.fail();
  if (version == 1) c.skip(6);
  for (std::uint64_t i = 0; i < n && c.ok(); ++i) {
    const std::uint64_t id = c.get(2);
    const std::uint64_t name_length = version == 1 || id >= 256 ? c.get(2) : 0;
    c.skip(2);  // flags
    const std::uint64_t values = c.get(2);
    if (name_length > 0) {
      Cursor name = c.take(name_length);
      name.string_length();  // libhdf5 takes the name with strlen
      if (!name.ok()) c.fail();
    }
    c.skip(4 * values + (version == 1 && values % 2 ? 4 : 0));
  }
}

// A link (H5O__link_decode): flags, [type], [creation order], [character set], name, target.
void link(Cursor& c, unsigned sizeof_offsets) {
  const std::uint64_t version = c.get(1), flags = c.get(1);
  if (version != 1 || (flags & ~std::uint64_t{0x1f})) c.fail();
  const std::uint64_t type = flags & 0x08 ? c.get(1) : 0;
  if (flags & 0x04) c.skip(8);
  if (flags & 0x10) c.skip(1);
  const std::uint64_t name_length = c.get(std::size_t{1} << (flags & 3));
  if (name_length == 0) c.fail();
  c.skip(name_length);
  if (type == 0) c.skip(sizeof_offsets);  // a hard link: the object's address
  else c.skip(c.get(2));                   // soft, external, user-defined: a length and its bytes
}

// A fill value, old (type 4: size, value) or new (H5O_fill_new_decode).
void fill_value(Cursor& c, unsigned type) {
  bool has_value = true;
  if (type == kFill) {
    const std::uint64_t version = c.get(1);
    if (version < 1 || version > 3) c.fail();
    if (version < 3) {
      c.skip(2);  // allocation time, fill time
      has_value = c.get(1) != 0;
    } else {
      const std::uint64_t flags = c.get(1);
      has_value = (flags & 0x10) == 0 && (flags & 0x20) != 0;
    }
  }
  if (!has_value) return;
  // The old message's size is unsigned, the new one's signed (negative: no value).
  const std::uint64_t size = c.get(4);
  if (type == kFillOld || size < 0x80000000u) c.skip(size);
}

// A layout (H5O__layout_decode): compact (its data, by a stored size), contiguous, chunked
// (version 4: with one of five chunk indexes) or virtual.
void layout(Cursor& c, unsigned sizeof_offsets, unsigned sizeof_lengths) {
  const std::uint64_t version = c.get(1);
  if (version < 1 || version > 4) c.fail();
  // The layout class, as the dataspace's: 0 compact, 1 contiguous, 2 chunked (and, from version
  // 3, 3 virtual), else refused before H5Pget_layout could return it out of H5D_layout_t's range.
  if (version < 3) {
    const std::uint64_t rank = c.get(1), cls = c.get(1);
    if (cls > 2) c.fail();
    c.skip(5);
    if (cls == 1 || cls == 2) c.skip(sizeof_offsets);
    c.skip(4 * rank);
    if (cls == 0) c.skip(c.get(4));  // compact: size and data
    return;
  }
  const std::uint64_t cls = c.get(1);
  if (cls == 0) {
    c.skip(c.get(2));  // compact: size and data
  } else if (cls == 1) {
    c.skip(sizeof_offsets + sizeof_lengths);
  } else if (cls == 2 && version == 3) {
    c.skip(4 * c.get(1) + sizeof_offsets);
  } else if (cls == 2) {
    const std::uint64_t flags = c.get(1), rank = c.get(1), bytes = c.get(1);
    c.skip(rank * bytes);
    switch (c.get(1)) {  // chunk index: single chunk, implicit, fixed array, extensible array, B-tree
      case 1: c.skip(flags & 2 ? sizeof_lengths + 4 : 0); break;
      case 2: break;
      case 3: c.skip(1); break;
      case 4: c.skip(5); break;
      case 5: c.skip(6); break;
      default: c.fail();
    }
    c.skip(sizeof_offsets);
  } else if (cls == 3) {
    c.skip(sizeof_offsets + 4);  // virtual: global heap address and index
  } else {
    c.fail();
  }
}

// An attribute (H5O_attr_decode): sizes of its name, datatype and dataspace, the three of them
// (each padded to 8 bytes in version 1), then the value, of elements x element size bytes.
// Returns "" or what is wrong; sets *shared for a named (shared) datatype or dataspace, which
// libhdf5 reads from elsewhere in the file and this walk does not follow.
std::string attribute(Cursor& c, unsigned sizeof_lengths, bool* shared) {
  const std::uint64_t version = c.get(1), flags = c.get(1);
  const std::uint64_t name_size = c.get(2), type_size = c.get(2), space_size = c.get(2);
  if (version == 3) c.skip(1);  // character set of the name
  if (!c.ok() || version < 1 || version > 3) return "an attribute message of unknown version";
  *shared = version >= 2 && (flags & 3) != 0;
  if (*shared) return "";
  const auto padded = [&](std::uint64_t n) { return version == 1 ? align8(n) : n; };
  Cursor name = c.take(name_size);
  if (name_size == 0 || name.string_length() != name_size - 1 || !name.ok())
    return "an attribute whose name does not fill its " + std::to_string(name_size) + "-byte field";
  c.skip(padded(name_size) - name_size);
  Cursor type = c.take(type_size);
  const std::uint64_t element = datatype(type, 0);
  c.skip(padded(type_size) - type_size);
  Cursor space = c.take(space_size);
  const std::uint64_t count = dataspace(space, sizeof_lengths);
  c.skip(padded(space_size) - space_size);
  if (!type.ok() || !space.ok() || !c.ok()) return "an attribute whose datatype or dataspace does not fit in its message";
  std::uint64_t value = 0;
  if (mul_overflows(count, element, &value) || value > c.left())
    return "an attribute whose value (" + std::to_string(count) + " elements of " + std::to_string(element) +
           " bytes) does not fit in its message of " + std::to_string(c.left()) + " remaining bytes";
  return "";
}

// A symbol table message (a group in the old format): the addresses of the group's version 1
// B-tree and local heap, which libhdf5 1.10.8 follows without checking them (fuzz_hdf5 found a
// heap at the undefined address making H5Literate copy from a null pointer, in H5HL_protect;
// a B-tree child at the undefined address does the same from H5G__node_iterate). Both must be
// defined and lie in the file with their signatures, the heap's version and data segment must
// fit, and the whole B-tree is walked (group_btree). Returns "" or what is wrong.
std::string group_btree(const unsigned char* image, std::uint64_t size, unsigned A, unsigned L,
                        std::uint64_t undefined, std::uint64_t root, std::uint64_t names,
                        std::uint64_t names_size, const GroupNodeK& k, std::uint64_t& budget);

std::string too_large_to_walk() {
  return "group B-trees and local heaps of more than " + std::to_string(detail::kGroupTreeBudget) +
         " nodes, entries, symbols and free blocks (heap bytes / 256) in all in the file";
}

std::string symbol_table(const unsigned char* image, std::uint64_t size, unsigned A, unsigned L,
                         std::uint64_t undefined, std::uint64_t btree, std::uint64_t heap,
                         const GroupNodeK& k, std::uint64_t& budget) {
  if (btree == undefined || heap == undefined)
    return "a group's symbol table without the address of its B-tree or of its local heap";
  if (btree >= size || size - btree < 4 || std::memcmp(image + btree, "TREE", 4) != 0)
    return "a group's symbol table whose B-tree at byte " + std::to_string(btree) +
           " is not in the file or has no TREE signature";
  if (heap >= size || size - heap < 4 || std::memcmp(image + heap, "HEAP", 4) != 0)
    return "a group's symbol table whose local heap at byte " + std::to_string(heap) +
           " is not in the file or has no HEAP signature";
  Cursor c(image, heap + 4, size);
  const std::uint64_t version = c.get(1);
  c.skip(3);
  const std::uint64_t data_size = c.get(L);
  const std::uint64_t free_list = c.get(L);
  const std::uint64_t data = c.get(A);
  if (!c.ok() || version != 0)
    return "a local heap at byte " + std::to_string(heap) + " of an unknown version or cut short";
  if (data >= size || data_size > size - data)
    return "a local heap whose data segment (" + std::to_string(data_size) + " bytes at byte " +
           std::to_string(data) + ") runs past the end of the " + std::to_string(size) + "-byte file";
  // The free list: blocks in the data segment, each starting with the offset of the next (1:
  // none) and its size. libhdf5 checks each block against the segment but not for a loop, and
  // allocates a list entry per block it follows (fuzz_hdf5: a block naming itself ran it out of
  // memory). Every block holds those two lengths, so a segment has at most data_size / 2L.
  std::uint64_t blocks = 0;
  for (std::uint64_t block = free_list; block != 1;) {
    const std::string where = "a local heap at byte " + std::to_string(heap) + " whose free list ";
    if (block >= data_size || data_size - block < 2 * std::uint64_t{L})
      return where + "names a block at offset " + std::to_string(block) + ", outside its data segment of " +
             std::to_string(data_size) + " bytes";
    if (++blocks > data_size / (2 * L)) return where + "loops";
    if (budget == 0) return too_large_to_walk();
    --budget;
    Cursor b(image, data + block, data + data_size);
    const std::uint64_t next = b.get(L), block_size = b.get(L);
    if (block_size > data_size - block)
      return where + "has a block of " + std::to_string(block_size) + " bytes at offset " + std::to_string(block) +
             " running past its data segment of " + std::to_string(data_size) + " bytes";
    block = next;
  }
  return group_btree(image, size, A, L, undefined, btree, data, data_size, k, budget);
}

// The nodes of a group's version 1 B-tree (the specification's "Version 1 B-trees" and "Symbol
// Table Nodes"), which libhdf5 1.10.8 follows from node to child by the addresses stored in them
// when it lists the group. Every node must be in the file with its signature, a group node
// (type 0) of one level less than its parent, at most 2 K entries (the superblock's group
// internal K), children that are defined addresses in the file and reached once (no loops, no
// shared subtrees); each level-0 child a symbol table node of
// version 1 with at most 2 K symbols (the group leaf K), each key's and symbol's name a
// NUL-terminated string inside the local heap's data segment, its object header address (and, for a cached
// symbol table, the cached B-tree and heap addresses) defined and in the file. Each node, entry
// and symbol read takes one from `budget` (the file's, detail::kGroupTreeBudget).
std::string group_btree(const unsigned char* image, std::uint64_t size, unsigned A, unsigned L,
                        std::uint64_t undefined, std::uint64_t root, std::uint64_t names,
                        std::uint64_t names_size, const GroupNodeK& k, std::uint64_t& budget) {
  const auto at = [](std::uint64_t where) { return " at byte " + std::to_string(where); };
  const auto in_file = [&](std::uint64_t a) { return a != undefined && a < size; };
  const auto too_large = [] { return too_large_to_walk(); };
  // A string at offset `off` of the local heap's data segment, NUL-terminated inside it: at or
  // before the segment's last NUL, found once (a scan per name could take quadratic time: names
  // of many symbols may share one long string). The scan takes from the budget too.
  const auto* nul = static_cast<const unsigned char*>(memrchr(image + names, 0, static_cast<std::size_t>(names_size)));
  const std::uint64_t scan_cost = names_size / 256 + 1;
  if (budget < scan_cost) return too_large();
  budget -= scan_cost;
  const auto heap_string = [&](std::uint64_t off) {
    return nul != nullptr && off <= static_cast<std::uint64_t>(nul - (image + names));
  };
  std::vector<std::pair<std::uint64_t, int>> todo = {{root, -1}};  // node, expected level (-1: any)
  std::set<std::uint64_t> seen;
  while (!todo.empty()) {
    const auto [node, level_wanted] = todo.back();
    todo.pop_back();
    if (!seen.insert(node).second)
      return "a group B-tree whose node" + at(node) + " is reached twice (a loop or a shared subtree)";
    if (budget == 0) return too_large();
    --budget;
    Cursor c(image, node, size);
    const bool signed_tree = size - node >= 4 && std::memcmp(image + node, "TREE", 4) == 0;
    c.skip(4);
    const std::uint64_t type = c.get(1), level = c.get(1), entries = c.get(2);
    c.skip(2 * A);  // left and right siblings (libhdf5 does not follow them when listing)
    if (!signed_tree || !c.ok())
      return "a group B-tree node" + at(node) + " without its TREE signature or cut short";
    if (type != 0) return "a group B-tree node" + at(node) + " of type " + std::to_string(type) + " (groups' are 0)";
    if (level_wanted >= 0 && level != static_cast<std::uint64_t>(level_wanted))
      return "a group B-tree node" + at(node) + " of level " + std::to_string(level) + " under a node of level " +
             std::to_string(level_wanted + 1);
    if (entries > 2 * std::uint64_t{k.internal})
      return "a group B-tree node" + at(node) + " of " + std::to_string(entries) + " entries (at most 2 K = " +
             std::to_string(2 * k.internal) + ")";
    // Keys and children alternate, a key first and last: each key is the heap offset of a name,
    // which libhdf5 compares (strcmp) with the one it looks for when it opens a member by name.
    const auto bad_key = [&](std::uint64_t key) {
      return c.ok() && !heap_string(key);
    };
    if (bad_key(c.get(L)))
      return "a group B-tree node" + at(node) + " whose key 0 is not a NUL-terminated string in the local heap";
    for (std::uint64_t i = 0; i < entries; ++i) {
      if (budget == 0) return too_large();
      --budget;
      const std::uint64_t child = c.get(A);
      if (bad_key(c.get(L)))
        return "a group B-tree node" + at(node) + " whose key " + std::to_string(i + 1) +
               " is not a NUL-terminated string in the local heap";
      if (!c.ok()) return "a group B-tree node" + at(node) + " whose entries run past the end of the file";
      if (!in_file(child))
        return "a group B-tree node" + at(node) + " whose child " + std::to_string(i) + " is not an address in the file";
      if (level > 0) {
        todo.emplace_back(child, static_cast<int>(level - 1));
        continue;
      }
      if (!seen.insert(child).second)
        return "a group B-tree whose symbol table node" + at(child) + " is reached twice";
      Cursor n(image, child, size);
      const bool signed_node = size - child >= 4 && std::memcmp(image + child, "SNOD", 4) == 0;
      n.skip(4);
      const std::uint64_t version = n.get(1);
      n.skip(1);
      const std::uint64_t symbols = n.get(2);
      if (!signed_node || !n.ok() || version != 1)
        return "a symbol table node" + at(child) + " without its SNOD signature, of an unknown version or cut short";
      if (symbols > 2 * std::uint64_t{k.leaf})
        return "a symbol table node" + at(child) + " of " + std::to_string(symbols) + " symbols (at most 2 K = " +
               std::to_string(2 * k.leaf) + ")";
      for (std::uint64_t e = 0; e < symbols; ++e) {
        if (budget == 0) return too_large();
        --budget;
        const std::uint64_t name = n.get(L), header = n.get(A), cache = n.get(4);
        n.skip(4);
        // The scratch pad (16 bytes): cache type 1 (a group) its B-tree and local heap; type 2 (a
        // soft link) the heap offset of the link's value, in its first 4 bytes.
        Cursor scratch = n.take(16);
        const std::uint64_t link_value = Cursor(scratch).get(4);
        const std::uint64_t cached_btree = scratch.get(A), cached_heap = scratch.get(A);
        if (!n.ok()) return "a symbol table node" + at(child) + " whose symbols run past the end of the file";
        const std::string symbol = "symbol " + std::to_string(e) + " of the symbol table node" + at(child);
        if (!heap_string(name))
          return symbol + " has a name at heap offset " + std::to_string(name) +
                 " that is not a NUL-terminated string inside the group's local heap of " + std::to_string(names_size) +
                 " bytes";
        if (cache > 2) return symbol + " has an unknown cache type " + std::to_string(cache);
        if (cache == 2) {
          if (!heap_string(link_value))
            return symbol + " is a soft link whose value at heap offset " + std::to_string(link_value) +
                   " is not a NUL-terminated string inside the group's local heap";
          continue;  // a soft link has no object header
        }
        if (!in_file(header)) return symbol + " has an object header address outside the file";
        if (cache == 1 && (!in_file(cached_btree) || !in_file(cached_heap)))
          return symbol + " caches a B-tree or local heap address outside the file";
      }
    }
  }
  return "";
}

}  // namespace header

// Walks the object header at `address` in the image of an opened file (cached by address),
// before libhdf5 reads it, and refuses it (ModelFormatError naming `at`) when a chunk or a
// message libhdf5 would decode does not fit. Returns true when the object keeps its attributes
// in dense storage (a fractal heap: not walked here, so attribute calls refuse the object).
bool check_object_header(const FileState& f, const std::string& at, std::uint64_t address) {
  if (f.writable) return false;
  if (const auto found = f.checked_headers.find(address); found != f.checked_headers.end()) return found->second;
  const auto* image = reinterpret_cast<const unsigned char*>(f.image.data());
  const std::uint64_t size = f.image.size();
  const unsigned A = f.sizeof_offsets, L = f.sizeof_lengths;
  const std::uint64_t undefined = A == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * A)) - 1;
  const auto refuse = [&](std::uint64_t where, const std::string& why) {
    fail(f, at, "has a damaged object header at byte " + std::to_string(address) +
                    (where == address ? std::string() : " (at byte " + std::to_string(where) + ")") + ": " + why +
                    "; refused before libhdf5 reads it.");
  };
  const std::string beyond = "the end of the " + std::to_string(size) + "-byte file (truncated or damaged)";
  if (address >= size) refuse(address, "it lies beyond " + beyond);

  // The prefix: version 1 (no signature) or "OHDR" version 2; then the first chunk's messages.
  header::Cursor prefix(image, address, size);
  const bool v2 = size - address >= 4 && std::memcmp(image + address, "OHDR", 4) == 0;
  std::uint64_t flags = 0, begin = 0, length = 0;
  if (v2) {
    prefix.skip(4);
    const std::uint64_t version = prefix.get(1);
    flags = prefix.get(1);
    if (version != 2 || (flags & ~std::uint64_t{0x3f})) refuse(address, "an unknown version or flags");
    if (flags & 0x20) prefix.skip(16);  // access, modification, change and birth times
    if (flags & 0x10) prefix.skip(4);   // attribute storage phase change values
    length = prefix.get(std::size_t{1} << (flags & 3));
    begin = prefix.pos();
    prefix.skip(length);
    prefix.skip(4);  // checksum
  } else {
    const std::uint64_t version = prefix.get(1);
    prefix.skip(7);  // reserved, message count, reference count
    length = prefix.get(4);
    prefix.skip(4);  // padding
    begin = prefix.pos();
    prefix.skip(length);
    if (version != 1) refuse(address, "no object header signature or version (expected 'OHDR' or version 1)");
  }
  if (!prefix.ok()) refuse(address, "its first chunk of " + std::to_string(length) + " bytes runs past " + beyond);

  const std::uint64_t message_header = v2 ? 4 + (flags & 0x04 ? 2 : 0) : 8;
  bool dense_attributes = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks = {{begin, begin + length}};  // message areas
  std::set<std::uint64_t> seen = {address};  // chunk addresses, against continuation loops
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    header::Cursor c(image, chunks[k].first, chunks[k].second);
    bool first = true;
    while (c.left() > 0) {
      // libhdf5 reads a message header wherever a chunk has bytes left; only version 2 may end a
      // chunk with a gap shorter than a header, and only after a message.
      if (c.left() < message_header) {
        if (v2 && !first) break;
        refuse(c.pos(), "a chunk ends in " + std::to_string(c.left()) + " bytes, too few for a message header");
      }
      first = false;
      const std::uint64_t at_message = c.pos();
      const auto type = static_cast<unsigned>(c.get(v2 ? 1 : 2));
      const std::uint64_t message_size = c.get(2);
      const std::uint64_t message_flags = c.get(1);
      c.skip(message_header - (v2 ? 4 : 5));  // version 1: reserved; version 2: creation order
      header::Cursor m = c.take(message_size);
      if (!m.ok())
        refuse(at_message, "a message of " + std::to_string(message_size) + " bytes runs past the end of its chunk");
      const auto bad = [&](const std::string& what) { refuse(at_message, "a message of type " + std::to_string(type) + ": " + what); };
      if ((message_flags & header::kMessageShared) &&
          (type == header::kDataspace || type == header::kDatatype || type == header::kFill ||
           type == header::kFilters || type == header::kAttribute))
        fail(f, at, "uses a shared message (a named datatype, or the file's shared message table), which libhdf5 would "
                    "read from elsewhere in the file unchecked; recur does not read these, and Keras never writes them.");
      switch (type) {
        case header::kDataspace: {
          header::Cursor head = m;  // version, rank, flags, class (version 2)
          const std::uint64_t version = head.get(1);
          head.skip(2);
          const std::uint64_t kind = head.get(1);
          if (head.ok() && version == 2 && kind > 2)
            bad("a dataspace of unknown class " + std::to_string(kind) + " (0 scalar, 1 simple, 2 null)");
          header::dataspace(m, L);
          break;
        }
        case header::kDatatype: header::datatype(m, 0); break;
        case header::kFillOld: case header::kFill: header::fill_value(m, type); break;
        case header::kLink: header::link(m, A); break;
        case header::kLayout: {
          header::Cursor head = m;  // version, then (versions 1 and 2: after the rank) the class
          const std::uint64_t version = head.get(1);
          if (version < 3) head.skip(1);
          const std::uint64_t cls = head.get(1);
          if (head.ok() && version >= 1 && version <= 4 && cls > (version < 3 ? 2u : 3u))
            bad("a storage layout of unknown class " + std::to_string(cls) +
                " (0 compact, 1 contiguous, 2 chunked" + (version < 3 ? ")" : ", 3 virtual)"));
          header::layout(m, A, L);
          break;
        }
        case header::kFilters: header::filters(m); break;
        case header::kAttribute: {
          bool shared = false;
          const std::string why = header::attribute(m, L, &shared);
          if (shared)
            fail(f, at, "has an attribute of a named (shared) datatype or dataspace, which libhdf5 would read from elsewhere "
                        "in the file unchecked; recur does not read these, and Keras never writes them.");
          if (!why.empty()) bad(why);
          break;
        }
        case header::kLinkInfo: {
          m.skip(1);
          const std::uint64_t link_flags = m.get(1);
          m.skip((link_flags & 1 ? 8 : 0) + 2 * A + (link_flags & 2 ? A : 0));
          break;
        }
        case header::kGroupInfo: {
          m.skip(1);
          const std::uint64_t group_flags = m.get(1);
          m.skip((group_flags & 1 ? 4 : 0) + (group_flags & 2 ? 4 : 0));
          break;
        }
        case header::kAttributeInfo: {
          m.skip(1);
          const std::uint64_t attribute_flags = m.get(1);
          m.skip(attribute_flags & 1 ? 2 : 0);
          if (m.get(A) != undefined) dense_attributes = true;  // the fractal heap's address
          m.skip(A + (attribute_flags & 2 ? A : 0));
          break;
        }
        case header::kExternalFiles: {
          m.skip(4);  // version, reserved
          m.skip(2);  // allocated slots
          const std::uint64_t used = m.get(2);
          m.skip(A + used * 3 * L);
          break;
        }
        case header::kSymbolTable: {
          const std::uint64_t btree = m.get(A), heap = m.get(A);
          if (!m.ok()) break;
          const std::string why = header::symbol_table(image, size, A, L, undefined, btree, heap,
                                                       {f.group_leaf_k, f.group_internal_k},
                                                       f.group_tree_budget);
          if (!why.empty()) bad(why);
          break;
        }
        case header::kRefCount: m.skip(5); break;
        case header::kBtreeK: {
          // The superblock extension's K values: version 0, then the indexed storage, group
          // internal and group leaf K (2 bytes each).
          const std::uint64_t version = m.get(1);
          m.skip(2);
          const std::uint64_t internal = m.get(2), leaf = m.get(2);
          if (m.ok() && version == 0 && address == f.extension_address) {
            f.group_internal_k = static_cast<unsigned>(internal);
            f.group_leaf_k = static_cast<unsigned>(leaf);
          }
          break;
        }
        case header::kContinuation: {
          const std::uint64_t next = m.get(A), next_length = m.get(L);
          if (!m.ok()) break;
          std::uint64_t end = 0;
          if (__builtin_add_overflow(next, next_length, &end) || end > size)
            bad("a continuation to " + std::to_string(next_length) + " bytes at byte " + std::to_string(next) + ", beyond " + beyond);
          if (seen.count(next)) bad("a continuation back to a chunk already read (a loop)");
          if (chunks.size() >= header::kMaxChunks) bad("more than " + std::to_string(header::kMaxChunks) + " chunks");
          seen.insert(next);
          if (v2) {  // "OCHK", messages, checksum
            if (next_length < 8 || std::memcmp(image + next, "OCHK", 4) != 0)
              bad("a continuation to a chunk without the OCHK signature");
            chunks.emplace_back(next + 4, end - 4);
          } else {
            chunks.emplace_back(next, end);
          }
          break;
        }
        default: break;  // kept raw by libhdf5, or not decoded for recur's calls
      }
      if (!m.ok()) bad("its fields do not fit in its " + std::to_string(message_size) + " bytes");
    }
  }
  f.checked_headers[address] = dense_attributes;
  return dense_attributes;
}

// ---------------------------------------------------------------------------------------------
// Paths.

std::string join(const std::string& base, std::string_view rel) {
  return base == "/" ? "/" + std::string(rel) : base + "/" + std::string(rel);
}

std::size_t depth_of(const std::string& path) {
  return path == "/" ? 0 : static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

// Refuses a link or attribute name that cannot be a single component.
void check_name(const FileState& f, const std::string& at, const std::string& name, const char* what) {
  if (name.empty()) fail(f, at, std::string("expected a ") + what + ", got an empty name.");
  if (name.size() > kMaxNameBytes)
    fail(f, at, std::string("a ") + what + " of " + std::to_string(name.size()) + " bytes is longer than the limit of " +
                    std::to_string(kMaxNameBytes) + " bytes.");
  if (name.find('\0') != std::string::npos)
    fail(f, at, std::string("the ") + what + " " + quoted(name) + " holds a NUL byte.");
}

void check_link_name(const FileState& f, const std::string& at, const std::string& name) {
  check_name(f, at, name, "link name");
  if (name.find('/') != std::string::npos)
    fail(f, at, "expected one link name, got the path " + quoted(name) + ".");
  if (name == "." || name == "..") fail(f, at, "the link name " + quoted(name) + " is not allowed.");
}

// The components of `rel` below the group at `base`, checked.
std::vector<std::string> split_rel(const FileState& f, const std::string& base, const std::string& rel) {
  if (rel.empty()) fail(f, base, "expected a relative path, got an empty one.");
  if (rel.front() == '/')
    fail(f, base, "expected a path relative to this group, got the absolute path " + quoted(rel) + ".");
  if (rel.size() > kMaxNameBytes * 2)
    fail(f, base, "the path " + quoted(rel) + " is longer than the limit of " + std::to_string(kMaxNameBytes * 2) + " bytes.");
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rel.find('/', start);
    std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) fail(f, base, "the path " + quoted(rel) + " has an empty component.");
    if (part == "." || part == "..")
      fail(f, base, "the path " + quoted(rel) + " has a '" + part + "' component; only names are allowed.");
    check_name(f, base, part, "path component");
    parts.push_back(std::move(part));
    if (depth_of(base) + parts.size() > kMaxDepth)
      fail(f, base, "the path " + quoted(rel) + " nests deeper than the limit of " + std::to_string(kMaxDepth) + " levels.");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

const char* link_kind(int type) {
  switch (type) {
    case H5L_TYPE_SOFT: return "a soft link";
    case H5L_TYPE_EXTERNAL: return "an external link (to another file)";
    case H5L_TYPE_HARD: return "a hard link";
    default: return "a user-defined link";
  }
}

enum class Kind { kMissing, kGroup, kDataset, kOther };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kMissing: return "nothing";
    case Kind::kGroup: return "a group";
    case Kind::kDataset: return "a dataset";
    case Kind::kOther: return "a committed datatype";
  }
  return "something else";
}

struct Resolved {
  Kind kind = Kind::kMissing;
  Hid id;             // the object at the full path (when kind is not kMissing)
  std::string path;   // the full path of `rel`
  std::string where;  // where the walk stopped: the first missing link, or a non-group on the way
  bool dense_attributes = false;  // of the object at the full path (check_object_header())
};

// Walks `rel` from the group `from` (at `base`), hard link by hard link.
Resolved resolve(const Object& from, const std::string& base, const std::string& rel) {
  const FileState& f = *from.file;
  const std::vector<std::string> parts = split_rel(f, base, rel);
  Resolved r;
  r.path = join(base, rel);
  std::string at = base;
  Hid current;  // empty: `from` itself
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const hid_t parent = current.get() >= 0 ? current.get() : from.id.get();
    const std::string& name = parts[i];
    const std::string next = join(at, name);
    if (check(H5Lexists(parent, name.c_str(), H5P_DEFAULT), f, at, "cannot look up the link " + quoted(name)) == 0) {
      r.where = next;
      return r;
    }
    H5L_info_t info;
    check(H5Lget_info(parent, name.c_str(), &info, H5P_DEFAULT), f, next, "cannot read the link");
    if (info.type != H5L_TYPE_HARD)
      fail(f, next, std::string("is ") + link_kind(info.type) +
                        "; recur follows hard links only (Keras refuses the others too).");
    const bool dense_attributes = check_object_header(f, next, info.u.address);
    Hid object = check_id(H5Oopen(parent, name.c_str(), H5P_DEFAULT), f, next, "cannot open the object");
    const H5I_type_t type = H5Iget_type(object.get());
    const Kind kind = type == H5I_GROUP ? Kind::kGroup : type == H5I_DATASET ? Kind::kDataset : Kind::kOther;
    at = next;
    if (i + 1 < parts.size() && kind != Kind::kGroup) {
      r.kind = kind;
      r.where = next;
      return r;
    }
    if (i + 1 == parts.size()) {
      r.kind = kind;
      r.id = std::move(object);
      r.where = next;
      r.dense_attributes = dense_attributes;
      return r;
    }
    current = std::move(object);
  }
  return r;
}

// "nothing (no link 'x' in '/a')" or "a dataset at '/a/b'": what resolve() found instead.
std::string found_instead(const Resolved& r) {
  if (r.kind == Kind::kMissing) {
    const std::size_t slash = r.where.rfind('/');
    const std::string parent = slash == 0 ? "/" : r.where.substr(0, slash);
    return "found nothing (no link " + quoted(r.where.substr(slash + 1)) + " in " + quoted(parent) + ")";
  }
  if (r.where != r.path) return std::string("found ") + kind_name(r.kind) + " at " + quoted(r.where) + " on the way";
  return std::string("found ") + kind_name(r.kind);
}

bool has_kind(const Object& from, const std::string& base, const std::string& rel, Kind want) {
  const Resolved r = resolve(from, base, rel);
  return r.kind == want && r.path == r.where;
}

// ---------------------------------------------------------------------------------------------
// Dataspaces and types.

struct Space {
  bool null = false;
  std::vector<std::uint64_t> dims;  // {} for a scalar
  std::uint64_t count = 0;          // product of dims (1 for a scalar)
};

// The extents of a dataspace: rank at most kMaxRank, product overflow-checked.
Space read_space(const FileState& f, const std::string& at, hid_t space) {
  Space s;
  // As an int: a class outside H5S_class_t's range must not be loaded as one (the header walk
  // refuses those classes already).
  const int cls = static_cast<int>(H5Sget_simple_extent_type(space));
  if (cls == H5S_NULL) {
    s.null = true;
    return s;
  }
  if (cls == H5S_SCALAR) {
    s.count = 1;
    return s;
  }
  if (cls != H5S_SIMPLE) fail_hdf5(f, at, "has a dataspace of unknown class");
  const int rank = check(H5Sget_simple_extent_ndims(space), f, at, "cannot read the rank");
  if (static_cast<std::size_t>(rank) > kMaxRank)
    fail(f, at, "has rank " + std::to_string(rank) + ", above the limit of " + std::to_string(kMaxRank) + ".");
  hsize_t dims[H5S_MAX_RANK] = {};
  check(H5Sget_simple_extent_dims(space, dims, nullptr), f, at, "cannot read the extents");
  s.count = 1;
  for (int i = 0; i < rank; ++i) {
    s.dims.push_back(dims[i]);
    if (mul_overflows(s.count, dims[i], &s.count))
      fail(f, at, "the extents " + dims_str(s.dims) + "... overflow a 64-bit element count.");
  }
  return s;
}

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "an integer type";
    case H5T_FLOAT: return "a float type";
    case H5T_TIME: return "a time type";
    case H5T_STRING: return "a string type";
    case H5T_BITFIELD: return "a bitfield type";
    case H5T_OPAQUE: return "an opaque type";
    case H5T_COMPOUND: return "a compound type";
    case H5T_REFERENCE: return "a reference type";
    case H5T_ENUM: return "an enum type";
    case H5T_VLEN: return "a variable-length type";
    case H5T_ARRAY: return "an array type";
    default: return "an unknown type";
  }
}

struct Numeric {
  enum Kind { kFloat, kSigned, kUnsigned } kind = kFloat;
  std::size_t size = 0;  // bytes: 2, 4, 8 for floats; 1, 2, 4, 8 for integers
  bool big_endian = false;
};

std::string numeric_name(const Numeric& t) {
  std::string s = t.kind == Numeric::kFloat ? "float" : t.kind == Numeric::kSigned ? "int" : "uint";
  return s + std::to_string(8 * t.size) + (t.big_endian ? " big-endian" : "");
}

// The dataset type as one of the numeric types read here; refuses everything else (including
// float layouts other than IEEE half, single and double).
Numeric classify(const FileState& f, const std::string& at, hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    fail(f, at, std::string("expected a numeric (float or integer) dataset, found ") + class_name(cls) + ".");
  Numeric t;
  t.size = H5Tget_size(type);
  const H5T_order_t order = H5Tget_order(type);
  if (order != H5T_ORDER_LE && order != H5T_ORDER_BE)
    fail(f, at, "expected a little- or big-endian number, found another byte order (VAX or mixed).");
  t.big_endian = order == H5T_ORDER_BE;
  const bool plain = H5Tget_precision(type) == 8 * t.size && H5Tget_offset(type) == 0;
  if (cls == H5T_INTEGER) {
    if ((t.size != 1 && t.size != 2 && t.size != 4 && t.size != 8) || !plain)
      fail(f, at, "expected an integer of 1, 2, 4 or 8 bytes, found " + std::to_string(t.size) + " bytes with precision " +
                      std::to_string(H5Tget_precision(type)) + ".");
    t.kind = H5Tget_sign(type) == H5T_SGN_2 ? Numeric::kSigned : Numeric::kUnsigned;
    return t;
  }
  std::size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  check(H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), f, at, "cannot read the float layout");
  const std::size_t ebias = H5Tget_ebias(type);
  const bool ieee = plain && H5Tget_norm(type) == H5T_NORM_IMPLIED && mpos == 0 &&
                    ((t.size == 2 && spos == 15 && epos == 10 && esize == 5 && msize == 10 && ebias == 15) ||
                     (t.size == 4 && spos == 31 && epos == 23 && esize == 8 && msize == 23 && ebias == 127) ||
                     (t.size == 8 && spos == 63 && epos == 52 && esize == 11 && msize == 52 && ebias == 1023));
  if (!ieee)
    fail(f, at, "expected an IEEE float of 16, 32 or 64 bits, found a float of " + std::to_string(t.size) +
                    " bytes with another layout.");
  t.kind = Numeric::kFloat;
  return t;
}

std::uint64_t load_uint(const unsigned char* p, std::size_t size, bool big_endian) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t byte = big_endian ? i : size - 1 - i;
    v = (v << 8) | p[byte];
  }
  return v;
}

float half_to_float(std::uint16_t h) {
  const bool negative = (h & 0x8000u) != 0;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  float v;
  if (exponent == 0) {
    v = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
  } else if (exponent == 31) {
    v = mantissa == 0 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  } else {
    v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  }
  return negative ? -v : v;
}

float double_to_float(double d) {
  if (std::isnan(d)) return std::numeric_limits<float>::quiet_NaN();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (std::fabs(d) > static_cast<double>(FLT_MAX)) return d > 0 ? kInf : -kInf;
  return static_cast<float>(d);
}

std::int64_t sign_extend(std::uint64_t v, std::size_t size) {
  if (size < 8 && (v >> (8 * size - 1)) & 1u) v |= ~std::uint64_t{0} << (8 * size);
  return static_cast<std::int64_t>(v);
}

float to_float(const unsigned char* p, const Numeric& t) {
  const std::uint64_t bits = load_uint(p, t.size, t.big_endian);
  if (t.kind == Numeric::kSigned) return static_cast<float>(sign_extend(bits, t.size));
  if (t.kind == Numeric::kUnsigned) return static_cast<float>(bits);
  if (t.size == 2) return half_to_float(static_cast<std::uint16_t>(bits));
  if (t.size == 4) {
    const auto b = static_cast<std::uint32_t>(bits);
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
  }
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return double_to_float(d);
}

// ---------------------------------------------------------------------------------------------
// Filters: each chunk is decoded here (see the top of this file).

struct Filter {
  H5Z_filter_t id = 0;
  std::size_t nparams = 0;
  unsigned params[8] = {};
};

const char* filter_name(H5Z_filter_t id) {
  switch (id) {
    case H5Z_FILTER_DEFLATE: return "deflate";
    case H5Z_FILTER_SHUFFLE: return "shuffle";
    case H5Z_FILTER_FLETCHER32: return "fletcher32";
    case H5Z_FILTER_SZIP: return "szip";
    case H5Z_FILTER_NBIT: return "nbit";
    case H5Z_FILTER_SCALEOFFSET: return "scaleoffset";
    case 32000: return "lzf";
    case 32001: return "blosc";
    case 32004: return "lz4";
    case 32008: return "bitshuffle";
    case 32015: return "zstd";
    default: return nullptr;
  }
}

// zlib's inflate, looked up in the process (libhdf5 loads libz.so.1).
struct ZlibApi {
  decltype(&inflateInit_) init = nullptr;
  decltype(&inflate) run = nullptr;
  decltype(&inflateEnd) end = nullptr;
};

const ZlibApi* zlib_api() {
  static const ZlibApi api = [] {
    ZlibApi a;
    a.init = reinterpret_cast<decltype(&inflateInit_)>(dlsym(RTLD_DEFAULT, "inflateInit_"));
    a.run = reinterpret_cast<decltype(&inflate)>(dlsym(RTLD_DEFAULT, "inflate"));
    a.end = reinterpret_cast<decltype(&inflateEnd)>(dlsym(RTLD_DEFAULT, "inflateEnd"));
    return a;
  }();
  return api.init && api.run && api.end ? &api : nullptr;
}

// Inflates a zlib stream into at most `limit` bytes.
std::vector<unsigned char> inflate_bounded(const FileState& f, const std::string& at, const std::vector<unsigned char>& in,
                                           std::size_t limit) {
  const ZlibApi* z = zlib_api();
  if (z == nullptr) fail(f, at, "is deflate-compressed, but zlib's inflate was not found in this process.");
  if (in.size() > std::numeric_limits<uInt>::max() || limit >= std::numeric_limits<uInt>::max())
    fail(f, at, "has a compressed chunk of 4 GiB or more.");
  std::vector<unsigned char> out(limit + 1);  // one byte more than allowed: detects a stream that is too long
  z_stream zs{};
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (z->init(&zs, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK)
    fail(f, at, "cannot start zlib's inflate.");
  const int status = z->run(&zs, Z_FINISH);
  const std::string message = zs.msg != nullptr ? printable(zs.msg) : "";
  const uLong produced = zs.total_out;
  const uInt room = zs.avail_out;
  z->end(&zs);
  if (produced > limit || (status != Z_STREAM_END && room == 0))
    fail(f, at, "has a deflate-compressed chunk that decompresses beyond its declared size of " + std::to_string(limit) +
                    " bytes (a decompression bomb, or a damaged chunk).");
  if (status != Z_STREAM_END)
    fail(f, at, "has a damaged deflate-compressed chunk (zlib: " +
                    (status == Z_BUF_ERROR || status == Z_OK ? std::string("the stream ends early") : message) + ").");
  out.resize(produced);
  return out;
}

// The inverse of libhdf5's shuffle filter: byte j of element i was stored at j * n + i; the
// bytes after the last whole element stay in place.
std::vector<unsigned char> unshuffle(const std::vector<unsigned char>& in, std::size_t element_size) {
  if (element_size <= 1 || in.size() < 2 * element_size) return in;
  const std::size_t n = in.size() / element_size;
  std::vector<unsigned char> out(in.size());
  for (std::size_t j = 0; j < element_size; ++j)
    for (std::size_t i = 0; i < n; ++i) out[i * element_size + j] = in[j * n + i];
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(n * element_size), in.end(),
            out.begin() + static_cast<std::ptrdiff_t>(n * element_size));
  return out;
}

// libhdf5's Fletcher-32 (H5_checksum_fletcher32): big-endian 16-bit words, an odd last byte
// as the high byte of a word.
std::uint32_t fletcher32(const unsigned char* data, std::size_t size) {
  std::uint32_t sum1 = 0, sum2 = 0;
  std::size_t words = size / 2;
  while (words > 0) {
    std::size_t block = std::min<std::size_t>(words, 360);
    words -= block;
    do {
      sum1 += (static_cast<std::uint32_t>(data[0]) << 8) | data[1];
      data += 2;
      sum2 += sum1;
    } while (--block);
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (size % 2) {
    sum1 += static_cast<std::uint32_t>(*data) << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

// Undoes the filters of one chunk, last first, skipping those whose bit is set in `mask`.
// Every intermediate result is at most `limit` bytes.
std::vector<unsigned char> decode_chunk(const FileState& f, const std::string& at, const std::vector<Filter>& filters,
                                        unsigned mask, std::vector<unsigned char> data, std::size_t limit) {
  for (std::size_t k = filters.size(); k-- > 0;) {
    if (k < 32 && ((mask >> k) & 1u)) continue;
    const Filter& filter = filters[k];
    if (filter.id == H5Z_FILTER_FLETCHER32) {
      if (data.size() < 4) fail(f, at, "has a chunk too short for its fletcher32 checksum.");
      const std::size_t body = data.size() - 4;
      const std::uint32_t stored = static_cast<std::uint32_t>(load_uint(data.data() + body, 4, false));
      const std::uint32_t sum = fletcher32(data.data(), body);
      // libhdf5 before 1.6.3 stored the checksum with its 16-bit halves' bytes swapped.
      const std::uint32_t swapped = ((sum & 0x00ff00ffu) << 8) | ((sum & 0xff00ff00u) >> 8);
      if (stored != sum && stored != swapped) fail(f, at, "has a chunk whose fletcher32 checksum does not match (damaged data).");
      data.resize(body);
    } else if (filter.id == H5Z_FILTER_DEFLATE) {
      data = inflate_bounded(f, at, data, limit);
    } else if (filter.id == H5Z_FILTER_SHUFFLE) {
      data = unshuffle(data, filter.params[0]);
    }
    if (data.size() > limit) fail(f, at, "has a chunk larger than its declared size.");
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Datasets.

struct DatasetPlan {
  std::string path;
  Hid dataset, type, dcpl;
  Space space;
  Numeric numeric;
  std::uint64_t bytes = 0;  // space.count * numeric.size
  H5D_layout_t layout = H5D_CONTIGUOUS;
  std::vector<Filter> filters;
  std::vector<std::uint64_t> chunk;  // chunk extents (chunked layout)
};

Hid open_dataset(const Object& from, const std::string& base, const std::string& rel, std::string* path) {
  Resolved r = resolve(from, base, rel);
  *path = r.path;
  if (r.kind != Kind::kDataset || r.where != r.path)
    fail(*from.file, r.path, "expected a dataset, " + found_instead(r) + ".");
  return std::move(r.id);
}

// The shape, type, layout and filters of a dataset, checked; reads no data.
DatasetPlan describe(const Object& from, const std::string& base, const std::string& rel) {
  const FileState& f = *from.file;
  DatasetPlan p;
  p.dataset = open_dataset(from, base, rel, &p.path);
  const std::string& at = p.path;
  {
    const Hid space = check_id(H5Dget_space(p.dataset.get()), f, at, "cannot read the dataspace");
    p.space = read_space(f, at, space.get());
  }
  if (p.space.null) fail(f, at, "has a null dataspace (no shape, no values); expected an array.");
  p.type = check_id(H5Dget_type(p.dataset.get()), f, at, "cannot read the datatype");
  p.numeric = classify(f, at, p.type.get());
  if (mul_overflows(p.space.count, p.numeric.size, &p.bytes))
    fail(f, at, "the shape " + dims_str(p.space.dims) + " of " + numeric_name(p.numeric) + " overflows a 64-bit byte count.");
  p.dcpl = check_id(H5Dget_create_plist(p.dataset.get()), f, at, "cannot read the creation properties");
  // As an int until checked: a value outside H5D_layout_t's range must not be loaded as one.
  const int layout = static_cast<int>(H5Pget_layout(p.dcpl.get()));
  if (layout == H5D_LAYOUT_ERROR) fail_hdf5(f, at, "cannot read the storage layout");
  if (layout == H5D_VIRTUAL) fail(f, at, "is a virtual dataset (data mapped from other datasets or files); not supported.");
  if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT && layout != H5D_CHUNKED)
    fail(f, at, "has an unknown storage layout " + std::to_string(layout) + ".");
  p.layout = static_cast<H5D_layout_t>(layout);
  const int external = check(H5Pget_external_count(p.dcpl.get()), f, at, "cannot read the external storage list");
  if (external > 0)
    fail(f, at, "stores its data in " + std::to_string(external) + " external file(s); recur reads data inside the file only.");
  const int nfilters = check(H5Pget_nfilters(p.dcpl.get()), f, at, "cannot read the filter pipeline");
  for (int i = 0; i < nfilters; ++i) {
    Filter filter;
    unsigned flags = 0, config = 0;
    std::size_t nparams = std::size(filter.params);
    char name[64] = {};
    filter.id = H5Pget_filter2(p.dcpl.get(), static_cast<unsigned>(i), &flags, &nparams, filter.params, sizeof name, name, &config);
    if (filter.id < 0) fail_hdf5(f, at, "cannot read filter " + std::to_string(i));
    filter.nparams = nparams;
    if (filter.id != H5Z_FILTER_DEFLATE && filter.id != H5Z_FILTER_SHUFFLE && filter.id != H5Z_FILTER_FLETCHER32) {
      const char* known = filter_name(filter.id);
      const std::string stored(name, strnlen(name, sizeof name));
      fail(f, at, "uses the filter " + std::to_string(filter.id) + " (" + (known ? known : stored.empty() ? "unknown" : printable(stored)) +
                      "); recur reads only deflate (gzip), shuffle and fletcher32. Re-save the file with h5py using "
                      "compression='gzip' or none.");
    }
    if (filter.id == H5Z_FILTER_SHUFFLE && (nparams != 1 || filter.params[0] == 0))
      fail(f, at, "has a shuffle filter without a valid element size.");
    if (filter.id == H5Z_FILTER_DEFLATE && (nparams != 1 || filter.params[0] > 9))
      fail(f, at, "has a deflate filter with an invalid level.");
    p.filters.push_back(filter);
  }
  if (p.layout == H5D_CHUNKED) {
    hsize_t cdims[H5S_MAX_RANK] = {};
    const int crank = check(H5Pget_chunk(p.dcpl.get(), H5S_MAX_RANK, cdims), f, at, "cannot read the chunk shape");
    if (static_cast<std::size_t>(crank) != p.space.dims.size())
      fail(f, at, "has chunks of rank " + std::to_string(crank) + " for a dataset of rank " + std::to_string(p.space.dims.size()) + ".");
    for (int i = 0; i < crank; ++i) {
      if (cdims[i] == 0) fail(f, at, "has a chunk extent of 0.");
      p.chunk.push_back(cdims[i]);
    }
  } else if (!p.filters.empty()) {
    fail(f, at, "has filters on a dataset that is not chunked.");
  }
  return p;
}

// Checks a described dataset against `max_values` and the bytes present, before reading it.
void check_limits(const FileState& f, DatasetPlan& p, std::uint64_t max_values) {
  const std::string& at = p.path;
  if (p.space.count > max_values)
    fail(f, at, "has shape " + dims_str(p.space.dims) + ", " + std::to_string(p.space.count) + " values, above the limit of " +
                    std::to_string(max_values) + ".");
  if (p.layout == H5D_CHUNKED) {
    std::uint64_t chunk_values = 1;
    for (std::uint64_t c : p.chunk)
      if (mul_overflows(chunk_values, c, &chunk_values)) fail(f, at, "has chunk extents " + dims_str(p.chunk) + " that overflow.");
    if (chunk_values > max_values)
      fail(f, at, "has chunks of shape " + dims_str(p.chunk) + ", " + std::to_string(chunk_values) +
                      " values, that would decompress beyond the limit of " + std::to_string(max_values) + " values.");
    return;
  }
  if (p.bytes == 0) return;
  const hsize_t stored = H5Dget_storage_size(p.dataset.get());
  if (stored < p.bytes)
    fail(f, at, "declares shape " + dims_str(p.space.dims) + " of " + numeric_name(p.numeric) + ", which needs " +
                    std::to_string(p.bytes) + " bytes, but stores only " + std::to_string(stored) + " bytes (truncated or damaged).");
  if (p.layout == H5D_CONTIGUOUS && !f.writable) {
    const haddr_t offset = H5Dget_offset(p.dataset.get());
    std::uint64_t end = 0;
    if (offset == HADDR_UNDEF || __builtin_add_overflow(offset, p.bytes, &end) || end > f.image.size())
      fail(f, at, "declares " + std::to_string(p.bytes) + " bytes of data at byte offset " +
                      (offset == HADDR_UNDEF ? std::string("(none)") : std::to_string(offset)) + ", beyond the end of the " +
                      std::to_string(f.image.size()) + "-byte file (truncated or damaged).");
  }
}

// Copies the part of a decoded chunk (extents `chunk`, first element at `offset`) that lies
// inside the dataset (extents `dims`) into `out`, both row-major with elements of `size` bytes.
void scatter_chunk(const unsigned char* chunk_data, const std::vector<std::uint64_t>& chunk, const std::vector<std::uint64_t>& offset,
                   const std::vector<std::uint64_t>& dims, std::size_t size, unsigned char* out) {
  const std::size_t rank = dims.size();
  std::vector<std::uint64_t> extent(rank), chunk_stride(rank, 1), out_stride(rank, 1), index(rank, 0);
  for (std::size_t d = 0; d < rank; ++d) extent[d] = std::min(chunk[d], dims[d] - offset[d]);
  for (std::size_t d = rank - 1; d-- > 0;) {
    chunk_stride[d] = chunk_stride[d + 1] * chunk[d + 1];
    out_stride[d] = out_stride[d + 1] * dims[d + 1];
  }
  const std::size_t row_bytes = static_cast<std::size_t>(extent[rank - 1]) * size;
  while (true) {
    std::uint64_t from = 0, to = offset[rank - 1];
    for (std::size_t d = 0; d + 1 < rank; ++d) {
      from += index[d] * chunk_stride[d];
      to += (offset[d] + index[d]) * out_stride[d];
    }
    std::memcpy(out + to * size, chunk_data + from * size, row_bytes);
    std::size_t d = rank - 1;  // odometer over all axes but the last
    while (d-- > 0) {
      if (++index[d] < extent[d]) break;
      index[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) break;
  }
}

// The stored values of a chunked dataset, chunk by chunk (H5Dread_chunk and decode_chunk).
void read_chunked(const FileState& f, const DatasetPlan& p, unsigned char* out) {
  const std::string& at = p.path;
  const std::size_t rank = p.space.dims.size();
  const std::size_t size = p.numeric.size;
  std::uint64_t chunk_values = 1;
  for (std::uint64_t c : p.chunk) chunk_values *= c;  // checked in check_limits
  const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_values) * size;
  const std::size_t limit = chunk_bytes + 4 * p.filters.size();  // fletcher32 adds 4 bytes

  // Missing chunks read as the fill value, as libhdf5 reads them.
  H5D_fill_value_t fill_status = H5D_FILL_VALUE_DEFAULT;
  check(H5Pfill_value_defined(p.dcpl.get(), &fill_status), f, at, "cannot read the fill value");
  if (fill_status == H5D_FILL_VALUE_USER_DEFINED) {
    unsigned char fill[8] = {};
    check(H5Pget_fill_value(p.dcpl.get(), p.type.get(), fill), f, at, "cannot read the fill value");
    if (std::any_of(fill, fill + size, [](unsigned char b) { return b != 0; }))
      for (std::uint64_t i = 0; i < p.space.count; ++i) std::memcpy(out + i * size, fill, size);
  }

  std::vector<std::uint64_t> offset(rank, 0);
  std::vector<hsize_t> h_offset(rank, 0);
  while (true) {
    for (std::size_t d = 0; d < rank; ++d) h_offset[d] = offset[d];
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t stored = 0;
    check(H5Dget_chunk_info_by_coord(p.dataset.get(), h_offset.data(), &mask, &address, &stored), f, at,
          "cannot look up the chunk at " + dims_str(offset));
    if (stored > 0 && address != HADDR_UNDEF) {
      std::uint64_t end = 0;
      if (!f.writable && (__builtin_add_overflow(address, stored, &end) || end > f.image.size()))
        fail(f, at, "has a chunk of " + std::to_string(stored) + " bytes at byte offset " + std::to_string(address) +
                        ", beyond the end of the " + std::to_string(f.image.size()) + "-byte file (truncated or damaged).");
      if (p.filters.empty() && stored != chunk_bytes)
        fail(f, at, "has an unfiltered chunk of " + std::to_string(stored) + " bytes; its shape " + dims_str(p.chunk) + " needs " +
                        std::to_string(chunk_bytes) + ".");
      std::vector<unsigned char> raw(static_cast<std::size_t>(stored));
      std::uint32_t read_mask = 0;
      check(H5Dread_chunk(p.dataset.get(), H5P_DEFAULT, h_offset.data(), &read_mask, raw.data()), f, at,
            "cannot read the chunk at " + dims_str(offset));
      const std::vector<unsigned char> chunk = decode_chunk(f, at, p.filters, read_mask, std::move(raw), limit);
      if (chunk.size() != chunk_bytes)
        fail(f, at, "has a chunk that decodes to " + std::to_string(chunk.size()) + " bytes; its shape " + dims_str(p.chunk) +
                        " needs " + std::to_string(chunk_bytes) + " (damaged data).");
      scatter_chunk(chunk.data(), p.chunk, offset, p.space.dims, size, out);
    }
    std::size_t d = rank;  // next chunk, last axis fastest
    while (d-- > 0) {
      if (!__builtin_add_overflow(offset[d], p.chunk[d], &offset[d]) && offset[d] < p.space.dims[d]) break;
      offset[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) break;
  }
}

// The stored bytes of a checked dataset, in its own type and byte order.
std::vector<unsigned char> read_raw(const FileState& f, const DatasetPlan& p) {
  std::vector<unsigned char> raw(static_cast<std::size_t>(p.bytes));
  if (p.space.count == 0) return raw;
  if (p.layout == H5D_CHUNKED) {
    read_chunked(f, p, raw.data());
  } else {
    // Read in the stored type: no conversion by libhdf5.
    check(H5Dread(p.dataset.get(), p.type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), f, p.path, "cannot read the data");
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// String attributes.

// Refuses attribute calls on an object whose attributes libhdf5 would decode from dense storage,
// which check_object_header() does not walk.
void require_compact_attributes(const Object& obj, const std::string& at) {
  if (obj.dense_attributes)
    fail(*obj.file, at, "keeps its attributes in dense storage (a fractal heap), which recur does not read; Keras and h5py's "
                        "default settings keep them in the object header. Re-save the file with h5py's default libver.");
}

Hid open_attribute(const Object& obj, const std::string& at, const std::string& name) {
  const FileState& f = *obj.file;
  check_name(f, at, name, "attribute name");
  require_compact_attributes(obj, at);
  if (check(H5Aexists(obj.id.get(), name.c_str()), f, at, "cannot look up the attribute " + quoted(name)) == 0)
    fail(f, at, "expected an attribute " + quoted(name) + ", found none.");
  return check_id(H5Aopen(obj.id.get(), name.c_str(), H5P_DEFAULT), f, at, "cannot open the attribute " + quoted(name));
}

std::string trim_fixed(const char* p, std::size_t size, H5T_str_t pad) {
  if (pad == H5T_STR_NULLTERM) return std::string(p, strnlen(p, size));
  std::size_t n = size;
  const char padding = pad == H5T_STR_SPACEPAD ? ' ' : '\0';
  while (n > 0 && p[n - 1] == padding) --n;
  return std::string(p, n);
}

// Checks, in the file image, the global heap objects that the variable-length strings of an
// attribute point to, before libhdf5 reads them: libhdf5 1.10 loops forever on a heap
// collection holding a free-space entry of size 0, and copies a heap object into a buffer sized
// by the string's stored length without comparing the two (a heap overflow). `raw` holds
// `count` stored elements of `element` bytes: a 4-byte length, a heap collection address, a
// 4-byte object index. The walk of each collection mirrors libhdf5's
// (H5HG__cache_heap_deserialize); the layout is the file format specification's
// ("Global Heap").
void check_heap_references(const FileState& f, const std::string& at, const std::string& what,
                           const std::vector<unsigned char>& raw, std::uint64_t element, std::uint64_t count) {
  const std::size_t A = f.sizeof_offsets, L = f.sizeof_lengths;
  if (element != 8 + A) fail(f, at, what + " has variable-length strings of " + std::to_string(element) + " bytes each; expected " +
                                        std::to_string(8 + A) + " (damaged).");
  const auto align8 = [](std::uint64_t x, std::uint64_t* out) {  // x rounded up to a multiple of 8
    if (__builtin_add_overflow(x, 7, out)) return false;
    *out &= ~std::uint64_t{7};
    return true;
  };
  const std::uint64_t header = (8 + L + 7) & ~std::size_t{7};  // "GCOL", version, reserved, size
  const std::uint64_t object_header = 8 + L;                     // index, references, reserved, size
  const std::string_view image = f.image;
  std::map<std::uint64_t, std::map<std::uint64_t, std::uint64_t>> collections;  // address -> index -> size
  const auto damaged = [&](std::uint64_t address, const std::string& why) {
    fail(f, at, what + " points to a damaged global heap collection at byte " + std::to_string(address) + ": " + why + ".");
  };
  for (std::uint64_t i = 0; i < count; ++i) {
    const unsigned char* e = raw.data() + i * element;
    const std::uint64_t length = load_uint(e, 4, false);
    const std::uint64_t address = load_uint(e + 4, A, false);
    const std::uint64_t index = load_uint(e + 4 + A, 4, false);
    if (address == 0) continue;  // a null string: libhdf5 reads nothing
    auto found = collections.find(address);
    if (found == collections.end()) {
      if (collections.size() >= 4096) fail(f, at, what + " points to more than 4096 global heap collections.");
      std::uint64_t end = 0;
      if (__builtin_add_overflow(address, header, &end) || end > image.size()) damaged(address, "beyond the end of the file");
      if (image.compare(address, 4, "GCOL") != 0 || image[address + 4] != 1) damaged(address, "no GCOL signature of version 1");
      const std::uint64_t size = load_uint(reinterpret_cast<const unsigned char*>(image.data()) + address + 8, L, false);
      if (size < header || __builtin_add_overflow(address, size, &end) || end > image.size())
        damaged(address, "its size of " + std::to_string(size) + " bytes does not fit in the file");
      std::map<std::uint64_t, std::uint64_t>& objects = collections[address];
      const unsigned char* base = reinterpret_cast<const unsigned char*>(image.data()) + address;
      std::uint64_t p = header;
      while (p < size) {
        if (p + object_header > size) break;  // a tail too small for an object: free space
        const std::uint64_t id = load_uint(base + p, 2, false);
        const std::uint64_t object_size = load_uint(base + p + 8, L, false);
        std::uint64_t need = 0;
        if (id > 0) {
          if (!align8(object_size, &need) || __builtin_add_overflow(need, object_header, &need)) need = 0;
          objects[id] = object_size;
        } else {
          need = object_size;
        }
        if (need == 0 || need > size - p) damaged(address, "object " + std::to_string(id) + " has an invalid size");
        p += need;
      }
      found = collections.find(address);
    }
    const auto object = found->second.find(index);
    if (index == 0 || object == found->second.end())
      damaged(address, "a string points to object " + std::to_string(index) + ", which it does not hold");
    if (object->second != length)
      damaged(address, "a string of " + std::to_string(length) + " bytes points to an object of " + std::to_string(object->second) + " bytes");
  }
}

// Reads `count` strings (fixed or variable length) of an attribute whose type is a string,
// with each at most `max_one` bytes and all at most `max_total`.
std::vector<std::string> read_strings(const FileState& f, const std::string& at, const std::string& name, hid_t attr, hid_t type,
                                      std::uint64_t count, std::size_t max_one, std::size_t max_total) {
  const std::string what = "the attribute " + quoted(name);
  std::vector<std::string> values;
  if (count == 0) return values;
  const H5T_cset_t cset = H5Tget_cset(type);
  if (cset != H5T_CSET_ASCII && cset != H5T_CSET_UTF8) fail(f, at, what + " has an unknown character set.");
  const htri_t variable = check(H5Tis_variable_str(type), f, at, "cannot read the type of " + what);
  if (variable > 0) {
    // libhdf5 allocates length x character size for each string: characters must be bytes.
    const Hid base = check_id(H5Tget_super(type), f, at, "cannot read the character type of " + what);
    if (H5Tget_size(base.get()) != 1)
      fail(f, at, what + " has variable-length strings of " + std::to_string(H5Tget_size(base.get())) +
                      "-byte characters; expected bytes (damaged).");
    // First the stored lengths (see raw_vlen_conversion), so that libhdf5 allocates no more
    // than the limits allow.
    const hsize_t storage = H5Aget_storage_size(attr);
    const std::uint64_t element = storage / count;
    if (storage == 0 || storage % count != 0 || element < 8 || element > 40)
      fail(f, at, what + " has " + std::to_string(storage) + " bytes of storage for " + std::to_string(count) +
                      " variable-length strings (damaged).");
    const Hid raw_type = check_id(H5Tcreate(H5T_OPAQUE, static_cast<std::size_t>(element)), f, at, "cannot make a type");
    check(H5Tset_tag(raw_type.get(), kRawVlenTag), f, at, "cannot make a type");
    std::vector<unsigned char> raw(static_cast<std::size_t>(storage));
    check(H5Aread(attr, raw_type.get(), raw.data()), f, at, "cannot read " + what);
    std::vector<std::size_t> lengths(static_cast<std::size_t>(count));
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      lengths[i] = static_cast<std::size_t>(load_uint(raw.data() + i * element, 4, false));
      total += lengths[i];
      if (lengths[i] > max_one || total > max_total)
        fail(f, at, what + " holds " + (lengths[i] > max_one ? "a string of " + std::to_string(lengths[i]) : "strings of over " + std::to_string(total)) +
                        " bytes, above the limit of " + std::to_string(lengths[i] > max_one ? max_one : max_total) + ".");
    }
    if (!f.writable) check_heap_references(f, at, what, raw, element, count);
    const Hid memory_type = check_id(H5Tcopy(H5T_C_S1), f, at, "cannot make a type");
    check(H5Tset_size(memory_type.get(), H5T_VARIABLE), f, at, "cannot make a type");
    check(H5Tset_cset(memory_type.get(), cset), f, at, "cannot make a type");
    const hsize_t n = count;
    const Hid memory_space = check_id(H5Screate_simple(1, &n, nullptr), f, at, "cannot make a dataspace");
    std::vector<char*> pointers(lengths.size(), nullptr);
    struct Reclaim {
      hid_t type, space;
      std::vector<char*>* p;
      ~Reclaim() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, p->data()); }
    } reclaim{memory_type.get(), memory_space.get(), &pointers};
    check(H5Aread(attr, memory_type.get(), pointers.data()), f, at, "cannot read " + what);
    values.reserve(pointers.size());
    for (std::size_t i = 0; i < pointers.size(); ++i)
      values.emplace_back(pointers[i] ? std::string(pointers[i], strnlen(pointers[i], lengths[i])) : std::string());
    return values;
  }
  const std::size_t size = H5Tget_size(type);
  if (size == 0) fail_hdf5(f, at, "cannot read the string size of " + what);
  std::uint64_t total = 0;
  if (size > max_one || mul_overflows(count, size, &total) || total > max_total)
    fail(f, at, what + " holds " + std::to_string(count) + " strings of " + std::to_string(size) + " bytes, above the limit of " +
                    std::to_string(size > max_one ? max_one : max_total) + " bytes.");
  const H5T_str_t pad = H5Tget_strpad(type);
  const Hid memory_type = check_id(H5Tcopy(H5T_C_S1), f, at, "cannot make a type");
  check(H5Tset_size(memory_type.get(), size), f, at, "cannot make a type");
  check(H5Tset_strpad(memory_type.get(), pad == H5T_STR_ERROR ? H5T_STR_NULLPAD : pad), f, at, "cannot make a type");
  check(H5Tset_cset(memory_type.get(), cset), f, at, "cannot make a type");
  std::vector<char> buffer(static_cast<std::size_t>(total));
  check(H5Aread(attr, memory_type.get(), buffer.data()), f, at, "cannot read " + what);
  values.reserve(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < count; ++i) values.push_back(trim_fixed(buffer.data() + i * size, size, pad));
  return values;
}

// Iteration callbacks collect names; a problem stops the walk (a positive return) and is
// reported after it, since an exception must not cross libhdf5's C frames.
struct NameScan {
  std::vector<std::string> names;
  std::string problem;
  bool links = true;
};

herr_t add_name(NameScan* scan, const char* name, int link_type) noexcept {
  try {
    const std::size_t length = strnlen(name, kMaxNameBytes + 1);
    const std::string_view n(name, length);
    if (length > kMaxNameBytes) {
      scan->problem = "has a name longer than the limit of " + std::to_string(kMaxNameBytes) + " bytes";
    } else if (scan->links && link_type != H5L_TYPE_HARD) {
      scan->problem = "has " + std::string(link_kind(link_type)) + " " + quoted(n) +
                      "; recur follows hard links only (Keras refuses the others too)";
    } else if (scan->links && (n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos)) {
      scan->problem = "has a link with the invalid name " + quoted(n);
    } else if (scan->names.size() >= kMaxMembers) {
      scan->problem = std::string("has more than ") + std::to_string(kMaxMembers) + (scan->links ? " links" : " attributes") +
                      ", the limit";
    } else {
      scan->names.emplace_back(n);
      return 0;
    }
    return 1;
  } catch (...) {
    scan->problem = "cannot be listed (out of memory)";
    return 1;
  }
}

herr_t link_callback(hid_t, const char* name, const H5L_info_t* info, void* data) {
  return add_name(static_cast<NameScan*>(data), name, info->type);
}

herr_t attribute_callback(hid_t, const char* name, const H5A_info_t*, void* data) {
  return add_name(static_cast<NameScan*>(data), name, H5L_TYPE_HARD);
}

// Sorts listed names; two of the same name mean a damaged group (which one would a lookup find?).
void sort_unique(const FileState& f, const std::string& at, std::vector<std::string>& names, const char* what) {
  std::sort(names.begin(), names.end());
  const auto twin = std::adjacent_find(names.begin(), names.end());
  if (twin != names.end()) fail(f, at, std::string("has two ") + what + " named " + quoted(*twin) + " (damaged).");
}

void require_writable(const FileState& f, const std::string& at) {
  if (!f.writable) fail(f, at, "cannot be changed: the file was opened for reading (only File::create() files are writable).");
}

const Object& object_of(const std::shared_ptr<Object>& o) {
  if (!o) throw ModelFormatError("recur::hdf5::Group: used after its File was moved from.");
  return *o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

bool is_hdf5(std::string_view head) {
  return head.size() >= sizeof kSignature && std::memcmp(head.data(), kSignature, sizeof kSignature) == 0;
}

Group::Group(std::shared_ptr<detail::Object> object, std::string path) : object_(std::move(object)), path_(std::move(path)) {}

const std::string& Group::path() const { return path_; }

std::vector<std::string> Group::members() const {
  Lock lock;
  const Object& o = object_of(object_);
  NameScan scan;
  hsize_t index = 0;
  const herr_t r = H5Literate(o.id.get(), H5_INDEX_NAME, H5_ITER_INC, &index, link_callback, &scan);
  if (!scan.problem.empty()) fail(*o.file, path_, scan.problem + ".");
  check(r, *o.file, path_, "cannot list the links of the group");
  sort_unique(*o.file, path_, scan.names, "links");
  return std::move(scan.names);
}

std::vector<std::string> Group::attribute_names() const {
  Lock lock;
  const Object& o = object_of(object_);
  require_compact_attributes(o, path_);
  NameScan scan;
  scan.links = false;
  hsize_t index = 0;
  const herr_t r = H5Aiterate2(o.id.get(), H5_INDEX_NAME, H5_ITER_INC, &index, attribute_callback, &scan);
  if (!scan.problem.empty()) fail(*o.file, path_, scan.problem + ".");
  check(r, *o.file, path_, "cannot list the attributes of the group");
  sort_unique(*o.file, path_, scan.names, "attributes");
  return std::move(scan.names);
}

bool Group::has_group(const std::string& rel) const {
  Lock lock;
  return has_kind(object_of(object_), path_, rel, Kind::kGroup);
}

bool Group::has_dataset(const std::string& rel) const {
  Lock lock;
  return has_kind(object_of(object_), path_, rel, Kind::kDataset);
}

Group Group::group(const std::string& rel) const {
  Lock lock;
  const Object& o = object_of(object_);
  Resolved r = resolve(o, path_, rel);
  if (r.kind != Kind::kGroup || r.where != r.path) fail(*o.file, r.path, "expected a group, " + found_instead(r) + ".");
  auto object = std::make_shared<Object>();
  object->file = o.file;
  object->id = std::move(r.id);
  object->dense_attributes = r.dense_attributes;
  return Group(std::move(object), r.path);
}

bool Group::has_attribute(const std::string& name) const {
  Lock lock;
  const Object& o = object_of(object_);
  check_name(*o.file, path_, name, "attribute name");
  require_compact_attributes(o, path_);
  return check(H5Aexists(o.id.get(), name.c_str()), *o.file, path_, "cannot look up the attribute " + quoted(name)) > 0;
}

std::string Group::string_attribute(const std::string& name) const {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  const Hid attr = open_attribute(o, path_, name);
  const Hid space = check_id(H5Aget_space(attr.get()), f, path_, "cannot read the shape of the attribute " + quoted(name));
  const Space s = read_space(f, path_, space.get());
  if (s.null || s.count != 1 || s.dims.size() > 1)
    fail(f, path_, "expected the attribute " + quoted(name) + " to be one string, found shape " +
                       (s.null ? std::string("null") : dims_str(s.dims)) + ".");
  const Hid type = check_id(H5Aget_type(attr.get()), f, path_, "cannot read the type of the attribute " + quoted(name));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_STRING)
    fail(f, path_, "expected the attribute " + quoted(name) + " to be a string, found " + class_name(cls) + ".");
  return std::move(read_strings(f, path_, name, attr.get(), type.get(), 1, kMaxStringBytes, kMaxStringBytes).front());
}

std::vector<std::string> Group::string_list_attribute(const std::string& name) const {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  const Hid attr = open_attribute(o, path_, name);
  const Hid space = check_id(H5Aget_space(attr.get()), f, path_, "cannot read the shape of the attribute " + quoted(name));
  const Space s = read_space(f, path_, space.get());
  if (s.null || s.dims.size() > 1)
    fail(f, path_, "expected the attribute " + quoted(name) + " to be a list of strings (rank 1), found shape " +
                       (s.null ? std::string("null") : dims_str(s.dims)) + ".");
  if (s.count > kMaxStringListCount)
    fail(f, path_, "the attribute " + quoted(name) + " holds " + std::to_string(s.count) + " strings, above the limit of " +
                       std::to_string(kMaxStringListCount) + ".");
  const Hid type = check_id(H5Aget_type(attr.get()), f, path_, "cannot read the type of the attribute " + quoted(name));
  const H5T_class_t cls = H5Tget_class(type.get());
  if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && s.count == 0) return {};  // Keras's np.asarray([])
  if (cls != H5T_STRING)
    fail(f, path_, "expected the attribute " + quoted(name) + " to be a list of strings, found " + class_name(cls) +
                       " with " + std::to_string(s.count) + " element(s).");
  return read_strings(f, path_, name, attr.get(), type.get(), s.count, kMaxStringListBytes, kMaxStringListBytes);
}

Tensor Group::float_dataset(const std::string& rel, std::uint64_t max_values) const {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  DatasetPlan p = describe(o, path_, rel);
  if (p.space.dims.size() > 4)
    fail(f, p.path, "has rank " + std::to_string(p.space.dims.size()) + " (shape " + dims_str(p.space.dims) +
                        "); recur::Tensor holds rank 1 to 4.");
  check_limits(f, p, max_values);
  const std::vector<unsigned char> raw = read_raw(f, p);
  std::vector<float> values(static_cast<std::size_t>(p.space.count));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = to_float(raw.data() + i * p.numeric.size, p.numeric);
  Shape shape = p.space.dims.empty() ? Shape{1} : Shape(p.space.dims.begin(), p.space.dims.end());
  return Tensor(std::move(shape), std::move(values));
}

std::vector<std::uint64_t> Group::dataset_shape(const std::string& rel) const {
  Lock lock;
  const Object& o = object_of(object_);
  std::string path;
  const Hid dataset = open_dataset(o, path_, rel, &path);
  const Hid space = check_id(H5Dget_space(dataset.get()), *o.file, path, "cannot read the dataspace");
  Space s = read_space(*o.file, path, space.get());
  if (s.null) fail(*o.file, path, "has a null dataspace (no shape, no values); expected an array.");
  return std::move(s.dims);
}

std::int64_t Group::integer_scalar(const std::string& rel) const {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  DatasetPlan p = describe(o, path_, rel);
  if (p.space.count != 1) fail(f, p.path, "expected a single value, found shape " + dims_str(p.space.dims) + ".");
  check_limits(f, p, 1);
  const std::vector<unsigned char> raw = read_raw(f, p);
  const std::uint64_t bits = load_uint(raw.data(), p.numeric.size, p.numeric.big_endian);
  if (p.numeric.kind == Numeric::kSigned) return sign_extend(bits, p.numeric.size);
  if (p.numeric.kind == Numeric::kUnsigned) {
    if (bits > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(f, p.path, "holds " + std::to_string(bits) + ", above the int64 range.");
    return static_cast<std::int64_t>(bits);
  }
  double d;
  if (p.numeric.size == 8) {
    std::memcpy(&d, &bits, sizeof d);
  } else {
    d = static_cast<double>(to_float(raw.data(), p.numeric));
  }
  // 2^63 is exact in double; every integral double below it in magnitude converts exactly.
  if (!std::isfinite(d) || d != std::trunc(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
    fail(f, p.path, "expected an integer, found the " + numeric_name(p.numeric) + " value " + std::to_string(d) + ".");
  return static_cast<std::int64_t>(d);
}

namespace {

// Creation properties of a written object (`cls`: H5P_GROUP_CREATE, H5P_DATASET_CREATE, or
// H5P_FILE_CREATE for the root group) without modification times, which libhdf5 stores by
// default: the same model gives the same bytes whenever it is saved.
Hid untimed_creation_properties(hid_t cls, const FileState& f, const std::string& path) {
  Hid plist = check_id(H5Pcreate(cls), f, path, "cannot make creation properties");
  check(H5Pset_obj_track_times(plist.get(), false), f, path, "cannot turn off modification times");
  return plist;
}

}  // namespace

Group Group::create_group(const std::string& name) {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  require_writable(f, path_);
  check_link_name(f, path_, name);
  const std::string path = join(path_, name);
  if (depth_of(path) > kMaxDepth) fail(f, path, "nests deeper than the limit of " + std::to_string(kMaxDepth) + " levels.");
  if (check(H5Lexists(o.id.get(), name.c_str(), H5P_DEFAULT), f, path_, "cannot look up " + quoted(name)) > 0)
    fail(f, path, "cannot be created: it exists.");
  auto object = std::make_shared<Object>();
  object->file = o.file;
  const Hid gcpl = untimed_creation_properties(H5P_GROUP_CREATE, f, path);
  object->id = check_id(H5Gcreate2(o.id.get(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), f, path, "cannot create the group");
  return Group(std::move(object), path);
}

void Group::write_float_dataset(const std::string& name, const Tensor& t) {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  require_writable(f, path_);
  check_link_name(f, path_, name);
  const std::string path = join(path_, name);
  if (check(H5Lexists(o.id.get(), name.c_str(), H5P_DEFAULT), f, path_, "cannot look up " + quoted(name)) > 0)
    fail(f, path, "cannot be created: it exists.");
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  const Hid space = check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), f, path, "cannot make the dataspace");
  const Hid dcpl = untimed_creation_properties(H5P_DATASET_CREATE, f, path);
  const Hid dataset = check_id(H5Dcreate2(o.id.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                               f, path, "cannot create the dataset");
  if (t.size() > 0)
    check(H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()), f, path, "cannot write the dataset");
}

void Group::write_int64_scalar(const std::string& name, std::int64_t v) {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  require_writable(f, path_);
  check_link_name(f, path_, name);
  const std::string path = join(path_, name);
  if (check(H5Lexists(o.id.get(), name.c_str(), H5P_DEFAULT), f, path_, "cannot look up " + quoted(name)) > 0)
    fail(f, path, "cannot be created: it exists.");
  const Hid space = check_id(H5Screate(H5S_SCALAR), f, path, "cannot make the dataspace");
  const Hid dcpl = untimed_creation_properties(H5P_DATASET_CREATE, f, path);
  const Hid dataset = check_id(H5Dcreate2(o.id.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                               f, path, "cannot create the dataset");
  check(H5Dwrite(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), f, path, "cannot write the dataset");
}

namespace {

// Deletes the attribute `name` of `obj` if there is one (h5py's attrs[name] = ... replaces).
void remove_attribute(const Object& obj, const std::string& at, const std::string& name) {
  const FileState& f = *obj.file;
  if (check(H5Aexists(obj.id.get(), name.c_str()), f, at, "cannot look up the attribute " + quoted(name)) > 0)
    check(H5Adelete(obj.id.get(), name.c_str()), f, at, "cannot replace the attribute " + quoted(name));
}

}  // namespace

void Group::set_string_attribute(const std::string& name, const std::string& value) {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  require_writable(f, path_);
  check_name(f, path_, name, "attribute name");
  if (value.find('\0') != std::string::npos)
    fail(f, path_, "the value of the attribute " + quoted(name) + " holds a NUL byte; HDF5 strings cannot.");
  remove_attribute(o, path_, name);
  const Hid type = check_id(H5Tcopy(H5T_C_S1), f, path_, "cannot make a type");
  check(H5Tset_size(type.get(), H5T_VARIABLE), f, path_, "cannot make a type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), f, path_, "cannot make a type");
  const Hid space = check_id(H5Screate(H5S_SCALAR), f, path_, "cannot make a dataspace");
  const Hid attr = check_id(H5Acreate2(o.id.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), f, path_,
                            "cannot create the attribute " + quoted(name));
  const char* data = value.c_str();
  check(H5Awrite(attr.get(), type.get(), &data), f, path_, "cannot write the attribute " + quoted(name));
}

void Group::set_string_list_attribute(const std::string& name, const std::vector<std::string>& values) {
  Lock lock;
  const Object& o = object_of(object_);
  const FileState& f = *o.file;
  require_writable(f, path_);
  check_name(f, path_, name, "attribute name");
  std::size_t longest = 1;
  for (const std::string& v : values) {
    if (v.find('\0') != std::string::npos)
      fail(f, path_, "a value of the attribute " + quoted(name) + " holds a NUL byte; fixed-length HDF5 strings cannot.");
    longest = std::max(longest, v.size());
  }
  std::uint64_t total = 0;
  if (mul_overflows(values.size(), longest, &total) || total > kMaxWrittenListBytes)
    fail(f, path_, "the attribute " + quoted(name) + " would take " + std::to_string(total) + " bytes, above HDF5's object-header limit of " +
                       std::to_string(kMaxWrittenListBytes) + " bytes; split the list as Keras does (" + printable(name) + "0, " +
                       printable(name) + "1, ...).");
  remove_attribute(o, path_, name);
  const hsize_t n = values.size();
  const Hid space = check_id(H5Screate_simple(1, &n, nullptr), f, path_, "cannot make a dataspace");
  if (values.empty()) {
    // Keras writes an empty name list as np.asarray([]): float64, shape (0,).
    check_id(H5Acreate2(o.id.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), f, path_,
             "cannot create the attribute " + quoted(name));
    return;
  }
  const Hid type = check_id(H5Tcopy(H5T_C_S1), f, path_, "cannot make a type");
  check(H5Tset_size(type.get(), longest), f, path_, "cannot make a type");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), f, path_, "cannot make a type");
  check(H5Tset_cset(type.get(), H5T_CSET_ASCII), f, path_, "cannot make a type");
  std::vector<char> buffer(static_cast<std::size_t>(total), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(buffer.data() + i * longest, values[i].data(), values[i].size());
  const Hid attr = check_id(H5Acreate2(o.id.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), f, path_,
                            "cannot create the attribute " + quoted(name));
  check(H5Awrite(attr.get(), type.get(), buffer.data()), f, path_, "cannot write the attribute " + quoted(name));
}

File::File(std::shared_ptr<detail::FileState> state) : state_(std::move(state)) {}

namespace {

// File image callbacks that make libhdf5's core driver read FileState::image in place: every
// "allocation" of the image returns the same buffer, every copy is onto itself, nothing is
// freed. (H5LTopen_file_image with DONT_COPY | DONT_RELEASE does the same but leaks its 72-byte
// udata on every open in 1.10.8; without DONT_COPY it copies the whole image.)
void* image_malloc(size_t size, H5FD_file_image_op_t, void* udata) {
  const auto* view = static_cast<const detail::ImageView*>(udata);
  return size == view->size ? view->data : nullptr;
}
void* image_memcpy(void* dest, const void* src, size_t size, H5FD_file_image_op_t, void* udata) {
  const auto* view = static_cast<const detail::ImageView*>(udata);
  return dest == view->data && src == view->data && size == view->size ? dest : nullptr;
}
void* image_realloc(void*, size_t, H5FD_file_image_op_t, void*) { return nullptr; }  // read-only
herr_t image_free(void*, H5FD_file_image_op_t, void*) { return 0; }
void* udata_copy(void* udata) { return udata; }
herr_t udata_free(void*) { return 0; }

// The superblock fields this wrapper uses (the file format specification, "Superblock"):
// the sizes of addresses and lengths; and a base address of 0, so that file addresses are
// offsets in the image (a file whose superblock is at byte 0 has no user block).
void read_superblock(FileState& f) {
  const auto byte = [&](std::size_t i) { return i < f.image.size() ? static_cast<unsigned char>(f.image[i]) : 0u; };
  const unsigned version = byte(8);
  std::size_t sizes = 0, base = 0;
  if (version == 0 || version == 1) {
    sizes = 13;
    base = version == 0 ? 24 : 28;
  } else if (version == 2 || version == 3) {
    sizes = 9;
    base = 12;
  } else {
    throw ModelFormatError(f.context + ": HDF5 superblock version " + std::to_string(version) + " is not supported (0 to 3 are).");
  }
  f.sizeof_offsets = byte(sizes);
  f.sizeof_lengths = byte(sizes + 1);
  if (version < 2) {  // the group leaf and internal node K after the sizes and a reserved byte
    f.group_leaf_k = byte(sizes + 3) | byte(sizes + 4) << 8;
    f.group_internal_k = byte(sizes + 5) | byte(sizes + 6) << 8;
  }
  for (unsigned size : {f.sizeof_offsets, f.sizeof_lengths})
    if (size != 2 && size != 4 && size != 8)
      throw ModelFormatError(f.context + ": the HDF5 superblock declares " + std::to_string(size) +
                             "-byte addresses or lengths; recur reads 2, 4 and 8.");
  if (base + f.sizeof_offsets > f.image.size())
    throw ModelFormatError(f.context + ": cannot be opened as HDF5 (" + std::to_string(f.image.size()) + " bytes): truncated superblock.");
  const std::uint64_t base_address = load_uint(reinterpret_cast<const unsigned char*>(f.image.data()) + base, f.sizeof_offsets, false);
  if (base_address != 0)
    throw ModelFormatError(f.context + ": the HDF5 superblock declares a base address of " + std::to_string(base_address) +
                           "; recur reads files whose addresses start at byte 0.");
  // The root group's object header: version 0 and 1 name it in the root group's symbol table
  // entry, after four addresses (base, free space, end of file, driver information) and the
  // entry's link name offset; versions 2 and 3 after the base, extension and end-of-file
  // addresses, the extension (an object header too, read at open) being the second.
  const std::size_t A = f.sizeof_offsets;
  const std::size_t root_at = version < 2 ? base + 5 * A : base + 3 * A;
  if (root_at + A > f.image.size())
    throw ModelFormatError(f.context + ": cannot be opened as HDF5 (" + std::to_string(f.image.size()) + " bytes): truncated superblock.");
  const auto* image = reinterpret_cast<const unsigned char*>(f.image.data());
  f.root_address = load_uint(image + root_at, A, false);
  if (version >= 2) f.extension_address = load_uint(image + base + A, A, false);
  const std::uint64_t undefined = A == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * A)) - 1;
  if (f.extension_address == undefined) f.extension_address = ~std::uint64_t{0};
}

std::shared_ptr<FileState> open_image(std::string bytes, std::string label, std::string context) {
  static std::uint64_t counter = 0;
  auto state = std::make_shared<FileState>();
  state->label = std::move(label);
  state->context = std::move(context);
  if (!is_hdf5(bytes)) {
    std::string head;
    for (std::size_t i = 0; i < bytes.size() && i < sizeof kSignature; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", static_cast<unsigned char>(bytes[i]));
      head += buf;
    }
    throw ModelFormatError(state->context + ": not an HDF5 file: expected the signature 89 48 44 46 0d 0a 1a 0a (\\x89HDF\\r\\n\\x1a\\n) at byte 0, found " +
                           (bytes.empty() ? std::string("an empty file") : head) + ".");
  }
  state->image = std::move(bytes);
  state->view = {state->image.data(), state->image.size()};
  read_superblock(*state);
  // libhdf5 reads the root group's object header (and the superblock extension's) at open.
  if (state->extension_address != ~std::uint64_t{0})
    check_object_header(*state, "superblock extension", state->extension_address);
  check_object_header(*state, "/", state->root_address);
  Lock lock;
  const auto refuse = [&] {
    const std::string reason = hdf5_reason();
    throw ModelFormatError(state->context + ": cannot be opened as HDF5 (" + std::to_string(state->image.size()) +
                           " bytes): truncated or damaged" + (reason.empty() ? "" : " (libhdf5: " + reason + ")") + ".");
  };
  const Hid fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5FD_file_image_callbacks_t callbacks = {image_malloc, image_memcpy, image_realloc, image_free,
                                           udata_copy,   udata_free,   &state->view};
  if (fapl.get() < 0 || H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0 ||
      H5Pset_file_image_callbacks(fapl.get(), &callbacks) < 0 ||
      H5Pset_file_image(fapl.get(), state->view.data, state->view.size) < 0)
    refuse();
  // A name unique in the process (libhdf5 treats two open core files of one name as one file)
  // that no file can have: before opening an image, the core driver open()s the name to make
  // sure no such file exists, and a planted file of that name in the working folder would
  // make the open fail. Nothing can exist below /dev/null.
  const std::string name = "/dev/null/recur-hdf5-image-" + std::to_string(++counter);
  const hid_t id = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) refuse();
  state->file = Hid(id);
  return state;
}

const FileState& state_of(const std::shared_ptr<FileState>& s) {
  if (!s) throw ModelFormatError("recur::hdf5::File: used after it was moved from.");
  return *s;
}

}  // namespace

File File::open(const std::string& path, const std::string& what, std::uint64_t max_bytes) {
  std::string bytes = read_file_bounded(path, max_bytes, what);
  return File(open_image(std::move(bytes), path, what + " '" + printable(path) + "'"));
}

File File::from_bytes(std::string bytes, const std::string& label) {
  return File(open_image(std::move(bytes), label, "HDF5 file '" + printable(label) + "'"));
}

File File::create(const std::string& label) {
  static std::uint64_t counter = 0;
  auto state = std::make_shared<FileState>();
  state->label = label;
  state->context = "new HDF5 file '" + printable(label) + "'";
  state->writable = true;
  Lock lock;
  const Hid fapl = check_id(H5Pcreate(H5P_FILE_ACCESS), *state, "/", "cannot make file access properties");
  check(H5Pset_fapl_core(fapl.get(), 1 << 16, 0), *state, "/", "cannot select the in-memory driver");
  // A name unique in the process: libhdf5 treats two open core files of one name as one file.
  const std::string name = "/dev/null/recur-hdf5-memory-" + std::to_string(++counter);
  const Hid fcpl = untimed_creation_properties(H5P_FILE_CREATE, *state, "/");  // the root group's times
  state->file = check_id(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), *state, "/", "cannot create the file");
  return File(std::move(state));
}

Group File::root() const {
  Lock lock;
  const FileState& f = state_of(state_);
  auto object = std::make_shared<Object>();
  object->file = state_;
  object->id = check_id(H5Gopen2(f.file.get(), "/", H5P_DEFAULT), f, "/", "cannot open the root group");
  object->dense_attributes = check_object_header(f, "/", f.root_address);
  return Group(std::move(object), "/");
}

std::string File::bytes() const {
  Lock lock;
  const FileState& f = state_of(state_);
  if (!f.writable) return f.image;
  check(H5Fflush(f.file.get(), H5F_SCOPE_GLOBAL), f, "/", "cannot flush the file");
  const ssize_t size = check(H5Fget_file_image(f.file.get(), nullptr, 0), f, "/", "cannot measure the file image");
  std::string out(static_cast<std::size_t>(size), '\0');
  check(H5Fget_file_image(f.file.get(), out.data(), out.size()), f, "/", "cannot copy the file image");
  return out;
}

const std::string& File::label() const { return state_of(state_).label; }

}  // namespace recur::hdf5
