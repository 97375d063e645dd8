// recur::hdf5 (include/recur/io/hdf5.hpp): round trips through the writer, every string
// encoding h5py and Keras write, numeric conversions, chunked and filtered datasets, and hostile
// files. Files that recur::hdf5 does not write itself (fixed-length attributes, float16,
// big-endian, chunks, links, broken chunks) are built here with the HDF5 C API, in memory.
#include "recur/io/hdf5.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
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
#include "support/expect_error.hpp"

namespace {

using recur::ModelFormatError;
using recur::Tensor;
using recur::hdf5::File;
using recur::hdf5::Group;
using recur::test::expect_error;

constexpr const char* kCode = recur::codes::kModelFormat;
constexpr std::uint64_t kMany = std::numeric_limits<std::uint64_t>::max();

// An HDF5 file in memory, built with the C API.
class RawFile {
 public:
  RawFile() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    static int counter = 0;
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 0);
    const std::string name = "/dev/null/hdf5-test-raw-" + std::to_string(++counter);  // never probes the working folder
    id_ = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    EXPECT_GE(id_, 0);
  }
  ~RawFile() { H5Fclose(id_); }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  hid_t id() const { return id_; }
  std::string bytes() const {
    EXPECT_GE(H5Fflush(id_, H5F_SCOPE_GLOBAL), 0);
    const ssize_t n = H5Fget_file_image(id_, nullptr, 0);
    std::string out(static_cast<std::size_t>(n), '\0');
    EXPECT_EQ(H5Fget_file_image(id_, out.data(), out.size()), n);
    return out;
  }
  File open() const { return File::from_bytes(bytes(), "raw.h5"); }

 private:
  hid_t id_ = -1;
};

hid_t simple_space(const std::vector<hsize_t>& dims) {
  return dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
}

// A dataset of `file_type` written from float values (libhdf5 converts).
void put_dataset(hid_t loc, const char* name, hid_t file_type, const std::vector<hsize_t>& dims, const std::vector<float>& values,
                 hid_t dcpl = H5P_DEFAULT) {
  const hid_t space = simple_space(dims);
  const hid_t ds = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << name;
  if (!values.empty()) {
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0) << name;
  }
  H5Dclose(ds);
  H5Sclose(space);
}

// h5py's float16 type: IEEE half precision.
hid_t float16_type(H5T_order_t order) {
  const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  H5Tset_order(t, order);
  return t;
}

// A fixed-length string attribute of shape `dims` whose elements are `element` bytes each
// (stored.size() for one element): `stored` holds every element, padding included.
void put_fixed_string(hid_t loc, const char* name, const std::string& stored, H5T_str_t pad, H5T_cset_t cset,
                      const std::vector<hsize_t>& dims = {}, std::size_t element = 0) {
  std::size_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (element == 0) element = stored.size();
  ASSERT_EQ(stored.size(), element * count) << name;
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, element);
  H5Tset_strpad(t, pad);
  H5Tset_cset(t, cset);
  const hid_t space = simple_space(dims);
  const hid_t a = H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(a, 0);
  ASSERT_GE(H5Awrite(a, t, stored.data()), 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(t);
}

