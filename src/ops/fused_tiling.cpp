// The time loop's schedule (fused_tiling.hpp): by rows or by tiles, and the loops run by rows.
#include "fused_tiling.hpp"

#include <mutex>
#include <set>

#include "recur/ops/cpu.hpp"

namespace recur::ops::detail {

namespace {

std::mutex rows_mutex;
std::set<std::string>& rows_loops() {
  static std::set<std::string> seen;
  return seen;
}

}  // namespace

bool time_loop_by_rows(std::size_t batch, std::size_t max_rows, std::size_t threads,
                       std::size_t total_macs, std::size_t weight_bytes) {
  return threads >= 2 && max_rows >= 3 && batch >= threads * max_rows &&
         total_macs >= kRowsModeMinMacs && weight_bytes <= kRowsModeStreamBytes / threads;
}

TimeLoop::TimeLoop(const char* kernel, std::size_t batch, std::size_t max_rows, std::size_t cols,
                   std::size_t macs_per_step, std::size_t steps, std::size_t weight_bytes)
    : kernel_(kernel), batch_(batch), max_rows_(max_rows), cols_(cols),
      macs_per_step_(macs_per_step) {
  // A busy pool (an enclosing region: Bidirectional's two directions) would run the shares one
  // after another on the caller; tiles mode then runs on one thread (StepThreads).
  if (ThreadPool::instance().busy()) return;
  const std::size_t threads = num_threads();
  if (!time_loop_by_rows(batch, max_rows, threads, macs_per_step * steps, weight_bytes)) return;
  row_threads_ = threads;
}

void TimeLoop::note_rows_mode() const {
  const std::string line = std::string(kernel_) + " macs=" + std::to_string(macs_per_step_) +
                           ": by rows on " + std::to_string(row_threads_) + " threads";
  std::lock_guard<std::mutex> lock(rows_mutex);
  if (rows_loops().size() < 256) rows_loops().insert(line);
}

std::vector<std::string> rows_mode_loops() {
  std::lock_guard<std::mutex> lock(rows_mutex);
  return {rows_loops().begin(), rows_loops().end()};
}

}  // namespace recur::ops::detail
