#include "recur/layers/initializers.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "recur/core/error.hpp"

namespace recur {

void glorot_uniform(Tensor& w, Rng& rng) {
  const double fan_in = static_cast<double>(w.rank() >= 2 ? w.size() / w.shape().back() : w.size());
  const double fan_out = static_cast<double>(w.shape().back());
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  for (float& v : w.values()) v = static_cast<float>(rng.uniform(-limit, limit));
}

void orthogonal(Tensor& w, Rng& rng, float gain) {
  const std::size_t cols = w.shape().back();
  const std::size_t rows = w.size() / cols;
  // Orthonormalize the columns of a tall (n, k) matrix, n >= k; transpose when wide.
  const bool wide = rows < cols;
  const std::size_t n = wide ? cols : rows, k = wide ? rows : cols;
  std::vector<double> a(n * k);
  for (double& v : a) v = rng.normal();
  // Modified Gram-Schmidt gives Q with R's diagonal positive, which is the sign convention
  // Keras applies (q * sign(diag(r))).
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t p = 0; p < j; ++p) {
      double dot = 0;
      for (std::size_t i = 0; i < n; ++i) dot += a[i * k + p] * a[i * k + j];
      for (std::size_t i = 0; i < n; ++i) a[i * k + j] -= dot * a[i * k + p];
    }
    double norm = 0;
    for (std::size_t i = 0; i < n; ++i) norm += a[i * k + j] * a[i * k + j];
    norm = std::sqrt(norm);
    for (std::size_t i = 0; i < n; ++i) a[i * k + j] /= norm;
  }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      w[r * cols + c] = gain * static_cast<float>(wide ? a[c * k + r] : a[r * k + c]);
}

namespace {
bool known_initializer(const std::string& name) {
  for (const char* k : {"glorot_uniform", "orthogonal", "zeros", "ones", "uniform", "random_uniform"})
    if (name == k) return true;
  return false;
}
}  // namespace

void initialize(Tensor& w, const std::string& name, Rng& rng, const std::string& caller) {
  if (name == "glorot_uniform") glorot_uniform(w, rng);
  else if (name == "orthogonal") orthogonal(w, rng);
  else if (name == "zeros") w.zero();
  else if (name == "ones") for (float& v : w.values()) v = 1.0f;
  else if (name == "uniform" || name == "random_uniform")
    for (float& v : w.values()) v = static_cast<float>(rng.uniform(-0.05, 0.05));
  else
    throw ValueError(caller + ": unknown initializer \"" + name +
                     "\"; expected one of glorot_uniform, orthogonal, uniform, zeros, ones.");
}

namespace {
struct LoadBudget {
  bool active = false;
  std::uint64_t left = 0;
  std::string source;
};
thread_local LoadBudget load_budget;
}  // namespace

WeightLoadScope::WeightLoadScope(std::uint64_t max_elements, std::string source) {
  load_budget = {true, max_elements, std::move(source)};
}

WeightLoadScope::~WeightLoadScope() { load_budget = {}; }

void create_weight(Weight& w, const Shape& shape, const std::string& initializer, Rng& rng,
                   const std::string& caller) {
  std::uint64_t n = 1;
  for (std::size_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
      throw ShapeError(caller + ": weight shape " + shape_str(shape) + " has more elements than fit in 64 bits.");
  if (load_budget.active) {
    if (!known_initializer(initializer))
      throw ValueError(caller + ": unknown initializer \"" + initializer +
                       "\"; expected one of glorot_uniform, orthogonal, uniform, zeros, ones.");
    if (n > load_budget.left)
      throw ModelFormatError(load_budget.source + ": the architecture declares a weight of shape " +
                             shape_str(shape) + " (" + caller.substr(0, caller.rfind(' ')) +
                             "), more values than the file's tensors hold; the file is damaged or "
                             "crafted. Nothing was allocated.", codes::kArchitectureMismatch);
    load_budget.left -= n;
    w.value = Tensor(shape);
    w.grad = Tensor(shape);
    return;
  }
  w.value = Tensor(shape);
  initialize(w.value, initializer, rng, caller);
  w.grad = Tensor(shape);
}

}  // namespace recur
