#include "recur/ops/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "recur/core/error.hpp"

namespace recur::ops {
namespace {

bool cpu_supports(Isa isa) {
#if defined(__x86_64__) && !defined(RECUR_NO_X86_KERNELS)
  switch (isa) {
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
#else
  return isa == Isa::kPortable;
#endif
}

Isa best_isa() {
  if (cpu_supports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kPortable;
}

Isa initial_isa() {
  const Isa best = best_isa();
  const char* env = std::getenv("RECUR_ISA");
  if (env == nullptr) return best;
  const std::string v = env;
  Isa want = best;
  if (v == "portable") want = Isa::kPortable;
  else if (v == "avx2") want = Isa::kAvx2;
  else if (v == "avx512") want = Isa::kAvx512;
  return cpu_supports(want) ? want : best;
}

std::size_t default_threads() {
  if (const char* env = std::getenv("RECUR_NUM_THREADS")) {
    const long n = std::strtol(env, nullptr, 10);
    if (n >= 1 && n <= 1024) return static_cast<std::size_t>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_isa())};
  return slot;
}

std::atomic<std::size_t>& threads_slot() {
  static std::atomic<std::size_t> slot{default_threads()};
  return slot;
}

}  // namespace

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "portable";
  }
}

Isa detected_isa() { return best_isa(); }

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (!cpu_supports(isa))
    throw ValueError("set_isa: this CPU cannot run the " + isa_name(isa) +
                     " kernels; the best it supports is " + isa_name(best_isa()) +
                     ". Pass set_isa(detected_isa()) or Isa::kPortable.");
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

std::size_t num_threads() { return threads_slot().load(std::memory_order_relaxed); }

void set_num_threads(std::size_t n) {
  threads_slot().store(n == 0 ? default_threads() : n, std::memory_order_relaxed);
}

}  // namespace recur::ops
