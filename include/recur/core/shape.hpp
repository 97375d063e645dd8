#pragma once
// Shapes: a list of extents, printed the way Keras and NumPy users read them: (32, 50, 8).
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace recur {

/// The extents of a tensor, outermost first (row-major).
using Shape = std::vector<std::size_t>;

/// Number of elements of `shape` (1 for an empty shape).
std::size_t shape_size(const Shape& shape);

/// "(32, 50, 8)"; a rank-1 shape prints as "(4,)" like Python. Extents equal to kAnyDim print
/// as "None" (an unknown batch size in summaries).
std::string shape_str(const Shape& shape);

/// Marker for an unknown extent (the batch axis in a model summary).
inline constexpr std::size_t kAnyDim = static_cast<std::size_t>(-1);

/// `shape` with an unknown batch axis in front: (5, 2) -> (None, 5, 2), as Keras prints it.
Shape with_batch(const Shape& shape);

}  // namespace recur
