#pragma once
// A safe C++ wrapper over libhdf5 (1.10, serial) for reading and writing Keras model files
// (legacy .h5 models and the model.weights.h5 member of a .keras archive).
//
// Hostile-file discipline (STYLE.md): a file is opened from bytes in memory, never by path, so
// libhdf5 touches no file system. Nothing is allocated from a size the file declares before that
// size is checked against a limit and against the bytes present: dataset shapes are
// overflow-checked and compared with the stored size, string attributes are bounded (the lengths
// of variable-length strings are read from the raw attribute before libhdf5 allocates them),
// and chunked datasets are decoded by this wrapper, chunk by chunk, with each chunk's
// decompressed size bounded (libhdf5's own deflate filter grows its buffer without limit, a
// "zip bomb"). Soft, external and user-defined links are refused, as Keras refuses them, so a
// file never points outside itself. Every failure, including every negative return of the
// HDF5 C API, becomes a recur::ModelFormatError whose message names the file, the object path,
// what was expected and what was found (with libhdf5's own innermost reason when it gave one).
// libhdf5's automatic error printing is turned off: nothing is printed to stderr.
//
// libhdf5 1.10 serial is not thread-safe: every call into it holds one process-wide
// recursive mutex, so Files and Groups may be used from several threads (calls serialize).
//
// Remaining trust in libhdf5: every object header is walked in the file's bytes before libhdf5
// reads it (chunks, continuations and the sizes inside attribute, datatype, dataspace, link,
// layout, fill value and filter messages, which libhdf5 1.10.8 copies by without checking:
// fuzzing found out-of-bounds reads in its attribute decoding; fuzz/README.md). B-trees, heaps
// and links in a fractal heap are still parsed by libhdf5 unchecked, so open untrusted files in
// a process that may crash. Attributes in dense storage, committed datatypes and shared
// messages are refused.
//
// Example (reading a legacy Keras .h5 file):
//   const recur::hdf5::File file = recur::hdf5::File::open("model.h5", "Keras model file");
//   const recur::hdf5::Group weights = file.root().group("model_weights");
//   for (const std::string& layer : weights.string_list_attribute("layer_names"))
//     for (const std::string& name : weights.group(layer).string_list_attribute("weight_names"))
//       recur::Tensor w = weights.group(layer).float_dataset(name, 1u << 28);
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recur/core/tensor.hpp"

namespace recur::hdf5 {

/// Limits of the reader (each refusal names the limit).
inline constexpr std::size_t kMaxMembers = 100'000;           // links in one group, attributes on one object
inline constexpr std::size_t kMaxNameBytes = 64 * 1024;       // one link or attribute name
inline constexpr std::size_t kMaxDepth = 64;                  // components of an object path
inline constexpr std::size_t kMaxRank = 8;                    // dataset rank
inline constexpr std::size_t kMaxStringBytes = 16u << 20;     // string_attribute()
inline constexpr std::size_t kMaxStringListCount = 1'000'000; // string_list_attribute()
inline constexpr std::size_t kMaxStringListBytes = 64u << 20; // string_list_attribute(), all strings
/// The largest fixed-length string-list attribute set_string_list_attribute() writes: Keras's
/// HDF5_OBJECT_HEADER_LIMIT (64512 bytes). Keras splits longer lists into "layer_names0",
/// "layer_names1", ...; the caller does the same.
inline constexpr std::size_t kMaxWrittenListBytes = 64'512;

namespace detail {
struct FileState;
struct Object;
}  // namespace detail

/// True when `head` starts with the HDF5 signature "\x89HDF\r\n\x1a\n" (8 bytes).
bool is_hdf5(std::string_view head);

/// A group of an HDF5 file (the root group is "/"). Copies share the open group; a Group keeps
/// its File's HDF5 state (the handle and the image bytes) alive, so it may outlive the File
/// object it came from. All reads take relative paths "a/b/c": no leading '/', no empty, "." or
/// ".." components, at most kMaxDepth components in all (counting this group's own depth), each
/// name at most kMaxNameBytes; every link on the way must be a hard link. A path that breaks
/// these rules is refused with ModelFormatError.
class Group {
 public:
  /// "/model_weights/lstm_1" ("/" for the root), for messages.
  const std::string& path() const;

