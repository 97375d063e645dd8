// Issue 11: files from strangers. Every file here is crafted the way an attacker or a damaged
// disk would make it (a valid checksum included, so the parser behind the checksum is reached),
// and each test asserts the typed error and the words of its message: no crash, no hang, no
// allocation sized by the file's claims, no foreign exception.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "recur/core/error.hpp"
#include "recur/data/npy.hpp"
#include "recur/io/files.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/model/sequential.hpp"

namespace {

namespace fs = std::filesystem;
using recur::Tensor;

std::string temp_path(const std::string& name) { return (fs::temp_directory_path() / ("recur_hostile_" + name)).string(); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The error `f` throws, as "type [code]: message"; fails the test when it throws anything else
// (a foreign exception is a finding) or nothing.
template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const recur::Error& e) {
    ADD_FAILURE() << "wrong recur error type: " << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "foreign exception escaped: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

#define EXPECT_HAS(text, word) EXPECT_NE((text).find(word), std::string::npos) << (text)

// Little-endian model-file records, written by hand so that any field can lie.
void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
struct RawTensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::vector<float> values;
};
// A complete model file with a valid checksum.
std::string model_file_bytes(const std::string& json, const std::vector<RawTensor>& tensors) {
  std::string s("RECURMDL", 8);
  put_u32(s, 1);
  put_u64(s, json.size());
  s += json;
  put_u32(s, static_cast<std::uint32_t>(tensors.size()));
  for (const RawTensor& t : tensors) {
    put_u32(s, static_cast<std::uint32_t>(t.name.size()));
    s += t.name;
    put_u32(s, 1);
    put_u32(s, static_cast<std::uint32_t>(t.shape.size()));
    for (std::uint64_t d : t.shape) put_u64(s, d);
    for (float f : t.values) {
      std::uint32_t bits;
      std::memcpy(&bits, &f, 4);
      put_u32(s, bits);
    }
  }
  put_u32(s, recur::crc32(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
  return s;
}

// The JSON of a saved LSTM(units) -> Dense(1) model on (5, 1) inputs, with `units` spliced in
// as text (so that it can be -3, 1e8 or 1.5).
std::string lstm_json(const std::string& units, const std::string& metadata = "{}") {
  return R"({"format":"recur.sequential","model":{"class_name":"Sequential","config":{"name":"m","input_shape":[5,1],"layers":[)"
         R"({"class_name":"LSTM","config":{"name":"lstm","units":)" + units +
         R"(}},{"class_name":"Dense","config":{"name":"dense","units":1,"activation":"linear","use_bias":true,"kernel_initializer":"glorot_uniform","bias_initializer":"zeros"}}]}},"metadata":)" +
         metadata + "}";
}

// The tensors of LSTM(2) -> Dense(1) on one feature.
std::vector<RawTensor> lstm2_tensors() {
  return {{"lstm/kernel", {1, 8}, std::vector<float>(8, 0.1f)},
          {"lstm/recurrent_kernel", {2, 8}, std::vector<float>(16, 0.1f)},
          {"lstm/bias", {8}, std::vector<float>(8, 0.0f)},
          {"dense/kernel", {2, 1}, {0.5f, 0.5f}},
          {"dense/bias", {1}, {0.0f}}};
}

std::string load_error(const std::string& bytes, const std::string& name) {
  const std::string path = temp_path(name);
  write_bytes(path, bytes);
  const std::string m = error_of<recur::ModelFormatError>([&] { recur::Sequential::load(path); });
  fs::remove(path);
  return m;
}

TEST(HostileModelFile, TheHandWrittenFileLoadsSoTheOthersFailForTheirLie) {
  const std::string path = temp_path("good.recur");
  write_bytes(path, model_file_bytes(lstm_json("2"), lstm2_tensors()));
  const recur::Sequential m = recur::Sequential::load(path);
  EXPECT_EQ(m.input_shape(), (recur::Shape{5, 1}));
  fs::remove(path);
}

TEST(HostileModelFile, ExtentsWhoseProductWrapsAreRefused) {
  // (2^32, 2^32) holds 2^64 values, which wraps to 0; (2^64-1, 2^64-1) wraps to 1.
  std::vector<RawTensor> t = lstm2_tensors();
  t[0] = {"lstm/kernel", {std::uint64_t{1} << 32, std::uint64_t{1} << 32}, {}};
  std::string m = load_error(model_file_bytes(lstm_json("2"), t), "wrap0.recur");
  EXPECT_HAS(m, "RECUR-E0500");
  EXPECT_HAS(m, "tensor 'lstm/kernel' has extent 4294967296");
  t[0] = {"lstm/kernel", {~std::uint64_t{0}, ~std::uint64_t{0}}, {1.0f}};
  m = load_error(model_file_bytes(lstm_json("2"), t), "wrap1.recur");
  EXPECT_HAS(m, "more values than the file holds");
  t[0] = {"lstm/kernel", {1, 0}, {}};
  EXPECT_HAS(load_error(model_file_bytes(lstm_json("2"), t), "zero.recur"), "extent of 0");
}

TEST(HostileModelFile, SizeBombsFailFastWithoutAllocating) {
  // A 1 KB file declaring LSTM(10^8) or LSTM(800): refused before any weight is built or
  // initialised (the orthogonal initializer alone took 42 s for 800 units).
  for (const char* units : {"100000000", "800", "1048576"}) {
    const auto start = std::chrono::steady_clock::now();
    const std::string m = load_error(model_file_bytes(lstm_json(units), lstm2_tensors()), "bomb.recur");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_HAS(m, "ModelFormatError");
    EXPECT_LT(seconds, 5.0) << units << " units: " << m;
  }
  // Over the cap on units: the hyperparameter check names it.
  const std::string m = load_error(model_file_bytes(lstm_json("2000000000"), lstm2_tensors()), "cap.recur");
  EXPECT_HAS(m, "units must be an integer from 1 to 1048576");
}

TEST(HostileModelFile, NegativeAndFractionalCountsAreRefused) {
  for (const char* units : {"-3", "1.5", "0", "\"2\"", "true"}) {
    const std::string m = load_error(model_file_bytes(lstm_json(units), lstm2_tensors()), "units.recur");
    EXPECT_HAS(m, "units must be an integer from 1 to");
  }
  std::string json = lstm_json("2");
  json.replace(json.find("[5,1]"), 5, "[-5,1]");
  EXPECT_HAS(load_error(model_file_bytes(json, lstm2_tensors()), "shape.recur"), "input_shape [-5,1]");
}

TEST(HostileModelFile, DeepJsonIsRefusedWithoutOverflowingTheStack) {
  // Metadata nested 200k levels deep, and 100k nested TimeDistributed layers.
  const std::size_t depth = 200000;
  std::string deep = std::string(depth, '[') + std::string(depth, ']');
  std::string m = load_error(model_file_bytes(lstm_json("2", deep), lstm2_tensors()), "deep.recur");
  EXPECT_HAS(m, "nested more than 64 levels");
  std::string layer = R"({"class_name":"Dense","config":{"name":"d","units":1}})";
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += R"({"class_name":"TimeDistributed","config":{"name":"t","layer":)";
  nested += layer + std::string(100000 * 2, '}');
  std::string json = lstm_json("2");
  json.replace(json.find(R"({"class_name":"Dense")"), 0, nested + ",");
  m = load_error(model_file_bytes(json, lstm2_tensors()), "deep_layers.recur");
  EXPECT_HAS(m, "nested more than 64 levels");
}

TEST(HostileModelFile, NumbersBeyondFloat32InTheArchitectureAreRefused) {
  std::string json = lstm_json("2");
  json.replace(json.find(R"("units":2)"), 9, R"("units":2,"dropout":1e300)");
  EXPECT_HAS(load_error(model_file_bytes(json, lstm2_tensors()), "float.recur"), "beyond float32's range");
}

TEST(HostileModelFile, NonFiniteWeightsAreRefused) {
  std::vector<RawTensor> t = lstm2_tensors();
  t[1].values[3] = std::numeric_limits<float>::quiet_NaN();
  const std::string m = load_error(model_file_bytes(lstm_json("2"), t), "nan.recur");
  EXPECT_HAS(m, "RECUR-E0005");
  EXPECT_HAS(m, "tensor 'lstm/recurrent_kernel' value 3 is NaN");
}

TEST(HostileModelFile, WrongDocumentShapesAreModelFormatErrors) {
  for (const std::string& json :
       {std::string("[1,2,3]"), std::string(R"({"format":"recur.sequential"})"),
        std::string(R"({"format":"recur.sequential","model":{"config":{"name":"m","input_shape":[5,1],"layers":{}}}})"),
        std::string(R"({"format":"recur.sequential","model":{"config":{"name":7,"input_shape":[5,1],"layers":[]}}})"),
        lstm_json("2", "[1]"), lstm_json("2", "\"text\"")}) {
    const std::string m = load_error(model_file_bytes(json, lstm2_tensors()), "doc.recur");
    EXPECT_HAS(m, "recur::ModelFormatError");
  }
}

TEST(HostileModelFile, TensorNamesMustMatchInLoadAndLoadWeights) {
  std::vector<RawTensor> swapped = lstm2_tensors();
  std::swap(swapped[3].name, swapped[4].name);
  swapped[3].shape = {1};
  swapped[4].shape = {2, 1};
  std::swap(swapped[3].values, swapped[4].values);
  std::string m = load_error(model_file_bytes(lstm_json("2"), swapped), "swapped.recur");
  EXPECT_HAS(m, "RECUR-E0009");

  // load_weights: the same architecture built in code, a file whose tensors are renamed or extra.
  recur::Sequential model;
  model.add(recur::LSTM(2));
  model.add(recur::Dense(1));
  model.build({5, 1});
  const std::string saved = temp_path("lw.recur");
  model.save(saved);
  recur::ModelFileContents c = recur::read_model_file(saved);
  std::swap(c.tensors[0].name, c.tensors[1].name);  // same shapes? no: kernel (1,8), recurrent (2,8)
  c.tensors[0].name = "lstm/recurrent_kernel";
  recur::write_model_file(saved, c);
  m = error_of<recur::ModelFormatError>([&] { model.load_weights(saved); });
  EXPECT_HAS(m, "is named 'lstm/recurrent_kernel', expected 'lstm/kernel'");
  c = recur::read_model_file(temp_path("lw.recur"));
  c.tensors[0].name = "lstm/kernel";
  c.tensors[1].name = "lstm/recurrent_kernel";
  c.tensors.push_back({"extra/kernel", Tensor({1}, {1.0f})});
  recur::write_model_file(saved, c);
  m = error_of<recur::ModelFormatError>([&] { model.load_weights(saved); });
  EXPECT_HAS(m, "1 tensors more than this model uses (first extra: 'extra/kernel')");
  // A file whose architecture JSON lacks keys or is not an object: typed, never nlohmann's.
  for (const std::string& json : {std::string("{}"), std::string("[]"), std::string(R"({"model":{"config":{"layers":[1,2]}}})")}) {
    c.json = json;
    recur::write_model_file(saved, c);
    m = error_of<recur::ModelFormatError>([&] { model.load_weights(saved); });
    EXPECT_HAS(m, "recur::ModelFormatError");
  }
  fs::remove(saved);
}

TEST(HostileFiles, FoldersDevicesAndPipesAreRefusedBeforeReading) {
  const std::string dir = temp_path("a_folder");
  fs::create_directories(dir);
  std::string m = error_of<recur::IoError>([&] { recur::Sequential::load(dir); });
  EXPECT_HAS(m, "is a directory");
  m = error_of<recur::IoError>([&] { recur::load_npy(dir); });
  EXPECT_HAS(m, "is a directory");
  if (fs::exists("/dev/zero")) {
    m = error_of<recur::IoError>([] { recur::Sequential::load("/dev/zero"); });
    EXPECT_HAS(m, "not a regular file");
    m = error_of<recur::IoError>([] { recur::load_npy("/dev/zero"); });
    EXPECT_HAS(m, "not a regular file");
  }
  const std::string fifo = temp_path("fifo");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer: a blocking open would hang here.
  m = error_of<recur::IoError>([&] { recur::Sequential::load(fifo); });
  EXPECT_HAS(m, "not a regular file");
  fs::remove(fifo);
  fs::remove(dir);
}

TEST(HostileFiles, ReadFileBoundedStopsAtTheLimit) {
  const std::string path = temp_path("bounded.bin");
  write_bytes(path, std::string(1000, 'x'));
  EXPECT_EQ(recur::read_file_bounded(path, 1000, "test file").size(), 1000u);
  const std::string m = error_of<recur::IoError>([&] { recur::read_file_bounded(path, 999, "test file"); });
  EXPECT_HAS(m, "the file is 1000 bytes");
  EXPECT_HAS(m, "up to 999 bytes");
  fs::remove(path);
}

// .npy files with lying headers.
std::string npy_bytes(const std::string& shape, const std::string& descr, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + data;
}

std::string npy_error(const std::string& shape, const std::string& data = "") {
  const std::string path = temp_path("lie.npy");
  write_bytes(path, npy_bytes(shape, "<f4", data));
  std::string m;
  try {
    recur::load_npy(path);
    ADD_FAILURE() << "shape " << shape << " loaded";
  } catch (const recur::Error& e) {
    m = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "foreign exception for shape " << shape << ": " << e.what();
  }
  fs::remove(path);
  return m;
}

TEST(HostileNpy, ShapesThatLieAreRefused) {
  const std::string four(4, '\0');
  EXPECT_HAS(npy_error("(4294967296, 4294967296)"), "overflow");
  EXPECT_HAS(npy_error("(4294967296, 4294967296, 4294967296)", four), "overflow");
  EXPECT_HAS(npy_error("(18446744073709551615, 18446744073709551615)", four), "not a shape");
  EXPECT_HAS(npy_error("(99999999999999999999999,)"), "not a shape");
  EXPECT_HAS(npy_error("(-3,)", std::string(12, '\0')), "not a shape");
  EXPECT_HAS(npy_error("(1.5,)", std::string(20, '\0')), "not a shape");
  EXPECT_HAS(npy_error("(3, 4)", std::string(8, '\0')), "needs 48");
  EXPECT_HAS(npy_error("[3]", std::string(12, '\0')), "not a shape");
  // A float64 beyond float32's range: refused, not cast (undefined) to infinity.
  {
    const std::string path = temp_path("big.npy");
    const double big = 1e300;
    std::string data(8, '\0');
    std::memcpy(data.data(), &big, 8);
    write_bytes(path, npy_bytes("(1,)", "<f8", data));
    try {
      recur::load_npy(path);
      ADD_FAILURE() << "1e300 loaded as float32";
    } catch (const recur::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("beyond float32's range"), std::string::npos) << e.what();
    }
    fs::remove(path);
  }
  // A good one still loads, including the scalar-free rank-1 "(3,)" form.
  const std::string path = temp_path("good.npy");
  write_bytes(path, npy_bytes("(3,)", "<f4", std::string(12, '\0')));
  EXPECT_EQ(recur::load_npy(path).shape(), (recur::Shape{3}));
  write_bytes(path, npy_bytes("(2, 3)", "<f4", std::string(24, '\0')));
  EXPECT_EQ(recur::load_npy(path).shape(), (recur::Shape{2, 3}));
  fs::remove(path);
}

}  // namespace
