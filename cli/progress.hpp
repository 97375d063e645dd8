#pragma once
#include <string>

#include "recur/model/sequential.hpp"

namespace recur::cli {

/// Prints one line per epoch to stderr (epoch, loss, val_loss, seconds) and, when stderr is a
/// terminal, a live bar redrawn in place during the epoch.
class Progress {
 public:
  explicit Progress(bool enabled);
  void on_epoch_end(const EpochLogs& logs);
  void on_batch_end(int batch, int batches, double loss);

 private:
  bool enabled_;
  bool tty_;
  int epoch_ = 1;
};

}  // namespace recur::cli
