#pragma once
// Training callbacks with Keras's names, defaults and rules (keras.io/api/callbacks). Subclass
// Callback to write your own; pass them to FitOptions::callbacks.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "recur/core/options.hpp"
#include "recur/core/tensor.hpp"

namespace recur {

class Optimizer;
struct TrainingState;

/// What a callback may reach of the model being trained (Keras's `self.model`, narrowed to what
/// callbacks need): its weights in get_weights() order, its optimizer, and save. recur::Model
/// (and so Sequential) implements it; callbacks never see the rest of the model, so this folder
/// does not depend on recur/model.
class TrainingTarget {
 public:
  virtual ~TrainingTarget() = default;
  /// Copies of every weight, in Keras's get_weights() order.
  virtual std::vector<Tensor> get_weights() const = 0;
  /// Replaces every weight; the list must match get_weights() (ValueError / ShapeError).
  virtual void set_weights(const std::vector<Tensor>& weights) = 0;
  /// The compiled optimizer (null before compile).
  virtual Optimizer* optimizer() = 0;
  /// Writes the model file atomically (Model::save); with `state`, a checkpoint.
  virtual void save(const std::string& path, const std::string& metadata_json,
                    const TrainingState* state) const = 0;
};

/// What callbacks and FitOptions::on_epoch_end receive at the end of each epoch.
struct EpochLogs {
  int epoch = 0;   // 1-based
  int epochs = 0;  // total requested
  double seconds = 0;
  std::map<std::string, double> values;  // "loss", "accuracy", "val_loss", ...
};

/// What callbacks receive after each batch.
struct BatchLogs {
  int epoch = 0;    // 1-based
  int epochs = 0;   // total requested
  int batch = 0;    // 1-based within the epoch
  int batches = 0;  // per epoch
  double seconds = 0;  // since the epoch began
  /// "loss" (this batch's; NaN or infinite when it diverged) and the running epoch averages of
  /// the metrics, e.g. "accuracy".
  std::map<std::string, double> values;
};

/// Base class of callbacks. fit() calls on_train_begin once, on_batch_end after every batch,
/// on_epoch_end after every epoch and on_train_end once when training ends normally or is
/// stopped. Returning false from on_epoch_end stops training after that epoch (Keras's
/// model.stop_training = True); from on_batch_end, right after that batch.
///
/// When a batch's loss is not finite, fit calls on_batch_end BEFORE the update (the weights are
/// still the last finite ones): a callback that returns false (TerminateOnNaN) ends training
/// there; if none does, fit throws its divergence ValueError.
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(TrainingTarget& /*model*/) {}
  virtual bool on_batch_end(TrainingTarget& /*model*/, const BatchLogs& /*logs*/) { return true; }
  virtual bool on_epoch_end(TrainingTarget& /*model*/, const EpochLogs& /*logs*/) { return true; }
  virtual void on_train_end(TrainingTarget& /*model*/) {}

  /// A callback's progress (best value, patience counter, best weights, ...), stored in
  /// checkpoints so that a resumed fit decides exactly as an uninterrupted one would. Doubles
  /// are kept bit-exact.
  struct State {
    std::vector<double> values;
    std::vector<Tensor> tensors;
  };
  /// The progress so far; the default (a stateless callback) is empty.
  virtual State state() const { return {}; }
  /// Restores a state() after on_train_begin. Throws ValueError when it does not fit.
  virtual void set_state(const State& /*state*/) {}
  /// True for a callback that wants the whole TrainingState after every epoch
  /// (on_epoch_state); fit builds it only when one does.
  virtual bool wants_training_state() const { return false; }
  /// Called after every epoch, after all on_epoch_end calls, with the state a resumed fit needs.
  virtual void on_epoch_state(TrainingTarget& /*model*/, const TrainingState& /*state*/) {}
};

/// Stops training when a batch loss is NaN or infinite (Keras TerminateOnNaN), leaving the
/// weights at their last finite values and History::terminated_on_nan set, instead of fit's
/// default divergence error. It prints nothing (a library does not write to stderr unasked):
/// the History says so, and the batch is in the BatchLogs a ProgressBar or your callback sees.
class TerminateOnNaN : public Callback {
 public:
  bool on_batch_end(TrainingTarget& model, const BatchLogs& logs) override;
};

/// Keras's progress display: "Epoch 3/20" then
/// "40/40 [==============================] - 1s 25ms/step - loss: 0.4100 - accuracy: 0.8700 -
/// val_loss: ..." - redrawn in place on a terminal, written once per epoch otherwise (and with
/// verbose 2). FitOptions::verbose adds one writing to stdout; the CLI writes to stderr.
class ProgressBar : public Callback {
 public:
  /// verbose 1: a live bar on a terminal; 2: one line per epoch. `stream` e.g. stdout.
  explicit ProgressBar(int verbose = 1, std::FILE* stream = stdout);
  bool on_batch_end(TrainingTarget& model, const BatchLogs& logs) override;
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override;

 private:
  std::string line(int batch, int batches, double seconds,
                   const std::map<std::string, double>& values) const;
  int verbose_;
  std::FILE* stream_;
  bool tty_;
  int batches_ = 0;
  int header_for_epoch_ = 0;
};

/// Which way a monitored value improves. kAuto: max when the name contains "acc", else min.
enum class MonitorMode { kAuto, kMin, kMax };

