#include "recur/callbacks/callbacks.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "recur/core/error.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur {
namespace {

bool wants_max(const std::string& key, MonitorMode mode) {
  if (mode == MonitorMode::kMax) return true;
  if (mode == MonitorMode::kMin) return false;
  return key.find("acc") != std::string::npos;
}

std::string replace_epoch(std::string path, int epoch) {
  const std::string token = "{epoch}";
  for (std::size_t p = path.find(token); p != std::string::npos; p = path.find(token))
    path.replace(p, token.size(), std::to_string(epoch));
  return path;
}

}  // namespace

Monitor::Monitor(std::string key, MonitorMode mode, double min_delta)
    : key_(std::move(key)), maximize_(wants_max(key_, mode)), min_delta_(std::fabs(min_delta)) {
  reset();
}

void Monitor::reset() {
  best = maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

double Monitor::read(const EpochLogs& logs, const std::string& caller) const {
  const auto it = logs.values.find(key_);
  if (it != logs.values.end()) return it->second;
  std::string keys;
  for (const auto& [k, v] : logs.values) keys += (keys.empty() ? "" : ", ") + k;
  std::string fix = key_.rfind("val_", 0) == 0
                        ? " Validation values exist only with validation_split > 0."
                        : "";
  throw ValueError(caller + " monitors \"" + key_ + "\", which is not in the epoch logs; they "
                   "have: " + keys + "." + fix);
}

bool Monitor::improves(double value) const {
  return maximize_ ? value - min_delta_ > best : value + min_delta_ < best;
}

EarlyStopping::EarlyStopping(const EarlyStoppingOptions& o)
    : o_(o), monitor_(o.monitor(), o.mode(), o.min_delta()) {
  if (o.patience() < 0)
    throw ValueError("EarlyStopping: patience must be >= 0, got " + std::to_string(o.patience()) + ".");
}

void EarlyStopping::on_train_begin(TrainingTarget&) {
  wait_ = stopped_epoch_ = best_epoch_ = 0;
  monitor_.reset();
  best_weights_.clear();
}

bool EarlyStopping::on_epoch_end(TrainingTarget& model, const EpochLogs& logs) {
  const double current = monitor_.read(logs, "EarlyStopping");
  if (logs.epoch <= o_.start_from_epoch()) return true;
  ++wait_;
  if (monitor_.improves(current)) {
    monitor_.best = current;
    best_epoch_ = logs.epoch;
    if (o_.restore_best_weights()) best_weights_ = model.get_weights();
    wait_ = 0;
    return true;
  }
  if (wait_ >= o_.patience() && logs.epoch > 1) {
    stopped_epoch_ = logs.epoch;
    return false;
  }
  return true;
}

namespace {
// Small integers stored as doubles in a State, checked on the way back.
int state_int(double v, const char* who) {
  if (!(v >= 0 && v <= 1e9) || v != static_cast<double>(static_cast<int>(v)))
    throw ValueError(std::string(who) + "::set_state: a counter in the state is not a small non-negative integer.");
  return static_cast<int>(v);
}
void require_values(const Callback::State& s, std::size_t n, const char* who) {
  if (s.values.size() != n)
    throw ValueError(std::string(who) + "::set_state: expected " + std::to_string(n) + " values, got " +
                     std::to_string(s.values.size()) + ".");
}
// Three counters and a monitor's best value: the state of EarlyStopping and ReduceLROnPlateau.
std::vector<double> counters_and_best(std::initializer_list<int> counters, double best) {
  std::vector<double> v(counters.begin(), counters.end());
  v.push_back(best);
  return v;
}
void read_counters_and_best(const Callback::State& s, std::initializer_list<int*> counters, double* best,
                            const char* who) {
  require_values(s, counters.size() + 1, who);
  std::size_t i = 0;
  for (int* c : counters) *c = state_int(s.values[i++], who);
  *best = s.values[i];
}
}  // namespace

Callback::State EarlyStopping::state() const {
  return {counters_and_best({wait_, stopped_epoch_, best_epoch_}, monitor_.best), best_weights_};
}

void EarlyStopping::set_state(const State& s) {
  read_counters_and_best(s, {&wait_, &stopped_epoch_, &best_epoch_}, &monitor_.best, "EarlyStopping");
  best_weights_ = s.tensors;
}

void EarlyStopping::on_train_end(TrainingTarget& model) {
  if (stopped_epoch_ > 0 && o_.restore_best_weights() && !best_weights_.empty())
    model.set_weights(best_weights_);
}

ReduceLROnPlateau::ReduceLROnPlateau(const ReduceLROnPlateauOptions& o)
    : o_(o), monitor_(o.monitor(), o.mode(), o.min_delta()) {
  if (!(o.factor() > 0 && o.factor() < 1))
    throw ValueError("ReduceLROnPlateau: factor must be in (0, 1), got " +
                     std::to_string(o.factor()) + "; the new rate is lr * factor.");
  if (o.patience() < 0 || o.cooldown() < 0)
    throw ValueError("ReduceLROnPlateau: patience and cooldown must be >= 0, got patience " +
                     std::to_string(o.patience()) + " and cooldown " + std::to_string(o.cooldown()) +
                     ". They count epochs, e.g. patience 10, cooldown 0.");
}

Callback::State ReduceLROnPlateau::state() const {
  return {counters_and_best({wait_, cooldown_counter_, reductions_}, monitor_.best), {}};
}

void ReduceLROnPlateau::set_state(const State& s) {
  read_counters_and_best(s, {&wait_, &cooldown_counter_, &reductions_}, &monitor_.best, "ReduceLROnPlateau");
}

void ReduceLROnPlateau::on_train_begin(TrainingTarget& model) {
  if (model.optimizer() && model.optimizer()->schedule())
    throw ValueError("ReduceLROnPlateau: the optimizer follows a learning-rate schedule, which "
                     "would overwrite every reduction; use one or the other (as Keras requires).");
  wait_ = cooldown_counter_ = reductions_ = 0;
  monitor_.reset();
}

bool ReduceLROnPlateau::on_epoch_end(TrainingTarget& model, const EpochLogs& logs) {
  const double current = monitor_.read(logs, "ReduceLROnPlateau");
  Optimizer* opt = model.optimizer();
  if (!opt) return true;
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (monitor_.improves(current)) {
    monitor_.best = current;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {
    ++wait_;
    if (wait_ >= o_.patience()) {
      const double old_lr = opt->learning_rate();
      if (old_lr > o_.min_lr()) {
        const double new_lr = std::max(old_lr * o_.factor(), o_.min_lr());
        if (new_lr > 0) {
          opt->set_learning_rate(static_cast<float>(new_lr));
          ++reductions_;
        }
        cooldown_counter_ = o_.cooldown();
        wait_ = 0;
      }
    }
  }
  return true;
}

ModelCheckpoint::ModelCheckpoint(const ModelCheckpointOptions& o)
    : o_(o), monitor_(o.monitor(), o.mode(), 0.0) {
  if (o.filepath().empty()) throw ValueError("ModelCheckpoint: filepath is empty.");
}

Callback::State ModelCheckpoint::state() const {
  State s{{monitor_.best}, {}};
  for (int e : saved_) s.values.push_back(e);
  return s;
}

void ModelCheckpoint::set_state(const State& s) {
  if (s.values.empty()) throw ValueError("ModelCheckpoint::set_state: the state is empty.");
  monitor_.best = s.values[0];
  saved_.clear();
  for (std::size_t i = 1; i < s.values.size(); ++i) saved_.push_back(state_int(s.values[i], "ModelCheckpoint"));
}

void ModelCheckpoint::on_epoch_state(TrainingTarget& model, const TrainingState& state) {
  if (pending_.empty()) return;
  model.save(pending_, "{}", &state);
  pending_.clear();
}

void ModelCheckpoint::on_train_begin(TrainingTarget&) {
  monitor_.reset();
  saved_.clear();
}

bool ModelCheckpoint::on_epoch_end(TrainingTarget& model, const EpochLogs& logs) {
  if (o_.save_best_only()) {
    const double current = monitor_.read(logs, "ModelCheckpoint");
    if (!monitor_.improves(current)) return true;
    monitor_.best = current;
  }
  saved_.push_back(logs.epoch);
  // With the training state, the file is written in on_epoch_state, once every callback has
  // updated its own state for this epoch.
  if (o_.save_training_state()) pending_ = replace_epoch(o_.filepath(), logs.epoch);
  else model.save(replace_epoch(o_.filepath(), logs.epoch), "{}", nullptr);
  return true;
}

CSVLogger::CSVLogger(std::string filename, bool append)
    : filename_(std::move(filename)), append_(append) {}

void CSVLogger::on_train_begin(TrainingTarget&) {
  out_.close();
  keys_.clear();
  out_.open(filename_, append_ ? std::ios::app : std::ios::trunc);
  if (!out_)
    throw IoError("CSVLogger: cannot open \"" + filename_ + "\": " + std::strerror(errno) + ".");
}

bool CSVLogger::on_epoch_end(TrainingTarget&, const EpochLogs& logs) {
  if (keys_.empty()) {
    for (const auto& [k, v] : logs.values) keys_.push_back(k);  // std::map: sorted, as Keras
    out_ << "epoch";
    for (const auto& k : keys_) out_ << "," << k;
    out_ << "\n";
  }
  out_ << logs.epoch - 1;
  for (const auto& k : keys_) {
    const auto it = logs.values.find(k);
    out_ << ",";
    if (it != logs.values.end()) out_ << it->second;
  }
  out_ << "\n";
  out_.flush();
  if (!out_) throw IoError("CSVLogger: cannot write \"" + filename_ + "\": " + std::strerror(errno) + ".");
  return true;
}

void CSVLogger::on_train_end(TrainingTarget&) { out_.close(); }

}  // namespace recur

namespace recur {

bool TerminateOnNaN::on_batch_end(TrainingTarget& /*model*/, const BatchLogs& logs) {
  const auto it = logs.values.find("loss");
  if (it == logs.values.end() || std::isfinite(it->second)) return true;
  return false;
}

ProgressBar::ProgressBar(int verbose, std::FILE* stream)
    : verbose_(verbose), stream_(stream ? stream : stdout), tty_(::isatty(::fileno(stream_)) == 1) {
  if (verbose < 0 || verbose > 2)
    throw ValueError("ProgressBar: verbose must be 0, 1 or 2, got " + std::to_string(verbose) + ".");
}

std::string ProgressBar::line(int batch, int batches, double seconds,
                              const std::map<std::string, double>& values) const {
  constexpr int kWidth = 30;
  const int width = static_cast<int>(std::to_string(batches).size());
  char buf[64];
  std::string s;
  if (verbose_ == 1) {
    std::snprintf(buf, sizeof buf, "%*d/%d [", width, batch, batches);
    s = buf;
    const int filled = batches > 0 ? batch * kWidth / batches : kWidth;
    std::string bar(static_cast<std::size_t>(std::max(filled - (batch < batches ? 1 : 0), 0)), '=');
    if (batch < batches) bar += '>';
    bar.resize(kWidth, '.');
    s += bar + "]";
  }
  if (batch < batches) {
    const double eta = batch > 0 ? seconds / batch * (batches - batch) : 0.0;
    std::snprintf(buf, sizeof buf, " - ETA: %.0fs", eta);
  } else {
    const double per_step = batches > 0 ? seconds / batches : 0.0;
    if (per_step >= 1e-3) std::snprintf(buf, sizeof buf, " - %.0fs %.0fms/step", seconds, 1e3 * per_step);
    else std::snprintf(buf, sizeof buf, " - %.0fs %.0fus/step", seconds, 1e6 * per_step);
  }
  s += buf;
  // Keras's order: loss, the metrics, val_loss, the validation metrics.
  std::vector<std::string> keys;
  if (values.count("loss")) keys.push_back("loss");
  for (const auto& [k, v] : values)
    if (k != "loss" && k.rfind("val_", 0) != 0) keys.push_back(k);
  if (values.count("val_loss")) keys.push_back("val_loss");
  for (const auto& [k, v] : values)
    if (k != "val_loss" && k.rfind("val_", 0) == 0) keys.push_back(k);
  for (const auto& k : keys) {
    std::snprintf(buf, sizeof buf, " - %s: %.4f", k.c_str(), values.at(k));
    s += buf;
  }
  return s;
}

bool ProgressBar::on_batch_end(TrainingTarget& /*model*/, const BatchLogs& logs) {
  batches_ = logs.batches;
  if (verbose_ == 0) return true;
  if (header_for_epoch_ != logs.epoch) {
    std::fprintf(stream_, "Epoch %d/%d\n", logs.epoch, logs.epochs);
    header_for_epoch_ = logs.epoch;
  }
  if (verbose_ == 1 && tty_ && logs.batch < logs.batches) {
    std::fprintf(stream_, "\r%s\033[K", line(logs.batch, logs.batches, logs.seconds, logs.values).c_str());
    std::fflush(stream_);
  }
  return true;
}

bool ProgressBar::on_epoch_end(TrainingTarget& /*model*/, const EpochLogs& logs) {
  if (verbose_ == 0) return true;
  if (header_for_epoch_ != logs.epoch) std::fprintf(stream_, "Epoch %d/%d\n", logs.epoch, logs.epochs);
  header_for_epoch_ = logs.epoch;
  std::fprintf(stream_, "%s%s\n", verbose_ == 1 && tty_ ? "\r" : "",
               line(batches_, batches_, logs.seconds, logs.values).c_str());
  std::fflush(stream_);
  return true;
}

}  // namespace recur
