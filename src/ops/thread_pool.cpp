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
  region_.epoch.fetch_add(1);
  region_.epoch.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {

constexpr std::uint64_t kShareMask = 0xffff;
constexpr std::uint64_t kFinishedOne = std::uint64_t{1} << 16;
std::uint64_t next_share(std::uint64_t claims) { return claims & kShareMask; }
std::uint64_t finished(std::uint64_t claims) { return (claims >> 16) & kShareMask; }
std::uint64_t share_count(std::uint64_t claims) { return claims >> 32; }

}  // namespace

// `seen` is the epoch before the region the worker was started for, so a worker that starts
// late still looks at that region (and finds its shares taken if the caller ran them).
void ThreadPool::worker(std::uint32_t seen) {
  Region& r = region_;
  for (;;) {
    std::uint32_t now = r.epoch.load(std::memory_order_acquire);
    for (int i = 0; now == seen && i < kSpinIterations; ++i) {
      cpu_relax();
      now = r.epoch.load(std::memory_order_acquire);
    }
    if (now == seen) {
      r.sleepers.fetch_add(1);
      r.epoch.wait(seen);
      r.sleepers.fetch_sub(1);
      continue;
    }
    seen = now;
    if (stop_.load()) return;
    // Claim only if the word says a share is left (a read first: no write to the caller's
    // cache line when there is nothing to take); a share's end and the claim of the next one
    // are then a single add.
    std::uint64_t c = r.claims.load(std::memory_order_relaxed);
    if (next_share(c) >= share_count(c)) continue;
    for (c = r.claims.fetch_add(1, std::memory_order_acq_rel); next_share(c) < share_count(c);
         c = r.claims.fetch_add(kFinishedOne + 1, std::memory_order_acq_rel))
      r.call(r.ctx, next_share(c));
  }
}

void ThreadPool::run_impl(std::size_t threads, Call call, void* ctx) {
  bool expected = false;
  if (threads <= 1 || threads > kMaxShares || !busy_.compare_exchange_strong(expected, true)) {
    for (std::size_t t = 0; t < threads; ++t) call(ctx, t);
    return;
  }
  Region& r = region_;
  while (workers_.size() + 1 < threads)
    workers_.emplace_back([this, seen = r.epoch.load()] { worker(seen); });
  r.call = call;
  r.ctx = ctx;
  // Share 0 is the caller's from the start; the workers claim from share 1.
  r.claims.store(std::uint64_t{threads} << 32 | 1, std::memory_order_release);
  r.epoch.fetch_add(1);  // seq_cst: pairs with the workers' sleepers increment
  if (r.sleepers.load() > 0) r.epoch.notify_all();
  call(ctx, 0);
  std::uint64_t mine = 1;
  // Then the shares no worker has claimed yet, then wait for those the workers claimed: spin
  // first (a region's shares finish within microseconds of each other), then yield, so that a
  // worker the OS has descheduled - another process busy on the machine - can get the core this
  // thread would otherwise burn until its time slice ends.
  std::uint64_t c = r.claims.load(std::memory_order_acquire);
  while (next_share(c) < threads) {
    c = r.claims.fetch_add(1, std::memory_order_acq_rel);
    if (next_share(c) >= threads) break;
    call(ctx, next_share(c));
    ++mine;
    c = r.claims.load(std::memory_order_acquire);
  }
  for (int i = 0; finished(c) + mine < threads; ++i) {
    if (i < kSpinIterations) cpu_relax();
    else std::this_thread::yield();
    c = r.claims.load(std::memory_order_acquire);
  }
  regions_.fetch_add(1, std::memory_order_relaxed);
  if (mine < threads) helped_regions_.fetch_add(1, std::memory_order_relaxed);
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

void ThreadChoice::add(std::size_t threads, double seconds, bool helped) {
  if (decided_ || threads != next()) return;
  if (threads > 1 && !helped && unhelped_ < kMaxUnhelped) {
    ++unhelped_;
    return;
  }
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

void ThreadChoice::call_started() {
  if (!decided_ || ++calls_ < relearn_after_) return;
  calls_ = 0;
  relearn_after_ *= 4;
  decided_ = false;
  seen_ = retries_ = unhelped_ = 0;
  one_.clear();
  many_.clear();
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
  c.call_started();
  threads_ = c.next();
  if (!c.decided()) {
    choice_ = &c;
    begin_step();
  }
}

void StepThreads::begin_step() {
  const ThreadPool& pool = ThreadPool::instance();
  regions_at_start_ = pool.regions();
  helped_at_start_ = pool.helped_regions();
  start_ = std::chrono::steady_clock::now();
}

void StepThreads::step_done() {
  if (choice_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(choices_mutex);
  // A step whose regions a worker took no part in ran on one thread, whatever it asked for.
  const ThreadPool& pool = ThreadPool::instance();
  const bool helped = threads_ == 1 || pool.regions() == regions_at_start_ ||
                      pool.helped_regions() != helped_at_start_;
  // The first steps of a call are not counted (workers waking, the data moving to the cores
  // of this call's option); a call keeps its thread count to the end, so that each option is
  // timed on data laid out by itself, as it would run.
  if (++steps_ > ThreadChoice::kWarmup)
    choice_->add(threads_, std::chrono::duration<double>(now - start_).count(), helped);
  if (choice_->decided()) choice_ = nullptr;
  begin_step();
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
