#include "common.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recur/core/error.hpp"

namespace recur::cli {

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw IoError("cannot write \"" + tmp + "\": " + std::strerror(errno) + ".");
    out << text;
    out.flush();
    if (!out) throw IoError("cannot write \"" + tmp + "\": " + std::strerror(errno) + ".");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IoError("cannot rename \"" + tmp + "\" to \"" + path + "\": " + ec.message() + ".");
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

void require_positive(const char* flag, double v, const char* hint) {
  if (!(v > 0))
    throw ValueError(std::string(flag) + " must be > 0, got " + csv_number(v) + ". " + hint);
}

void ensure_folder(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create output folder \"" + dir + "\": " + ec.message() + ".");
}

}  // namespace recur::cli
