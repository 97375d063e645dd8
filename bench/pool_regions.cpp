// recur-pool-regions: what a parallel region of recur's thread pool (src/ops/thread_pool.hpp)
// costs its caller in the situations a training loop meets (issue 14; BENCHMARKS.md, "Thread
// pool: claimed shares"):
//   start   the first regions after the pool's threads are created, in blocks of 400 (on a
//           2-core VM a new worker first ran on its creator's core and moved ~10 ms later);
//   gap     a region after the caller worked alone for G microseconds (the workers spin ~0.3 ms
//           after a region, then sleep: waking one is a futex call and a scheduling delay);
//   sleep   a region after the caller slept G microseconds (every thread idle).
// Each region has 2 shares of the same fixed work (a chain of adds); "serial" is both shares on
// the caller with no pool. Prints median, 90th percentile and maximum per line, in microseconds.
//
//   recur-pool-regions [work_iterations=3000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "recur/ops/cpu.hpp"
#include "thread_pool.hpp"  // src/ops (internal)

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Stats {
  double median, p90, max;
};

Stats stats(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[t.size() * 9 / 10], t.back()};
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 3000;
  recur::ops::set_num_threads(2);
  auto& pool = recur::ops::detail::ThreadPool::instance();
  volatile double sink = 0;
  auto share = [&](std::size_t s) {
    double acc = 0;
    for (int i = 0; i < iterations; ++i) acc += i * 1e-9 * static_cast<double>(s + 1);
    sink = sink + acc;
  };
  auto region = [&] {
    const double t0 = now();
    pool.run(2, share);
    return (now() - t0) * 1e6;
  };
  std::printf("| case | median us | p90 us | max us |\n|---|---:|---:|---:|\n");
  const double start = now();
  for (int block = 0; block < 6; ++block) {
    std::vector<double> t;
    for (int r = 0; r < 400; ++r) t.push_back(region());
    const Stats s = stats(t);
    std::printf("| start: regions %d-%d (until %.0f ms) | %.1f | %.1f | %.1f |\n", block * 400,
                block * 400 + 399, (now() - start) * 1e3, s.median, s.p90, s.max);
  }
  for (const double gap : {0.0, 10.0, 100.0, 1000.0, 5000.0}) {
    std::vector<double> t;
    for (int r = 0; r < 60; ++r) {
      for (const double g0 = now(); (now() - g0) * 1e6 < gap;) {
      }
      t.push_back(region());
    }
    const Stats s = stats(t);
    std::printf("| gap %.0f us (caller busy) | %.1f | %.1f | %.1f |\n", gap, s.median, s.p90,
                s.max);
  }
  for (const int gap : {1000, 5000}) {
    std::vector<double> t;
    for (int r = 0; r < 60; ++r) {
      std::this_thread::sleep_for(std::chrono::microseconds(gap));
      t.push_back(region());
    }
    const Stats s = stats(t);
    std::printf("| sleep %d us (all idle) | %.1f | %.1f | %.1f |\n", gap, s.median, s.p90,
                s.max);
  }
  std::vector<double> t;
  for (int r = 0; r < 60; ++r) {
    const double t0 = now();
    share(0);
    share(1);
    t.push_back((now() - t0) * 1e6);
  }
  const Stats s = stats(t);
  std::printf("| serial: both shares on the caller, no pool | %.1f | %.1f | %.1f |\n", s.median,
              s.p90, s.max);
  return 0;
}
