#include "recur/io/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "recur/core/error.hpp"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::string os_reason() { return std::strerror(errno); }

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// The folder part of `path` ("." for a bare name) and the name part.
std::pair<std::string, std::string> split_path(const std::string& path) {
  const fs::path p(path);
  std::string parent = p.parent_path().string();
  if (parent.empty()) parent = ".";
  return {parent, p.filename().string()};
}

void fsync_folder(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd < 0) throw IoError("cannot open folder \"" + dir + "\" to flush it: " + os_reason() + ".");
  durability_point("fsync folder");
  // Some file systems (and some containers) refuse fsync on a folder; the rename is still atomic.
  if (::fsync(fd.fd) != 0 && errno != EINVAL && errno != EROFS)
    throw IoError("cannot flush folder \"" + dir + "\": " + os_reason() + ".");
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write \"" + path + "\": " + os_reason() + ".");
    }
    done += static_cast<std::size_t>(n);
  }
}

// Removes a folder's plain files, then the folder, ignoring errors. Never recursive: anything
// else in it (a subfolder someone made there) is left, and so is the folder.
void remove_plain_folder(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && !e.is_symlink()) ::unlink(e.path().c_str());
    else if (e.is_symlink()) ::unlink(e.path().c_str());
  ::rmdir(dir.c_str());
}

// A temporary file of write_file_atomic: ".<name>.tmp.XXXXXX".
bool is_temporary_name(const std::string& n) {
  const std::size_t t = n.rfind(".tmp.");
  return n.size() > 1 && n[0] == '.' && t != std::string::npos && t > 1 && n.size() - t == 11;
}

// The lock file of the output folder `dir` (absolute, normalized): ".<name>.lock" beside it.
std::string lock_path_of(const fs::path& dir) {
  return dir.parent_path().string() + "/." + dir.filename().string() + ".lock";
}

mode_t current_umask() {
  const mode_t m = ::umask(022);
  ::umask(m);
  return m;
}

// Throws IoError unless every entry of `dir` is a plain file (what publishing can carry over).
void check_plain_files(const std::string& dir, const std::string& shown) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (!e.is_regular_file() || e.is_symlink())
      throw IoError("the output folder \"" + shown + "\" holds \"" + e.path().filename().string() +
                    "\", which is not a plain file; recur replaces the output folder as a whole at the end "
                    "of a run (carrying plain files over), so it must hold files only. Give another "
                    "--output folder, or move it.");
  if (ec) throw IoError("cannot list the output folder \"" + shown + "\": " + ec.message() + ".");
}

}  // namespace

