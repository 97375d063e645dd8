// recur::hdf5's walk of object headers before libhdf5 reads them (check_object_header in
// src/io/hdf5.cpp). libhdf5 1.10.8 decodes attribute, link, layout, fill value and filter
// messages by the sizes stored in them and reads past its buffer when a crafted file lies
// (fuzz/fuzz_hdf5.cpp found it; fuzz/README.md lists the findings). Files are built in memory
// with the HDF5 C API, then patched; valid files holding every message kind the walk parses
// must still read, in both the oldest file format (h5py's default) and the newest.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

// The library target links libhdf5 privately, without its include folder: find hdf5.h where
// Debian (serial) or a plain install puts it.
#if __has_include(<hdf5.h>)
#include <hdf5.h>
#else
#include <hdf5/serial/hdf5.h>
#endif

#include "recur/core/error.hpp"
#include "recur/io/hdf5.hpp"
#include "support/expect_error.hpp"

namespace {

using recur::ModelFormatError;
using recur::hdf5::File;
using recur::hdf5::Group;
using recur::test::expect_error;

constexpr const char* kCode = recur::codes::kModelFormat;

// An HDF5 file built with the C API: the oldest format (object header version 1, symbol-table
// groups), or with `latest` the newest (version 2 headers, link messages). The newest format's
// superblock is only consistent once the file is closed, so bytes() closes it: the file is
// written through to a temporary path (the core driver's backing store) and read back.
class BuiltFile {
 public:
  explicit BuiltFile(bool latest = false, hid_t fcpl = H5P_DEFAULT) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("recur-hdf5-hostile-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".h5"))
                .string();
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 1);
    if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    id_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fapl);
    EXPECT_GE(id_, 0);
  }
  ~BuiltFile() {
    if (id_ >= 0) H5Fclose(id_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  BuiltFile(const BuiltFile&) = delete;
  BuiltFile& operator=(const BuiltFile&) = delete;
  hid_t id() const { return id_; }
  // Closes the file (nothing can be added after) and returns its bytes.
  std::string bytes() {
    if (id_ >= 0) EXPECT_GE(H5Fclose(id_), 0);
    id_ = -1;
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string path_;
  hid_t id_ = -1;
};

// An attribute of `type` and shape `dims` ({} for a scalar) holding `data`.
void put_attribute(hid_t loc, const char* name, hid_t type, const std::vector<hsize_t>& dims, const void* data) {
  const hid_t space = dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(a, 0) << name;
  ASSERT_GE(H5Awrite(a, type, data), 0) << name;
  H5Aclose(a);
  H5Sclose(space);
}

void put_fixed_strings(hid_t loc, const char* name, const std::string& stored, std::size_t element, std::vector<hsize_t> dims) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, element);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  put_attribute(loc, name, t, dims, stored.data());
  H5Tclose(t);
}

void put_vlen_string(hid_t loc, const char* name, const char* value) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  put_attribute(loc, name, t, {}, &value);
  H5Tclose(t);
}

void put_floats(hid_t loc, const char* name, const std::vector<float>& values, hid_t dcpl = H5P_DEFAULT) {
  const hsize_t n = values.size();
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << name;
  ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0) << name;
  H5Dclose(ds);
  H5Sclose(space);
}

