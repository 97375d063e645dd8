#include "recur/layers/initializers.hpp"

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "recur/core/error.hpp"

namespace recur {

void glorot_uniform(Tensor& w, Rng& rng) {
  const double fan_in = static_cast<double>(w.rank() >= 2 ? w.size() / w.shape().back() : w.size());
  const double fan_out = static_cast<double>(w.shape().back());
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  for (float& v : w.values()) v = static_cast<float>(rng.uniform(-limit, limit));
}

// LAPACK's Householder QR (OpenBLAS ships LAPACK): A = QR, then Q formed explicitly.
// Column-major, Fortran calling convention.
extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
}

void orthogonal(Tensor& w, Rng& rng, float gain) {
  const std::size_t cols = w.shape().back();
  const std::size_t rows = w.size() / cols;
  // Keras's Orthogonal: QR of a tall (n, k) normal matrix, n >= k (transposed when the weight
  // is wide), Q's columns signed so that R's diagonal is positive (q * sign(diag(r))), which
  // makes Q unique.
  const bool wide = rows < cols;
  const std::size_t n = wide ? cols : rows, k = wide ? rows : cols;
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()) / 2)
    throw ValueError("orthogonal initializer: a weight of " + w.shape_str() + " is too large for LAPACK's QR.");
  // Drawn row by row, as the (n, k) matrix Keras draws; stored column-major for LAPACK.
  std::vector<double> a(n * k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) a[j * n + i] = rng.normal();
  const int m = static_cast<int>(n), kk = static_cast<int>(k);
  std::vector<double> tau(k);
  int info = 0, query = -1;
  double size = 0;
  dgeqrf_(&m, &kk, a.data(), &m, tau.data(), &size, &query, &info);
  std::vector<double> work(static_cast<std::size_t>(std::max(size, static_cast<double>(k))));
  int lwork = static_cast<int>(work.size());
  dgeqrf_(&m, &kk, a.data(), &m, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw ValueError("orthogonal initializer: LAPACK dgeqrf failed (info " + std::to_string(info) + ").");
  std::vector<double> sign(k);
  for (std::size_t j = 0; j < k; ++j) sign[j] = a[j * n + j] < 0 ? -1.0 : 1.0;  // sign(diag(R))
  dorgqr_(&m, &kk, &kk, a.data(), &m, tau.data(), &size, &query, &info);
  if (static_cast<std::size_t>(size) > work.size()) work.resize(static_cast<std::size_t>(size));
  lwork = static_cast<int>(work.size());
  dorgqr_(&m, &kk, &kk, a.data(), &m, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw ValueError("orthogonal initializer: LAPACK dorgqr failed (info " + std::to_string(info) + ").");
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t i = wide ? c : r, j = wide ? r : c;  // Q's (n, k) index
      w[r * cols + c] = gain * static_cast<float>(a[j * n + i] * sign[j]);
    }
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
