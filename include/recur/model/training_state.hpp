#pragma once
// The state of a fit between two epochs: what a checkpoint must hold so that training resumes
// exactly where it stopped.
#include <string>
#include <vector>

#include "recur/callbacks/callbacks.hpp"
#include "recur/model/history.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur {

/// Everything Sequential::fit needs to continue a run after `epochs_done` epochs: written into a
/// model file by Sequential::save(path, metadata, &state) (ModelCheckpoint with
/// save_training_state does it every epoch) and given back to fit with FitOptions::resume_from.
/// A fit resumed from the state after epoch k of a run and trained to epoch N ends with
/// bit-identical weights to the uninterrupted run of N epochs with the same data, options and
/// seed on the same machine (same CPU kernels and thread count rules). Not stored: the states
/// carried between batches by stateful recurrent layers (a resumed stateful model starts its
/// next epoch from zero states, so it is not bit-identical).
struct TrainingState {
  /// Epochs finished (the next one is epochs_done + 1).
  int epochs_done = 0;
  /// A callback stopped training (EarlyStopping): a resumed fit trains no further epochs.
  bool stopped = false;
  /// fit's shuffling generator and every layer's dropout generators (Rng::state()), in layer
  /// order (Layer::random_generators()).
  std::string shuffle_rng;
  std::vector<std::string> layer_rngs;
  /// The optimizer's step count, learning rate and slots (Adam's moments, ...).
  Optimizer::State optimizer;
  /// The state of each callback of FitOptions::callbacks, in order.
  std::vector<Callback::State> callbacks;
  /// The history of the finished epochs.
  History history;
};

}  // namespace recur
