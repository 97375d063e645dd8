#include "classify.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.hpp"
#include "plot.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/scaler.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"

namespace recur::cli {
namespace {

using json = nlohmann::json;

// How CSV rows become (timesteps, features) sequences; stored in the model file so that
// `recur predict` encodes new rows the same way.
struct InputSpec {
  std::string form;                  // "columns" or "sequence"
  std::vector<std::string> columns;  // columns form: cell t*features + f is step t, feature f
  std::string sequence;              // sequence form: the string column
  std::string alphabet;              // sequence form: symbol k is one-hot feature k
  std::size_t timesteps = 0, features = 0;
  bool padded = false;  // sequence form: shorter sequences are pre-padded and masked
  std::size_t embed = 0;  // sequence form: 0 one-hot; > 0 ids 1..K (0 = padding) for an Embedding
  Scaler scaler;  // columns form: per column, fitted on the training rows

  json to_json() const {
    return {{"form", form}, {"columns", columns}, {"sequence", sequence}, {"alphabet", alphabet},
            {"timesteps", timesteps}, {"features", features}, {"padded", padded}, {"embed", embed}, {"scaler", scaler_name(scaler.kind)},
            {"offset", scaler.offset}, {"scale", scaler.scale}};
  }
  static InputSpec from_json(const json& j) {
    InputSpec s;
    s.form = j.at("form").get<std::string>();
    s.columns = j.at("columns").get<std::vector<std::string>>();
    s.sequence = j.at("sequence").get<std::string>();
    s.alphabet = j.at("alphabet").get<std::string>();
    s.timesteps = j.at("timesteps").get<std::size_t>();
    s.features = j.at("features").get<std::size_t>();
    s.padded = j.value("padded", false);
    s.embed = j.value("embed", std::size_t{0});
    s.scaler.kind = parse_scaler(j.at("scaler").get<std::string>());
    s.scaler.offset = j.at("offset").get<std::vector<double>>();
    s.scaler.scale = j.at("scale").get<std::vector<double>>();
    return s;
  }
  // The stored settings checked against the model they came with, before any buffer is sized
  // from them: a crafted file with a valid checksum must not make predict write out of bounds.
  void check_against(const Sequential& model, const std::string& path) const {
    const auto bad = [&](const std::string& why) {
      return ModelFormatError(path + ": the classifier metadata does not fit the model: " + why +
                              ". The file was edited or damaged; retrain or restore it.");
    };
    const Shape& in = model.input_shape();
    // A sample of at most 2^22 values: the model file's word alone must not size a buffer of
    // rows x 2^24 x 256 floats.
    if (timesteps == 0 || features == 0 || timesteps > (std::size_t{1} << 22) || features > (std::size_t{1} << 22) ||
        timesteps * features > (std::size_t{1} << 22))
      throw bad("timesteps x features is " + std::to_string(timesteps) + " x " + std::to_string(features) +
                ", outside 1 to 4194304 values per sample");
    if (form == "columns") {
      if (in != Shape{timesteps, features})
        throw bad("its input is " + shape_str(in) + " but the metadata says (" + std::to_string(timesteps) + ", " +
                  std::to_string(features) + ")");
      if (columns.size() != timesteps * features)
        throw bad(std::to_string(columns.size()) + " columns for " + std::to_string(timesteps) + " x " +
                  std::to_string(features) + " inputs");
      if (scaler.offset.size() != columns.size() || scaler.scale.size() != columns.size())
        throw bad("the scaler has " + std::to_string(scaler.offset.size()) + " offsets and " +
                  std::to_string(scaler.scale.size()) + " scales for " + std::to_string(columns.size()) + " columns");
      for (std::size_t c = 0; c < columns.size(); ++c)
        if (!std::isfinite(scaler.offset[c]) || !std::isfinite(scaler.scale[c]) || scaler.scale[c] == 0)
          throw bad("the scaler of column \"" + columns[c] + "\" is not a finite, nonzero number");
    } else if (form == "sequence") {
      const Shape want = embed > 0 ? Shape{timesteps} : Shape{timesteps, features};
      if (in != want) throw bad("its input is " + shape_str(in) + " but the metadata says " + shape_str(want));
      if (alphabet.empty() || alphabet.size() != features)
        throw bad("the alphabet has " + std::to_string(alphabet.size()) + " symbols for " + std::to_string(features) +
                  " features");
      for (std::size_t k = 0; k < alphabet.size(); ++k)
        if (alphabet.find(alphabet[k]) != k) throw bad("the alphabet repeats a symbol");
    } else {
      throw bad("the input form is \"" + form.substr(0, 40) + "\", expected \"columns\" or \"sequence\"");
    }
  }
};

// Class names sorted numerically when every label is an integer ("2" before "10"), else as text.
std::vector<std::string> class_names(const std::vector<std::string>& labels) {
  std::vector<std::string> names(labels);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const bool integers = std::all_of(names.begin(), names.end(), [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("-0123456789") == std::string::npos && s != "-";
  });
  if (integers)
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  return names;
}

// x (rows, timesteps, features) from already converted numeric columns, scaled.
Tensor encode_columns(const NumericColumns& nc, const InputSpec& spec) {
  const std::size_t n = nc.rows.size(), T = spec.timesteps, F = spec.features;
  Tensor x({n, T, F});
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < spec.columns.size(); ++c)
      x[r * T * F + c] = to_float32(spec.scaler.transform(nc.values[c][r], c), "a scaled input value");
  return x;
}

// x (rows, timesteps, features) from the table in either input form.
Tensor encode(const CsvTable& table, const InputSpec& spec) {
  if (spec.form == "columns") return encode_columns(select_numeric(table, spec.columns), spec);
  const std::size_t n = table.rows.size(), T = spec.timesteps, F = spec.features;
  // One-hot (n, T, F), or ids (n, T) with symbol k as id k + 1 for an Embedding.
  Tensor x = spec.embed > 0 ? Tensor({n, T}) : Tensor({n, T, F});
  const std::size_t col = column_index(table, spec.sequence);
  for (std::size_t r = 0; r < n; ++r) {
    const std::string s = trim_cell(table.rows[r][col]);
    if (s.empty() || s.size() > T || (!spec.padded && s.size() != T))
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][col],
                       "(column \"" + spec.sequence + "\"): expected a sequence of " +
                           (spec.padded ? "1 to " : "") + std::to_string(T) +
                           " symbols (as the model was trained on), got " +
                           std::to_string(s.size()) + ".");
    // Pre-padding (Keras's default): the padded steps are all-zero rows, masked by the model's
    // Masking layer.
    const std::size_t pad = T - s.size();
    for (std::size_t t = 0; t < s.size(); ++t) {
      const std::size_t k = spec.alphabet.find(s[t]);
      if (k == std::string::npos)
        throw ParseError(table.source, table.line_numbers[r],
                         table.cell_columns[r][col] + static_cast<long>(t),
                         "(column \"" + spec.sequence + "\"): unknown symbol '" +
                             std::string(1, s[t]) + "' at position " + std::to_string(t + 1) +
                             "; the model knows the symbols \"" + spec.alphabet + "\".");
      if (spec.embed > 0) x[r * T + pad + t] = static_cast<float>(k + 1);
      else x[(r * T + pad + t) * F + k] = 1.0f;
    }
  }
  return x;
}

}  // namespace

