#include "recur/tasks/classifier.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "recur/core/error.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur::tasks {
namespace {

// Loads the checkpoint's weights into `model` (load_weights compares the architecture) and its
// training state, checked against this run before fit checks it against the model.
std::shared_ptr<TrainingState> load_checkpoint(Sequential& model, const std::string& path, int epochs) {
  auto state = std::make_shared<TrainingState>();
  Sequential::load(path, nullptr, state.get());
  model.load_weights(path);
  const auto& hist = state->history.history;
  const std::size_t done = static_cast<std::size_t>(state->epochs_done);
  if (state->epochs_done > epochs || !hist.count("loss") || hist.at("loss").size() != done)
    throw ModelFormatError(path + ": the checkpoint's training state does not fit this run (" +
                           std::to_string(done) + " epochs done of " + std::to_string(epochs) +
                           ", with a history of another length). Start a new run instead.");
  return state;
}

double last_of(const History& h, const std::string& key, double otherwise) {
  return h.history.count(key) && !h.history.at(key).empty() ? h.history.at(key).back() : otherwise;
}

}  // namespace

std::unique_ptr<Layer> make_recurrent_layer(const std::string& layer, std::size_t units, bool bidirectional,
                                            float dropout, float recurrent_dropout, bool return_sequences) {
  std::unique_ptr<RNN> rnn;
  if (layer == "lstm")
    rnn = std::make_unique<LSTM>(
        LstmOptions(units).dropout(dropout).recurrent_dropout(recurrent_dropout).return_sequences(return_sequences));
  else if (layer == "gru")
    rnn = std::make_unique<GRU>(
        GruOptions(units).dropout(dropout).recurrent_dropout(recurrent_dropout).return_sequences(return_sequences));
  else if (layer == "simple_rnn")
    rnn = std::make_unique<SimpleRNN>(SimpleRnnOptions(units).dropout(dropout).recurrent_dropout(
        recurrent_dropout).return_sequences(return_sequences));
  else
    throw ValueError("make_recurrent_layer: layer must be lstm, gru or simple_rnn, got \"" + layer + "\".");
  if (bidirectional) return std::make_unique<Bidirectional>(std::move(rnn));
  return rnn;
}

Classifier build_classifier(const ClassifierInput& input, std::size_t classes, const ClassifierOptions& o) {
  if (o.pooling != "none" && o.pooling != "max" && o.pooling != "average")
    throw ValueError("build_classifier: pooling must be none, max or average, got \"" + o.pooling + "\".");
  Classifier c{Sequential("classifier"), ""};
  Sequential& model = c.model;
  if (input.embed > 0)
    model.add(Embedding(EmbeddingOptions(input.features + 1, input.embed).mask_zero(input.padded)));
  else if (input.padded)
    model.add(Masking(0.0f));
  model.add(make_recurrent_layer(o.layer, o.units, o.bidirectional, o.dropout, o.recurrent_dropout,
                                 o.pooling != "none"));
  if (o.pooling == "max") model.add(GlobalMaxPooling1D());
  if (o.pooling == "average") model.add(GlobalAveragePooling1D());
  model.add(Dense(classes, "softmax"));
  const Layer& rec = model.layer(input.padded || input.embed > 0 ? 1 : 0);
  const Layer& inner = o.bidirectional ? static_cast<const Bidirectional&>(rec).forward_layer() : rec;
  c.architecture = inner.type() + "(" + std::to_string(o.units) + ")";
  if (o.bidirectional) c.architecture = "Bidirectional(" + c.architecture + ")";
  if (o.pooling != "none") c.architecture += " + " + o.pooling + " pooling";
  model.build(input.sample_shape(), o.seed);
  model.compile(make_optimizer("adam", o.learning_rate), "sparse_categorical_crossentropy", {"accuracy"});
  return c;
}

