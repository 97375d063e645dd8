#pragma once
// The instruction-set paths a test can force (recur/ops/cpu.hpp), and a guard that puts the
// process's path and thread count back when the test ends.
#include <cstddef>
#include <vector>

#include "recur/ops/cpu.hpp"

namespace recur::test {

/// Restores the instruction set and thread count a test changed.
struct IsaGuard {
  ops::Isa isa = ops::active_isa();
  std::size_t threads = ops::num_threads();
  ~IsaGuard() {
    ops::set_isa(isa);
    ops::set_num_threads(threads);
  }
};

/// The fused paths this CPU can run (AVX2, AVX-512), least capable first.
inline std::vector<ops::Isa> fused_isas() {
  std::vector<ops::Isa> out;
  for (ops::Isa isa : {ops::Isa::kAvx2, ops::Isa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(ops::detected_isa())) out.push_back(isa);
  return out;
}

}  // namespace recur::test