// Attributes of every datatype class whose layout the walk parses (h5py writes compound types
// for complex numbers, enums for bools, arrays and opaque types for numpy's void dtypes).
void put_every_attribute_type(hid_t loc) {
  put_vlen_string(loc, "config", "{\"class_name\": \"Sequential\"}");
  put_fixed_strings(loc, "layer_names", std::string("lstm\0\0\0dense_1", 14), 7, {2});
  struct Complex {
    double re, im;
  } z{1.0, -2.0};
  const hid_t complex_type = H5Tcreate(H5T_COMPOUND, sizeof(Complex));
  H5Tinsert(complex_type, "r", HOFFSET(Complex, re), H5T_IEEE_F64LE);
  H5Tinsert(complex_type, "i", HOFFSET(Complex, im), H5T_IEEE_F64LE);
  put_attribute(loc, "complex", complex_type, {}, &z);
  H5Tclose(complex_type);
  const hid_t bool_type = H5Tenum_create(H5T_NATIVE_INT8);
  const std::int8_t no = 0, yes = 1;
  H5Tenum_insert(bool_type, "FALSE", &no);
  H5Tenum_insert(bool_type, "TRUE", &yes);
  put_attribute(loc, "flag", bool_type, {}, &yes);
  H5Tclose(bool_type);
  const hsize_t three = 3;
  const hid_t array_type = H5Tarray_create2(H5T_STD_I32LE, 1, &three);
  const std::int32_t ints[3] = {1, 2, 3};
  put_attribute(loc, "triple", array_type, {}, ints);
  H5Tclose(array_type);
  const hid_t opaque_type = H5Tcreate(H5T_OPAQUE, 4);
  H5Tset_tag(opaque_type, "recur test bytes");
  put_attribute(loc, "raw", opaque_type, {}, "\x01\x02\x03\x04");
  H5Tclose(opaque_type);
}

// Overwrites image[at, at + bytes.size()).
std::string patched(std::string image, std::size_t at, const std::string& bytes) {
  EXPECT_LE(at + bytes.size(), image.size());
  image.replace(at, bytes.size(), bytes);
  return image;
}

std::size_t find_once(const std::string& image, const std::string& what) {
  const std::size_t at = image.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  EXPECT_EQ(image.find(what, at + 1), std::string::npos) << what << " appears twice";
  return at;
}

// ---------------------------------------------------------------------------------------------

TEST(Hdf5HeaderCheck, ValidFilesOfEveryMessageKindStillRead) {
  for (const bool latest : {false, true}) {
    SCOPED_TRACE(latest ? "newest format" : "oldest format");
    BuiltFile raw(latest);
    const hid_t root = raw.id();
    put_every_attribute_type(root);
    // A group that tracks creation order (version 2 message headers grow by 2 bytes).
    const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED);
    H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED);
    const hid_t g = H5Gcreate2(root, "tracked", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    put_every_attribute_type(g);
    const hid_t compact = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(compact, H5D_COMPACT);
    put_floats(g, "compact", {1, 2, 3}, compact);
    H5Pclose(compact);
    const hsize_t chunk = 2;
    const float fill = 7;
    const hid_t chunked = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(chunked, 1, &chunk);
    H5Pset_fill_value(chunked, H5T_NATIVE_FLOAT, &fill);
    H5Pset_shuffle(chunked);
    H5Pset_deflate(chunked, 4);
    H5Pset_fletcher32(chunked);
    put_floats(g, "chunked", {4, 5, 6, 7, 8}, chunked);
    H5Pclose(chunked);
    H5Gclose(g);
    // Attributes added after the datasets: the root's first chunk is full, so its object header
    // continues in another chunk. (At most 8 in all in the newest format, which moves more to
    // dense storage.)
    const std::size_t later = latest ? 2 : 6;
    for (std::size_t i = 0; i < later; ++i) put_vlen_string(root, ("later_" + std::to_string(i)).c_str(), "x");

    const File file = File::from_bytes(raw.bytes(), "valid.h5");
    const Group top = file.root();
    EXPECT_EQ(top.attribute_names().size(), 6 + later);
    EXPECT_EQ(top.string_attribute("config"), "{\"class_name\": \"Sequential\"}");
    EXPECT_EQ(top.string_attribute("later_1"), "x");
    EXPECT_EQ(top.string_list_attribute("layer_names"), (std::vector<std::string>{"lstm", "dense_1"}));
    const Group tracked = top.group("tracked");
    EXPECT_EQ(tracked.attribute_names().size(), 6u);
    EXPECT_EQ(tracked.members(), (std::vector<std::string>{"chunked", "compact"}));
    EXPECT_EQ(tracked.float_dataset("compact", 3).values(), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(tracked.float_dataset("chunked", 5).values(), (std::vector<float>{4, 5, 6, 7, 8}));
    expect_error<ModelFormatError>([&] { (void)tracked.string_attribute("complex"); }, kCode, {"'complex'", "a compound type"});
  }
}

