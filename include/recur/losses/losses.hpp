#pragma once
// Losses with Keras's definitions (keras.io/api/losses). Predictions and targets are viewed as
// (rows, cols): rows = every leading axis flattened (samples, or samples x timesteps), cols = the
// last axis (the model's outputs). Every loss is the mean over rows of a per-row value, which for
// the element-wise losses equals the mean over all elements.
//   mse   mean (p - y)^2                   mae   mean |p - y|
//   huber 0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta), d = p - y (delta 1)
//   binary_crossentropy       -(y log p + (1 - y) log(1 - p)), p clipped to [1e-7, 1 - 1e-7]
//   categorical_crossentropy  -sum_j y_j log(p_j / sum_k p_k), clipped likewise; y one-hot
//                             (or any distribution) of width cols
//   sparse_categorical_crossentropy  -log p_label; y holds ONE integer label per row
// With from_logits the outputs are logits: sigmoid / softmax are folded into the loss in a
// numerically stable form (log-sum-exp), as Keras and PyTorch do.
#include <cstddef>
#include <string>

namespace recur {

enum class LossKind {
  kMeanSquaredError,
  kMeanAbsoluteError,
  kHuber,
  kBinaryCrossentropy,
  kCategoricalCrossentropy,
  kSparseCategoricalCrossentropy,
};

/// A loss and its options.
struct Loss {
  LossKind kind = LossKind::kMeanSquaredError;
  /// Outputs are logits rather than probabilities (the three cross-entropies only).
  bool from_logits = false;
  /// Huber's threshold; must be > 0.
  double delta = 1.0;
  /// Number of target values per row: 1 for sparse_categorical_crossentropy, else cols.
  std::size_t target_cols(std::size_t cols) const {
    return kind == LossKind::kSparseCategoricalCrossentropy ? 1 : cols;
  }
};

/// Keras names: "mse"/"mean_squared_error", "mae"/"mean_absolute_error", "huber",
/// "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy".
/// Throws ValueError otherwise, listing the accepted names.
LossKind parse_loss(const std::string& name);
/// The Keras name of a loss ("mse", "mae", "huber", "binary_crossentropy", ...).
std::string loss_name(LossKind kind);

/// Clip bound of probabilities in the cross-entropies (Keras's backend epsilon).
inline constexpr double kProbabilityEpsilon = 1e-7;

/// Loss value. y_pred: (rows, cols); y_true: (rows, loss.target_cols(cols)). row_weights
/// (rows,), optional: each row's loss is multiplied by its weight and the sum divided by rows
/// (Keras's sum_over_batch_size reduction of sample weights; a weight 0 leaves a row out).
template <typename T>
T loss_value(const Loss& loss, const T* y_pred, const T* y_true, std::size_t rows,
             std::size_t cols, const T* row_weights = nullptr);

/// d(loss)/d(y_pred), written to dy_pred (rows, cols). Where a probability was clipped the
/// gradient is 0, as for the clip in Keras; |x| has subgradient 0 at 0.
template <typename T>
void loss_gradient(const Loss& loss, T* dy_pred, const T* y_pred, const T* y_true,
                   std::size_t rows, std::size_t cols, const T* row_weights = nullptr);

}  // namespace recur
