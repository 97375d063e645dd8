#pragma once
// A small pool of persistent threads for the per-timestep kernels (internal). A recurrent layer
// runs one parallel region per timestep (or one per call, by rows: fused_tiling.hpp), a few
// microseconds each, so starting threads or going through the OS per region would cost more
// than the work: the workers spin briefly between regions and sleep (futex, via
// std::atomic::wait) once idle for a while.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace recur::ops::detail {

class ThreadPool {
 public:
  /// The process-wide pool.
  static ThreadPool& instance();
  ~ThreadPool();

  /// Calls fn(share) for every share in [0, threads) and returns when all have finished. The
  /// caller and up to threads - 1 workers claim the shares one at a time, so a worker that is
  /// slow to come (asleep, descheduled, or sharing the caller's core) never holds the region up:
  /// the caller runs the shares nobody has claimed. If the pool is busy (a region running on
  /// another thread, or a nested call), the shares run one after another on the caller.
  template <typename F>
  void run(std::size_t threads, F& fn) {
    run_impl(threads, [](void* ctx, std::size_t tid) { (*static_cast<F*>(ctx))(tid); }, &fn);
  }

 private:
  using Call = void (*)(void*, std::size_t);
  ThreadPool() = default;
  void run_impl(std::size_t threads, Call call, void* ctx);
 public:
  /// Whether a region is running now (a call to run() would run its parts one after another).
  bool busy() const { return busy_.load(std::memory_order_acquire); }
  /// Regions of two or more shares run so far, and those of them that a worker took at least
  /// one share of (the others ran wholly on their caller).
  std::uint64_t regions() const { return regions_.load(std::memory_order_relaxed); }
  std::uint64_t helped_regions() const { return helped_regions_.load(std::memory_order_relaxed); }

 private:
  void worker(std::uint32_t seen);

  // The region's state, in one cache line that the caller writes once per region and a worker
  // reads once: the epoch the workers watch, the function and context, and the claims word,
  // (shares << 32) | (finished by workers << 16) | next unclaimed share. A claim is a
  // fetch_add of the word; the share it returns is run only if it is below the shares: the
  // add synchronises with the caller's store of that region's word, so the function read
  // after it is that region's, even for a worker late from an earlier region. (A region of
  // more than kMaxShares shares runs on the caller.)
  static constexpr std::size_t kMaxShares = 0xffff;
  struct alignas(64) Region {
    std::atomic<std::uint32_t> epoch{0};
    std::atomic<std::uint32_t> sleepers{0};
    std::atomic<std::uint64_t> claims{0};
    Call call = nullptr;
    void* ctx = nullptr;
  };
  Region region_;
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> regions_{0}, helped_regions_{0};
};

/// Below this many multiply-adds per timestep a parallel region costs more than it saves
/// (measured with recur-bench: (32, 100, 32, 64), 0.5M per step, is faster on one thread).
inline constexpr std::size_t kParallelMacs = std::size_t{1} << 20;

/// Threads for the parallel regions of one recurrent call whose timesteps each do
/// `macs_per_step` multiply-adds split into `tiles` independent tiles, by the fixed rule: one
/// below kParallelMacs, else num_threads() (recur/ops/cpu.hpp) capped by the tiles.
std::size_t step_threads(std::size_t macs_per_step, std::size_t tiles);

/// What one shape's timesteps ran fastest on, learned from its first steps: a block of steps
/// on n threads, then a block on one thread; each block's first kWarmup steps are not counted
/// (workers waking from sleep, caches filling), its next kSamples are; then the faster by
/// median wins, n only when at least kMargin faster (a region must pay for its
/// synchronisation). Blocks rather than alternating steps: a step on one thread lets the
/// workers go idle, so the n-thread step after it would be timed waking them. Pure logic, no
/// clock: StepThreads feeds it.
class ThreadChoice {
 public:
  static constexpr std::size_t kWarmup = 2;
  static constexpr std::size_t kSamples = 6;
  static constexpr double kMargin = 0.9;
  /// n threads timed this many times slower than one is not a property of the shape but of a
  /// disturbance (a thread of another pool spinning on the same core, e.g. OpenBLAS's for its
  /// first ~0.1 s): both blocks are timed again, up to kRetries times, then one thread is kept.
  static constexpr double kDisturbed = 4.0;
  static constexpr std::size_t kRetries = 3;
  /// An n-thread step whose region no worker took a share of (the caller ran them all: the
  /// workers were asleep, or the OS had put one on the caller's core, as a new thread's first
  /// ~10 ms were on a 2-core VM) measured one thread, not n: it is not counted, up to this
  /// many times per shape (a process confined to fewer cores than it sees then still decides).
  static constexpr std::size_t kMaxUnhelped = 256;
  /// A decision is learned again after this many calls of its shape, then after 4x as many
  /// each time: the first steps of a process run while cores still ramp up their clocks and
  /// new threads settle, so the first decision may be the wrong one for the rest of the run.
  static constexpr std::size_t kRelearnCalls = 64;
  explicit ThreadChoice(std::size_t n) : n_(n) {}
  bool decided() const { return decided_; }
  /// A recurrent call of this shape starts: after kRelearnCalls x 4^k calls since the last
  /// decision, learning starts again.
  void call_started();
  /// Threads for the next step: the decision, or the option of the block being timed.
  std::size_t next() const;
  /// A step on `threads` (next()'s answer) took `seconds`; `helped`: whether a worker ran part
  /// of it (always true on one thread). Decides after both blocks.
  void add(std::size_t threads, double seconds, bool helped = true);
  /// "1 thread (1: 3.1 us, 2: 4.2 us median per step)", or "learning".
  std::string describe() const;