void put_vlen_strings(hid_t loc, const char* name, const std::vector<std::string>& values, H5T_cset_t cset,
                      const std::vector<hsize_t>& dims) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, cset);
  const hid_t space = simple_space(dims);
  const hid_t a = H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(a, 0);
  std::vector<const char*> p;
  for (const auto& v : values) p.push_back(v.c_str());
  ASSERT_GE(H5Awrite(a, t, p.data()), 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(t);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// ---------------------------------------------------------------------------------------------

TEST(Hdf5Signature, RecognizesTheMagicBytes) {
  EXPECT_TRUE(recur::hdf5::is_hdf5(std::string("\x89HDF\r\n\x1a\n", 8)));
  EXPECT_TRUE(recur::hdf5::is_hdf5(std::string("\x89HDF\r\n\x1a\nmore", 12)));
  EXPECT_FALSE(recur::hdf5::is_hdf5(std::string("\x89HDF\r\n\x1a", 7)));
  EXPECT_FALSE(recur::hdf5::is_hdf5("PK\x03\x04 a zip file"));
  EXPECT_FALSE(recur::hdf5::is_hdf5(""));
}

TEST(Hdf5RoundTrip, WritesAndReadsBackExactly) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor kernel({2, 3}, {1.5f, -0.0f, 3e-38f, 1e-45f, nan, -inf});
  const Tensor bias({3}, {0.25f, -1.0f, 7.0f});
  Tensor rank4({1, 2, 2, 2});
  for (std::size_t i = 0; i < rank4.size(); ++i) rank4[i] = 0.1f * static_cast<float>(i);
  const Tensor empty({0, 4}, {});

  std::string image;
  {
    File file = File::create("model.h5");
    Group root = file.root();
    root.set_string_attribute("keras_version", "2.15.0");
    root.set_string_attribute("model_config", "{\"class_name\": \"Sequential\", \"name\": \"wörld\"}");
    root.set_string_attribute("keras_version", "3.0.0");  // replaces
    Group weights = root.create_group("model_weights");
    weights.set_string_list_attribute("layer_names", {"lstm", "dense_1"});
    Group lstm = weights.create_group("lstm").create_group("lstm");
    lstm.set_string_list_attribute("weight_names", {"lstm/kernel:0", "lstm/bias:0"});
    lstm.write_float_dataset("kernel:0", kernel);
    lstm.write_float_dataset("bias:0", bias);
    Group dense = weights.create_group("dense_1");
    dense.set_string_list_attribute("weight_names", {});
    dense.write_float_dataset("rank4", rank4);
    dense.write_float_dataset("empty", empty);
    Group opt = root.create_group("optimizer_weights");
    opt.write_int64_scalar("iterations", -1234567890123LL);
    EXPECT_EQ(file.label(), "model.h5");
    image = file.bytes();
  }
  ASSERT_TRUE(recur::hdf5::is_hdf5(image));

  const File file = File::from_bytes(image, "m.keras:model.weights.h5");
  EXPECT_EQ(file.bytes(), image);
  const Group root = file.root();
  EXPECT_EQ(root.path(), "/");
  EXPECT_EQ(root.members(), (std::vector<std::string>{"model_weights", "optimizer_weights"}));
  EXPECT_EQ(root.attribute_names(), (std::vector<std::string>{"keras_version", "model_config"}));
  EXPECT_EQ(root.string_attribute("keras_version"), "3.0.0");
  EXPECT_EQ(root.string_attribute("model_config"), "{\"class_name\": \"Sequential\", \"name\": \"wörld\"}");
  EXPECT_EQ(root.string_list_attribute("keras_version"), std::vector<std::string>{"3.0.0"});
  EXPECT_TRUE(root.has_attribute("model_config"));
  EXPECT_FALSE(root.has_attribute("backend"));

  const Group weights = root.group("model_weights");
  EXPECT_EQ(weights.path(), "/model_weights");
  EXPECT_EQ(weights.string_list_attribute("layer_names"), (std::vector<std::string>{"lstm", "dense_1"}));
  EXPECT_EQ(weights.members(), (std::vector<std::string>{"dense_1", "lstm"}));
  EXPECT_TRUE(weights.has_group("lstm/lstm"));
  EXPECT_FALSE(weights.has_dataset("lstm/lstm"));
  EXPECT_TRUE(weights.has_dataset("lstm/lstm/kernel:0"));
  EXPECT_FALSE(weights.has_group("lstm/lstm/kernel:0"));
  EXPECT_FALSE(weights.has_group("lstm/lstm/kernel:0/below_a_dataset"));
  EXPECT_FALSE(weights.has_dataset("nothing/here"));

  const Group lstm = weights.group("lstm/lstm");
  EXPECT_EQ(lstm.path(), "/model_weights/lstm/lstm");
  EXPECT_EQ(lstm.string_list_attribute("weight_names"), (std::vector<std::string>{"lstm/kernel:0", "lstm/bias:0"}));
  const Tensor k = lstm.float_dataset("kernel:0", 6);
  EXPECT_EQ(k.shape(), kernel.shape());
  EXPECT_TRUE(same_bits(k.values(), kernel.values()));
  EXPECT_TRUE(same_bits(weights.float_dataset("lstm/lstm/bias:0", 100).values(), bias.values()));
  EXPECT_EQ(lstm.dataset_shape("kernel:0"), (std::vector<std::uint64_t>{2, 3}));

  const Group dense = weights.group("dense_1");
  EXPECT_TRUE(dense.string_list_attribute("weight_names").empty());
  const Tensor r4 = dense.float_dataset("rank4", 8);
  EXPECT_EQ(r4.shape(), rank4.shape());
  EXPECT_TRUE(same_bits(r4.values(), rank4.values()));
  const Tensor e = dense.float_dataset("empty", 0);
  EXPECT_EQ(e.shape(), (recur::Shape{0, 4}));
  EXPECT_EQ(root.integer_scalar("optimizer_weights/iterations"), -1234567890123LL);
  EXPECT_EQ(root.dataset_shape("optimizer_weights/iterations"), std::vector<std::uint64_t>{});
  EXPECT_EQ(root.float_dataset("optimizer_weights/iterations", 1).shape(), recur::Shape{1});
}

TEST(Hdf5RoundTrip, GroupsOutliveTheirFileAndFilesMove) {
  File file = File::create();
  file.root().create_group("a").write_int64_scalar("n", 7);
  File reopened = File::from_bytes(file.bytes(), "moved.h5");
  const Group a = reopened.root().group("a");
  File moved = std::move(reopened);
  reopened = File::create("replacement");
  EXPECT_EQ(a.integer_scalar("n"), 7);
  EXPECT_EQ(moved.root().group("a").integer_scalar("n"), 7);
  File gone = std::move(moved);
  expect_error<ModelFormatError>([&] { (void)moved.root(); }, kCode, {"moved"});
  { const File drop = std::move(gone); }
  EXPECT_EQ(a.integer_scalar("n"), 7);  // the Group still holds the file
}

TEST(Hdf5RoundTrip, WritingIsRefusedOnFilesOpenedForReading) {
  File file = File::create();
  file.root().create_group("g");
  const File read = File::from_bytes(file.bytes(), "read.h5");
  Group g = read.root().group("g");
  expect_error<ModelFormatError>([&] { g.write_int64_scalar("x", 1); }, kCode, {"read.h5", "/g", "opened for reading"});
  Group w = file.root();
  expect_error<ModelFormatError>([&] { w.create_group("g"); }, kCode, {"/g", "exists"});
  expect_error<ModelFormatError>([&] { w.create_group("a/b"); }, kCode, {"one link name"});
  expect_error<ModelFormatError>([&] { w.set_string_attribute("s", std::string("a\0b", 3)); }, kCode, {"NUL"});
  const std::vector<std::string> many(2000, std::string(40, 'x'));
  expect_error<ModelFormatError>([&] { w.set_string_list_attribute("layer_names", many); }, kCode,
                                 {"64512", "layer_names0"});
}

