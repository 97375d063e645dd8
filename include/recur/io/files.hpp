#pragma once
// Files read with a bound and written durably: the reader of every file recur opens (model
// files, .npy arrays, CSV data) and the writer of every file it produces.
//
// Reading: a path that is a folder, a device (/dev/zero), a socket, or (unless allowed) a FIFO is
// refused before a byte is read, and no more than `max_bytes` are ever read, so no file can
// exhaust memory or block a job.
//
// Writing: a file is written to a fresh temporary file beside it (created with O_EXCL, so a
// planted symlink or a file of another run is never followed or reused), flushed with fsync,
// renamed over the target, and the folder is fsynced, so a reader sees the old file or the new
// one, never a partial one, even after a power cut. The same rules as SQLite's and
// safetensors' writers; see the README's reliability section.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

/// Reads the whole file at `path`, at most `max_bytes` bytes. `what` names the file's role in
/// messages ("model file", "CSV file"). A FIFO (a pipe such as /dev/stdin) is read, still
/// bounded, only when `allow_fifo`.
/// Throws IoError naming the path when it cannot be opened or read, when it is a folder, a
/// device or socket (or a FIFO when not allowed), and when it holds more than `max_bytes` bytes
/// (the message says the limit and `limit_hint`, how to raise or avoid it).
std::string read_file_bounded(const std::string& path, std::uint64_t max_bytes, const std::string& what,
                              bool allow_fifo = false, const std::string& limit_hint = "");

/// Writes `bytes` to `path` durably and atomically: a fresh "<folder>/.<name>.tmp.XXXXXX" file
/// (O_EXCL | O_NOFOLLOW, mode 0644), fsync, rename over `path`, fsync of the folder. On any
/// failure the temporary file is removed and `path` is left as it was. Throws IoError naming
/// the path and the OS reason.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// write_file_atomic into a folder that may be a job's output folder (OutputFolder): while
/// writing, holds a shared lock on that folder's lock file when there is one, so that a file is
/// never written into a folder another run is about to replace (it would be lost). Throws
/// IoError naming the folder while another run holds it.
void write_file_in_output_folder(const std::string& path, std::string_view bytes);

/// "1.5 GiB", "12 KiB", "512 bytes": a byte count for messages.
std::string format_bytes(std::uint64_t bytes);

/// Called at each step that makes output durable or visible (a file written, an fsync, a
/// rename). When the environment variable RECUR_FAULT_AT=N is set, the N-th such step (counted
/// from 1 in this process) ends the process at once with exit status 86 and no clean-up, as a
/// kill or power cut would: the crash-injection tests use it to check that every step leaves
/// either the old outputs or the new ones. Without the variable it does nothing.
void durability_point(const char* step);

/// A job's output folder, published as one unit. The job writes its files into a private
/// staging folder beside the output folder ("<parent>/.<name>.staging.XXXXXX"), then publish()
/// swaps the staging folder with the output folder in one atomic rename (Linux renameat2
/// RENAME_EXCHANGE; where the file system lacks it, the old folder is moved aside first) and
/// deletes the old one. A reader, or a run killed at any instant, sees the previous run's
/// complete set of files or this run's, never a mix.
///
/// An advisory lock ("<parent>/.<name>.lock", flock) is held from construction to destruction:
/// a second run into the same folder is refused with an IoError instead of interleaving its
/// files. Staging folders left by killed runs are removed on the next run.
///
/// Files already in the output folder that this run does not write (a previous run's
/// predictions.csv, the user's own data file) are carried over to the new folder as hard links,
/// so publishing never loses a file; a subfolder, symlink or other special entry in the output
/// folder makes the constructor throw IoError before the job starts.
class OutputFolder {
 public:
  /// Locks and checks `dir` (created at publish() if it does not exist) and creates the staging
  /// folder. Throws IoError if another run holds the lock, if `dir` holds anything but plain
  /// files, if `dir` is the working folder or one above it, if it is a mount point (another file
  /// system than its parent: it cannot be swapped), or if the parent folder cannot be created
  /// or written.
  explicit OutputFolder(const std::string& dir);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  /// The path to write the output file `name` to before publish() (inside the staging folder).
  std::string staged(const std::string& name) const;
  /// The path `name` will have after publish().
  std::string final_path(const std::string& name) const;
  /// Checks the output folder again (plain files only), carries over the files this run did
  /// not write, fsyncs the staging folder, swaps it in place of the output folder, fsyncs the
  /// parent and removes the old folder (its plain files only, never recursively). Throws
  /// IoError; on failure the output folder is as it was and the staging folder is kept (the
  /// message names it), since it holds the run's files.
  void publish();

 private:
  void swap_in();
  std::string dir_, parent_, name_, staging_;
  int lock_fd_ = -1;
  unsigned mode_ = 0755;  // the output folder's permissions, kept across runs
  bool published_ = false, keep_staging_ = false;
};

}  // namespace recur