 private:
  std::size_t n_;
  bool decided_ = false;
  std::size_t choice_ = 1;
  std::size_t seen_ = 0;  // steps of the current block so far, warm-up included
  std::size_t retries_ = 0;
  std::size_t unhelped_ = 0;
  std::size_t calls_ = 0, relearn_after_ = kRelearnCalls;
  std::vector<double> one_, many_;
};

/// The thread count of a recurrent call's timesteps, per shape and learned at run time
/// (issue 14: the kernel that wins on one CPU loses on the next). One thread when one is all
/// there is (num_threads() 1, one tile, the pool busy with an enclosing region) or the step is
/// tiny (below kMinCalibrateMacs); all of num_threads() when the step is large (kAlwaysParallelMacs
/// and above); in between, the steps of the first calls of each (kernel, macs, tiles,
/// num_threads()) are timed on both (ThreadChoice; a call runs one option from its first step
/// to its last, its first kWarmup steps not timed) and the choice is kept, learned again now and
/// then (kRelearnCalls). Results do not depend on it: every tile does the same arithmetic
/// whatever thread runs it.
///
///   StepThreads st("fused-lstm-forward", macs, tiles);
///   for (each step) { tiling.run(st.threads(), ...); st.step_done(); }
class StepThreads {
 public:
  static constexpr std::size_t kMinCalibrateMacs = std::size_t{1} << 16;
  static constexpr std::size_t kAlwaysParallelMacs = std::size_t{1} << 24;
  /// `kernel` names the kernel and pass (a string literal: it keys the learned choices).
  StepThreads(const char* kernel, std::size_t macs_per_step, std::size_t tiles);
  std::size_t threads() const { return threads_; }
  /// After each step: times it while the shape is being learned.
  void step_done();

 private:
  // Marks a step's start: the clock and the pool's region counts.
  void begin_step();

  ThreadChoice* choice_ = nullptr;  // while learning; owned by the process-wide table
  std::size_t threads_ = 1;
  std::uint64_t regions_at_start_ = 0, helped_at_start_ = 0;  // the pool's counts at step start
  std::size_t steps_ = 0;  // steps of this call so far
  std::chrono::steady_clock::time_point start_;
};

/// The learned choices so far, one line each: "kernel macs=M tiles=T threads=N: <describe>".
std::vector<std::string> learned_step_threads();

/// [begin, end) of the items that thread `tid` of `threads` takes out of `n` (contiguous,
/// sizes differ by at most one).
inline void split_range(std::size_t n, std::size_t tid, std::size_t threads, std::size_t& begin,
                        std::size_t& end) {
  begin = n * tid / threads;
  end = n * (tid + 1) / threads;
}

/// A layout pass (a copy, packing or transpose around a recurrent call) that moves at least this
/// many bytes runs split over the pool: on one core such passes took ~5% of an LSTM forward
/// of (64, 50, 512, 512) while the other core waited (issue 14). Below it a region's wake-up
/// costs about what the split saves.
inline constexpr std::size_t kParallelPassBytes = std::size_t{1} << 20;

/// Threads for a layout pass that moves `bytes` bytes: one below kParallelPassBytes, else
/// num_threads() (recur/ops/cpu.hpp).
std::size_t pass_threads(std::size_t bytes);

/// Calls fn(begin, end) for contiguous shares of the items [0, n) of a layout pass that moves
/// `bytes` bytes, on pass_threads(bytes) threads of the pool (at most n; the shares run one
/// after another on the caller when the pool is busy). Every item must write only its own
/// outputs, so the result is the same whatever the split.
template <typename Fn>
void parallel_pass(std::size_t n, std::size_t bytes, Fn&& fn) {
  const std::size_t threads = std::min(pass_threads(bytes), n);
  if (threads <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  auto body = [&](std::size_t tid) {
    std::size_t begin, end;
    split_range(n, tid, threads, begin, end);
    if (begin < end) fn(begin, end);
  };
  ThreadPool::instance().run(threads, body);
}

}  // namespace recur::ops::detail
