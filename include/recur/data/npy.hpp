#pragma once
// NumPy .npy files (numpy.lib.format): reading versions 1.0 to 3.0 into a Tensor, writing 1.0.
#include <string>

#include "recur/core/tensor.hpp"

namespace recur {

/// The array in a .npy file as float32: dtypes float32/float64 and (u)int8 to (u)int64, little-
/// or big-endian, C order, rank 1 to 4. Values are checked to be finite.
///
/// Throws IoError if the file cannot be read; ValueError RECUR-E0004 for an object or string
/// dtype (an array of Python objects or text, e.g. a column that held "N/A": convert it to
/// floats in NumPy first); ValueError for Fortran order, bool/complex dtypes or rank > 4;
/// ValueError RECUR-E0005 for a NaN or infinity (naming the flat index); ParseError for a
/// damaged header or a file shorter than its shape.
Tensor load_npy(const std::string& path);

/// The bytes of a .npy file (format 1.0, dtype '<f4', C order) holding `t` with its shape:
/// what numpy.load reads back as a float32 array of t.shape().
std::string npy_bytes(const Tensor& t);

/// Writes `t` to `path` as a float32 .npy file, atomically and durably (write_file_atomic: a
/// reader sees the old file or the whole new one). Throws IoError when it cannot be written.
void save_npy(const std::string& path, const Tensor& t);

}  // namespace recur