// libhdf5 takes an attribute's name with strdup: without its NUL the copy runs on past the
// message (a heap-buffer-overflow read in H5O_attr_decode, found by fuzz_hdf5).
TEST(Hdf5HeaderCheck, AttributeNameWithoutItsNulIsRefusedBeforeTheObjectOpens) {
  BuiltFile raw;
  const hid_t g = H5Gcreate2(raw.id(), "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  put_vlen_string(g, "probe_attribute_name", "value");
  H5Gclose(g);
  const std::string image = raw.bytes();
  const std::size_t name = find_once(image, "probe_attribute_name");
  ASSERT_EQ(image[name + 20], '\0');
  EXPECT_EQ(File::from_bytes(image, "ok.h5").root().group("weights").string_attribute("probe_attribute_name"), "value");

  const std::string damaged = patched(image, name + 20, "xxxx");  // the NUL and the padding after it
  const File file = File::from_bytes(damaged, "attr.h5");
  expect_error<ModelFormatError>([&] { (void)file.root().group("weights"); }, kCode,
                                 {"attr.h5", "'/weights'", "damaged object header", "attribute whose name does not fill",
                                  "refused before libhdf5 reads it"});
  expect_error<ModelFormatError>([&] { (void)file.root().has_group("weights"); }, kCode, {"damaged object header"});
  EXPECT_EQ(file.root().members(), std::vector<std::string>{"weights"});  // the parent is intact
}

// libhdf5 copies elements x element size bytes of value from the message (H5O_attr_decode
// compares that with the whole message only, not with what is left after the name and types).
TEST(Hdf5HeaderCheck, AttributeValueBeyondItsMessageIsRefused) {
  BuiltFile raw;
  put_fixed_strings(raw.id(), "probe_list", "abcdefgh", 4, {2});
  const std::string image = raw.bytes();
  // Version 1 message: version, reserved, name size (2), datatype size (2), dataspace size (2),
  // then the name, datatype and dataspace, each padded to 8 bytes.
  const std::size_t name = find_once(image, "probe_list");
  ASSERT_EQ(image[name - 8], '\x01');
  const auto u16 = [&](std::size_t at) { return static_cast<unsigned char>(image[at]) | static_cast<unsigned char>(image[at + 1]) << 8; };
  const std::size_t type_size = u16(name - 4);
  const std::size_t space = name + 16 + ((type_size + 7) & ~std::size_t{7});
  ASSERT_EQ(image[space], '\x01');      // dataspace version 1
  ASSERT_EQ(image[space + 1], '\x01');  // rank 1
  ASSERT_EQ(image[space + 8], '\x02');  // 2 strings
  EXPECT_EQ(File::from_bytes(image, "ok.h5").root().string_list_attribute("probe_list"), (std::vector<std::string>{"abcd", "efgh"}));

  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, space + 8, "\xc8"), "value.h5"); }, kCode,
                                 {"value.h5", "'/'", "damaged object header", "200 elements of 4 bytes", "does not fit in its message"});
  // An extent product that overflows 64 bits.
  expect_error<ModelFormatError>(
      [&] { (void)File::from_bytes(patched(image, space + 8, std::string(8, '\xff')), "value.h5"); }, kCode,
      {"damaged object header", "does not fit"});
}