TEST(Hdf5StringAttributes, ReadsEveryEncodingKerasAndH5pyWrite) {
  RawFile raw;
  const hid_t root = raw.id();
  put_fixed_string(root, "nullpad", std::string("abc\0\0\0\0\0", 8), H5T_STR_NULLPAD, H5T_CSET_ASCII);
  put_fixed_string(root, "nullterm", std::string("abc\0junk", 8), H5T_STR_NULLTERM, H5T_CSET_ASCII);
  put_fixed_string(root, "spacepad", "abc     ", H5T_STR_SPACEPAD, H5T_CSET_ASCII);
  put_fixed_string(root, "utf8_fixed", "w\xc3\xb6rld\0", H5T_STR_NULLPAD, H5T_CSET_UTF8);
  put_vlen_strings(root, "vlen_ascii", {"tensorflow"}, H5T_CSET_ASCII, {});
  put_vlen_strings(root, "vlen_utf8", {"w\xc3\xb6rld \xe2\x9c\x93"}, H5T_CSET_UTF8, {});
  put_vlen_strings(root, "vlen_one_element", {"2.15.0"}, H5T_CSET_UTF8, {1});
  put_fixed_string(root, "names_fixed", std::string("lstm\0\0\0dense_1", 14), H5T_STR_NULLPAD, H5T_CSET_ASCII, {2}, 7);
  put_vlen_strings(root, "names_vlen", {"a", "", "c\xc3\xa9"}, H5T_CSET_UTF8, {3});
  {  // Keras's empty list: np.asarray([]), float64 of shape (0,)
    const hsize_t zero = 0;
    const hid_t space = H5Screate_simple(1, &zero, nullptr);
    const hid_t a = H5Acreate2(root, "empty_names", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(a);
    const hsize_t two = 2;
    const hid_t space2 = H5Screate_simple(1, &two, nullptr);
    const double v[2] = {1, 2};
    const hid_t b = H5Acreate2(root, "numbers", H5T_IEEE_F64LE, space2, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(b, H5T_NATIVE_DOUBLE, v);
    H5Aclose(b);
    H5Sclose(space);
    H5Sclose(space2);
  }
  put_fixed_string(root, "grid", "abcd", H5T_STR_NULLPAD, H5T_CSET_ASCII, {1, 2}, 2);  // 2-D: 2 strings of 2
  const File file = raw.open();
  const Group g = file.root();
  EXPECT_EQ(g.string_attribute("nullpad"), "abc");
  EXPECT_EQ(g.string_attribute("nullterm"), "abc");
  EXPECT_EQ(g.string_attribute("spacepad"), "abc");
  EXPECT_EQ(g.string_attribute("utf8_fixed"), "w\xc3\xb6rld");
  EXPECT_EQ(g.string_attribute("vlen_ascii"), "tensorflow");
  EXPECT_EQ(g.string_attribute("vlen_utf8"), "w\xc3\xb6rld \xe2\x9c\x93");
  EXPECT_EQ(g.string_attribute("vlen_one_element"), "2.15.0");
  EXPECT_EQ(g.string_list_attribute("names_fixed"), (std::vector<std::string>{"lstm", "dense_1"}));
  EXPECT_EQ(g.string_list_attribute("names_vlen"), (std::vector<std::string>{"a", "", "c\xc3\xa9"}));
  EXPECT_EQ(g.string_list_attribute("vlen_ascii"), std::vector<std::string>{"tensorflow"});
  EXPECT_TRUE(g.string_list_attribute("empty_names").empty());

  expect_error<ModelFormatError>([&] { (void)g.string_attribute("names_fixed"); }, kCode,
                                 {"raw.h5", "'/'", "'names_fixed'", "one string", "(2,)"});
  expect_error<ModelFormatError>([&] { (void)g.string_attribute("empty_names"); }, kCode, {"one string", "(0,)"});
  expect_error<ModelFormatError>([&] { (void)g.string_list_attribute("numbers"); }, kCode, {"strings", "a float type", "2 element"});
  expect_error<ModelFormatError>([&] { (void)g.string_list_attribute("grid"); }, kCode, {"rank 1", "(1, 2)"});
  expect_error<ModelFormatError>([&] { (void)g.string_attribute("backend"); }, kCode, {"'backend'", "found none"});
}

TEST(Hdf5StringAttributes, RefusesStringsBeyondTheLimits) {
  File file = File::create();
  file.root().set_string_attribute("huge", std::string(recur::hdf5::kMaxStringBytes + 1, 'x'));
  file.root().set_string_attribute("fits", std::string(1000, 'y'));
  const File read = File::from_bytes(file.bytes(), "big.h5");
  expect_error<ModelFormatError>([&] { (void)read.root().string_attribute("huge"); }, kCode, {"'huge'", "above the limit"});
  EXPECT_EQ(read.root().string_attribute("fits"), std::string(1000, 'y'));
}

TEST(Hdf5Datasets, ConvertsFloat16Float64BigEndianAndIntegers) {
  RawFile raw;
  const hid_t root = raw.id();
  const float min_sub16 = std::ldexp(1.0f, -24), min_norm16 = std::ldexp(1.0f, -14);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> halves = {0.5f, -2.0f, 65504.0f, min_norm16, min_sub16, -inf, 0.0f};
  const hid_t f16le = float16_type(H5T_ORDER_LE), f16be = float16_type(H5T_ORDER_BE);
  put_dataset(root, "f16le", f16le, {7}, halves);
  put_dataset(root, "f16be", f16be, {7}, halves);
  H5Tclose(f16le);
  H5Tclose(f16be);
  const std::vector<float> floats = {1.0f, -3.25f, 1e-40f, 3.4e38f, 0.1f, -0.0f};
  put_dataset(root, "f32be", H5T_IEEE_F32BE, {2, 3}, floats);
  put_dataset(root, "f64le", H5T_IEEE_F64LE, {3, 2}, floats);
  put_dataset(root, "f64be", H5T_IEEE_F64BE, {6}, floats);
  put_dataset(root, "i8", H5T_STD_I8LE, {4}, {-128, -1, 0, 127});
  put_dataset(root, "u16be", H5T_STD_U16BE, {3}, {0, 1, 65535});
  put_dataset(root, "i64be", H5T_STD_I64BE, {2}, {-16777216.0f, 16777216.0f});
  put_dataset(root, "u64", H5T_STD_U64LE, {1}, {4294967296.0f});
  put_dataset(root, "scalar", H5T_IEEE_F64BE, {}, {2.5f});
  {  // float64 values beyond float32's range
    const hsize_t n = 3;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t ds = H5Dcreate2(root, "f64_big", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const double v[3] = {1e300, -1e300, std::nan("")};
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(space);
  }
  {  // compact layout
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_COMPACT);
    put_dataset(root, "compact", H5T_IEEE_F32LE, {2}, {4.0f, 5.0f}, dcpl);
    H5Pclose(dcpl);
  }
  const File file = raw.open();
  const Group g = file.root();
  EXPECT_EQ(g.float_dataset("f16le", 7).values(), halves);
  EXPECT_EQ(g.float_dataset("f16be", 7).values(), halves);
  const Tensor be = g.float_dataset("f32be", 6);
  EXPECT_EQ(be.shape(), (recur::Shape{2, 3}));
  EXPECT_TRUE(same_bits(be.values(), floats));
  EXPECT_TRUE(same_bits(g.float_dataset("f64le", 6).values(), floats));
  EXPECT_EQ(g.float_dataset("f64le", 6).shape(), (recur::Shape{3, 2}));
  EXPECT_TRUE(same_bits(g.float_dataset("f64be", 6).values(), floats));
  EXPECT_EQ(g.float_dataset("i8", 4).values(), (std::vector<float>{-128, -1, 0, 127}));
  EXPECT_EQ(g.float_dataset("u16be", 3).values(), (std::vector<float>{0, 1, 65535}));
  EXPECT_EQ(g.float_dataset("i64be", 2).values(), (std::vector<float>{-16777216.0f, 16777216.0f}));
  EXPECT_EQ(g.float_dataset("u64", 1).values(), std::vector<float>{4294967296.0f});
  const Tensor scalar = g.float_dataset("scalar", 1);
  EXPECT_EQ(scalar.shape(), recur::Shape{1});
  EXPECT_EQ(scalar[0], 2.5f);
  const Tensor big = g.float_dataset("f64_big", 3);
  EXPECT_EQ(big[0], inf);
  EXPECT_EQ(big[1], -inf);
  EXPECT_TRUE(std::isnan(big[2]));
  EXPECT_EQ(g.float_dataset("compact", 2).values(), (std::vector<float>{4.0f, 5.0f}));
}

TEST(Hdf5Datasets, IntegerScalars) {
  RawFile raw;
  const hid_t root = raw.id();
  auto put = [&](const char* name, hid_t type, const std::vector<hsize_t>& dims, const void* value, hid_t mem) {
    const hid_t space = simple_space(dims);
    const hid_t ds = H5Dcreate2(root, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, value);
    H5Dclose(ds);
    H5Sclose(space);
  };
  const std::int64_t i64 = 9007199254740993LL;
  const std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
  const double whole = 42.0, half = 1.5;
  const std::int32_t i32 = -7;
  put("i64", H5T_STD_I64LE, {}, &i64, H5T_NATIVE_INT64);
  put("i32be", H5T_STD_I32BE, {1}, &i32, H5T_NATIVE_INT32);
  put("u64max", H5T_STD_U64LE, {}, &u64_max, H5T_NATIVE_UINT64);
  put("f64", H5T_IEEE_F64LE, {1, 1}, &whole, H5T_NATIVE_DOUBLE);
  put("half", H5T_IEEE_F64LE, {}, &half, H5T_NATIVE_DOUBLE);
  const std::int64_t pair[2] = {1, 2};
  put("pair", H5T_STD_I64LE, {2}, pair, H5T_NATIVE_INT64);
  const File file = raw.open();
  const Group g = file.root();
  EXPECT_EQ(g.integer_scalar("i64"), i64);
  EXPECT_EQ(g.integer_scalar("i32be"), -7);
  EXPECT_EQ(g.integer_scalar("f64"), 42);
  expect_error<ModelFormatError>([&] { (void)g.integer_scalar("u64max"); }, kCode, {"/u64max", "int64 range"});
  expect_error<ModelFormatError>([&] { (void)g.integer_scalar("half"); }, kCode, {"/half", "expected an integer", "1.5"});
  expect_error<ModelFormatError>([&] { (void)g.integer_scalar("pair"); }, kCode, {"/pair", "single value", "(2,)"});
}

// A chunked dataset, (5, 3) in chunks of (2, 2): edge chunks, one chunk never written (fill
// value), shuffle + deflate + fletcher32 as h5py writes them, stored big-endian.
TEST(Hdf5Datasets, ReadsChunkedFilteredDatasets) {
  RawFile raw;
  const hid_t root = raw.id();
  const hsize_t dims[2] = {5, 3}, chunk[2] = {2, 2};
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 6);
  H5Pset_fletcher32(dcpl);
  const float fill = -1.0f;
  H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &fill);
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t ds = H5Dcreate2(root, "chunked", H5T_IEEE_F32BE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  // Write rows 0-3 only: the chunks of row 4 stay unallocated.
  std::vector<float> values(12);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) + 0.5f;
  const hsize_t start[2] = {0, 0}, count[2] = {4, 3};
  const hid_t file_space = H5Dget_space(ds);
  H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  const hid_t memory_space = H5Screate_simple(2, count, nullptr);
  ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, memory_space, file_space, H5P_DEFAULT, values.data()), 0);
  H5Sclose(memory_space);
  H5Sclose(file_space);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
  {  // An unfiltered chunked int16 dataset of 3 values in one chunk of 8 (extendible, as h5py's maxshape=(None,))
    const hsize_t n = 3, unlimited = H5S_UNLIMITED, one_chunk = 8;
    const hid_t plain_dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(plain_dcpl, 1, &one_chunk);
    const hid_t plain_space = H5Screate_simple(1, &n, &unlimited);
    const hid_t plain = H5Dcreate2(root, "plain_chunked", H5T_STD_I16LE, plain_space, H5P_DEFAULT, plain_dcpl, H5P_DEFAULT);
    ASSERT_GE(plain, 0);
    const std::int16_t v[3] = {1, 2, 3};
    ASSERT_GE(H5Dwrite(plain, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(plain);
    H5Sclose(plain_space);
    H5Pclose(plain_dcpl);
  }

  const File file = raw.open();
  const Tensor t = file.root().float_dataset("chunked", 15);
  EXPECT_EQ(t.shape(), (recur::Shape{5, 3}));
  std::vector<float> expected = values;
  expected.insert(expected.end(), {fill, fill, fill});
  EXPECT_EQ(t.values(), expected);
  EXPECT_EQ(file.root().float_dataset("plain_chunked", 8).values(), (std::vector<float>{1, 2, 3}));
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("plain_chunked", 4); }, kCode,
                                 {"/plain_chunked", "chunks of shape (8,)", "decompress beyond the limit of 4"});
}

