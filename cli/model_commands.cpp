#include "model_commands.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.hpp"
#include "recur/core/error.hpp"
#include "recur/data/npy.hpp"
#include "recur/io/files.hpp"
#include "recur/io/model_file.hpp"
#include "recur/losses/losses.hpp"
#include "recur/model/sequential.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

// The first 8 bytes of a regular file ("" for anything else: the loader then says what it is).
std::string file_head(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return "";
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return std::string(head, static_cast<std::size_t>(in.gcount()));
}

// The same first-bytes rule as the loader (src/model/foreign_formats.cpp), in words.
std::string format_of_head(const std::string& head) {
  if (head.rfind("RECURMDL", 0) == 0) return "recur model file";
  if (head.rfind("\x89HDF\r\n\x1a\n", 0) == 0) return "Keras HDF5 file";
  if (head.rfind("PK\x03\x04", 0) == 0 || head.rfind("PK\x05\x06", 0) == 0) return "Keras 3 .keras zip";
  return "ONNX model";
}

// The format `path`'s extension asks Model::save for ("" when it names none of them).
std::string format_of_extension(const std::string& path) {
  if (ends_with(path, ".weights.h5")) return "Keras weights file (.weights.h5)";
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return "Keras HDF5 file";
  if (ends_with(path, ".keras")) return "Keras 3 .keras zip";
  if (ends_with(path, ".onnx")) return "ONNX model";
  if (ends_with(path, ".recur")) return "recur model file";
  return "";
}

// The compile settings of a model as its file stores them (docs/model-format.md), or null.
json compile_settings(Model& model) {
  if (model.optimizer() == nullptr) return nullptr;
  const json doc = json::parse(model.contents().json);
  return doc.contains("compile") ? doc["compile"] : json(nullptr);
}

