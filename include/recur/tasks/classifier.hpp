#pragma once
// The sequence classifier of `recur classify` as library code: build, train, evaluate.
//
//   [Embedding(K + 1, D, mask_zero) | Masking(0)]   symbols: ids, or padded one-hot rows
//   -> LSTM / GRU / SimpleRNN (units U, optionally Bidirectional, return_sequences unless
//      pooling is "none")
//   -> GlobalAveragePooling1D | GlobalMaxPooling1D | (the last output)
//   -> Dense(C, softmax)
// trained with Adam on sparse_categorical_crossentropy; the learning rate is halved when the
// monitored loss stalls for 3 epochs (ReduceLROnPlateau, min 1e-5) and training stops after
// `patience` epochs without a better one, going back to the best epoch's weights (Keras's
// EarlyStopping with restore_best_weights). The test rows are scored against the majority
// class of the training rows. Nothing here prints: progress goes through the callbacks given.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recur/callbacks/callbacks.hpp"
#include "recur/layers/layer.hpp"
#include "recur/model/history.hpp"
#include "recur/model/sequential.hpp"
#include "recur/tasks/classifier_input.hpp"

namespace recur::tasks {

/// A recurrent layer by name: "lstm", "gru" or "simple_rnn" with `units`, the given dropout of
/// its inputs and of its recurrent state, wrapped in Bidirectional (concat) when asked. Throws
/// ValueError naming the accepted names for another one (RECUR-E0200), and as the layer's
/// options do for a dropout outside [0, 1).
std::unique_ptr<Layer> make_recurrent_layer(const std::string& layer, std::size_t units, bool bidirectional,
                                            float dropout = 0.0f, float recurrent_dropout = 0.0f,
                                            bool return_sequences = false);

/// The classifier's architecture and optimizer (defaults: `recur classify`'s).
struct ClassifierOptions {
  std::size_t units = 64;
  std::string layer = "lstm";  // lstm, gru or simple_rnn
  bool bidirectional = false;
  float dropout = 0.1f, recurrent_dropout = 0.0f;
  std::string pooling = "average";  // none (the last output), max or average over the timesteps
  float learning_rate = 0.005f;     // Adam's
  std::uint64_t seed = 42;          // of the initial weights
};

/// A built, compiled classifier.
struct Classifier {
  Sequential model;
  /// e.g. "LSTM(64) + average pooling", "Bidirectional(GRU(32))".
  std::string architecture;
};

/// Builds the model above for `input` (sample shape input.sample_shape()) and `classes`
/// classes, compiled with Adam and sparse_categorical_crossentropy (metric accuracy). Throws
/// ValueError for an unknown layer or pooling name, and as the layers do for bad sizes.
Classifier build_classifier(const ClassifierInput& input, std::size_t classes, const ClassifierOptions& options);

/// How train_classifier trains.
struct ClassifierTrainOptions {
  int epochs = 60;    // the most; early stopping ends most runs sooner
  int patience = 12;  // epochs without a better monitored loss before stopping
  int batch_size = 32;
  /// The last fraction of the training rows validates (monitor "val_loss"); 0 monitors "loss".
  double validation_split = 0.1;
  std::uint64_t seed = 42;  // of the batches' shuffling and the dropout masks
  /// A model file written after every epoch with the training state (Adam's moments, the
  /// callbacks' progress, the history); "" none.
  std::string checkpoint_path;
  /// Continue from checkpoint_path when that file exists (bit-identical to an uninterrupted run).
  bool resume = false;
  /// More callbacks, after the job's own (e.g. a progress display).
  std::vector<std::shared_ptr<Callback>> callbacks;
  /// Called after every epoch; return false to stop (e.g. on Ctrl-C).
  std::function<bool(const EpochLogs&)> on_epoch_end;
};

/// What training did.
struct ClassifierTraining {
  History history;
  int epochs_run = 0;
  int best_epoch = 0;           // EarlyStopping's, 1-based
  bool stopped_early = false;   // stopped by EarlyStopping (best weights restored)
  int lr_reductions = 0;        // halvings of the learning rate
  bool interrupted = false;     // on_epoch_end returned false
  double seconds = 0;
  double final_loss = 0;           // the last epoch's (NaN without one)
  double final_val_loss = 0;       // 0 without validation
  double final_val_accuracy = 0;   // 0 without validation
};

/// Trains `model` on x (n, sample...) and class ids y (n,). With `resume` and an existing
/// checkpoint, the weights and training state are loaded first. Throws ModelFormatError when
/// the checkpoint's state does not fit this run (more epochs done than `epochs`, or a history
/// of another length), and as Sequential::fit and Sequential::load do.
ClassifierTraining train_classifier(Sequential& model, const Tensor& x, const Tensor& y,
                                    const ClassifierTrainOptions& options);

/// A classifier scored on held-out rows.
struct ClassifierEvaluation {
  Tensor probabilities;                    // (n_test, classes)
  std::vector<std::size_t> predicted;      // (n_test,) argmax of each row
  std::vector<std::vector<std::size_t>> confusion;  // [true class][predicted class]
  std::size_t majority = 0;                // the most frequent class of the training rows
  double accuracy = 0;
  double majority_accuracy = 0;            // of always predicting `majority`
};

/// Predicts split.x_test and scores it against split.y_test, beside the majority class of
/// split.y_train (ties: the lower class id). Throws ValueError when `classes` is 0 or a label is
/// not below it, ShapeError when the model's output is not (classes,).
ClassifierEvaluation evaluate_classifier(Sequential& model, const ClassifierSplit& split, std::size_t classes);

}  // namespace recur::tasks