TEST(Hdf5Datasets, ManyThreadsReadOneFile) {
  File file = File::create();
  file.root().write_float_dataset("w", Tensor({64, 64}));
  const File read = File::from_bytes(file.bytes(), "threads.h5");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      const File mine = File::from_bytes(file.bytes(), "own.h5");
      for (int k = 0; k < 20; ++k)
        ok[static_cast<std::size_t>(i)] += read.root().float_dataset("w", 4096).size() == 4096 &&
                                           mine.root().dataset_shape("w").size() == 2;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 20));
}

// A file written by h5py exactly as Keras 2's legacy HDF5 writer lays it out
// (tests/golden/hdf5/make_hdf5_golden.py).
TEST(Hdf5Golden, ReadsAFileWrittenByH5py) {
  const File file = File::open(std::string(RECUR_GOLDEN_DIR) + "/hdf5/keras_like.h5", "Keras model file");
  const Group root = file.root();
  EXPECT_EQ(root.string_attribute("keras_version"), "2.15.0");
  EXPECT_EQ(root.string_attribute("backend"), "tensorflow");
  EXPECT_EQ(root.string_attribute("model_config"),
            "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\\u00e9quence\"}}");
  const Group weights = root.group("model_weights");
  EXPECT_EQ(weights.string_list_attribute("layer_names"), (std::vector<std::string>{"lstm", "dropout", "dense"}));
  EXPECT_EQ(weights.members(), (std::vector<std::string>{"dense", "dropout", "lstm"}));
  EXPECT_EQ(weights.group("lstm").string_list_attribute("weight_names"),
            (std::vector<std::string>{"lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0", "lstm/lstm_cell/bias:0"}));
  EXPECT_TRUE(weights.group("dropout").string_list_attribute("weight_names").empty());
  EXPECT_TRUE(weights.group("dropout").members().empty());

  const Group cell = weights.group("lstm/lstm/lstm_cell");
  const Tensor kernel = cell.float_dataset("kernel:0", 16);
  const Tensor recurrent = cell.float_dataset("recurrent_kernel:0", 16);  // float16
  const Tensor bias = cell.float_dataset("bias:0", 8);                    // big-endian float64
  EXPECT_EQ(kernel.shape(), (recur::Shape{2, 8}));
  EXPECT_EQ(recurrent.shape(), (recur::Shape{2, 8}));
  EXPECT_EQ(bias.shape(), recur::Shape{8});
  for (std::size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(kernel[i], static_cast<float>(i) / 8);
    EXPECT_EQ(recurrent[i], static_cast<float>(i) - 8);
  }
  for (std::size_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(bias[i], static_cast<float>(-1.0 + 2.0 * static_cast<double>(i) / 7));
  const Tensor dense = weights.float_dataset("dense/dense/kernel:0", 6);  // chunked, gzip + shuffle + fletcher32
  EXPECT_EQ(dense.shape(), (recur::Shape{2, 3}));
  for (std::size_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(dense[i], static_cast<float>(static_cast<double>(i) / 5));
  EXPECT_EQ(root.integer_scalar("optimizer_weights/iter:0"), 1234);
}

// ---------------------------------------------------------------------------------------------
// Hostile files.

TEST(Hdf5Hostile, TruncatedAndForeignImages) {
  File file = File::create();
  file.root().write_float_dataset("w", Tensor({100}));
  const std::string image = file.bytes();
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(image.substr(0, image.size() / 2), "cut.h5"); }, kCode,
                                 {"cut.h5", "truncated"});
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(image.substr(0, 100), "cut.h5"); }, kCode, {"cut.h5", "truncated"});
  expect_error<ModelFormatError>([&] { (void)File::from_bytes("PK\x03\x04zipzipzip", "m.keras"); }, kCode,
                                 {"m.keras", "not an HDF5 file", "50 4b 03 04"});
  expect_error<ModelFormatError>([&] { (void)File::from_bytes("", "empty.h5"); }, kCode, {"empty.h5", "an empty file"});
  // The signature and nothing else, and a damaged superblock.
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(image.substr(0, 8), "sig.h5"); }, kCode, {"sig.h5"});
  std::string damaged = image;
  for (std::size_t i = 8; i < 64; ++i) damaged[i] = '\xff';
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(damaged, "bad.h5"); }, kCode, {"bad.h5"});
}