std::string number_text(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

// "Adam (learning_rate 0.001); loss mse; metrics mae" from the stored compile settings.
std::string describe_compile(const json& c, const std::vector<std::string>& output_names) {
  std::ostringstream out;
  const json& opt = c.value("optimizer", json::object());
  out << opt.value("class_name", std::string("?"));
  const json& cfg = opt.value("config", json::object());
  if (cfg.is_object() && cfg.contains("learning_rate") && cfg["learning_rate"].is_number())
    out << " (learning_rate " << number_text(cfg["learning_rate"].get<double>()) << ")";
  const json& losses = c.value("losses", json::array());
  bool same = true;
  for (const json& l : losses) same = same && l == losses.front();
  if (losses.size() <= 1 || same) {
    out << "; loss " << c.value("loss", std::string("?"));
  } else {
    out << "; losses";
    for (std::size_t k = 0; k < losses.size(); ++k)
      out << (k ? "," : "") << " " << (k < output_names.size() ? output_names[k] : "output " + std::to_string(k))
          << ": " << losses[k].value("loss", std::string("?"));
  }
  const json& weights = c.value("loss_weights", json::array());
  bool ones = true;
  for (const json& w : weights) ones = ones && w.is_number() && w.get<double>() == 1.0;
  if (!ones) out << "; loss_weights " << weights.dump();
  const json& metrics = c.value("metrics", json::array());
  if (metrics.is_array() && !metrics.empty()) {
    out << "; metrics";
    for (std::size_t k = 0; k < metrics.size(); ++k)
      out << (k ? "," : "") << " " << (metrics[k].is_string() ? metrics[k].get<std::string>() : metrics[k].dump());
  }
  return out.str();
}

// What a converted model's metadata records about its origin. The converters keep Keras's
// keras_version / backend (the .h5 attributes, the .keras metadata.json) and ONNX's producer
// in metadata["source"] ({"format": "keras-h5", "keras_version": "2.2.5", "notes": [...]}),
// also read at the top level or in an object of another such name. `notes`: the converter's
// notes on what it changed, if any.
std::string describe_source(const json& meta, std::vector<std::string>* notes) {
  static const char* const kKeys[] = {"source_format", "file_format", "keras_version", "backend",
                                      "tensorflow_version", "date_saved", "producer_name",
                                      "producer_version", "ir_version", "opset_version", "opset"};
  static const char* const kGroups[] = {"source", "import", "imported_from", "converted_from", "origin",
                                        "keras", "onnx"};
  std::vector<std::pair<std::string, std::string>> found;
  auto take = [&](const json& obj, bool nested) {
    for (const auto& [key, value] : obj.items()) {
      if (key == "notes" && value.is_array() && notes)
        for (const json& n : value)
          if (n.is_string() && notes->size() < 20) notes->push_back(n.get<std::string>().substr(0, 300));
      bool known = nested && (key == "format" || key == "version");
      for (const char* k : kKeys) known = known || key == k;
      if (!known || !(value.is_string() || value.is_number())) continue;
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      if (text.size() > 80) text = text.substr(0, 80) + "...";
      found.emplace_back(key, text);
    }
  };
  if (!meta.is_object()) return "";
  take(meta, false);
  for (const char* g : kGroups)
    if (meta.contains(g) && meta[g].is_object()) take(meta[g], true);
  std::string s;
  for (const auto& [k, v] : found) s += (s.empty() ? "" : ", ") + k + " " + v;
  return s;
}

// The model's inputs (or outputs) and the files given for them, for messages:
// "x[0] = a.npy -> input 'encoder' (None, 5, 3)".
std::vector<std::string> array_mapping(const Model& model, const std::vector<std::string>& files, bool labels) {
  const std::vector<std::string> names = labels ? model.output_names() : model.input_names();
  const auto& tensors = labels ? model.outputs() : model.inputs();
  std::vector<std::string> lines;
  for (std::size_t k = 0; k < std::max(files.size(), names.size()); ++k) {
    std::string line = std::string(labels ? "y" : "x") + "[" + std::to_string(k) + "] = " +
                       (k < files.size() ? files[k] : "(no file)");
    if (k < names.size())
      line += " -> " + std::string(labels ? "output '" : "input '") + names[k] + "' " +
              shape_str(with_batch(tensors[k].shape()));
    else
      line += " -> (the model has no " + std::string(labels ? "output" : "input") + " " + std::to_string(k) + ")";
    lines.push_back(line);
  }
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += (s.empty() ? "" : "; ") + l;
  return s;
}

// ValueError RECUR-E0019 unless one file is given per model input (or output).
void require_array_count(const Model& model, const std::vector<std::string>& files, bool labels) {
  const std::vector<std::string> names = labels ? model.output_names() : model.input_names();
  if (files.size() == names.size()) return;
  const auto& tensors = labels ? model.outputs() : model.inputs();
  std::string want;
  for (std::size_t k = 0; k < names.size(); ++k)
    want += (k ? ", " : "") + names[k] + " " + shape_str(with_batch(tensors[k].shape()));
  const char* flag = labels ? "--labels" : "--input";
  const char* what = labels ? "output" : "input";
  throw ValueError(std::string(flag) + " gave " + std::to_string(files.size()) + " file" +
                       (files.size() == 1 ? "" : "s") + " for model '" + model.name() + "', which has " +
                       std::to_string(names.size()) + " " + what + (names.size() == 1 ? "" : "s") + " (" + want +
                       "). Give one .npy per " + what + ", in this order, separated by commas.",
                   codes::kGraphData);
}

std::vector<Tensor> load_arrays(const std::vector<std::string>& files) {
  std::vector<Tensor> out;
  for (const auto& f : files) out.push_back(load_npy(f));
  return out;
}

// Rethrows the current recur::Error (a shape or value problem of the arrays) with the files
// named: the library's message speaks of x[k] and y[k].
[[noreturn]] void rethrow_naming_files(const Error& e, const std::vector<std::string>& mapping) {
  const std::string m = e.message() + " (" + joined(mapping) + ")";
  if (dynamic_cast<const ShapeError*>(&e)) throw ShapeError(m, e.code());
  if (dynamic_cast<const ValueError*>(&e)) throw ValueError(m, e.code());
  throw;
}

// Applies --loss / --optimizer / --learning-rate to a loaded model. `need`: the model must end
// up compiled (fit); otherwise a model without compile settings stays so.
void apply_compile_flags(Model& model, const CompileFlags& f, bool need) {
  const bool has_loss = !f.losses.empty(), has_optimizer = !f.optimizer.empty();
  if (has_loss != has_optimizer)
    throw ValueError(std::string(has_loss ? "--loss" : "--optimizer") + " was given without " +
                         (has_loss ? "--optimizer" : "--loss") +
                         ": they replace the model's compile settings together, e.g. --loss mse --optimizer adam.",
                     codes::kBadHyperparameter);
  if (has_loss) {
    std::vector<std::string> metrics;
    const json c = compile_settings(model);
    if (c.is_object() && c.contains("metrics") && c["metrics"].is_array())
      for (const json& m : c["metrics"])
        if (m.is_string()) metrics.push_back(m.get<std::string>());
    std::vector<Loss> losses;
    for (const auto& name : f.losses) losses.push_back(Loss{parse_loss(name)});
    model.compile(make_optimizer(f.optimizer), losses, metrics);
  } else if (need && model.optimizer() == nullptr) {
    throw ValueError("the model file has no compile settings (no loss, no optimizer), so it cannot be trained as "
                     "it is: give --loss (e.g. mse, sparse_categorical_crossentropy) and --optimizer (e.g. adam).",
                     codes::kBadHyperparameter);
  }
  if (f.learning_rate != 0) {
    require_positive("--learning-rate", f.learning_rate, "A typical value is 0.001.");
    if (model.optimizer() == nullptr)
      throw ValueError("--learning-rate was given for a model without compile settings: give --loss and "
                       "--optimizer too.", codes::kBadHyperparameter);
    model.optimizer()->set_learning_rate(f.learning_rate);
  }
}

// Labels that pass the label checks whatever the loss (zeros, in the shape the loss takes), so
// that Model::check runs its input and batch checks when no --labels are given.
std::vector<Tensor> placeholder_labels(Model& model, std::size_t samples) {
  const json c = compile_settings(model);
  std::vector<Tensor> ys;
  for (std::size_t k = 0; k < model.outputs().size(); ++k) {
    std::string loss = c.is_object() ? c.value("loss", std::string()) : std::string();
    if (c.is_object() && c.contains("losses") && c["losses"].is_array() && !c["losses"].empty()) {
      const json& l = c["losses"][std::min(k, c["losses"].size() - 1)];
      if (l.is_object()) loss = l.value("loss", loss);
    }
    Shape s{samples};
    const Shape out = model.outputs()[k].shape();
    const bool sparse = loss == "sparse_categorical_crossentropy";
    s.insert(s.end(), out.begin(), sparse && !out.empty() ? out.end() - 1 : out.end());
    ys.emplace_back(s);
  }
  return ys;
}

// The batch size to use: the one given, else the one a model input fixes (a Keras
// batch_input_shape), else Keras's 32.
int batch_size_for(const Model& model, int given) {
  if (given != 0) return given;
  for (const auto& in : model.inputs())
    if (in.node()->batch_size) return static_cast<int>(*in.node()->batch_size);
  return 32;
}

void require_batch_size(int batch_size) {
  if (batch_size < 0)
    throw ValueError("--batch-size must be >= 1, got " + std::to_string(batch_size) + ".", codes::kBadHyperparameter);
}

}  // namespace

