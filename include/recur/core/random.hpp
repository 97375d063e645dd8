#pragma once
// Seeded random numbers with the same sequence on every platform: the generator is
// std::mt19937_64 (fully specified by the standard) and the distributions are written here,
// because std::uniform_real_distribution and std::normal_distribution are implementation-defined.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace recur {

/// A reproducible random source: the same seed gives the same numbers everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}
  /// Uniform in [low, high).
  double uniform(double low = 0.0, double high = 1.0);
  /// Standard normal scaled to (mean, stddev), by the Box-Muller transform.
  double normal(double mean = 0.0, double stddev = 1.0);
  /// Uniform integer in [0, n); n must be > 0.
  std::uint64_t below(std::uint64_t n);
  /// A uniformly random permutation of 0..n-1 (Fisher-Yates).
  std::vector<std::size_t> permutation(std::size_t n);
  /// A new seed drawn from this generator, for child generators.
  std::uint64_t next_seed() { return engine_(); }
  /// The full generator state as text (the standard's mt19937_64 text form plus the spare normal
  /// deviate), for checkpoints: set_state(state()) continues the same sequence.
  std::string state() const;
  /// Restores a state() text. Throws ValueError if it is not one.
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace recur
