#include "recur/core/tensor_pool.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>

namespace recur {
namespace {

thread_local TensorPool* current_pool = nullptr;
std::atomic<bool> poison{false};

}  // namespace

void TensorPool::give(Tensor&& t) {
  std::vector<float> v = std::move(t.values());
  t = Tensor();
  if (v.capacity() == 0) return;
  if (free_.size() < kMaxBuffers) {
    free_.push_back(std::move(v));
    return;
  }
  // Full: the smallest spare makes room for a larger one (large buffers are what page faults
  // and zero-filling cost most on).
  auto smallest = std::min_element(free_.begin(), free_.end(), [](const auto& a, const auto& b) {
    return a.capacity() < b.capacity();
  });
  if (smallest->capacity() < v.capacity()) *smallest = std::move(v);
}

std::vector<float> TensorPool::take(std::size_t n) {
  std::size_t best = free_.size();
  for (std::size_t i = 0; i < free_.size(); ++i)
    if (free_[i].capacity() >= n && free_[i].capacity() / 4 <= n &&
        (best == free_.size() || free_[i].capacity() < free_[best].capacity()))
      best = i;
  if (best == free_.size()) return std::vector<float>(n);
  std::vector<float> v = std::move(free_[best]);
  free_[best] = std::move(free_.back());
  free_.pop_back();
  v.resize(n);  // within capacity: no allocation; values unspecified to the caller
  if (poison.load(std::memory_order_relaxed))
    std::fill(v.begin(), v.end(), std::numeric_limits<float>::quiet_NaN());
  return v;
}

TensorPoolScope::TensorPoolScope(TensorPool* pool) noexcept : previous_(current_pool) { current_pool = pool; }
TensorPoolScope::~TensorPoolScope() { current_pool = previous_; }

Tensor pooled_tensor(const Shape& shape) {
  if (current_pool == nullptr) return Tensor(shape);
  // Tensor(shape) checks the rank; shape_size of a bad rank is still a number, and the
  // constructor below refuses the shape the same way.
  return Tensor(shape, current_pool->take(shape_size(shape)));
}

Tensor pooled_zeros(const Shape& shape) {
  Tensor t = pooled_tensor(shape);
  if (current_pool != nullptr) t.zero();
  return t;
}

void recycle(Tensor&& t) {
  if (current_pool != nullptr) current_pool->give(std::move(t));
  else t = Tensor();
}

void set_poison_reused_buffers(bool on) noexcept { poison.store(on, std::memory_order_relaxed); }

}  // namespace recur
