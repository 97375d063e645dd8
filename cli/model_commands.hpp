#pragma once
// The commands that work on any model file recur reads - its own `.recur`, a Keras 3 `.keras`
// zip, a Keras / tf.keras `.h5`, an ONNX `.onnx` (recur::Model::load tells them apart by their
// first bytes) - with arrays in .npy files:
//
//   recur summary --model FILE                          (forecast.cpp: describe_model)
//   recur predict --model FILE --input X.npy[,X2.npy] --output Y.npy
//   recur convert IN OUT
//   recur check   --model FILE --input X.npy[,...] [--labels Y.npy[,...]]
//   recur fit     --model IN --input X.npy --labels Y.npy --epochs N --output OUT
//
// Arrays go to the model's inputs (and outputs) in the model's order, one .npy file each.
// Nothing here prints; the results are returned (main.cpp prints them).
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "forecast.hpp"
#include "recur/model/model.hpp"

namespace recur::cli {

/// A model file as the commands load it.
struct LoadedModel {
  /// A Sequential when the file holds one (so that summary() prints Keras's Sequential table),
  /// else a Functional Model.
  std::unique_ptr<Model> model;
  std::string metadata_json = "{}";
  /// The file's format from its first bytes: "recur model file", "Keras HDF5 file",
  /// "Keras 3 .keras zip", "ONNX model".
  std::string format;
  bool foreign = false;  // not a recur file
};

/// Loads the model at `path` in any format (Model::load / Sequential::load). Throws what they
/// throw: IoError when the file cannot be read, ModelFormatError (with its code) when it is
/// damaged or holds something recur cannot run.
LoadedModel load_any_model(const std::string& path);

/// The lines a summary adds below the layer table for any model: where a converted model came
/// from (the file's format, and the Keras version, backend or ONNX producer its metadata
/// records) and the compile settings (optimizer, learning rate, losses, metrics), or that it
/// has none. Empty for a recur file without compile settings.
std::string describe_origin_and_compile(const LoadedModel& loaded);

/// `recur predict --input`: runs the model on arrays.
struct ArrayPredictConfig {
  std::string model_path;
  std::vector<std::string> inputs;  // one .npy per model input, in the model's input order
  std::string output_path;          // empty: predictions.npy beside the model
  int batch_size = 0;               // 0: the batch size a model input fixes, else 32
};

struct ArrayPredictResult {
  std::size_t samples = 0;
  std::vector<std::string> output_paths;  // one per model output
  std::vector<Shape> output_shapes;
};

/// Loads the model and the arrays, checks the arrays against the model's inputs (ValueError
/// RECUR-E0019 for a wrong number of files; ShapeError RECUR-E0001 / RECUR-E0002 for a rank or
/// feature count the input does not take, naming the file), predicts, and writes each output as
/// a float32 .npy, atomically: one output to `output_path`, several to "<stem>_0.npy",
/// "<stem>_1.npy", ... (output k of the model's output order).
ArrayPredictResult run_predict_arrays(const ArrayPredictConfig& config);

/// The .npy file names for a model's outputs: `path` itself for one output, "<stem>_k.npy" for
/// several (stem: `path` without its ".npy").
std::vector<std::string> output_array_paths(const std::string& path, std::size_t outputs);

/// `recur convert IN OUT`.
struct ConvertResult {
  std::string from_format, to_format;
  std::size_t layers = 0, params = 0;
};

/// Loads `in` (any format) and saves it to `out` in the format out's extension names: .recur,
/// .keras, .h5 / .hdf5, .weights.h5 (weights only), .onnx. ValueError when `out` is `in` (the
/// same file, also through a link) or has another extension; what the loader or the writer
/// throws otherwise (ModelFormatError RECUR-E0021 for a layer or option the target format
/// cannot hold).
ConvertResult run_convert(const std::string& in, const std::string& out);

/// Compile settings given on the command line, for a model file that has none (or to replace
/// the file's): both or neither.
struct CompileFlags {
  std::vector<std::string> losses;  // one for every output, or one per output
  std::string optimizer;            // "adam", "sgd", "rmsprop", "adamw", "adagrad"
  float learning_rate = 0;          // 0: the file's (or the optimizer's default)
};

/// `recur check --model`: recur's data checks (Model::check) on a model and arrays.
struct ModelCheckConfig {
  std::string model_path;
  std::vector<std::string> inputs;
  std::vector<std::string> labels;  // empty: the inputs alone are checked
  int batch_size = 0;               // as fit would use it; 0: the model input's fixed one, else 32
  CompileFlags compile;
};

struct ModelCheckResult {
  /// Every problem found (empty: none), each with the code fit would throw it with.
  std::vector<Problem> problems;
  /// "x[0] = a.npy -> input 'encoder' (None, 5, 3)", and the labels' "y[k] = ..." lines: which
  /// file went where (empty when the model could not be loaded).
  std::vector<std::string> mapping;
  bool labels_checked = false;
};

/// Problems of loading a file (the model, an array) are reported as problems too; every array
/// is read, so that each broken file is named.
ModelCheckResult run_check_model(const ModelCheckConfig& config);

/// `recur fit --model`: fine-tunes a model on arrays and saves it.
struct ModelFitConfig {
  std::string model_path;
  std::vector<std::string> inputs;
  std::vector<std::string> labels;
  std::string output_path;  // any format, by extension (Model::save)
  int epochs = 1;
  int batch_size = 0;  // 0: the batch size a model input fixes, else 32
  double validation_split = 0;
  std::uint64_t seed = 0;
  CompileFlags compile;
};

struct ModelFitResult {
  int epochs_run = 0;
  std::size_t train_samples = 0, validation_samples = 0;
  std::vector<std::pair<std::string, double>> last_logs;  // the last epoch's logs, in History order
  std::string output_path;
  std::string compile;  // the compile settings trained with, described
  double train_seconds = 0;
};

/// Compiled settings come from the file; a model without them is refused (ValueError
/// RECUR-E0013 naming --loss and --optimizer) unless the flags give them. The arrays are checked
/// as fit checks them (Model::fit), then the model trains and is written atomically to
/// `output_path` with the file's metadata.
ModelFitResult run_fit_model(const ModelFitConfig& config, const TrainingCallbacks& callbacks);

}  // namespace recur::cli
