// save_npy / npy_bytes (src/data/npy.cpp): what is written reads back with load_npy, shape and
// values bit for bit, for ranks 1 to 4; the header is numpy's format 1.0 (magic, '<f4', C
// order, padded to 64 bytes); a folder as the path is an IoError and leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "recur/core/error.hpp"
#include "recur/data/npy.hpp"
#include "support/tensors.hpp"

namespace {

TEST(SaveNpy, ReadsBackWithItsShapeAndValuesForEveryRank) {
  for (const recur::Shape& shape : {recur::Shape{7}, recur::Shape{3, 5}, recur::Shape{2, 4, 3}, recur::Shape{2, 1, 3, 2}}) {
    const recur::Tensor t = recur::test::random_tensor(shape, 5, 3.0f);
    const std::string path = recur::test::temp_path("npy", "rank" + std::to_string(shape.size()) + ".npy");
    recur::save_npy(path, t);
    const recur::Tensor back = recur::load_npy(path);
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.values(), t.values());
    std::filesystem::remove(path);
  }
}

TEST(SaveNpy, HeaderIsNumpyFormatOne) {
  const std::string bytes = recur::npy_bytes(recur::Tensor({2, 3}));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + header) % 64, 0u);
  const std::string h = bytes.substr(10, header);
  EXPECT_NE(h.find("'descr': '<f4'"), std::string::npos) << h;
  EXPECT_NE(h.find("'fortran_order': False"), std::string::npos) << h;
  EXPECT_NE(h.find("'shape': (2, 3)"), std::string::npos) << h;
  EXPECT_EQ(h.back(), '\n');
  EXPECT_EQ(bytes.size(), 10 + header + 6 * 4);
  EXPECT_NE(recur::npy_bytes(recur::Tensor({4})).find("'shape': (4,)"), std::string::npos);
}

TEST(SaveNpy, AFolderIsAnIoError) {
  const std::string dir = recur::test::temp_path("npy", "folder");
  std::filesystem::create_directories(dir);
  EXPECT_THROW(recur::save_npy(dir, recur::Tensor({2})), recur::IoError);
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  std::filesystem::remove_all(dir);
}

}  // namespace