// A compact dataset's data is copied from its layout message by the size that message holds.
TEST(Hdf5HeaderCheck, CompactDataLargerThanItsMessageIsRefused) {
  BuiltFile raw;
  const hid_t compact = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_layout(compact, H5D_COMPACT);
  put_floats(raw.id(), "probe", {1.5f, 2.5f, 3.5f, 4.5f}, compact);
  H5Pclose(compact);
  const std::string image = raw.bytes();
  float values[4] = {1.5f, 2.5f, 3.5f, 4.5f};
  const std::size_t data = find_once(image, std::string(reinterpret_cast<const char*>(values), sizeof values));
  ASSERT_EQ(image.substr(data - 4, 4), std::string("\x03\x00\x10\x00", 4));  // layout version 3, compact, 16 bytes
  EXPECT_EQ(File::from_bytes(image, "ok.h5").root().float_dataset("probe", 4).values(), (std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f}));

  const File file = File::from_bytes(patched(image, data - 2, "\xff\x7f"), "compact.h5");
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("probe", 4); }, kCode,
                                 {"compact.h5", "'/probe'", "damaged object header", "message of type 8", "do not fit"});
}

// Version 2 groups keep their links as messages in the object header: a name length beyond
// the message makes libhdf5 copy past it. The root's header is walked before the file opens.
TEST(Hdf5HeaderCheck, LinkNameBeyondItsMessageIsRefusedAtOpen) {
  BuiltFile raw(/*latest=*/true);
  put_floats(raw.id(), "probe_link_target", {1});
  const std::string image = raw.bytes();
  const std::size_t name = find_once(image, "probe_link_target");
  ASSERT_EQ(image[name - 1], '\x11');  // a 1-byte name length: 17
  EXPECT_EQ(File::from_bytes(image, "ok.h5").root().members(), std::vector<std::string>{"probe_link_target"});

  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, name - 1, "\xff"), "link.h5"); }, kCode,
                                 {"link.h5", "'/'", "damaged object header", "message of type 6"});
}

// Dense attribute storage (a fractal heap, used by the newest format beyond 8 attributes) is not
// walked, so its attributes are refused; the object itself, its links and datasets still read.
TEST(Hdf5HeaderCheck, DenseAttributeStorageIsRefusedOnlyForAttributes) {
  BuiltFile raw(/*latest=*/true);
  const hid_t g = H5Gcreate2(raw.id(), "many", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  for (int i = 0; i < 12; ++i) put_vlen_string(g, ("attribute_" + std::to_string(i)).c_str(), "v");
  put_floats(g, "kernel", {1, 2});
  H5Gclose(g);
  const File file = File::from_bytes(raw.bytes(), "dense.h5");
  const Group many = file.root().group("many");
  EXPECT_EQ(many.members(), std::vector<std::string>{"kernel"});
  EXPECT_EQ(many.float_dataset("kernel", 2).values(), (std::vector<float>{1, 2}));
  for (const auto& call : std::vector<std::function<void()>>{[&] { (void)many.attribute_names(); },
                                                              [&] { (void)many.has_attribute("attribute_0"); },
                                                              [&] { (void)many.string_attribute("attribute_0"); }})
    expect_error<ModelFormatError>(call, kCode, {"dense.h5", "'/many'", "dense storage", "fractal heap"});
  EXPECT_TRUE(file.root().attribute_names().empty());
}

// A dataset of a named (committed) datatype: libhdf5 reads the type from the datatype's own
// object header, which the walk does not follow. Refused as unsupported, not as damage.
TEST(Hdf5HeaderCheck, NamedDatatypesAreRefusedAsUnsupported) {
  BuiltFile raw;
  const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  ASSERT_GE(H5Tcommit2(raw.id(), "float_type", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), 0);
  const hsize_t n = 2;
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t ds = H5Dcreate2(raw.id(), "named", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(t);
  put_floats(raw.id(), "plain", {1, 2});
  const File file = File::from_bytes(raw.bytes(), "named.h5");
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("named", 2); }, kCode,
                                 {"named.h5", "'/named'", "shared message", "named datatype", "Keras never writes"});
  EXPECT_EQ(file.root().float_dataset("plain", 2).values(), (std::vector<float>{1, 2}));
}