TEST(Hdf5Hostile, MissingFileIsAnIoError) {
  expect_error<recur::IoError>([] { (void)File::open("/nonexistent/folder/model.h5", "Keras model file"); }, recur::codes::kIo,
                               {"/nonexistent/folder/model.h5"});
}

TEST(Hdf5Hostile, DeclaredShapeNeedsFarMoreBytesThanStored) {
  // 10^12 float32 values declared in a file of a few KB: contiguous storage never written.
  RawFile raw;
  put_dataset(raw.id(), "huge", H5T_IEEE_F32LE, {1000000, 1000000}, {});
  const std::string image = raw.bytes();
  ASSERT_LT(image.size(), 10000u);
  const File file = File::from_bytes(image, "bomb.h5");
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("huge", kMany); }, kCode,
                                 {"bomb.h5", "/huge", "(1000000, 1000000)", "4000000000000 bytes", "stores only 0 bytes"});
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("huge", 1000); }, kCode,
                                 {"/huge", "1000000000000 values", "above the limit of 1000"});
  EXPECT_EQ(file.root().dataset_shape("huge"), (std::vector<std::uint64_t>{1000000, 1000000}));
}

TEST(Hdf5Hostile, ExtentProductOverflows) {
  RawFile raw;
  const hsize_t chunk[3] = {1, 1, 1};
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 3, chunk);
  const hsize_t big = hsize_t{1} << 32;
  put_dataset(raw.id(), "overflow", H5T_IEEE_F32LE, {big, big, big}, {}, dcpl);
  H5Pclose(dcpl);
  const File file = raw.open();
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("overflow", kMany); }, kCode,
                                 {"/overflow", "4294967296", "overflow a 64-bit element count"});
  expect_error<ModelFormatError>([&] { (void)file.root().dataset_shape("overflow"); }, kCode, {"overflow"});
}

