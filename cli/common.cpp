#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "forecast.hpp"
#include "recur/core/error.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"

namespace recur::cli {

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

std::string csv_cell(const std::string& text) {
  std::string s = text;
  // A cell a spreadsheet would run as a formula is prefixed with ' (OWASP's CSV injection rule).
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') &&
      !(s.size() > 1 && (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.')))
    s = "'" + s;
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void require_positive(const char* flag, double v, const char* hint) {
  if (!(v > 0))
    throw ValueError(std::string(flag) + " must be > 0, got " + csv_number(v) + ". " + hint,
                     codes::kBadHyperparameter);
}

namespace {
// The file name of `model_path` when it lies directly in `output_dir` (or is empty: the
// default), else "".
std::string model_in_folder(const std::string& output_dir, const std::string& model_path) {
  if (model_path.empty()) return "model.recur";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::absolute(output_dir, ec).lexically_normal();
  const fs::path model = fs::absolute(model_path, ec).lexically_normal();
  const fs::path d = dir.has_filename() ? dir : dir.parent_path();
  return model.parent_path() == d ? model.filename().string() : "";
}
}  // namespace

JobOutput::JobOutput(const std::string& output_dir, const std::string& model_path)
    : folder(output_dir) {
  const std::string inside = model_in_folder(output_dir, model_path);
  if (inside.empty()) outside_model = model_path;
  else model_name = inside;
}

std::string JobOutput::model_staged() const {
  // A model outside the folder is its own unit: written (atomically) straight to its path.
  return outside_model.empty() ? folder.staged(model_name) : outside_model;
}

std::string JobOutput::model_final() const {
  return outside_model.empty() ? folder.final_path(model_name) : outside_model;
}

void JobOutput::publish() { folder.publish(); }

std::unique_ptr<Layer> make_recurrent_layer(const std::string& layer, std::size_t units,
                                            bool bidirectional, float dropout,
                                            float recurrent_dropout, bool return_sequences) {
  std::unique_ptr<RNN> rnn;
  if (layer == "lstm")
    rnn = std::make_unique<LSTM>(LstmOptions(units).dropout(dropout).recurrent_dropout(
        recurrent_dropout).return_sequences(return_sequences));
  else if (layer == "gru")
    rnn = std::make_unique<GRU>(GruOptions(units).dropout(dropout).recurrent_dropout(
        recurrent_dropout).return_sequences(return_sequences));
  else if (layer == "simple_rnn")
    rnn = std::make_unique<SimpleRNN>(SimpleRnnOptions(units).dropout(dropout).recurrent_dropout(
        recurrent_dropout).return_sequences(return_sequences));
  else
    throw ValueError("--layer must be lstm, gru or simple_rnn, got \"" + layer + "\".");
  if (bidirectional) return std::make_unique<Bidirectional>(std::move(rnn));
  return rnn;
}

std::vector<std::shared_ptr<Callback>> with_progress(std::vector<std::shared_ptr<Callback>> callbacks,
                                                     const TrainingCallbacks& training) {
  if (training.progress) callbacks.insert(callbacks.begin(), training.progress);
  return callbacks;
}

bool Preflight::run(const std::function<void()>& check) {
  try {
    check();
    return true;
  } catch (const Error& e) {
    if (!collect_) throw;
    problems.push_back({e.code(), e.type(), e.message()});
    return false;
  }
}

}  // namespace recur::cli