// An object header, or its first chunk, that lies beyond the end of the file (truncated).
TEST(Hdf5HeaderCheck, ChunksOutsideTheFileAreRefused) {
  BuiltFile raw;
  put_vlen_string(raw.id(), "a", "x");
  std::string image = raw.bytes();
  // Superblock version 0 with 8-byte addresses: the root object header's address is at byte
  // 24 + 5 * 8 (after four addresses and the root entry's link name offset).
  ASSERT_EQ(image[8], '\0');
  ASSERT_EQ(image[13], '\x08');
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, 64, std::string("\xff\xff\xff\x7f\0\0\0\0", 8)), "far.h5"); },
                                 kCode, {"far.h5", "damaged object header", "beyond the end of the"});
  std::uint64_t root = 0;
  std::memcpy(&root, image.data() + 64, 8);
  ASSERT_LT(root + 16, image.size());
  // Version 1 prefix: version, reserved, message count (2), reference count (4), chunk size (4).
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, root + 8, "\xff\xff\xff\x0f"), "far.h5"); }, kCode,
                                 {"far.h5", "damaged object header", "runs past the end of the", "truncated or damaged"});
}

// A group in the oldest format keeps its links in a version 1 B-tree and a local heap, named by
// the symbol table message of its object header; libhdf5 follows those addresses unchecked
// (fuzz_hdf5: a heap at the undefined address made H5Literate copy from a null pointer;
// fuzz/corpus/fuzz_hdf5/regression-symbol-table-undefined-heap).
// The offset of the data of the root group's symbol table message (type 0x11: the B-tree's
// address, then the local heap's) in an oldest-format image, or 0. The root object header
// (version 1): 16 bytes of prefix, then messages of type (2 bytes), size (2), flags (1),
// reserved (3) and data; a continuation message (type 0x10) names a further chunk: its address,
// then its length.
std::uint64_t root_symbol_table(const std::string& image) {
  std::uint64_t root = 0;
  std::memcpy(&root, image.data() + 64, 8);
  std::uint32_t chunk = 0;
  std::memcpy(&chunk, image.data() + root + 8, 4);
  std::uint64_t stab = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks = {{root + 16, root + 16 + chunk}};
  for (std::size_t k = 0; k < chunks.size() && k < 8; ++k)
    for (std::uint64_t at = chunks[k].first; at + 8 <= chunks[k].second;) {
      std::uint16_t type = 0, size = 0;
      std::memcpy(&type, image.data() + at, 2);
      std::memcpy(&size, image.data() + at + 2, 2);
      if (type == 0x11) stab = at + 8;
      if (type == 0x10) {
        std::uint64_t next = 0, length = 0;
        std::memcpy(&next, image.data() + at + 8, 8);
        std::memcpy(&length, image.data() + at + 16, 8);
        chunks.emplace_back(next, next + length);
      }
      at += 8 + size;
    }
  return stab;
}

std::uint64_t u64_at(const std::string& image, std::uint64_t at) {
  std::uint64_t v = 0;
  std::memcpy(&v, image.data() + at, 8);
  return v;
}

std::string u64_bytes(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }

