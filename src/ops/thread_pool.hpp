#pragma once
// A small pool of persistent threads for the per-timestep kernels (internal). A recurrent layer
// runs one parallel region per timestep, a few microseconds each, so starting threads or going
// through the OS per region would cost more than the work: the workers spin briefly between
// regions and sleep (futex, via std::atomic::wait) once idle for a while.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace recur::ops::detail {

class ThreadPool {
 public:
  /// The process-wide pool.
  static ThreadPool& instance();
  ~ThreadPool();

  /// Calls fn(tid) for tid in [0, threads) on `threads` threads (the caller runs tid 0) and
  /// returns when all have finished. If the pool is busy (a region running on another thread,
  /// or a nested call), the calls run one after another on the caller instead.
  template <typename F>
  void run(std::size_t threads, F& fn) {
    run_impl(threads, [](void* ctx, std::size_t tid) { (*static_cast<F*>(ctx))(tid); }, &fn);
  }

 private:
  using Call = void (*)(void*, std::size_t);
  ThreadPool() = default;
  void run_impl(std::size_t threads, Call call, void* ctx);
  void worker(std::size_t tid, std::uint32_t seen);

  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> sleepers_{0};
  std::atomic<std::size_t> done_{0};
  std::size_t active_ = 0;  // threads in the current region (written before epoch_ moves)
  Call call_ = nullptr;
  void* ctx_ = nullptr;
};

/// Below this many multiply-adds per timestep a parallel region costs more than it saves
/// (measured with recur-bench: (32, 100, 32, 64), 0.5M per step, is faster on one thread).
inline constexpr std::size_t kParallelMacs = std::size_t{1} << 20;

/// Threads for the parallel regions of one recurrent call whose timesteps each do
/// `macs_per_step` multiply-adds split into `tiles` independent tiles: one below kParallelMacs,
/// else num_threads() (recur/ops/cpu.hpp) capped by the tiles.
std::size_t step_threads(std::size_t macs_per_step, std::size_t tiles);

/// [begin, end) of the items that thread `tid` of `threads` takes out of `n` (contiguous,
/// sizes differ by at most one).
inline void split_range(std::size_t n, std::size_t tid, std::size_t threads, std::size_t& begin,
                        std::size_t& end) {
  begin = n * tid / threads;
  end = n * (tid + 1) / threads;
}

}  // namespace recur::ops::detail