TEST(Hdf5Hostile, SoftAndExternalLinksAreRefused) {
  RawFile raw;
  const hid_t g = H5Gcreate2(raw.id(), "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  put_dataset(g, "kernel", H5T_IEEE_F32LE, {2}, {1, 2});
  H5Lcreate_soft("/weights", raw.id(), "alias", H5P_DEFAULT, H5P_DEFAULT);
  H5Lcreate_external("/etc/other.h5", "/secret", g, "outside", H5P_DEFAULT, H5P_DEFAULT);
  H5Gclose(g);
  const File file = raw.open();
  const Group root = file.root();
  expect_error<ModelFormatError>([&] { (void)root.members(); }, kCode, {"raw.h5", "soft link", "'alias'"});
  expect_error<ModelFormatError>([&] { (void)root.has_group("alias"); }, kCode, {"/alias", "soft link"});
  expect_error<ModelFormatError>([&] { (void)root.float_dataset("alias/kernel", 2); }, kCode, {"/alias", "soft link"});
  const Group weights = root.group("weights");
  expect_error<ModelFormatError>([&] { (void)weights.members(); }, kCode, {"/weights", "external link", "'outside'"});
  expect_error<ModelFormatError>([&] { (void)weights.group("outside"); }, kCode, {"/weights/outside", "external link"});
  EXPECT_EQ(weights.float_dataset("kernel", 2).values(), (std::vector<float>{1, 2}));
}

TEST(Hdf5Hostile, PathsAreCheckedBeforeUse) {
  File file = File::create();
  file.root().create_group("a").create_group("b");
  const File read = File::from_bytes(file.bytes(), "paths.h5");
  const Group root = read.root();
  expect_error<ModelFormatError>([&] { (void)root.has_group("a/../a"); }, kCode, {"'..'", "a/../a"});
  expect_error<ModelFormatError>([&] { (void)root.group("./a"); }, kCode, {"'.'"});
  expect_error<ModelFormatError>([&] { (void)root.group("/a"); }, kCode, {"absolute path"});
  expect_error<ModelFormatError>([&] { (void)root.group("a//b"); }, kCode, {"empty component"});
  expect_error<ModelFormatError>([&] { (void)root.group(""); }, kCode, {"empty"});
  expect_error<ModelFormatError>([&] { (void)root.has_attribute(""); }, kCode, {"empty"});
  std::string deep = "a";
  for (int i = 0; i < 64; ++i) deep += "/a";
  expect_error<ModelFormatError>([&] { (void)root.has_group(deep); }, kCode, {"deeper than the limit of 64"});
  EXPECT_TRUE(root.has_group("a/b"));
}

TEST(Hdf5Hostile, MissingGroupNamesThePath) {
  File file = File::create();
  file.root().create_group("model_weights").create_group("lstm");
  file.root().write_int64_scalar("n", 1);
  const File read = File::from_bytes(file.bytes(), "model.h5");
  const Group weights = read.root().group("model_weights");
  expect_error<ModelFormatError>([&] { (void)weights.group("lstm_9"); }, kCode,
                                 {"model.h5", "/model_weights/lstm_9", "expected a group", "found nothing", "'lstm_9'"});
  expect_error<ModelFormatError>([&] { (void)read.root().group("n"); }, kCode, {"/n", "expected a group", "found a dataset"});
  expect_error<ModelFormatError>([&] { (void)read.root().group("n/x"); }, kCode, {"/n/x", "found a dataset at '/n'"});
  expect_error<ModelFormatError>([&] { (void)weights.float_dataset("lstm", 10); }, kCode,
                                 {"/model_weights/lstm", "expected a dataset", "found a group"});
  expect_error<ModelFormatError>([&] { (void)weights.dataset_shape("nope"); }, kCode, {"/model_weights/nope", "found nothing"});
}

TEST(Hdf5Hostile, DuplicateLinkNamesAreRefused) {
  File file = File::create();
  file.root().create_group("dup_a");
  file.root().create_group("dup_b");
  std::string image = file.bytes();
  const std::size_t at = image.find("dup_b");  // the name in the group's local heap
  ASSERT_NE(at, std::string::npos);
  image[at + 4] = 'a';
  const File read = File::from_bytes(image, "twins.h5");
  expect_error<ModelFormatError>([&] { (void)read.root().members(); }, kCode, {"twins.h5", "two links named 'dup_a'"});
}

TEST(Hdf5Hostile, RankNineAndRankFive) {
  RawFile raw;
  put_dataset(raw.id(), "rank9", H5T_IEEE_F32LE, {1, 1, 1, 1, 1, 1, 1, 1, 2}, {1, 2});
  put_dataset(raw.id(), "rank5", H5T_IEEE_F32LE, {1, 1, 1, 1, 2}, {1, 2});
  const File file = raw.open();
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("rank9", 100); }, kCode, {"/rank9", "rank 9", "limit of 8"});
  expect_error<ModelFormatError>([&] { (void)file.root().dataset_shape("rank9"); }, kCode, {"rank 9"});
  EXPECT_EQ(file.root().dataset_shape("rank5"), (std::vector<std::uint64_t>{1, 1, 1, 1, 2}));
  expect_error<ModelFormatError>([&] { (void)file.root().float_dataset("rank5", 100); }, kCode, {"/rank5", "rank 5", "rank 1 to 4"});
}