TEST(Hdf5HeaderCheck, SymbolTablesPointingOutsideTheFileAreRefused) {
  BuiltFile raw;
  put_vlen_string(raw.id(), "a", "x");
  const std::string image = raw.bytes();
  ASSERT_EQ(image[8], '\0');  // superblock version 0, 8-byte addresses and lengths
  ASSERT_EQ(image[13], '\x08');
  ASSERT_EQ(image[14], '\x08');
  EXPECT_NO_THROW((void)File::from_bytes(image, "stab.h5").root().members());
  const std::uint64_t stab = root_symbol_table(image);
  ASSERT_NE(stab, 0u) << "no symbol table message in the root's header";
  const std::string undefined(8, '\xff');
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, stab + 8, undefined), "stab.h5"); },
                                 kCode, {"stab.h5", "damaged object header", "symbol table", "local heap"});
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, stab, undefined), "stab.h5"); },
                                 kCode, {"stab.h5", "symbol table", "B-tree"});
  // A heap address inside the file but not at a heap; then the heap's data segment made larger
  // than the file (its size is the 8 bytes after the signature, version and 3 reserved bytes).
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, stab + 8, std::string("\x08\0\0\0\0\0\0\0", 8)), "stab.h5"); },
                                 kCode, {"stab.h5", "local heap at byte 8", "HEAP signature"});
  std::uint64_t heap = 0;
  std::memcpy(&heap, image.data() + stab + 8, 8);
  ASSERT_EQ(image.compare(heap, 4, "HEAP"), 0);
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, heap + 8, std::string("\0\0\0\0\0\0\x01\0", 8)), "stab.h5"); },
                                 kCode, {"stab.h5", "local heap", "data segment", "runs past the end"});
}

