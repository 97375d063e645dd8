#pragma once
// One error hierarchy for everything a user can get wrong (STYLE.md: one throw point).
// Every message names the caller, what was expected, what was received and, when one is known,
// the fix. Every error carries a stable code (docs/errors.md has one entry per code). what()
// starts with the type and the code, e.g.
//   recur::ShapeError [RECUR-E0001]: LSTM 'lstm' expects input of rank 3 (batch, timesteps, ...
// These checks never compile out: they are not asserts.
#include <stdexcept>
#include <string>

namespace recur {

/// The stable error codes; docs/errors.md documents each (message, example, cause, fix, and
/// what Keras and PyTorch do). The family codes (E01xx...) are used where no case code applies.
namespace codes {
inline constexpr const char* kInputRank = "RECUR-E0001";         // rank-2 input to an RNN
inline constexpr const char* kFeatureCount = "RECUR-E0002";      // features differ from the model
inline constexpr const char* kRaggedSequences = "RECUR-E0003";   // nested sequences of different lengths
inline constexpr const char* kNonNumericCell = "RECUR-E0004";    // CSV cell that is not a number
inline constexpr const char* kNonFiniteData = "RECUR-E0005";     // NaN / inf in x, y or weights
inline constexpr const char* kLayerMisfit = "RECUR-E0006";       // output rank does not fit the next layer
inline constexpr const char* kWeightCount = "RECUR-E0007";       // set_weights: wrong number of arrays
inline constexpr const char* kWeightShape = "RECUR-E0008";       // set_weights: wrong (or transposed) shape
inline constexpr const char* kArchitectureMismatch = "RECUR-E0009";  // file does not fit the model
inline constexpr const char* kLabelsDoNotFit = "RECUR-E0010";    // output, loss and labels disagree
inline constexpr const char* kDivergence = "RECUR-E0011";        // loss/gradient/weight became non-finite
inline constexpr const char* kStatefulBatch = "RECUR-E0012";     // stateful layer, wrong batch size
inline constexpr const char* kBadHyperparameter = "RECUR-E0013"; // units, rates, epochs, ... out of range
inline constexpr const char* kUnknownColumn = "RECUR-E0014";     // a CSV column name that does not exist
// RECUR-E0015 is a compile-time error: a cell added to a Sequential model (static_assert).
inline constexpr const char* kGraphShape = "RECUR-E0016";       // a layer called on symbolic tensors it cannot take
inline constexpr const char* kGraphCall = "RECUR-E0017";        // initial_state, a list vs one tensor, output count
inline constexpr const char* kGraphDisconnected = "RECUR-E0018";  // an output needs an input the model lacks, an unused input, a cycle
inline constexpr const char* kGraphData = "RECUR-E0019";        // data for a model's inputs/outputs: count, names, samples
inline constexpr const char* kOutputLoss = "RECUR-E0020";       // compile: losses or loss_weights do not fit the outputs
inline constexpr const char* kUnsupportedImport = "RECUR-E0021";  // a Keras/ONNX file holds a layer or option recur cannot run or write
inline constexpr const char* kShape = "RECUR-E0100";             // other shape mismatches
inline constexpr const char* kValue = "RECUR-E0200";             // other invalid values
inline constexpr const char* kParse = "RECUR-E0300";             // other unparsable text
inline constexpr const char* kIo = "RECUR-E0400";                // a file that cannot be read/written
inline constexpr const char* kModelFormat = "RECUR-E0500";       // a damaged or foreign model file
}  // namespace codes

/// Root of all errors thrown by recur. Catch this to catch any of them.
class Error : public std::runtime_error {
 public:
  /// `type` is the qualified class name shown first in what(), `code` its stable code, and
  /// `message` the body.
  Error(const std::string& type, const std::string& message, const std::string& code)
      : std::runtime_error(type + " [" + code + "]: " + message),
        type_(type), message_(message), code_(code) {}
  explicit Error(const std::string& message) : Error("recur::Error", message, codes::kValue) {}
  /// The qualified type name, e.g. "recur::ShapeError".
  const std::string& type() const noexcept { return type_; }
  /// The message without the type and code prefix.
  const std::string& message() const noexcept { return message_; }
  /// The stable code, e.g. "RECUR-E0001" (see docs/errors.md).
  const std::string& code() const noexcept { return code_; }

 private:
  std::string type_;
  std::string message_;
  std::string code_;
};

/// A tensor, weight or data shape that does not fit where it is used.
class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& m, const std::string& code = codes::kShape)
      : Error("recur::ShapeError", m, code) {}
};

/// A bad hyperparameter or value (units <= 0, learning_rate <= 0, NaN in data, ...).
class ValueError : public Error {
 public:
  explicit ValueError(const std::string& m, const std::string& code = codes::kValue)
      : Error("recur::ValueError", m, code) {}
};

/// A text file that cannot be parsed; the message starts with file:line:column.
class ParseError : public Error {
 public:
  ParseError(const std::string& file, long line, long column, const std::string& m,
             const std::string& code = codes::kParse)
      : Error("recur::ParseError", file + ":" + std::to_string(line) + ":" +
                                       std::to_string(column) + " " + m, code),
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
  explicit IoError(const std::string& m) : Error("recur::IoError", m, codes::kIo) {}
};

/// A model file that is truncated, corrupted, of an unknown version, or does not match the
/// architecture it is loaded into; names the field that is wrong.
class ModelFormatError : public Error {
 public:
  explicit ModelFormatError(const std::string& m, const std::string& code = codes::kModelFormat)
      : Error("recur::ModelFormatError", m, code) {}
};

}  // namespace recur