/// Tracks the best value of a monitored log entry. Throws ValueError naming the available keys
/// when the monitored key is missing (Keras only warns; a silent no-op hides a typo).
class Monitor {
 public:
  Monitor(std::string key, MonitorMode mode, double min_delta);
  /// The monitored value from logs, or throws.
  double read(const EpochLogs& logs, const std::string& caller) const;
  /// True if `value` beats the best so far by more than min_delta.
  bool improves(double value) const;
  void reset();
  const std::string& key() const noexcept { return key_; }
  double best = 0;

 private:
  std::string key_;
  bool maximize_;
  double min_delta_;
};

struct EarlyStoppingOptions {
  RECUR_ARG(std::string, monitor) = "val_loss";
  /// An absolute change below min_delta is no improvement.
  RECUR_ARG(double, min_delta) = 0.0;
  /// Epochs with no improvement after which training stops.
  RECUR_ARG(int, patience) = 0;
  RECUR_ARG(MonitorMode, mode) = MonitorMode::kAuto;
  /// When training is STOPPED by this callback, restore the weights of the best epoch (as
  /// Keras: when all epochs run, the last weights are kept).
  RECUR_ARG(bool, restore_best_weights) = false;
  /// Epochs to wait before monitoring starts.
  RECUR_ARG(int, start_from_epoch) = 0;
};

/// Stops training when the monitored value has stopped improving (Keras EarlyStopping).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options = {});
  void on_train_begin(TrainingTarget& model) override;
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override;
  void on_train_end(TrainingTarget& model) override;
  /// The epoch (1-based) at which training was stopped, 0 if it was not.
  int stopped_epoch() const noexcept { return stopped_epoch_; }
  /// The epoch (1-based) with the best monitored value, 0 before any.
  int best_epoch() const noexcept { return best_epoch_; }
  State state() const override;
  void set_state(const State& state) override;

 private:
  EarlyStoppingOptions o_;
  Monitor monitor_;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::vector<Tensor> best_weights_;
};

struct ReduceLROnPlateauOptions {
  RECUR_ARG(std::string, monitor) = "val_loss";
  /// new_lr = lr * factor; must be in (0, 1).
  RECUR_ARG(double, factor) = 0.1;
  RECUR_ARG(int, patience) = 10;
  RECUR_ARG(MonitorMode, mode) = MonitorMode::kAuto;
  RECUR_ARG(double, min_delta) = 1e-4;
  /// Epochs to wait after a reduction before counting again.
  RECUR_ARG(int, cooldown) = 0;
  RECUR_ARG(double, min_lr) = 0.0;
};

/// Multiplies the optimizer's learning rate by `factor` when the monitored value has not
/// improved for `patience` epochs (Keras ReduceLROnPlateau). Throws ValueError for a factor
/// outside (0, 1).
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(const ReduceLROnPlateauOptions& options = {});
  void on_train_begin(TrainingTarget& model) override;
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override;
  /// Number of reductions made so far.
  int reductions() const noexcept { return reductions_; }
  State state() const override;
  void set_state(const State& state) override;

 private:
  ReduceLROnPlateauOptions o_;
  Monitor monitor_;
  int wait_ = 0, cooldown_counter_ = 0, reductions_ = 0;
};

struct ModelCheckpointOptions {
  explicit ModelCheckpointOptions(std::string filepath) : filepath_(std::move(filepath)) {}
  /// Path to save to; "{epoch}" is replaced by the epoch number.
  RECUR_ARG(std::string, filepath);
  RECUR_ARG(std::string, monitor) = "val_loss";
  /// Save only when the monitored value improves.
  RECUR_ARG(bool, save_best_only) = false;
  RECUR_ARG(MonitorMode, mode) = MonitorMode::kAuto;
  /// Also store the training state (optimizer slots and step count, generators, callback
  /// progress, history) in the file, so that fit can resume from it bit-identically
  /// (FitOptions::resume_from). Keras's save_weights_only=False keeps the optimizer too.
  RECUR_ARG(bool, save_training_state) = false;
};

/// Saves the model with Model::save (atomic: temp file + rename) after each epoch, or only
/// when the monitored value improves (Keras ModelCheckpoint). Throws IoError if it cannot write.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(const ModelCheckpointOptions& options);
  void on_train_begin(TrainingTarget& model) override;
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override;
  /// Epochs (1-based) at which a file was written.
  const std::vector<int>& saved_epochs() const noexcept { return saved_; }
  State state() const override;
  void set_state(const State& state) override;
  bool wants_training_state() const override { return o_.save_training_state(); }
  void on_epoch_state(TrainingTarget& model, const TrainingState& state) override;

 private:
  ModelCheckpointOptions o_;
  Monitor monitor_;
  std::vector<int> saved_;
  std::string pending_;  // with save_training_state: the path decided at on_epoch_end
};

/// Writes one CSV row per epoch: "epoch" (0-based, as Keras) and every log key in sorted order
/// (Keras CSVLogger). The file is flushed after every row. Throws IoError if it cannot write.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, bool append = false);
  void on_train_begin(TrainingTarget& model) override;
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override;
  void on_train_end(TrainingTarget& model) override;

 private:
  std::string filename_;
  bool append_;
  std::ofstream out_;
  std::vector<std::string> keys_;
};

}  // namespace recur