// libhdf5 lists an old-format group by following its B-tree from node to child and reading the
// symbol table nodes at the leaves, trusting the addresses and counts stored in them (a child at
// the undefined address made H5Literate copy from a null pointer in H5G__node_iterate): the walk
// checks every node first. The root here has two links, so its B-tree is one level-0 node
// (header: "TREE", type, level, entries (2 bytes), two sibling addresses; then key 0, child 0,
// key 1, child 1, ...) pointing to one symbol table node ("SNOD", version, reserved, symbols (2
// bytes); then 40-byte entries: name offset in the local heap, object header address, cache
// type (4 bytes), reserved (4), scratch pad (16)).
TEST(Hdf5HeaderCheck, GroupBtreeNodesAreWalkedBeforeLibhdf5ListsThem) {
  BuiltFile raw;
  put_floats(raw.id(), "kernel", {1.0f, 2.0f});
  H5Gclose(H5Gcreate2(raw.id(), "layer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  const std::string image = raw.bytes();
  ASSERT_EQ(image[8], '\0');  // superblock version 0: group leaf K 4, internal K 16 by default
  ASSERT_EQ(image[16], '\x04');
  ASSERT_EQ(image[18], '\x10');
  EXPECT_EQ(File::from_bytes(image, "tree.h5").root().members(), (std::vector<std::string>{"kernel", "layer"}));
  const std::uint64_t stab = root_symbol_table(image);
  ASSERT_NE(stab, 0u);
  const std::uint64_t tree = u64_at(image, stab);
  ASSERT_EQ(image.compare(tree, 4, "TREE"), 0);
  ASSERT_EQ(image[tree + 5], '\0');  // level 0
  ASSERT_EQ(image.compare(tree + 6, 2, std::string("\x01\0", 2)), 0);  // one child
  const std::uint64_t snod = u64_at(image, tree + 32);
  ASSERT_EQ(image.compare(snod, 4, "SNOD"), 0);
  ASSERT_EQ(image.compare(snod + 6, 2, std::string("\x02\0", 2)), 0);  // two symbols
  const std::string undefined(8, '\xff');
  const auto refused = [&](const std::string& bytes, std::initializer_list<std::string> words) {
    std::vector<std::string> all = {"tree.h5", "damaged object header", "refused before libhdf5"};
    all.insert(all.end(), words);
    expect_error<ModelFormatError>([&] { (void)File::from_bytes(bytes, "tree.h5"); }, kCode, all);
  };
  refused(patched(image, tree + 32, undefined), {"B-tree node at byte " + std::to_string(tree), "child 0", "not an address in the file"});
  refused(patched(image, tree + 32, u64_bytes(image.size())), {"child 0", "not an address in the file"});
  refused(patched(image, tree + 6, "\xff\xff"), {"65535 entries", "at most 2 K = 32"});
  // The keys (heap offsets of names libhdf5 compares with strcmp when it opens a member).
  refused(patched(image, tree + 24, u64_bytes(std::uint64_t{1} << 40)), {"key 0", "not a NUL-terminated string"});
  refused(patched(image, tree + 40, u64_bytes(std::uint64_t{1} << 40)), {"key 1", "not a NUL-terminated string"});
  refused(patched(image, tree + 4, "\x01"), {"B-tree node", "of type 1"});
  // Level 1: its child must then be a B-tree node of level 0, not a symbol table node.
  refused(patched(image, tree + 5, "\x01"), {"B-tree node at byte " + std::to_string(snod), "TREE signature"});
  // Two entries naming the same symbol table node; the node's own address as its child (a loop);
  // a child that is the local heap, not a symbol table node.
  refused(patched(patched(image, tree + 6, std::string("\x02\0", 2)), tree + 48, u64_bytes(snod)), {"reached twice"});
  refused(patched(image, tree + 32, u64_bytes(tree)), {"reached twice"});
  const std::uint64_t heap = u64_at(image, stab + 8);
  refused(patched(image, tree + 32, u64_bytes(heap)), {"symbol table node at byte " + std::to_string(heap), "SNOD signature"});
  refused(patched(image, snod + 6, "\xff\xff"), {"symbol table node", "65535 symbols", "at most 2 K = 8"});
  refused(patched(image, snod + 8, u64_bytes(std::uint64_t{1} << 40)), {"symbol 0", "name at heap offset", "NUL-terminated"});
  refused(patched(image, snod + 16, undefined), {"symbol 0", "object header address outside the file"});
  refused(patched(image, snod + 48 + 16, std::string("\x07\0\0\0", 4)), {"symbol 1", "unknown cache type 7"});
  refused(patched(image, snod + 48 + 16, std::string("\x01\0\0\0\0\0\0\0", 8) + undefined), {"symbol 1", "caches a B-tree"});
  // The local heap's free list (its first block's offset is the 8 bytes after the data segment's
  // size; each block starts with the next one's offset, 1 ending the list, and its size): a block
  // naming itself (fuzz_hdf5: libhdf5 allocated a list entry per block until it ran out of
  // memory), and a first block outside the data segment.
  const std::uint64_t heap_data = u64_at(image, heap + 24), heap_size = u64_at(image, heap + 8);
  const std::uint64_t free_block = u64_at(image, heap + 16);
  ASSERT_LT(free_block, heap_size) << "the root's local heap has no free block";
  refused(patched(image, heap_data + free_block, u64_bytes(free_block)), {"local heap", "free list loops"});
  refused(patched(image, heap + 16, u64_bytes(heap_size + 8)), {"local heap", "free list", "outside its data segment"});
  // A soft link (cache type 2) has no object header; its value is a string in the local heap.
  refused(patched(image, snod + 48 + 16, std::string("\x02\0\0\0\0\0\0\0\xff\xff\xff\x7f", 12)), {"soft link", "heap offset"});
}

// Groups large enough for B-trees of two levels and many symbol table nodes still list every
// member through the walk.
TEST(Hdf5HeaderCheck, GroupsWithMultiLevelBtreesStillList) {
  BuiltFile raw;
  std::vector<std::string> names;
  for (int i = 0; i < 400; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "g%03d", i);
    names.emplace_back(name);
    H5Gclose(H5Gcreate2(raw.id(), name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  const std::string image = raw.bytes();
  const std::uint64_t tree = u64_at(image, root_symbol_table(image));
  ASSERT_EQ(image.compare(tree, 4, "TREE"), 0);
  EXPECT_GE(static_cast<int>(image[tree + 5]), 1) << "the root's B-tree has one level only";
  EXPECT_EQ(File::from_bytes(image, "wide.h5").root().members(), names);
  // A child of the root of another level than the root's minus one.
  const std::uint64_t child = u64_at(image, tree + 32);
  ASSERT_EQ(image.compare(child, 4, "TREE"), 0);
  const int level = image[tree + 5];
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, child + 5, "\x07"), "wide.h5"); }, kCode,
                                 {"wide.h5", "of level 7 under a node of level " + std::to_string(level)});
}