ClassifierTraining train_classifier(Sequential& model, const Tensor& x, const Tensor& y,
                                    const ClassifierTrainOptions& o) {
  // Halve the learning rate when the monitored loss stalls, and stop when it has not improved
  // for `patience` epochs, going back to the best epoch's weights.
  const std::string monitor = o.validation_split > 0 ? "val_loss" : "loss";
  auto early = std::make_shared<EarlyStopping>(
      EarlyStoppingOptions().monitor(monitor).patience(o.patience).restore_best_weights(true));
  auto plateau = std::make_shared<ReduceLROnPlateau>(
      ReduceLROnPlateauOptions().monitor(monitor).factor(0.5).patience(3).min_lr(1e-5));
  std::shared_ptr<TrainingState> resume_state;
  if (o.resume && !o.checkpoint_path.empty() && std::filesystem::exists(o.checkpoint_path))
    resume_state = load_checkpoint(model, o.checkpoint_path, o.epochs);
  // Extra callbacks last: a progress display has no state, so a run resumed with or without
  // it matches the checkpoint's list of callback states.
  std::vector<std::shared_ptr<Callback>> callbacks{plateau, early};
  callbacks.insert(callbacks.end(), o.callbacks.begin(), o.callbacks.end());
  ClassifierTraining t;
  FitOptions fit = FitOptions()
                       .callbacks(callbacks)
                       .epochs(o.epochs)
                       .batch_size(o.batch_size)
                       .validation_split(o.validation_split)
                       .seed(o.seed)
                       .resume_from(resume_state)
                       .on_epoch_end([&](const EpochLogs& logs) {
                         const bool go_on = !o.on_epoch_end || o.on_epoch_end(logs);
                         t.interrupted = t.interrupted || !go_on;
                         return go_on;
                       });
  if (!o.checkpoint_path.empty())
    fit.on_epoch_state([&](const TrainingState& st) { model.save(o.checkpoint_path, "{}", &st); });
  const auto start = std::chrono::steady_clock::now();
  t.history = model.fit(x, y, fit);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const History& h = t.history;
  t.epochs_run = static_cast<int>(h.epochs());
  t.stopped_early = early->stopped_epoch() > 0;
  t.best_epoch = early->best_epoch();
  t.lr_reductions = plateau->reductions();
  t.final_loss = last_of(h, "loss", NAN);
  if (h.history.count("val_loss") && h.history.count("val_accuracy") && !h.history.at("val_loss").empty() &&
      !h.history.at("val_accuracy").empty()) {
    t.final_val_loss = h.history.at("val_loss").back();
    t.final_val_accuracy = h.history.at("val_accuracy").back();
  }
  return t;
}

ClassifierEvaluation evaluate_classifier(Sequential& model, const ClassifierSplit& split, std::size_t classes) {
  const std::size_t C = classes;
  if (C == 0) throw ValueError("evaluate_classifier: classes must be >= 1, got 0.", codes::kBadHyperparameter);
  if (model.output_shape() != Shape{C})
    throw ShapeError("evaluate_classifier: the model's output is " + shape_str(model.output_shape()) +
                     ", expected (" + std::to_string(C) + ",), one probability per class.");
  const auto class_of = [&](float v) {
    const auto k = static_cast<std::size_t>(v);
    if (!(v >= 0) || k >= C)
      throw ValueError("evaluate_classifier: label " + std::to_string(v) + " is not a class id below " +
                       std::to_string(C) + ".", codes::kLabelsDoNotFit);
    return k;
  };
  ClassifierEvaluation e;
  std::vector<std::size_t> train_counts(C, 0);
  for (std::size_t i = 0; i < split.n_train; ++i) ++train_counts[class_of(split.y_train[i])];
  e.majority = static_cast<std::size_t>(std::max_element(train_counts.begin(), train_counts.end()) -
                                        train_counts.begin());
  e.probabilities = model.predict(split.x_test);
  e.confusion.assign(C, std::vector<std::size_t>(C, 0));
  std::size_t correct = 0, majority_correct = 0;
  for (std::size_t i = 0; i < split.n_test; ++i) {
    const float* p = e.probabilities.data() + i * C;
    const std::size_t guess = static_cast<std::size_t>(std::max_element(p, p + C) - p);
    const std::size_t truth = class_of(split.y_test[i]);
    e.predicted.push_back(guess);
    ++e.confusion[truth][guess];
    correct += guess == truth;
    majority_correct += e.majority == truth;
  }
  e.accuracy = static_cast<double>(correct) / static_cast<double>(split.n_test);
  e.majority_accuracy = static_cast<double>(majority_correct) / static_cast<double>(split.n_test);
  return e;
}

}  // namespace recur::tasks
