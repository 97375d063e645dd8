#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/io/model_file.hpp"
#include <nlohmann/json.hpp>

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
  // A cell a spreadsheet would run as a formula is prefixed with ' (OWASP's CSV injection rule):
  // one starting with =, +, -, @, a tab or a carriage return, unless the whole cell is a plain
  // number ("-3.5", "+1e3"); "=1+HYPERLINK(...)" or "-2+3+cmd|..." are prefixed.
  const bool number = [&] {
    double v = 0;
    const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && b != end;
  }();
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') &&
      !number)
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

namespace {
// Identifies the data a run trained on: a CRC of the parsed table (header and cells, joined by
// the ASCII unit and record separators), so that piped data, read only once, is identified too.
std::string data_fingerprint(const CsvTable& table) {
  std::string bytes;
  for (const std::string& h : table.header) bytes += h + '\x1f';
  for (const auto& row : table.rows) {
    bytes += '\x1e';
    for (const std::string& cell : row) bytes += cell + '\x1f';
  }
  return std::to_string(crc32(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) + "/" +
         std::to_string(bytes.size());
}
}  // namespace

Checkpoint::Checkpoint(const std::string& output_dir, const std::string& resume_dir,
                       const std::vector<std::string>& command, const CsvTable& data,
                       std::vector<std::string>* warnings) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path out = fs::absolute(output_dir, ec).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();
  const std::string own = out.string() + ".checkpoint";
  // The arguments as hex: any bytes (a Latin-1 path is not valid UTF-8, which JSON text needs).
  nlohmann::json args = nlohmann::json::array();
  for (const std::string& a : command) {
    std::string hex;
    for (unsigned char c : a) {
      const char* digits = "0123456789abcdef";
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    args.push_back(hex);
  }
  const nlohmann::json job = {{"command", args}, {"data", data_fingerprint(data)}};
  std::string shown;  // the command for messages, shortened
  for (const std::string& a : command) shown += (shown.empty() ? "" : " ") + a;
  if (shown.size() > 300) shown = shown.substr(0, 300) + "...";
  if (!resume_dir.empty()) {
    dir_ = resume_dir;
    const std::string job_path = dir_ + "/job.json";
    bool same_command = false, same_data = false;
    try {
      // Our own file, still read as untrusted input: bounded, nesting capped, types checked.
      const nlohmann::json stored = nlohmann::json::parse(
          read_file_bounded(job_path, 1 << 20, "checkpoint file"), [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
            if (depth > 8) throw nlohmann::json::other_error::create(501, "nested too deeply", nullptr);
            return true;
          });
      if (!stored.is_object() || !stored.contains("command") || !stored.contains("data"))
        throw IoError("--resume " + resume_dir + ": " + job_path + " is not a recur checkpoint's job file.");
      same_command = stored.at("command") == job.at("command");
      same_data = stored.at("data") == job.at("data");
    } catch (const nlohmann::json::exception& e) {
      throw IoError("--resume " + resume_dir + ": " + job_path + " is damaged (" + e.what() +
                    "); this checkpoint cannot be resumed: start a new run without --resume.");
    }
    if (!same_command)
      throw ValueError("--resume " + resume_dir + ": that run was started with other options; resume it with "
                       "the same options as its command line, in the same order (got `recur " + shown + "`).",
                       codes::kBadHyperparameter);
    if (!same_data)
      throw ValueError("--resume " + resume_dir + ": the data file has changed since that run started; a "
                       "resumed run must train on the same data. Start a new run instead.", codes::kBadHyperparameter);
    resuming_ = true;
    return;
  }
  dir_ = own;
  if (fs::exists(dir_)) {
    if (warnings)
      warnings->push_back("a checkpoint of an earlier, unfinished run was in " + dir_ +
                          "; this new run replaces it (continue such a run with --resume " + dir_ + ").");
    fs::remove_all(dir_, ec);
    if (ec) throw IoError("cannot remove the old checkpoint folder \"" + dir_ + "\": " + ec.message() + ".");
  }
  fs::create_directories(dir_, ec);
  if (ec) throw IoError("cannot create the checkpoint folder \"" + dir_ + "\": " + ec.message() + ".");
  write_file_atomic(dir_ + "/job.json", job.dump(2));
}

void Checkpoint::finish() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
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