LoadedModel load_any_model(const std::string& path) {
  LoadedModel r;
  const std::string head = file_head(path);
  r.format = format_of_head(head);
  r.foreign = head.rfind("RECURMDL", 0) != 0;
  // A Sequential file loads as one (its own summary table); a Functional one is refused by
  // Sequential's loader before anything is built, and loaded as a Model. A recur file is read
  // once for both tries.
  if (!r.foreign) {
    const ModelFileContents contents = read_model_file(path);
    try {
      r.model = std::make_unique<Sequential>(Sequential::from_contents(contents, path, &r.metadata_json));
    } catch (const ModelFormatError&) {
      r.model = std::make_unique<Model>(Model::from_contents(contents, path, &r.metadata_json));
    }
    return r;
  }
  try {
    r.model = std::make_unique<Sequential>(Sequential::load(path, &r.metadata_json));
  } catch (const ModelFormatError&) {
    r.model = std::make_unique<Model>(Model::load(path, &r.metadata_json));
  }
  return r;
}

std::string describe_origin_and_compile(const LoadedModel& loaded) {
  std::ostringstream out;
  json meta;
  try {
    meta = json::parse(loaded.metadata_json);
  } catch (const json::exception&) {
    meta = json::object();
  }
  std::vector<std::string> notes;
  const std::string source = describe_source(meta, &notes);
  if (loaded.foreign) out << "Converted from a " << loaded.format << (source.empty() ? "" : " (" + source + ")") << ".\n";
  else if (!source.empty()) out << "Converted earlier from another format (" << source << ").\n";
  for (const auto& n : notes) out << "  note: " << n << "\n";
  const json c = compile_settings(*loaded.model);
  if (c.is_object()) out << "Compiled: " << describe_compile(c, loaded.model->output_names()) << ".\n";
  else if (loaded.foreign)
    out << "Not compiled: the file holds no training settings (`recur fit` needs --loss and --optimizer).\n";
  return out.str();
}