// The K values come from the superblock: with a group leaf K of 2, a symbol table node holds at
// most 4 symbols, and a group internal K of 4 a B-tree node at most 8 children.
TEST(Hdf5HeaderCheck, GroupNodeLimitsFollowTheSuperblocksK) {
  const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_sym_k(fcpl, 4, 2);
  BuiltFile raw(false, fcpl);
  H5Pclose(fcpl);
  for (const char* name : {"a", "b", "c"}) H5Gclose(H5Gcreate2(raw.id(), name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  const std::string image = raw.bytes();
  ASSERT_EQ(image[16], '\x02');  // group leaf K
  ASSERT_EQ(image[18], '\x04');  // group internal K
  EXPECT_EQ(File::from_bytes(image, "k.h5").root().members(), (std::vector<std::string>{"a", "b", "c"}));
  const std::uint64_t tree = u64_at(image, root_symbol_table(image));
  const std::uint64_t snod = u64_at(image, tree + 32);
  ASSERT_EQ(image.compare(snod, 4, "SNOD"), 0);
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, snod + 6, std::string("\x05\0", 2)), "k.h5"); },
                                 kCode, {"k.h5", "5 symbols", "at most 2 K = 4"});
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(patched(image, tree + 6, std::string("\x09\0", 2)), "k.h5"); },
                                 kCode, {"k.h5", "9 entries", "at most 2 K = 8"});
}

// A dataspace or storage layout class that libhdf5 keeps as stored would reach recur as an
// enumerator out of its type's range (fuzz_hdf5 under UBSan: "load of value 84, which is not a
// valid value for type H5S_class_t").
TEST(Hdf5HeaderCheck, UnknownDataspaceAndLayoutClassesAreRefused) {
  BuiltFile latest(true);
  put_floats(latest.id(), "probe", {1.0f, 2.0f, 3.0f, 4.0f});
  const std::string image = latest.bytes();
  // Dataspace version 2: version, rank 1, flags 1 (maximum extents follow), class 1 (simple),
  // then the extent 4 and its maximum 4.
  const std::size_t space = find_once(image, std::string("\x02\x01\x01\x01", 4) + u64_bytes(4) + u64_bytes(4));
  EXPECT_EQ(File::from_bytes(image, "ok.h5").root().float_dataset("probe", 4).values().size(), 4u);
  const File bad_space = File::from_bytes(patched(image, space + 3, "\x54"), "space.h5");
  expect_error<ModelFormatError>([&] { (void)bad_space.root().float_dataset("probe", 4); }, kCode,
                                 {"space.h5", "'/probe'", "dataspace of unknown class 84"});
  // Layout version 3 or 4, class 1 (contiguous), then the data's address and size (16 bytes).
  const float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::size_t data = find_once(image, std::string(reinterpret_cast<const char*>(values), sizeof values));
  const std::size_t layout = find_once(image, std::string("\x01", 1) + u64_bytes(data) + u64_bytes(16)) - 1;
  ASSERT_TRUE(image[layout] == '\x03' || image[layout] == '\x04');
  const File bad_layout = File::from_bytes(patched(image, layout + 1, "\x54"), "layout.h5");
  expect_error<ModelFormatError>([&] { (void)bad_layout.root().float_dataset("probe", 4); }, kCode,
                                 {"layout.h5", "'/probe'", "storage layout of unknown class 84"});
}

}  // namespace
