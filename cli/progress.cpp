#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace recur::cli {

Progress::Progress(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::on_batch_end(int batch, int batches, double loss) {
  if (!enabled_ || !tty_) return;
  constexpr int kWidth = 30;
  const int filled = batches > 0 ? batch * kWidth / batches : kWidth;
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r  epoch %d  %d/%d [%s] loss %.5f\033[K", epoch_, batch, batches,
               bar.c_str(), loss);
  std::fflush(stderr);
}

void Progress::on_epoch_end(const EpochLogs& logs) {
  epoch_ = logs.epoch + 1;
  if (!enabled_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "epoch %*d/%d  loss %.5f", static_cast<int>(std::to_string(logs.epochs).size()),
               logs.epoch, logs.epochs, logs.values.at("loss"));
  if (auto it = logs.values.find("val_loss"); it != logs.values.end())
    std::fprintf(stderr, "  val_loss %.5f", it->second);
  std::fprintf(stderr, "  %.2fs\n", logs.seconds);
}

}  // namespace recur::cli
