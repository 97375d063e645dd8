#include "recur/core/random.hpp"

#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "recur/core/error.hpp"

namespace recur {

std::string Rng::state() const {
  std::ostringstream out;
  out << engine_ << ' ' << (has_spare_ ? 1 : 0) << ' ';
  std::uint64_t bits = 0;
  std::memcpy(&bits, &spare_, sizeof bits);
  out << bits;
  return out.str();
}

void Rng::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  int spare_flag = 0;
  std::uint64_t bits = 0;
  in >> engine >> spare_flag >> bits;
  double spare = 0;
  std::memcpy(&spare, &bits, sizeof bits);
  // An all-zero Mersenne Twister state is degenerate (it draws zeros forever): not one state()
  // ever writes.
  bool all_zero = true;
  {
    std::istringstream words(state);
    std::string w;
    for (int i = 0; i < 312 && words >> w; ++i) all_zero = all_zero && w == "0";
  }
  if (in.fail() || (spare_flag != 0 && spare_flag != 1) || !std::isfinite(spare) || all_zero)
    throw ValueError("Rng::set_state: the text is not a generator state written by Rng::state().");
  engine_ = engine;
  has_spare_ = spare_flag == 1;
  spare_ = spare;
}

double Rng::uniform(double low, double high) {
  // 53 random bits -> [0, 1) exactly representable in double.
  double u = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  return low + (high - low) * u;
}

double Rng::normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_;
  }
  double u1 = 0.0;
  while (u1 <= 0.0) u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * 3.14159265358979323846 * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return mean + stddev * r * std::cos(theta);
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Rejection sampling removes the modulo bias.
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do { x = engine_(); } while (x >= limit);
  return x % n;
}

std::vector<std::size_t> Rng::permutation(std::size_t n) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[below(i)]);
  return p;
}

}  // namespace recur
