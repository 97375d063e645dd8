#pragma once
// Reading NumPy .npy files (format versions 1.0 to 3.0, numpy.lib.format) into a Tensor.
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

}  // namespace recur
