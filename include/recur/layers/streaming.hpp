#pragma once
// Streaming inference: one sequence (or a small batch of them) advanced one timestep per call,
// for real-time use (a sensor reading in, a prediction out).
#include <cstddef>

#include "recur/layers/recurrent.hpp"
#include "recur/ops/recurrent_stepper.hpp"

namespace recur {

/// Steps a recurrent cell through a stream, one timestep per step() call, with the weights
/// snapshotted and pre-packed when the stream is made, and nothing allocated after that. The
/// stepping itself is ops::RecurrentStepper's (recur/ops/recurrent_stepper.hpp).
///
/// An LSTM cell with tanh / sigmoid activations (Keras's defaults) runs on the fused kernel of
/// the CPU's instruction set (recur/ops/cpu.hpp): z = x_t W + h R + b for all four gates in one
/// pass over the packed weights, then the update from registers. Other cells (GRU, SimpleRNN,
/// other activations) step through the portable kernel. The equations are the cell's (see
/// recur/ops/recurrent_kernels.hpp); dropout is not applied (inference).
///
/// The snapshot does not follow later changes to the cell's weights (training, set_weights):
/// call refresh() after them.
///
///   LSTM lstm(LstmOptions(32));  ... train ...
///   RecurrentStream stream(lstm.cell());          // batch 1
///   for (each reading x_t (features floats)) { const float* h = stream.step(x_t); ... }
class RecurrentStream {
 public:
  /// Snapshots `cell` for `batch` parallel streams with zero initial states. Throws ValueError
  /// if the cell is not built (it has no features yet) or batch is 0.
  explicit RecurrentStream(const RecurrentCell& cell, std::size_t batch = 1);

  /// Advances every stream by one timestep. x_t: (batch, features), row-major. Returns h after
  /// the step, (batch, units) row-major, valid until the next call. No checks on x_t (the hot
  /// path): it must hold batch * features floats.
  const float* step(const float* x_t) { return stepper_.step(x_t); }

  /// The hidden state h (batch, units) after the last step.
  const float* h() const noexcept { return stepper_.h(); }
  /// The LSTM cell state c (batch, units) after the last step; null for GRU and SimpleRNN.
  const float* c() const noexcept { return stepper_.c(); }
  /// Sets every state to zero (a new sequence).
  void reset();
  /// Sets the states: h and (LSTM) c, each (batch, units). c is ignored for other cells.
  void set_state(const float* h, const float* c = nullptr);
  /// Takes a new snapshot of the cell's weights (after training or set_weights); the states are
  /// kept. Throws ValueError if the cell's shapes changed.
  void refresh();

  std::size_t batch() const noexcept { return batch_; }
  std::size_t features() const noexcept { return features_; }
  std::size_t units() const noexcept { return units_; }
  /// True when steps run on the fused kernel, false on the portable one.
  bool fused() const noexcept { return stepper_.fused(); }

 private:
  const RecurrentCell* cell_;
  std::size_t batch_, features_, units_;
  ops::RecurrentStepper stepper_;  // the snapshot, packed, and the states
};

}  // namespace recur