  /// Names of the direct children reached by hard links (groups and datasets; a committed
  /// datatype, which Keras never writes, is listed too), sorted by byte value, at most
  /// kMaxMembers. Throws ModelFormatError beyond that, for a soft, external or user-defined link
  /// (named in the message; Keras refuses them too), and for a link name that is empty, ".",
  /// "..", holds '/', or is longer than kMaxNameBytes.
  std::vector<std::string> members() const;
  /// Names of this group's attributes, sorted, at most kMaxMembers (ModelFormatError beyond).
  std::vector<std::string> attribute_names() const;

  /// True when `rel` names a group (resp. dataset). False when a link on the way is missing or
  /// leads to the other kind of object. Throws ModelFormatError for a bad path or a link on the
  /// way that is not a hard link.
  bool has_group(const std::string& rel) const;
  bool has_dataset(const std::string& rel) const;
  /// The group at `rel`. Throws ModelFormatError naming the file, the full path and what is
  /// there instead ("nothing", "a dataset") when it is not a group.
  Group group(const std::string& rel) const;

  /// True when this group has an attribute `name` (1 to kMaxNameBytes bytes, no NUL).
  bool has_attribute(const std::string& name) const;
  /// A string attribute: scalar or a 1-element 1-D array, fixed-length (NULLTERM: up to the
  /// first NUL; NULLPAD: trailing NULs removed; SPACEPAD: trailing spaces removed) or
  /// variable-length, ASCII or UTF-8 (returned as stored, not validated). At most
  /// kMaxStringBytes. Throws ModelFormatError when missing, not a string, of another shape, or
  /// too long.
  std::string string_attribute(const std::string& name) const;
  /// A string-array attribute: 1-D (or scalar: one string), fixed or variable length, with the
  /// padding rules of string_attribute(). A NUMERIC attribute with 0 elements reads as {} (Keras
  /// writes an empty name list as np.asarray([]), a float64 array of shape (0,)). At most
  /// kMaxStringListCount strings and kMaxStringListBytes in all. Throws ModelFormatError when
  /// missing, not strings (or numeric with elements), of rank above 1, or beyond the limits.
  std::vector<std::string> string_list_attribute(const std::string& name) const;

  /// The dataset at `rel` as float32, whatever its stored numeric type: IEEE float of 16, 32 or
  /// 64 bits or an integer of 1, 2, 4 or 8 bytes, signed or not, either byte order. float64
  /// values beyond float32's range become +-inf, integers are rounded to the nearest float;
  /// NaN and inf are returned as they are (the caller checks). Rank 0 (a scalar) gives shape
  /// (1,), since recur::Tensor holds rank 1 to 4; ranks 5 to 8 are valid HDF5 (see
  /// dataset_shape()) but refused here for that reason.
  ///
  /// Before anything is allocated: each extent and their product are overflow-checked, the
  /// product must be at most `max_values`, a contiguous or compact dataset must store at least
  /// the bytes its shape needs, and a chunked dataset's chunk must hold at most `max_values`
  /// values. Chunks are decoded here, each bounded to its declared size (a deflate stream that
  /// inflates beyond it is refused). Throws ModelFormatError for all of these, for rank above
  /// kMaxRank, for external storage, virtual datasets, any filter other than deflate, shuffle
  /// and fletcher32 (and a fletcher32 checksum that does not match), and for non-numeric types.
  Tensor float_dataset(const std::string& rel, std::uint64_t max_values) const;
  /// The extents of the dataset at `rel` without reading it ({} for a scalar), rank at most
  /// kMaxRank. Same path and link checks; throws ModelFormatError.
  std::vector<std::uint64_t> dataset_shape(const std::string& rel) const;
  /// A dataset of exactly one element (scalar, or any shape whose extents are all 1) of integer
  /// or float type as int64, e.g. an optimizer's iteration count. A float must be finite and
  /// integral, an unsigned value at most INT64_MAX. Throws ModelFormatError.
  std::int64_t integer_scalar(const std::string& rel) const;