ClassifyResult run_classify(const ClassifyConfig& cfg, const TrainingCallbacks& callbacks) {
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
  pf.run([&] { make_recurrent_layer(cfg.layer, 1, false, cfg.dropout, cfg.recurrent_dropout); });
  pf.run([&] { parse_scaler(cfg.scaler); });
  if (!pf.problems.empty()) {
    ClassifyResult res;
    res.problems = pf.problems;
    return res;
  }

  const CsvTable table = read_csv(cfg.data_path);
  ClassifyResult res;
  res.data_name = table.source;
  if (cfg.label.empty()) {
    throw ValueError("--label is required: name the column with the classes. The columns of " +
                     table.source + " are: " + column_list(table) + ".");
  }
  const std::size_t label_col = column_index(table, cfg.label);
  const std::size_t n = table.rows.size();
  if (n < 10)
    throw ValueError(table.source + " has " + std::to_string(n) + " rows; a train/test split "
                     "needs at least 10.");

  // Labels -> class ids.
  std::vector<std::string> labels;
  for (std::size_t r = 0; r < n; ++r) {
    labels.push_back(trim_cell(table.rows[r][label_col]));
    if (labels.back().empty())
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][label_col],
                       "(column \"" + cfg.label + "\"): the label is empty; every row needs a class.");
  }
  res.classes = class_names(labels);
  const std::size_t C = res.classes.size();
  if (C < 2)
    throw ValueError("column \"" + cfg.label + "\" has a single class (\"" + res.classes[0] +
                     "\"); classification needs at least 2.");
  std::map<std::string, std::size_t> class_id;
  for (std::size_t c = 0; c < C; ++c) class_id[res.classes[c]] = c;

  // The input form and its shape.
  InputSpec spec;
  spec.scaler.kind = parse_scaler(cfg.scaler);
  if (!cfg.sequence.empty()) {
    if (!cfg.columns.empty())
      throw ValueError("--sequence and --columns are two input forms; give one of them.");
    spec.form = "sequence";
    spec.sequence = cfg.sequence;
    const std::size_t col = column_index(table, cfg.sequence);
    std::string symbols;
    for (const auto& row : table.rows) symbols += trim_cell(row[col]);
    std::sort(symbols.begin(), symbols.end());
    symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
    spec.alphabet = symbols;
    std::size_t shortest = SIZE_MAX, longest = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t len = trim_cell(table.rows[r][col]).size();
      if (len == 0)
        throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][col],
                         "(column \"" + cfg.sequence + "\"): the sequence is empty; every row "
                         "needs at least one symbol.");
      shortest = std::min(shortest, len);
      longest = std::max(longest, len);
    }
    spec.timesteps = longest;
    spec.padded = shortest != longest;
    spec.features = symbols.size();
    spec.embed = cfg.embed;
  } else {
    spec.form = "columns";
    if (cfg.embed > 0)
      throw ValueError("--embed applies to symbol sequences (--sequence); numeric columns are "
                       "fed to the recurrent layer as they are.");
    spec.columns = cfg.columns;
    if (spec.columns.empty())
      for (std::size_t c = 0; c < table.header.size(); ++c)
        if (c != label_col && is_numeric_column(table, c)) spec.columns.push_back(table.header[c]);
    if (spec.columns.empty())
      throw ValueError(table.source + " has no numeric columns besides \"" + cfg.label +
                       "\"; pass --columns, or --sequence for a string column of symbols.");
    const std::size_t cells = spec.columns.size();
    std::size_t T = cfg.timesteps, F = cfg.features;
    if (T == 0 && F == 0) { T = cells; F = 1; }
    else if (T == 0) T = F > 0 && cells % F == 0 ? cells / F : 0;
    else if (F == 0) F = cells % T == 0 ? cells / T : 0;
    if (T == 0 || F == 0 || T * F != cells)
      throw ValueError("--timesteps " + std::to_string(cfg.timesteps) + " and --features " +
                       std::to_string(cfg.features) + " do not shape the " + std::to_string(cells) +
                       " input columns: timesteps x features must equal " + std::to_string(cells) +
                       " (e.g. --timesteps 8 --features 8 for 64 columns).");
    spec.timesteps = T;
    spec.features = F;
  }
  res.form = spec.form;
  res.timesteps = spec.timesteps;
  res.features = spec.features;

  // A seeded shuffle, then the first test_split of it is the test set.
  Rng rng(cfg.seed);
  const std::vector<std::size_t> order = rng.permutation(n);
  const std::size_t n_test = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(cfg.test_split * static_cast<double>(n))));
  const std::size_t n_train = n - n_test;
  Tensor all;
  if (spec.form == "columns") {
    // Convert once; fit the scaler on the training rows only, then scale every row.
    const NumericColumns nc = select_numeric(table, spec.columns);
    for (std::size_t c = 0; c < spec.columns.size(); ++c) {
      std::vector<double> v;
      for (std::size_t i = n_test; i < n; ++i) v.push_back(nc.values[c][order[i]]);
      spec.scaler.fit_column(v, v.size());
    }
    all = encode_columns(nc, spec);
  } else {
    all = encode(table, spec);
  }
  const Shape sample = spec.embed > 0 ? Shape{spec.timesteps} : Shape{spec.timesteps, spec.features};
  const std::size_t row = shape_size(sample);
  auto batch_of = [&](std::size_t count) {
    Shape s{count};
    s.insert(s.end(), sample.begin(), sample.end());
    return s;
  };
  Tensor x_train(batch_of(n_train)), x_test(batch_of(n_test));
  Tensor y_train({n_train}), y_test({n_test});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = order[i];
    const bool test = i < n_test;
    const std::size_t k = test ? i : i - n_test;
    std::copy_n(all.data() + r * row, row, (test ? x_test : x_train).data() + k * row);
    (test ? y_test : y_train)[k] = static_cast<float>(class_id.at(labels[r]));
  }

  Sequential model("classifier");
  if (spec.embed > 0)
    model.add(Embedding(EmbeddingOptions(spec.features + 1, spec.embed).mask_zero(spec.padded)));
  else if (spec.padded)
    model.add(Masking(0.0f));
  model.add(make_recurrent_layer(cfg.layer, cfg.units, cfg.bidirectional, cfg.dropout,
                                 cfg.recurrent_dropout, cfg.pooling != "none"));
  if (cfg.pooling == "max") model.add(GlobalMaxPooling1D());
  if (cfg.pooling == "average") model.add(GlobalAveragePooling1D());
  model.add(Dense(C, "softmax"));
  {
    const Layer& rec = model.layer(spec.padded || spec.embed > 0 ? 1 : 0);
    const Layer& inner = cfg.bidirectional ? static_cast<const Bidirectional&>(rec).forward_layer() : rec;
    res.architecture = inner.type() + "(" + std::to_string(cfg.units) + ")";
    if (cfg.bidirectional) res.architecture = "Bidirectional(" + res.architecture + ")";
    if (cfg.pooling != "none") res.architecture += " + " + cfg.pooling + " pooling";
  }
  model.build(sample, cfg.seed);
  model.compile(make_optimizer("adam", cfg.learning_rate), "sparse_categorical_crossentropy", {"accuracy"});
  if (cfg.check_only) {
    res.problems = model.check(x_train, y_train,
                               FitOptions().epochs(cfg.epochs).batch_size(cfg.batch_size)
                                   .validation_split(cfg.validation_split));
    return res;
  }
  // Locked and checked before training (see JobOutput).
  JobOutput out(cfg.output_dir, cfg.model_path);
  // Halve the learning rate when the validation loss stalls, and stop when it has not improved
  // for --patience epochs, going back to the best epoch's weights.
  const std::string monitor = cfg.validation_split > 0 ? "val_loss" : "loss";
  auto early = std::make_shared<EarlyStopping>(
      EarlyStoppingOptions().monitor(monitor).patience(cfg.patience).restore_best_weights(true));
  auto plateau = std::make_shared<ReduceLROnPlateau>(
      ReduceLROnPlateauOptions().monitor(monitor).factor(0.5).patience(3).min_lr(1e-5));
  // The checkpoint after every epoch (model and training state); --resume continues from it,
  // bit-identically (a run killed before its first epoch ended starts over).
  Checkpoint checkpoint(cfg.output_dir, cfg.resume_dir, cfg.command, table, nullptr);
  std::shared_ptr<TrainingState> resume_state;
  if (checkpoint.resuming() && std::filesystem::exists(checkpoint.path("checkpoint.recur"))) {
    // The weights into the model this command built (load_weights compares the architecture),
    // and the state checked against this run before fit checks it against the model.
    const std::string path = checkpoint.path("checkpoint.recur");
    resume_state = std::make_shared<TrainingState>();
    Sequential::load(path, nullptr, resume_state.get());
    model.load_weights(path);
    const auto& hist = resume_state->history.history;
    const std::size_t done = static_cast<std::size_t>(resume_state->epochs_done);
    if (resume_state->epochs_done > cfg.epochs || !hist.count("loss") || hist.at("loss").size() != done)
      throw ModelFormatError(path + ": the checkpoint's training state does not fit this run (" +
                             std::to_string(done) + " epochs done of " + std::to_string(cfg.epochs) +
                             ", with a history of another length). Start a new run instead.");
  }
  const auto start = std::chrono::steady_clock::now();
  const History h = model.fit(x_train, y_train,
                              FitOptions()
                                  .callbacks(with_progress({plateau, early}, callbacks))
                                  .epochs(cfg.epochs)
                                  .batch_size(cfg.batch_size)
                                  .validation_split(cfg.validation_split)
                                  .seed(cfg.seed)
                                  .resume_from(resume_state)
                                  .on_epoch_state([&](const TrainingState& st) {
                                    model.save(checkpoint.path("checkpoint.recur"), "{}", &st);
                                  })
                                  .on_epoch_end([&](const EpochLogs& logs) {
                                    const bool go_on = !callbacks.on_epoch_end || callbacks.on_epoch_end(logs);
                                    res.interrupted = res.interrupted || !go_on;
                                    return go_on;
                                  }));
  res.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.epochs_run = static_cast<int>(h.epochs());
  res.stopped_early = early->stopped_epoch() > 0;
  res.best_epoch = early->best_epoch();
  res.lr_reductions = plateau->reductions();
  res.final_loss = h.history.count("loss") && !h.history.at("loss").empty() ? h.history.at("loss").back() : NAN;
  if (h.history.count("val_loss") && h.history.count("val_accuracy") && !h.history.at("val_loss").empty() &&
      !h.history.at("val_accuracy").empty()) {
    res.final_val_loss = h.history.at("val_loss").back();
    res.final_val_accuracy = h.history.at("val_accuracy").back();
  }
  res.samples = n;
  res.test_samples = n_test;
  res.train_samples = h.train_samples;
  res.validation_samples = h.validation_samples;

  // Test accuracy, confusion matrix, and the majority-class baseline (majority of training).
  const Tensor probs = model.predict(x_test);
  res.confusion.assign(C, std::vector<std::size_t>(C, 0));
  std::vector<std::size_t> train_counts(C, 0);
  for (std::size_t i = 0; i < n_train; ++i) ++train_counts[static_cast<std::size_t>(y_train[i])];
  const std::size_t majority = static_cast<std::size_t>(
      std::max_element(train_counts.begin(), train_counts.end()) - train_counts.begin());
  res.majority_class = res.classes[majority];
  std::size_t correct = 0, majority_correct = 0;
  std::ostringstream csv;
  csv << "line,label,predicted";
  for (const auto& c : res.classes) csv << "," << csv_cell("p_" + c);
  csv << "\n";
  for (std::size_t i = 0; i < n_test; ++i) {
    const float* p = probs.data() + i * C;
    const std::size_t guess = static_cast<std::size_t>(std::max_element(p, p + C) - p);
    const std::size_t truth = static_cast<std::size_t>(y_test[i]);
    ++res.confusion[truth][guess];
    correct += guess == truth;
    majority_correct += majority == truth;
    csv << table.line_numbers[order[i]] << "," << csv_cell(res.classes[truth]) << "," << csv_cell(res.classes[guess]);
    for (std::size_t c = 0; c < C; ++c) csv << "," << csv_number(p[c]);
    csv << "\n";
  }
  res.accuracy = static_cast<double>(correct) / static_cast<double>(n_test);
  res.majority_accuracy = static_cast<double>(majority_correct) / static_cast<double>(n_test);
  res.label = cfg.label;

  res.model_path = out.model_final();
  json meta = {{"task", "classify"}, {"label", cfg.label}, {"classes", res.classes},
               {"input", spec.to_json()}};
  model.save(out.model_staged(), meta.dump());
  res.predictions_path = out.final_path("test_predictions.csv");
  write_file_atomic(out.staged("test_predictions.csv"), csv.str());
  res.plot_path = out.final_path("training.svg");
  auto series = [&](const std::string& key, const std::string& color) {
    return Series{key, h.history.count(key) ? h.history.at(key) : std::vector<double>{}, color};
  };
  std::ostringstream title;
  title.precision(3);
  title << cfg.label << ": training curves (test accuracy " << res.accuracy << ", majority "
        << res.majority_accuracy << ")";
  write_training_curves_svg(out.staged("training.svg"), title.str(),
                            {series("loss", "#1f77b4"), series("val_loss", "#ff7f0e")}, "loss",
                            {series("accuracy", "#1f77b4"), series("val_accuracy", "#ff7f0e")}, "accuracy");
  out.publish();  // the model, predictions and plot appear together, or not at all
  if (!res.interrupted) checkpoint.finish();
  res.checkpoint_dir = res.interrupted ? checkpoint.dir() : "";
  return res;
}