TEST(Hdf5Hostile, UnsupportedStorageAndTypes) {
  RawFile raw;
  const hid_t root = raw.id();
  {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(dcpl, "/etc/passwd", 0, 64);
    put_dataset(root, "external", H5T_IEEE_F32LE, {4}, {}, dcpl);
    H5Pclose(dcpl);
  }
  {
    const hsize_t chunk = 4;
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_scaleoffset(dcpl, H5Z_SO_FLOAT_DSCALE, 2);
    put_dataset(root, "scaleoffset", H5T_IEEE_F32LE, {4}, {1, 2, 3, 4}, dcpl);
    H5Pclose(dcpl);
  }
  {
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    const hsize_t n = 1;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t ds = H5Dcreate2(root, "text", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abcd");
    H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(t);
  }
  put_dataset(root, "hundred", H5T_IEEE_F32LE, {10, 10}, std::vector<float>(100, 1.0f));
  const File file = raw.open();
  const Group g = file.root();
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("external", 4); }, kCode, {"/external", "external file"});
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("scaleoffset", 4); }, kCode, {"/scaleoffset", "scaleoffset", "deflate"});
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("text", 4); }, kCode, {"/text", "numeric", "a string type"});
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("hundred", 99); }, kCode, {"/hundred", "(10, 10)", "above the limit of 99"});
  EXPECT_EQ(g.float_dataset("hundred", 100).size(), 100u);
}

