#include "classify.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.hpp"
#include "plot.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/scaler.hpp"
#include "recur/tasks/classifier.hpp"
#include "recur/tasks/classifier_input.hpp"

namespace recur::cli {
namespace {

using json = nlohmann::json;

// The checks of the flags alone, before any data is read: every problem when collecting
// (`recur check classify`), else the first one is thrown.
std::vector<Problem> check_classify_options(const ClassifyConfig& cfg) {
  Preflight pf(cfg.check_only);
  pf.run([&] { require_positive("--units", static_cast<double>(cfg.units), "Typical values are 16 to 256."); });
  pf.run([&] { require_positive("--epochs", cfg.epochs, "E.g. 30."); });
  pf.run([&] { require_positive("--batch-size", cfg.batch_size, "E.g. 32."); });
  pf.run([&] { require_positive("--learning-rate", cfg.learning_rate, "Typical values are 1e-4 to 1e-2."); });
  pf.run([&] {
    if (!(cfg.test_split > 0 && cfg.test_split < 1))
      throw ValueError("--test-split must be in (0, 1), got " + csv_number(cfg.test_split) +
                       ". It is the fraction of rows held out for the test, e.g. 0.2.",
                       codes::kBadHyperparameter);
  });
  pf.run([&] {
    if (!(cfg.validation_split >= 0 && cfg.validation_split < 1))
      throw ValueError("--validation-split must be in [0, 1), got " + csv_number(cfg.validation_split) + ".",
                       codes::kBadHyperparameter);
  });
  pf.run([&] {
    if (cfg.data_path.empty())
      throw ValueError("--data is required: a CSV file with one sequence per row and a label column.");
  });
  pf.run([&] {
    if (cfg.pooling != "none" && cfg.pooling != "max" && cfg.pooling != "average")
      throw ValueError("--pooling must be none, max or average, got \"" + cfg.pooling + "\".");
  });
  pf.run([&] {
    if (cfg.layer != "lstm" && cfg.layer != "gru" && cfg.layer != "simple_rnn")
      throw ValueError("--layer must be lstm, gru or simple_rnn, got \"" + cfg.layer + "\".");
    tasks::make_recurrent_layer(cfg.layer, 1, false, cfg.dropout, cfg.recurrent_dropout);  // the dropouts
  });
  pf.run([&] { parse_scaler(cfg.scaler); });
  return pf.problems;
}

// The input form from --sequence or --columns (with --embed, --timesteps, --features, --scaler).
tasks::ClassifierInput read_input(const ClassifyConfig& cfg, const CsvTable& table, std::size_t label_column) {
  tasks::ClassifierInput input;
  if (!cfg.sequence.empty()) {
    if (!cfg.columns.empty())
      throw ValueError("--sequence and --columns are two input forms; give one of them.");
    input = tasks::sequence_input(table, cfg.sequence, cfg.embed);
  } else {
    if (cfg.embed > 0)
      throw ValueError("--embed applies to symbol sequences (--sequence); numeric columns are "
                       "fed to the recurrent layer as they are.");
    input = tasks::columns_input(table, label_column, cfg.columns);
    const std::size_t cells = input.columns.size();
    const auto shape = tasks::columns_shape(cells, cfg.timesteps, cfg.features);
    if (!shape)
      throw ValueError("--timesteps " + std::to_string(cfg.timesteps) + " and --features " +
                       std::to_string(cfg.features) + " do not shape the " + std::to_string(cells) +
                       " input columns: timesteps x features must equal " + std::to_string(cells) +
                       " (e.g. --timesteps 8 --features 8 for 64 columns).");
    input.timesteps = (*shape)[0];
    input.features = (*shape)[1];
  }
  input.scaler.kind = parse_scaler(cfg.scaler);  // stored with the model in either form
  return input;
}

tasks::ClassifierOptions classifier_options(const ClassifyConfig& cfg) {
  tasks::ClassifierOptions o;
  o.units = cfg.units;
  o.layer = cfg.layer;
  o.bidirectional = cfg.bidirectional;
  o.dropout = cfg.dropout;
  o.recurrent_dropout = cfg.recurrent_dropout;
  o.pooling = cfg.pooling;
  o.learning_rate = cfg.learning_rate;
  o.seed = cfg.seed;
  return o;
}

// Training as the flags say, checkpointed after every epoch (resumed from it with --resume).
tasks::ClassifierTrainOptions train_options(const ClassifyConfig& cfg, const Checkpoint& checkpoint,
                                            const TrainingCallbacks& callbacks) {
  tasks::ClassifierTrainOptions to;
  to.epochs = cfg.epochs;
  to.patience = cfg.patience;
  to.batch_size = cfg.batch_size;
  to.validation_split = cfg.validation_split;
  to.seed = cfg.seed;
  to.checkpoint_path = checkpoint.path("checkpoint.recur");
  to.resume = checkpoint.resuming();
  if (callbacks.progress) to.callbacks.push_back(callbacks.progress);
  to.on_epoch_end = callbacks.on_epoch_end;
  return to;
}

// test_predictions.csv: the file line, true and predicted class, and every class probability.
std::string predictions_csv(const CsvTable& table, const tasks::ClassifierSplit& split,
                            const tasks::ClassifierEvaluation& e, const std::vector<std::string>& classes) {
  const std::size_t C = classes.size();
  std::ostringstream csv;
  csv << "line,label,predicted";
  for (const auto& c : classes) csv << "," << csv_cell("p_" + c);
  csv << "\n";
  for (std::size_t i = 0; i < split.n_test; ++i) {
    const float* p = e.probabilities.data() + i * C;
    const std::size_t truth = static_cast<std::size_t>(split.y_test[i]);
    csv << table.line_numbers[split.order[i]] << "," << csv_cell(classes[truth]) << ","
        << csv_cell(classes[e.predicted[i]]);
    for (std::size_t c = 0; c < C; ++c) csv << "," << csv_number(p[c]);
    csv << "\n";
  }
  return csv.str();
}

void write_training_plot(const std::string& path, const ClassifyResult& res, const History& h) {
  auto series = [&](const std::string& key, const std::string& color) {
    return Series{key, h.history.count(key) ? h.history.at(key) : std::vector<double>{}, color};
  };
  std::ostringstream title;
  title.precision(3);
  title << res.label << ": training curves (test accuracy " << res.accuracy << ", majority "
        << res.majority_accuracy << ")";
  write_training_curves_svg(path, title.str(), {series("loss", "#1f77b4"), series("val_loss", "#ff7f0e")}, "loss",
                            {series("accuracy", "#1f77b4"), series("val_accuracy", "#ff7f0e")}, "accuracy");
}

void take_training(const tasks::ClassifierTraining& t, ClassifyResult* res) {
  res->interrupted = t.interrupted;
  res->train_seconds = t.seconds;
  res->epochs_run = t.epochs_run;
  res->stopped_early = t.stopped_early;
  res->best_epoch = t.best_epoch;
  res->lr_reductions = t.lr_reductions;
  res->final_loss = t.final_loss;
  res->final_val_loss = t.final_val_loss;
  res->final_val_accuracy = t.final_val_accuracy;
  res->train_samples = t.history.train_samples;
  res->validation_samples = t.history.validation_samples;
}

}  // namespace

ClassifyResult run_classify(const ClassifyConfig& cfg, const TrainingCallbacks& callbacks) {
  ClassifyResult res;
  res.problems = check_classify_options(cfg);
  if (!res.problems.empty()) return res;
  const CsvTable table = read_csv(cfg.data_path);
  res.data_name = table.source;
  if (cfg.label.empty())
    throw ValueError("--label is required: name the column with the classes. The columns of " +
                     table.source + " are: " + column_list(table) + ".");
  const tasks::ClassLabels labels = tasks::read_class_labels(table, cfg.label);
  res.classes = labels.classes;
  const std::size_t C = res.classes.size();
  tasks::ClassifierInput input = read_input(cfg, table, column_index(table, cfg.label));
  res.form = input.form;
  res.timesteps = input.timesteps;
  res.features = input.features;
  const tasks::ClassifierSplit split = tasks::split_rows(table, &input, labels.ids, cfg.seed, cfg.test_split);
  tasks::Classifier classifier = tasks::build_classifier(input, C, classifier_options(cfg));
  Sequential& model = classifier.model;
  res.architecture = classifier.architecture;
  if (cfg.check_only) {
    res.problems = model.check(split.x_train, split.y_train,
                               FitOptions().epochs(cfg.epochs).batch_size(cfg.batch_size)
                                   .validation_split(cfg.validation_split));
    return res;
  }
  // Locked and checked before training (see JobOutput).
  JobOutput out(cfg.output_dir, cfg.model_path);
  // The checkpoint after every epoch (model and training state); --resume continues from it,
  // bit-identically (a run killed before its first epoch ended starts over).
  Checkpoint checkpoint(cfg.output_dir, cfg.resume_dir, cfg.command, table, nullptr);
  const tasks::ClassifierTraining training =
      tasks::train_classifier(model, split.x_train, split.y_train, train_options(cfg, checkpoint, callbacks));
  take_training(training, &res);
  res.samples = table.rows.size();
  res.test_samples = split.n_test;

  // Test accuracy, confusion matrix, and the majority-class baseline (majority of training).
  const tasks::ClassifierEvaluation e = tasks::evaluate_classifier(model, split, C);
  res.confusion = e.confusion;
  res.majority_class = res.classes[e.majority];
  res.accuracy = e.accuracy;
  res.majority_accuracy = e.majority_accuracy;
  res.label = cfg.label;

  res.model_path = out.model_final();
  model.save(out.model_staged(), tasks::classifier_metadata({cfg.label, res.classes, input}));
  res.predictions_path = out.final_path("test_predictions.csv");
  write_file_atomic(out.staged("test_predictions.csv"), predictions_csv(table, split, e, res.classes));
  res.plot_path = out.final_path("training.svg");
  write_training_plot(out.staged("training.svg"), res, training.history);
  out.publish();  // the model, predictions and plot appear together, or not at all
  if (!res.interrupted) checkpoint.finish();
  res.checkpoint_dir = res.interrupted ? checkpoint.dir() : "";
  return res;
}

PredictResult run_predict_classifier(Sequential& model, const std::string& model_path,
                                     const std::string& metadata_json, const std::string& data_path,
                                     const std::string& output_path) {
  const tasks::ClassifierMetadata meta = tasks::read_classifier_metadata(metadata_json, model_path);
  const std::vector<std::string>& classes = meta.classes;
  meta.input.check_against(model, model_path);
  if (model.output_shape() != Shape{classes.size()})
    throw ModelFormatError(model_path + ": the classifier metadata does not match the model: its output is " +
                           shape_str(model.output_shape()) + ", expected (" + std::to_string(classes.size()) +
                           ",), one probability for each of the " + std::to_string(classes.size()) +
                           " classes in the metadata. The file was edited or damaged; retrain or restore it.");
  if (data_path.empty())
    throw ValueError("--data is required to predict with a classifier.");
  const CsvTable table = read_csv(data_path);
  const Tensor probs = model.predict(tasks::encode_rows(table, meta.input));
  const std::size_t C = classes.size();
  std::ostringstream csv;
  csv << "line,predicted";
  for (const auto& c : classes) csv << "," << csv_cell("p_" + c);
  csv << "\n";
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const float* p = probs.data() + r * C;
    csv << table.line_numbers[r] << "," << csv_cell(classes[static_cast<std::size_t>(std::max_element(p, p + C) - p)]);
    for (std::size_t c = 0; c < C; ++c) csv << "," << csv_number(p[c]);
    csv << "\n";
  }
  write_file_in_output_folder(output_path, csv.str());
  return {table.rows.size(), output_path};
}

std::string describe_classifier(const std::string& metadata_json) {
  const tasks::ClassifierMetadata meta = tasks::read_classifier_metadata(metadata_json, "");
  const tasks::ClassifierInput& spec = meta.input;
  try {
    json::parse(metadata_json).at("label").get<std::string>();  // the label is required here
  } catch (const json::exception& e) {
    throw ModelFormatError(std::string("the classifier metadata is incomplete: ") + e.what());
  }
  std::ostringstream out;
  out << "Classifier of \"" << meta.label << "\" into";
  for (const auto& c : meta.classes) out << " " << c;
  out << "\n  input: " << spec.timesteps << " timesteps x " << spec.features << " features";
  if (spec.form == "sequence")
    out << (spec.embed > 0 ? ", embedded (" + std::to_string(spec.embed) + " dims)" : ", one-hot")
        << " symbols \"" << spec.alphabet << "\" of column \"" << spec.sequence << "\""
        << (spec.padded ? " (shorter sequences pre-padded and masked)" : "");
  else
    out << " from " << spec.columns.size() << " numeric columns, scaler " << scaler_name(spec.scaler.kind);
  out << "\n";
  return out.str();
}

}  // namespace recur::cli
