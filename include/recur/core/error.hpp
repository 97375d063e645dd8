#pragma once
// One error hierarchy for everything a user can get wrong (STYLE.md: one throw point).
// Every message names the caller, what was expected, what was received and, when one is known,
// the fix. what() starts with the type, e.g.
//   recur::ShapeError: LSTM 'lstm' expects input of rank 3 (batch, timesteps, features) ...
// These checks never compile out: they are not asserts.
#include <stdexcept>
#include <string>

namespace recur {

/// Root of all errors thrown by recur. Catch this to catch any of them.
class Error : public std::runtime_error {
 public:
  /// `type` is the qualified class name shown first in what(); `message` the body.
  Error(const std::string& type, const std::string& message)
      : std::runtime_error(type + ": " + message), type_(type), message_(message) {}
  explicit Error(const std::string& message) : Error("recur::Error", message) {}
  /// The qualified type name, e.g. "recur::ShapeError".
  const std::string& type() const noexcept { return type_; }
  /// The message without the type prefix.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string type_;
  std::string message_;
};

/// A tensor, weight or data shape that does not fit where it is used.
class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& m) : Error("recur::ShapeError", m) {}
};

/// A bad hyperparameter or value (units <= 0, learning_rate <= 0, NaN in data, ...).
class ValueError : public Error {
 public:
  explicit ValueError(const std::string& m) : Error("recur::ValueError", m) {}
};

/// A text file that cannot be parsed; the message starts with file:line:column.
class ParseError : public Error {
 public:
  ParseError(const std::string& file, long line, long column, const std::string& m)
      : Error("recur::ParseError", file + ":" + std::to_string(line) + ":" +
                                       std::to_string(column) + " " + m),
        file_(file), line_(line), column_(column) {}
  const std::string& file() const noexcept { return file_; }
  long line() const noexcept { return line_; }
  long column() const noexcept { return column_; }

 private:
  std::string file_;
  long line_;
  long column_;
};

/// A file that cannot be opened, read, written or renamed; names the path and the OS reason.
class IoError : public Error {
 public:
  explicit IoError(const std::string& m) : Error("recur::IoError", m) {}
};

/// A model file that is truncated, corrupted, of an unknown version, or does not match the
/// architecture it is loaded into; names the field that is wrong.
class ModelFormatError : public Error {
 public:
  explicit ModelFormatError(const std::string& m) : Error("recur::ModelFormatError", m) {}
};

}  // namespace recur