std::vector<std::string> output_array_paths(const std::string& path, std::size_t outputs) {
  if (outputs == 1) return {path};
  const std::string stem = ends_with(path, ".npy") ? path.substr(0, path.size() - 4) : path;
  std::vector<std::string> paths;
  for (std::size_t k = 0; k < outputs; ++k) paths.push_back(stem + "_" + std::to_string(k) + ".npy");
  return paths;
}

ArrayPredictResult run_predict_arrays(const ArrayPredictConfig& cfg) {
  require_batch_size(cfg.batch_size);
  const std::string output =
      !cfg.output_path.empty() ? cfg.output_path
                               : (fs::path(cfg.model_path).parent_path() / "predictions.npy").string();
  if (!ends_with(output, ".npy"))
    throw ValueError("--output " + output + ": predictions of --input arrays are written as .npy files; name "
                     "it e.g. predictions.npy (a model with several outputs writes predictions_0.npy, "
                     "predictions_1.npy, ...).");
  LoadedModel loaded = load_any_model(cfg.model_path);
  Model& model = *loaded.model;
  require_array_count(model, cfg.inputs, false);
  const std::vector<Tensor> xs = load_arrays(cfg.inputs);
  std::vector<Tensor> ys;
  try {
    ys = model.predict(xs, batch_size_for(model, cfg.batch_size));
  } catch (const Error& e) {
    rethrow_naming_files(e, array_mapping(model, cfg.inputs, false));
  }
  ArrayPredictResult r;
  r.samples = xs.front().dim(0);
  r.output_paths = output_array_paths(output, ys.size());
  for (std::size_t k = 0; k < ys.size(); ++k) {
    write_file_in_output_folder(r.output_paths[k], npy_bytes(ys[k]));
    r.output_shapes.push_back(ys[k].shape());
  }
  return r;
}

ConvertResult run_convert(const std::string& in, const std::string& out) {
  ConvertResult r;
  r.to_format = format_of_extension(out);
  if (r.to_format.empty())
    throw ValueError("convert: " + out + " does not name a model format by its extension; use .recur, .keras, "
                     ".h5 (or .hdf5), .weights.h5 (the weights alone) or .onnx.");
  std::error_code ec;
  const bool same = fs::exists(out, ec) ? fs::equivalent(in, out, ec)
                                        : fs::weakly_canonical(in, ec) == fs::weakly_canonical(out, ec);
  if (same)
    throw ValueError("convert: " + out + " is the input file itself; write the converted model to another "
                     "path (the input is never overwritten).");
  LoadedModel loaded = load_any_model(in);
  r.from_format = loaded.format;
  r.layers = loaded.model->layers().size();
  r.params = loaded.model->count_params();
  loaded.model->save(out, loaded.metadata_json);
  return r;
}

