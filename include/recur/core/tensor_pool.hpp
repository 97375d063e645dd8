#pragma once
// Storage reuse across a model's batches. A training step creates and drops the same tensors
// every batch (each layer's output, each gradient): allocating them afresh costs page faults
// and zero-filling each time (up to a fifth of a padded Bidirectional LSTM's fit step, measured
// with perf). A Model keeps one TensorPool: what its forward and backward drop goes in, and the
// layers take their next outputs and gradients out of it.
//
// Layers ask through pooled_tensor(), which takes from the pool made current on this thread by
// a TensorPoolScope (Model::forward / backward open one) and allocates as before when there is
// none, so a layer called on its own, or on another thread, behaves as always.
#include <cstddef>
#include <vector>

#include "recur/core/shape.hpp"
#include "recur/core/tensor.hpp"

namespace recur {

/// Spare float buffers, handed out by best fit. Not thread-safe: one thread at a time (the one
/// whose TensorPoolScope made it current).
class TensorPool {
 public:
  /// Buffers kept at most; what comes in beyond that is freed.
  static constexpr std::size_t kMaxBuffers = 64;

  /// Keeps t's storage for reuse (an empty tensor is ignored).
  void give(Tensor&& t);
  /// A buffer of n floats with unspecified values: the spare with the smallest capacity that
  /// holds n (and at most 4n, so a small tensor does not pin a large buffer), else a new one.
  std::vector<float> take(std::size_t n);
  /// Spare buffers held now.
  std::size_t size() const noexcept { return free_.size(); }
  void clear() noexcept { free_.clear(); }

 private:
  std::vector<std::vector<float>> free_;
};

/// Makes `pool` current on this thread for the scope's lifetime (null: none); restores the
/// previous one on exit, so scopes nest.
class TensorPoolScope {
 public:
  explicit TensorPoolScope(TensorPool* pool) noexcept;
  ~TensorPoolScope();
  TensorPoolScope(const TensorPoolScope&) = delete;
  TensorPoolScope& operator=(const TensorPoolScope&) = delete;

 private:
  TensorPool* previous_;
};

/// A tensor of `shape` for a result the caller overwrites in full: storage from this thread's
/// current pool (values unspecified), or zeros when there is no pool. Throws ShapeError as
/// Tensor(shape) does.
Tensor pooled_tensor(const Shape& shape);
/// Zeros of `shape`, on pooled storage when there is a pool.
Tensor pooled_zeros(const Shape& shape);
/// Hands t's storage to this thread's current pool; frees it when there is none.
void recycle(Tensor&& t);

/// Debugging aid: when on, every buffer pooled_tensor() reuses is first filled with NaN, so a
/// kernel that leaves part of its output unwritten shows up as NaN instead of a stale value
/// (the tests run whole training steps this way). Off by default; process-wide.
void set_poison_reused_buffers(bool on) noexcept;

}  // namespace recur
