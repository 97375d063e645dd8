#pragma once
// Helpers shared by the CLI jobs: checked options and atomic output files.
#include <memory>
#include <string>

#include <functional>
#include <vector>

#include "recur/callbacks/callbacks.hpp"
#include "recur/data/csv.hpp"
#include "recur/io/files.hpp"
#include "recur/model/sequential.hpp"

namespace recur::cli {

/// A number for a CSV cell: 6 significant digits, "" for NaN or infinity.
std::string csv_number(double v);

/// A text cell for a CSV file: quoted (RFC 4180) when it holds a comma, quote or line break,
/// and prefixed with ' when a spreadsheet would read it as a formula (=, +, -, @ not followed
/// by a digit).
std::string csv_cell(const std::string& text);

/// Throws ValueError "<flag> must be > 0, got <v>. <hint>" unless v > 0.
void require_positive(const char* flag, double v, const char* hint);

/// A job's output folder (OutputFolder: locked, checked, published as one unit) and where its
/// model file goes: inside the folder unless `model_path` names a file elsewhere, which is then a
/// unit of its own, written atomically straight to its path.
struct JobOutput {
  JobOutput(const std::string& output_dir, const std::string& model_path);
  /// Where to write `name` now (the staging folder).
  std::string staged(const std::string& name) const { return folder.staged(name); }
  /// Where `name` will be after publish().
  std::string final_path(const std::string& name) const { return folder.final_path(name); }
  /// Where to save the model now, and where it will be.
  std::string model_staged() const;
  std::string model_final() const;
  /// Publishes the folder.
  void publish();

  OutputFolder folder;
  std::string outside_model;  // a --model path outside the folder, else empty
  std::string model_name = "model.recur";
};

/// A run's checkpoint folder, "<output>.checkpoint" beside the output folder: what a killed or
/// interrupted run leaves so that `--resume DIR` continues it (classify: the model and training
/// state after the last epoch; forecast: every finished training). It holds job.json, the run's
/// command line and a fingerprint of its data (the parsed table); a resumed run must be given the same command (and
/// the same data), and is refused with a ValueError naming the difference otherwise.
class Checkpoint {
 public:
  /// `command`: the run's arguments without --resume/--quiet/--json. `resume_dir` empty: a new
  /// run (a checkpoint folder left by an earlier run is replaced; a warning says so). Throws
  /// IoError when the folder cannot be made, ValueError when resuming a different run.
  Checkpoint(const std::string& output_dir, const std::string& resume_dir, const std::vector<std::string>& command,
             const CsvTable& data, std::vector<std::string>* warnings);
  const std::string& dir() const noexcept { return dir_; }
  bool resuming() const noexcept { return resuming_; }
  /// A path inside the folder.
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  /// Removes the folder: the run is complete, nothing is left to resume.
  void finish();

 private:
  std::string dir_;
  bool resuming_ = false;
};

/// The option checks of a job. Normally the first failing check throws, as any error does; in
/// `recur check` mode (collect) every failing check is recorded and the others still run, so all
/// option problems are reported at once.
class Preflight {
 public:
  explicit Preflight(bool collect) : collect_(collect) {}
  /// Runs `check`; false if it threw a recur::Error (recorded when collecting, else rethrown).
  bool run(const std::function<void()>& check);
  std::vector<Problem> problems;

 private:
  bool collect_;
};

}  // namespace recur::cli