  // Writing (only on a File from File::create(); on a file opened for reading each throws
  // ModelFormatError). `name` is one link name (no '/'), 1 to kMaxNameBytes bytes, no NUL.

  /// Creates the child group `name`. Throws ModelFormatError if a link `name` exists.
  Group create_group(const std::string& name);
  /// Writes `t` as a float32 little-endian dataset `name`, contiguous and uncompressed, of shape
  /// t.shape() (rank 1 to 4, as recur::Tensor allows). Throws ModelFormatError if it exists.
  void write_float_dataset(const std::string& name, const Tensor& t);
  /// Writes a scalar int64 little-endian dataset `name`. Throws ModelFormatError if it exists.
  void write_int64_scalar(const std::string& name, std::int64_t v);
  /// Sets a scalar variable-length UTF-8 string attribute (what h5py writes for a Python str),
  /// replacing an attribute of that name. `value` must hold no NUL byte (ModelFormatError).
  void set_string_attribute(const std::string& name, const std::string& value);
  /// Sets a 1-D fixed-length NULLPAD ASCII string-array attribute (what h5py writes for a numpy
  /// array of bytes, which Keras uses for layer_names and weight_names; the element size is the
  /// longest string, at least 1), replacing an attribute of that name. An empty list is written
  /// as a float64 array of shape (0,), exactly as Keras does. Strings must hold no NUL byte and
  /// the array at most kMaxWrittenListBytes bytes (Keras's object-header limit: split longer
  /// lists as Keras does); throws ModelFormatError otherwise.
  void set_string_list_attribute(const std::string& name, const std::vector<std::string>& values);

 private:
  friend class File;
  Group(std::shared_ptr<detail::Object> object, std::string path);
  std::shared_ptr<detail::Object> object_;
  std::string path_;
};

/// An HDF5 file held in memory: opened from bytes (read-only), or created empty (writable) and
/// turned into bytes at the end. Copies share the same file; moving leaves an empty File whose
/// every call throws ModelFormatError.
class File {
 public:
  /// Reads the file at `path` with recur::read_file_bounded (at most `max_bytes`, default
  /// 4 GiB) and opens the bytes in memory, so libhdf5 never opens the path itself. `what` names
  /// the file's role in messages ("Keras model file"). Throws IoError when the file cannot be
  /// read (missing, a folder, too large) and ModelFormatError when it is not a readable HDF5
  /// file (no signature at byte 0, truncated, damaged).
  static File open(const std::string& path, const std::string& what,
                   std::uint64_t max_bytes = std::uint64_t{4} << 30);
  /// Opens an in-memory image (e.g. a zip member); `label` names it in messages
  /// ("m.keras:model.weights.h5"). The HDF5 signature must be at byte 0 (a user block is not
  /// supported), the superblock of version 0 to 3 with a base address of 0 and 2-, 4- or 8-byte
  /// addresses and lengths (what h5py and Keras write). libhdf5 reads the bytes in place; they
  /// live as long as the File or any Group of it. Throws ModelFormatError.
  static File from_bytes(std::string bytes, const std::string& label);
  /// A new, empty, writable in-memory file (libhdf5's core driver, no backing store), in the
  /// oldest file format that holds its contents (what h5py writes by default).
  static File create(const std::string& label = "new HDF5 file");

  /// The root group "/".
  Group root() const;
  /// The complete file image (flushed first): for a created file, ready to write with
  /// write_file_atomic or to put in a zip; for an opened file, the bytes it was opened from.
  std::string bytes() const;
  /// The label given to from_bytes()/create(), or the path given to open().
  const std::string& label() const;

 private:
  explicit File(std::shared_ptr<detail::FileState> state);
  std::shared_ptr<detail::FileState> state_;
};

}  // namespace recur::hdf5