std::string format_bytes(std::uint64_t n) {
  constexpr std::uint64_t kGiB = std::uint64_t{1} << 30, kMiB = std::uint64_t{1} << 20;
  if (n >= kGiB && n % kGiB == 0) return std::to_string(n / kGiB) + " GiB";
  if (n >= kMiB && n % kMiB == 0) return std::to_string(n / kMiB) + " MiB";
  if (n >= kMiB) {
    const bool gib = n >= kGiB;
    char buf[32];
    std::snprintf(buf, sizeof buf, gib ? "%.1f GiB" : "%.1f MiB",
                  static_cast<double>(n) / static_cast<double>(gib ? kGiB : kMiB));
    return buf;
  }
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

void durability_point(const char* /*step*/) {
  static const long fault_at = [] {
    const char* v = std::getenv("RECUR_FAULT_AT");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  static std::atomic<long> count{0};
  if (fault_at > 0 && ++count == fault_at) ::_exit(86);
}

std::string read_file_bounded(const std::string& path, std::uint64_t max_bytes, const std::string& what,
                              bool allow_fifo, const std::string& limit_hint) {
  // O_NONBLOCK: opening a FIFO with no writer must not block; it is cleared again below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.fd < 0) throw IoError("cannot open " + what + " \"" + path + "\": " + os_reason() + ".");
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw IoError("cannot read " + what + " \"" + path + "\": " + os_reason() + ".");
  if (S_ISDIR(st.st_mode))
    throw IoError("cannot read " + what + " \"" + path + "\": it is a directory; give the path of a file.");
  const bool fifo = S_ISFIFO(st.st_mode);
  if (!S_ISREG(st.st_mode) && !(fifo && allow_fifo))
    throw IoError("cannot read " + what + " \"" + path + "\": it is not a regular file (a device, pipe or "
                  "socket); give the path of a file.");
  const auto too_large = [&](const std::string& found) {
    return IoError("cannot read " + what + " \"" + path + "\": " + found + "; recur reads " + what +
                   "s of up to " + format_bytes(max_bytes) + "." + (limit_hint.empty() ? "" : " " + limit_hint));
  };
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw too_large("the file is " + format_bytes(static_cast<std::uint64_t>(st.st_size)));
  const int flags = ::fcntl(fd.fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd.fd, F_SETFL, flags & ~O_NONBLOCK);
  std::string bytes;
  if (S_ISREG(st.st_mode)) {
    // A regular file straight into its buffer (no zero-filled bounce buffer per read).
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd.fd, bytes.data() + got, bytes.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw IoError("cannot read " + what + " \"" + path + "\": " + os_reason() + ".");
      }
      if (n == 0) break;  // the file shrank meanwhile
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
  }
  // Then in chunks, so that the bound also holds for a pipe and for a file that grows meanwhile.
  std::vector<char> chunk(std::size_t{64} << 10);
  for (;;) {
    const ssize_t n = ::read(fd.fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read " + what + " \"" + path + "\": " + os_reason() + ".");
    }
    if (n == 0) break;
    if (static_cast<std::uint64_t>(n) > max_bytes - bytes.size()) throw too_large("it holds more");
    bytes.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return bytes;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const auto [dir, name] = split_path(path);
  if (name.empty() || name == "." || name == "..")
    throw IoError("cannot write \"" + path + "\": it names a folder, not a file.");
  std::string tmp = dir + "/." + name + ".tmp.XXXXXX";
  // mkostemp creates the file with O_CREAT | O_EXCL: it never opens an existing file or follows
  // a symlink planted at the name.
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.fd < 0)
    throw IoError("cannot write \"" + path + "\": cannot create a temporary file in \"" + dir + "\": " +
                  os_reason() + ". Check that the folder exists and is writable.");
  try {
    // As open(O_CREAT, 0666) would make it (mkostemp gives 0600).
    if (::fchmod(fd.fd, 0666 & ~current_umask()) != 0) throw IoError("cannot write \"" + tmp + "\": " + os_reason() + ".");
    write_all(fd.fd, bytes, tmp);
    durability_point("write");
    if (::fsync(fd.fd) != 0) throw IoError("cannot flush \"" + tmp + "\": " + os_reason() + ".");
    durability_point("fsync");
    const int closed = ::close(fd.fd);
    fd.fd = -1;
    if (closed != 0) throw IoError("cannot write \"" + tmp + "\": " + os_reason() + ".");
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw IoError("cannot rename \"" + tmp + "\" to \"" + path + "\": " + os_reason() + ".");
    durability_point("rename");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_folder(dir);
}

void write_file_in_output_folder(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  const fs::path folder = fs::absolute(fs::path(path), ec).lexically_normal().parent_path();
  const std::string lock = lock_path_of(folder);
  Fd fd(::open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd >= 0 && ::flock(fd.fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    throw IoError("cannot write \"" + path + "\": another recur run is writing to \"" + folder.string() +
                  "\" and will replace it as a whole when it finishes; wait for it, or give another --output.");
  write_file_atomic(path, bytes);
}  // the shared lock is released with fd

OutputFolder::OutputFolder(const std::string& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (ec) throw IoError("cannot use output folder \"" + dir + "\": " + ec.message() + ".");
  if (!abs.has_filename()) abs = abs.parent_path();  // "out/" -> "out"
  dir_ = abs.string();
  parent_ = abs.parent_path().string();
  name_ = abs.filename().string();
  if (name_.empty() || name_ == "." || name_ == ".." || parent_.empty() || parent_ == dir_)
    throw IoError("cannot use \"" + dir + "\" as the output folder; give a folder of its own, e.g. "
                  "--output recur-output.");
  // The folder is replaced as a whole: never the working folder or one above it.
  const fs::path cwd = fs::current_path(ec);
  if (!ec) {
    const std::string c = cwd.lexically_normal().string() + "/";
    if (c.rfind(dir_ + "/", 0) == 0)
      throw IoError("cannot use \"" + dir + "\" as the output folder: it is the working folder or holds it, "
                    "and recur replaces the output folder as a whole at the end of a run. Give a folder "
                    "of its own, e.g. --output recur-output.");
  }
  fs::create_directories(parent_, ec);
  if (ec) throw IoError("cannot create folder \"" + parent_ + "\": " + ec.message() + ".");

  // The lock: refuses a second run into the same folder for as long as this object lives.
  const std::string lock = lock_path_of(abs);
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw IoError("cannot create the lock file \"" + lock + "\": " + os_reason() + ".");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    const std::string reason = os_reason();
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (busy)
      throw IoError("another recur run is writing to \"" + dir + "\" (it holds the lock \"" + lock +
                    "\"); wait for it to finish or give another --output folder.");
    throw IoError("cannot lock \"" + lock + "\": " + reason + ".");
  }
  try {
    // Leftovers of killed runs (we hold the lock, so none is live): staging folders are
    // removed (their files were never published); a previous output moved aside by the fallback
    // publish is moved back when the crash left no output folder.
    const std::string prefix = "." + name_ + ".staging.", previous = "." + name_ + ".previous.";
    for (const auto& e : fs::directory_iterator(parent_, ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind(prefix, 0) == 0) remove_plain_folder(e.path().string());
      if (n.rfind(previous, 0) == 0 && !fs::exists(fs::symlink_status(dir_)))
        std::rename(e.path().c_str(), dir_.c_str());
    }
    // The folder is replaced as a whole; its files are carried over (hard links), but a
    // subfolder or a link cannot be, so it stops the run before it starts.
    const auto st = fs::symlink_status(dir_);
    if (fs::exists(st) && !fs::is_directory(st))
      throw IoError("cannot use \"" + dir + "\" as the output folder: it exists and is not a folder.");
    mode_ = 0777 & ~current_umask();
    if (fs::is_directory(st)) {
      check_plain_files(dir_, dir);
      struct stat ds {}, ps {};
      if (::stat(dir_.c_str(), &ds) == 0 && ::stat(parent_.c_str(), &ps) == 0) {
        // A mount point (a Docker volume) cannot be swapped with a folder beside it.
        if (ds.st_dev != ps.st_dev)
          throw IoError("cannot use \"" + dir + "\" as the output folder: it is a mount point (another file "
                        "system than its parent), which recur cannot replace as a whole at the end of a run. "
                        "Give a folder inside it, e.g. --output " + dir_ + "/run.");
        mode_ = ds.st_mode & 07777;
      }
    }
    staging_ = parent_ + "/" + prefix + "XXXXXX";
    if (!::mkdtemp(staging_.data()))
      throw IoError("cannot create a staging folder in \"" + parent_ + "\": " + os_reason() +
                    ". Check that the folder is writable.");
    ::chmod(staging_.c_str(), mode_);  // the published folder keeps the old one's mode (mkdtemp: 0700)
  } catch (...) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw;
  }
}

OutputFolder::~OutputFolder() {
  // A failed publish keeps the staging folder: it holds the only copy of the run's files.
  if (!published_ && !keep_staging_ && !staging_.empty()) remove_plain_folder(staging_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string OutputFolder::staged(const std::string& name) const { return staging_ + "/" + name; }

std::string OutputFolder::final_path(const std::string& name) const { return dir_ + "/" + name; }

void OutputFolder::publish() {
  if (published_) return;
  try {
    swap_in();
  } catch (const IoError& e) {
    keep_staging_ = true;
    throw IoError(e.message() + " The run's files are kept in \"" + staging_ + "\".");
  }
}

void OutputFolder::swap_in() {
  std::error_code ec;
  const bool had_old = fs::is_directory(fs::symlink_status(dir_));
  if (had_old) {
    // Checked again: what appeared during the run must not be lost by the swap.
    check_plain_files(dir_, dir_);
    // Carry over the files this run did not write (hard links: the old folder keeps its copy
    // until the swap, so a crash here loses nothing). Leftover temporary files of killed writes
    // (".<name>.tmp.XXXXXX") are dropped.
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string n = e.path().filename().string();
      const std::string from = e.path().string(), to = staging_ + "/" + n;
      if (!e.is_regular_file() || e.is_symlink() || fs::exists(fs::symlink_status(to))) continue;
      if (is_temporary_name(n)) continue;
      if (::link(from.c_str(), to.c_str()) != 0) {
        // No hard links here: a durable copy.
        write_file_atomic(to, read_file_bounded(from, std::uint64_t{1} << 40, "file"));
      }
    }
    if (ec) throw IoError("cannot list the output folder \"" + dir_ + "\": " + ec.message() + ".");
  }
  fsync_folder(staging_);
  if (!had_old) {
    if (std::rename(staging_.c_str(), dir_.c_str()) != 0)
      throw IoError("cannot rename \"" + staging_ + "\" to \"" + dir_ + "\": " + os_reason() + ".");
    durability_point("publish");
    published_ = true;
    fsync_folder(parent_);
    return;
  }
  // The swap: one atomic step. Afterwards the old folder's files are at the staging path.
  std::string old = staging_;
  if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != EINVAL && errno != ENOSYS)
      throw IoError("cannot replace \"" + dir_ + "\" with \"" + staging_ + "\": " + os_reason() + ".");
    // No RENAME_EXCHANGE on this file system: move the old folder aside (under a name the next
    // run moves back if a crash leaves no output folder), then the new one in.
    old = parent_ + "/." + name_ + ".previous." + staging_.substr(staging_.size() - 6);
    if (std::rename(dir_.c_str(), old.c_str()) != 0)
      throw IoError("cannot move \"" + dir_ + "\" aside: " + os_reason() + ".");
    durability_point("move aside");
    if (std::rename(staging_.c_str(), dir_.c_str()) != 0) {
      const std::string reason = os_reason();
      std::rename(old.c_str(), dir_.c_str());
      throw IoError("cannot rename \"" + staging_ + "\" to \"" + dir_ + "\": " + reason + ".");
    }
  }
  durability_point("publish");
  published_ = true;
  fsync_folder(parent_);
  remove_plain_folder(old);  // the old folder: its files were carried over or replaced
}

}  // namespace recur
