#include "recur/layers/streaming.hpp"

#include <string>

#include "recur/core/error.hpp"

namespace recur {

RecurrentStream::RecurrentStream(const RecurrentCell& cell, std::size_t batch)
    : cell_(&cell), batch_(batch), features_(cell.features()), units_(cell.units()) {
  if (!cell.built())
    throw ValueError("RecurrentStream: the " + cell.type() +
                     " is not built yet (its features are unknown); build it, or run it once "
                     "through its layer, before streaming.");
  if (batch == 0)
    throw ValueError("RecurrentStream: batch (the number of parallel streams) must be at least "
                     "1, got 0; pass 1 to stream one sequence.");
  stepper_.set_batch(batch);
  refresh();
  reset();
}

void RecurrentStream::refresh() {
  const RecurrentCell& cell = *cell_;
  if (cell.features() != features_ || cell.units() != units_)
    throw ValueError("RecurrentStream::refresh: the " + cell.type() + " now has " +
                     std::to_string(cell.features()) + " features and " +
                     std::to_string(cell.units()) + " units, the stream was made for " +
                     std::to_string(features_) + " and " + std::to_string(units_) +
                     "; make a new RecurrentStream.");
  stepper_.load(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                cell.spec().use_bias ? cell.bias().value.data() : nullptr, features_, units_,
                cell.kernel_config());
}

void RecurrentStream::reset() { stepper_.reset(); }

void RecurrentStream::set_state(const float* h, const float* c) { stepper_.set_state(h, c); }

}  // namespace recur