PredictResult run_predict_classifier(Sequential& model, const std::string& model_path,
                                     const std::string& metadata_json, const std::string& data_path,
                                     const std::string& output_path) {
  InputSpec spec;
  std::vector<std::string> classes;
  try {
    const json meta = json::parse(metadata_json);
    spec = InputSpec::from_json(meta.at("input"));
    classes = meta.at("classes").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the classifier metadata is incomplete: " + e.what());
  }
  spec.check_against(model, model_path);
  if (model.output_shape() != Shape{classes.size()})
    throw ModelFormatError(model_path + ": the classifier metadata does not match the model: its output is " +
                           shape_str(model.output_shape()) + ", expected (" + std::to_string(classes.size()) +
                           ",), one probability for each of the " + std::to_string(classes.size()) +
                           " classes in the metadata. The file was edited or damaged; retrain or restore it.");
  if (data_path.empty())
    throw ValueError("--data is required to predict with a classifier.");
  const CsvTable table = read_csv(data_path);
  const Tensor probs = model.predict(encode(table, spec));
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
  json meta;
  InputSpec spec;
  std::ostringstream out;
  try {
    meta = json::parse(metadata_json);
    spec = InputSpec::from_json(meta.at("input"));
    out << "Classifier of \"" << meta.at("label").get<std::string>() << "\" into";
    for (const auto& c : meta.at("classes")) out << " " << c.get<std::string>();
  } catch (const json::exception& e) {
    throw ModelFormatError(std::string("the classifier metadata is incomplete: ") + e.what());
  }
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