ModelCheckResult run_check_model(const ModelCheckConfig& cfg) {
  ModelCheckResult r;
  Preflight pf(true);
  LoadedModel loaded;
  const bool model_ok = pf.run([&] { loaded = load_any_model(cfg.model_path); });
  // Every array is read, so that each unreadable one is reported.
  std::vector<Tensor> xs(cfg.inputs.size()), ys(cfg.labels.size());
  bool inputs_ok = true, labels_ok = true;
  for (std::size_t k = 0; k < cfg.inputs.size(); ++k)
    inputs_ok = pf.run([&] { xs[k] = load_npy(cfg.inputs[k]); }) && inputs_ok;
  for (std::size_t k = 0; k < cfg.labels.size(); ++k)
    labels_ok = pf.run([&] { ys[k] = load_npy(cfg.labels[k]); }) && labels_ok;
  pf.run([&] { require_batch_size(cfg.batch_size); });
  if (!model_ok) {
    r.problems = pf.problems;
    return r;
  }
  Model& model = *loaded.model;
  r.mapping = array_mapping(model, cfg.inputs, false);
  if (!cfg.labels.empty())
    for (const auto& line : array_mapping(model, cfg.labels, true)) r.mapping.push_back(line);
  const bool compile_ok = pf.run([&] { apply_compile_flags(model, cfg.compile, false); });
  inputs_ok = pf.run([&] { require_array_count(model, cfg.inputs, false); }) && inputs_ok;
  if (!cfg.labels.empty()) labels_ok = pf.run([&] { require_array_count(model, cfg.labels, true); }) && labels_ok;
  r.problems = pf.problems;
  if (!inputs_ok || !compile_ok) return r;

  FitOptions options;
  options.batch_size(std::max(batch_size_for(model, cfg.batch_size), 1));
  const bool compiled = model.optimizer() != nullptr;
  std::vector<Problem> found;
  if (!cfg.labels.empty() && labels_ok) {
    found = model.check(xs, ys, options);
    r.labels_checked = compiled;
    if (!compiled && !found.empty())
      found.front().message = "the model file has no compile settings (no loss, no optimizer), so the labels "
                              "cannot be checked against a loss: give --loss and --optimizer (the inputs are "
                              "checked all the same).";
  } else if (compiled) {
    // No labels (or unreadable ones): placeholders that pass the label checks, so that the
    // input checks and fit's batch checks still run.
    found = model.check(xs, placeholder_labels(model, xs.front().dim(0)), options);
  } else {
    // Without compile settings the first problem is the missing compile; the inputs are
    // checked after it.
    found = model.check(xs, {}, options);
    if (!found.empty() && found.front().message.find("compile") != std::string::npos) found.erase(found.begin());
  }
  r.problems.insert(r.problems.end(), found.begin(), found.end());
  return r;
}

ModelFitResult run_fit_model(const ModelFitConfig& cfg, const TrainingCallbacks& callbacks) {
  if (cfg.output_path.empty())
    throw ValueError("fit: --output is needed: the file to write the trained model to (.recur, .keras, .h5, .onnx).");
  if (format_of_extension(cfg.output_path).empty())
    throw ValueError("fit: --output " + cfg.output_path + " does not name a model format by its extension; use "
                     ".recur, .keras, .h5, .weights.h5 or .onnx.");
  LoadedModel loaded = load_any_model(cfg.model_path);
  Model& model = *loaded.model;
  apply_compile_flags(model, cfg.compile, true);
  require_array_count(model, cfg.inputs, false);
  require_array_count(model, cfg.labels, true);
  const std::vector<Tensor> xs = load_arrays(cfg.inputs), ys = load_arrays(cfg.labels);
  FitOptions options;
  require_batch_size(cfg.batch_size);
  options.epochs(cfg.epochs).batch_size(batch_size_for(model, cfg.batch_size)).validation_split(cfg.validation_split).seed(cfg.seed);
  if (callbacks.progress) options.callbacks({callbacks.progress});
  options.on_epoch_end(callbacks.on_epoch_end);
  std::vector<std::string> mapping = array_mapping(model, cfg.inputs, false);
  for (const auto& line : array_mapping(model, cfg.labels, true)) mapping.push_back(line);
  ModelFitResult r;
  const auto start = std::chrono::steady_clock::now();
  History h;
  try {
    h = model.fit(xs, ys, options);
  } catch (const Error& e) {
    if (e.code() == codes::kDivergence) throw;
    rethrow_naming_files(e, mapping);
  }
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.epochs_run = static_cast<int>(h.epochs());
  r.train_samples = h.train_samples;
  r.validation_samples = h.validation_samples;
  for (const auto& key : h.keys)
    if (!h.history.at(key).empty()) r.last_logs.emplace_back(key, h.history.at(key).back());
  r.compile = describe_compile(compile_settings(model), model.output_names());
  model.save(cfg.output_path, loaded.metadata_json);
  r.output_path = cfg.output_path;
  return r;
}

}  // namespace recur::cli
