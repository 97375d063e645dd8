#include "thread_pool.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>

#include "recur/ops/cpu.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace recur::ops::detail {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// Spins before a worker sleeps: long enough to span the gap between two timesteps' regions
// (and the BLAS call between a layer's input projection and its time loop), short enough that
// an idle pool hands its core back within a fraction of a millisecond.
constexpr int kSpinIterations = 1 << 14;

}  // namespace

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  epoch_.fetch_add(1);
  epoch_.notify_all();
  for (auto& t : workers_) t.join();
}

// `seen` is the epoch before the region the worker was started for, so a worker that starts
// late still runs that region.
void ThreadPool::worker(std::size_t tid, std::uint32_t seen) {
  for (;;) {
    std::uint32_t now = epoch_.load(std::memory_order_acquire);
    for (int i = 0; now == seen && i < kSpinIterations; ++i) {
      cpu_relax();
      now = epoch_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      sleepers_.fetch_add(1);
      epoch_.wait(seen);
      sleepers_.fetch_sub(1);
      continue;
    }
    seen = now;
    if (stop_.load()) return;
    if (tid < active_) {
      call_(ctx_, tid);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
}

void ThreadPool::run_impl(std::size_t threads, Call call, void* ctx) {
  bool expected = false;
  if (threads <= 1 || !busy_.compare_exchange_strong(expected, true)) {
    for (std::size_t t = 0; t < threads; ++t) call(ctx, t);
    return;
  }
  while (workers_.size() + 1 < threads)
    workers_.emplace_back([this, tid = workers_.size() + 1, seen = epoch_.load()] {
      worker(tid, seen);
    });
  active_ = threads;
  call_ = call;
  ctx_ = ctx;
  done_.store(0, std::memory_order_relaxed);
  epoch_.fetch_add(1);  // seq_cst: pairs with the workers' sleepers_ increment
  if (sleepers_.load() > 0) epoch_.notify_all();
  call(ctx, 0);
  // Wait for the workers: spin first (a region's parts finish within microseconds of each
  // other), then yield, so that a worker the OS has descheduled - another process busy on the
  // machine - can get the core this thread would otherwise burn until its time slice ends.
  for (int i = 0; done_.load(std::memory_order_acquire) + 1 < threads; ++i) {
    if (i < kSpinIterations) cpu_relax();
    else std::this_thread::yield();
  }
  busy_.store(false, std::memory_order_release);
}

std::size_t pass_threads(std::size_t bytes) {
  return bytes < kParallelPassBytes ? 1 : std::max<std::size_t>(1, num_threads());
}

std::size_t step_threads(std::size_t macs_per_step, std::size_t tiles) {
  if (macs_per_step < kParallelMacs) return 1;
  return std::max<std::size_t>(1, std::min(num_threads(), tiles));
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct ChoiceKey {
  std::string kernel;
  std::size_t macs, tiles, threads;
  bool operator<(const ChoiceKey& o) const {
    return std::tie(kernel, macs, tiles, threads) < std::tie(o.kernel, o.macs, o.tiles, o.threads);
  }
};

// The process's learned choices. std::map: the addresses of its values stay put, so a
// StepThreads can hold one while others are added.
std::mutex choices_mutex;
std::map<ChoiceKey, ThreadChoice>& choices() {
  static std::map<ChoiceKey, ThreadChoice> table;
  return table;
}

}  // namespace

std::size_t ThreadChoice::next() const {
  if (decided_) return choice_;
  return many_.size() < kSamples ? n_ : 1;  // the n-thread block first
}

void ThreadChoice::add(std::size_t threads, double seconds) {
  if (decided_ || threads != next()) return;
  std::vector<double>& block = threads == 1 ? one_ : many_;
  if (++seen_ > kWarmup) block.push_back(seconds);
  if (block.size() == kSamples) seen_ = 0;
  if (one_.size() < kSamples || many_.size() < kSamples) return;
  const double one = median(one_), many = median(many_);
  if (many > kDisturbed * one && retries_ < kRetries) {
    ++retries_;
    one_.clear();
    many_.clear();
    return;
  }
  choice_ = many < kMargin * one ? n_ : 1;
  decided_ = true;
}

std::string ThreadChoice::describe() const {
  if (!decided_) return "learning";
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu thread%s (1: %.2f us, %zu: %.2f us median per step)", choice_,
                choice_ == 1 ? "" : "s", 1e6 * median(one_), n_, 1e6 * median(many_));
  return buf;
}

StepThreads::StepThreads(const char* kernel, std::size_t macs_per_step, std::size_t tiles) {
  const std::size_t n = std::min(num_threads(), tiles);
  if (n <= 1 || macs_per_step < kMinCalibrateMacs || ThreadPool::instance().busy()) return;
  threads_ = n;
  if (macs_per_step >= kAlwaysParallelMacs) return;
  std::lock_guard<std::mutex> lock(choices_mutex);
  ThreadChoice& c = choices().try_emplace(ChoiceKey{kernel, macs_per_step, tiles, n}, n).first->second;
  threads_ = c.next();
  if (!c.decided()) {
    choice_ = &c;
    start_ = std::chrono::steady_clock::now();
  }
}

void StepThreads::step_done() {
  if (choice_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(choices_mutex);
  choice_->add(threads_, std::chrono::duration<double>(now - start_).count());
  threads_ = choice_->next();
  if (choice_->decided()) choice_ = nullptr;
  start_ = std::chrono::steady_clock::now();
}

std::vector<std::string> learned_step_threads() {
  std::lock_guard<std::mutex> lock(choices_mutex);
  std::vector<std::string> out;
  for (const auto& [k, c] : choices())
    out.push_back(k.kernel + " macs=" + std::to_string(k.macs) + " tiles=" + std::to_string(k.tiles) +
                  " threads=" + std::to_string(k.threads) + ": " + c.describe());
  return out;
}

}  // namespace recur::ops::detail
