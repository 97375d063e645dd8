#pragma once
#include <map>
#include <string>
#include <vector>

namespace recur {

/// What fit() returns, like Keras's History: per-epoch values keyed "loss", "<metric>",
/// "val_loss", "val_<metric>", in the order they were first recorded.
struct History {
  std::vector<std::string> keys;
  std::map<std::string, std::vector<double>> history;
  /// How fit split the samples: the first train_samples trained, the last validation_samples
  /// (validation_split, taken before shuffling) validated.
  std::size_t train_samples = 0;
  std::size_t validation_samples = 0;
  /// A TerminateOnNaN callback ended training on a non-finite loss.
  bool terminated_on_nan = false;
  /// Appends `value` to `key`, registering the key on first use.
  void record(const std::string& key, double value) {
    auto [it, inserted] = history.try_emplace(key);
    if (inserted) keys.push_back(key);
    it->second.push_back(value);
  }
  std::size_t epochs() const { return history.count("loss") ? history.at("loss").size() : 0; }
};

}  // namespace recur