// Variable-length strings point into a global heap collection; libhdf5 1.10 trusts it (a
// free-space entry of size 0 makes it loop forever, an object longer than the string's stored
// length overflows its buffer). The objects are patched in the image.
TEST(Hdf5Hostile, DamagedGlobalHeapIsRefused) {
  File file = File::create();
  file.root().set_string_attribute("config", "HEAP-MARKER-0123456789");
  const std::string image = file.bytes();
  const std::size_t data = image.find("HEAP-MARKER-0123456789");
  ASSERT_NE(data, std::string::npos);
  ASSERT_GE(data, 16u);
  const std::size_t object = data - 16;  // index (2), references (2), reserved (4), size (8)
  ASSERT_EQ(static_cast<unsigned char>(image[object + 8]), 22u);
  EXPECT_EQ(File::from_bytes(image, "heap.h5").root().string_attribute("config"), "HEAP-MARKER-0123456789");

  std::string longer = image;  // an object of 24 bytes (same 8-byte padding) for a string of 22
  longer[object + 8] = 24;
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(longer, "heap.h5").root().string_attribute("config"); }, kCode,
                                 {"heap.h5", "'config'", "global heap collection", "22 bytes", "24 bytes"});
  std::string free_zero = image;  // a free-space entry of size 0 where the object was
  for (std::size_t i = 0; i < 16; ++i) free_zero[object + i] = '\0';
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(free_zero, "heap.h5").root().string_attribute("config"); }, kCode,
                                 {"'config'", "global heap collection", "invalid size"});
  std::string huge = image;  // an object size that overflows
  for (std::size_t i = 8; i < 16; ++i) huge[object + i] = '\xff';
  expect_error<ModelFormatError>([&] { (void)File::from_bytes(huge, "heap.h5").root().string_list_attribute("config"); }, kCode,
                                 {"global heap collection", "invalid size"});
}

// Chunks rewritten raw (H5Dwrite_chunk): a deflate stream that inflates far beyond its chunk,
// a fletcher32 checksum that does not match, a stream cut short.
TEST(Hdf5Hostile, BrokenChunksAreRefused) {
  RawFile raw;
  const hid_t root = raw.id();
  // A 4 MB chunk of zeros, deflated by libhdf5 to a few KB.
  const hsize_t big_n = 1u << 20;
  const hid_t big_dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(big_dcpl, 1, &big_n);
  H5Pset_deflate(big_dcpl, 9);
  put_dataset(root, "zeros", H5T_IEEE_F32LE, {big_n}, std::vector<float>(big_n, 0.0f), big_dcpl);
  H5Pclose(big_dcpl);
  const hid_t zeros = H5Dopen2(root, "zeros", H5P_DEFAULT);
  const hsize_t origin = 0;
  hsize_t stream_size = 0;
  ASSERT_GE(H5Dget_chunk_storage_size(zeros, &origin, &stream_size), 0);
  std::vector<unsigned char> stream(stream_size);
  std::uint32_t mask = 0;
  ASSERT_GE(H5Dread_chunk(zeros, H5P_DEFAULT, &origin, &mask, stream.data()), 0);
  H5Dclose(zeros);
  ASSERT_LT(stream.size(), 20000u);

  auto chunked = [&](const char* name, bool fletcher) {
    const hsize_t n = 16;
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &n);
    H5Pset_deflate(dcpl, 6);
    if (fletcher) H5Pset_fletcher32(dcpl);
    std::vector<float> v(16);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    put_dataset(root, name, H5T_IEEE_F32LE, {n}, v, dcpl);
    H5Pclose(dcpl);
    return H5Dopen2(root, name, H5P_DEFAULT);
  };
  const hid_t bomb = chunked("bomb", false);
  ASSERT_GE(H5Dwrite_chunk(bomb, H5P_DEFAULT, 0, &origin, stream.size(), stream.data()), 0);
  H5Dclose(bomb);

  const hid_t check = chunked("checksum", true);
  hsize_t size = 0;
  H5Dget_chunk_storage_size(check, &origin, &size);
  std::vector<unsigned char> chunk(size);
  H5Dread_chunk(check, H5P_DEFAULT, &origin, &mask, chunk.data());
  chunk[chunk.size() - 1] ^= 0x5a;  // the stored checksum
  ASSERT_GE(H5Dwrite_chunk(check, H5P_DEFAULT, 0, &origin, chunk.size(), chunk.data()), 0);
  H5Dclose(check);

  const hid_t cut = chunked("cut", false);
  H5Dget_chunk_storage_size(cut, &origin, &size);
  std::vector<unsigned char> whole(size);
  H5Dread_chunk(cut, H5P_DEFAULT, &origin, &mask, whole.data());
  whole.resize(whole.size() / 2);
  ASSERT_GE(H5Dwrite_chunk(cut, H5P_DEFAULT, 0, &origin, whole.size(), whole.data()), 0);
  H5Dclose(cut);

  const File file = raw.open();
  const Group g = file.root();
  EXPECT_EQ(g.float_dataset("zeros", big_n).size(), big_n);
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("bomb", 16); }, kCode,
                                 {"/bomb", "decompresses beyond its declared size of", "decompression bomb"});
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("checksum", 16); }, kCode, {"/checksum", "fletcher32", "does not match"});
  expect_error<ModelFormatError>([&] { (void)g.float_dataset("cut", 16); }, kCode, {"/cut", "damaged"});
}

}  // namespace
