#pragma once
// What recur's ONNX reader (onnx_import.cpp) and writer (onnx_export.cpp) share (private to
// src/model): the protobuf parse with its limits, checked tensors, the gate order and the
// activation tables. Operator semantics: onnx/docs/Operators.md (LSTM-14, GRU-14, RNN-14);
// the Keras <-> ONNX mapping: ../shared/interop/KERAS-FORMATS.md section 4; docs/onnx.md.
#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace recur::detail::onnx {

/// The opset recur writes (LSTM-14 / GRU-14 / RNN-14 have `layout`) and the IR version of that
/// opset's ONNX release (1.9).
inline constexpr std::int64_t kOpset = 14;
inline constexpr std::int64_t kIrVersion = 7;

/// Limits on untrusted files: nodes and initializers per graph, message nesting depth.
inline constexpr int kMaxNodes = 100000;
inline constexpr int kMaxInitializers = 100000;
inline constexpr int kMaxProtobufDepth = 64;

/// The LSTM gate blocks: ONNX orders them i, o, f, c; Keras (and recur) i, f, c, o. Entry g is
/// the Keras block of ONNX gate slot g. GRU (z, r, h) and SimpleRNN have the same order in both.
inline constexpr std::array<int, 4> kKerasBlockOfOnnxLstmGate = {0, 3, 1, 2};

/// One activation a recurrent cell may use, as its ONNX RNN activation string.
struct RnnActivation {
  const char* keras;                 // recur's name
  const char* onnx;                  // the ONNX activations[] entry
  std::optional<float> alpha, beta;  // written explicitly (HardSigmoid, Affine, Elu)
};
/// Every recur cell activation ONNX's LSTM / GRU / RNN can express. Keras 3's hard_sigmoid is
/// clip(x/6 + 1/2); Keras 1/2's (recur's legacy_hard_sigmoid) clip(0.2x + 0.5), ONNX's default.
inline constexpr std::array<RnnActivation, 9> kRnnActivations = {{
    {"sigmoid", "Sigmoid", std::nullopt, std::nullopt},
    {"tanh", "Tanh", std::nullopt, std::nullopt},
    {"relu", "Relu", std::nullopt, std::nullopt},
    {"linear", "Affine", 1.0f, 0.0f},
    {"hard_sigmoid", "HardSigmoid", 1.0f / 6.0f, 0.5f},
    {"legacy_hard_sigmoid", "HardSigmoid", 0.2f, 0.5f},
    {"elu", "Elu", 1.0f, std::nullopt},
    {"softsign", "Softsign", std::nullopt, std::nullopt},
    {"softplus", "Softplus", std::nullopt, std::nullopt},
}};

/// One recur layer activation as an element-wise ONNX operator (Softmax: over the last axis).
struct LayerActivation {
  const char* keras;
  const char* op;  // empty: no node (linear)
  std::optional<float> alpha, beta;
};
inline constexpr std::array<LayerActivation, 12> kLayerActivations = {{
    {"linear", "", std::nullopt, std::nullopt},
    {"relu", "Relu", std::nullopt, std::nullopt},
    {"tanh", "Tanh", std::nullopt, std::nullopt},
    {"sigmoid", "Sigmoid", std::nullopt, std::nullopt},
    {"softmax", "Softmax", std::nullopt, std::nullopt},
    {"hard_sigmoid", "HardSigmoid", 1.0f / 6.0f, 0.5f},
    {"legacy_hard_sigmoid", "HardSigmoid", 0.2f, 0.5f},
    {"elu", "Elu", 1.0f, std::nullopt},
    {"selu", "Selu", std::nullopt, std::nullopt},
    {"softplus", "Softplus", std::nullopt, std::nullopt},
    {"softsign", "Softsign", std::nullopt, std::nullopt},
    {"exponential", "Exp", std::nullopt, std::nullopt},
}};

/// Names of the activations in a table, for "recur supports ..." messages.
std::string rnn_activation_names();
std::string layer_activation_names();

/// Throws ModelFormatError RECUR-E0021 (something recur cannot express): "<path>: <what>".
[[noreturn]] void unsupported(const std::string& path, const std::string& what);
/// Throws ModelFormatError RECUR-E0500 (a damaged or hostile file): "<path>: <what>".
[[noreturn]] void damaged(const std::string& path, const std::string& what);

/// Parses `bytes` as a ModelProto under the limits (size below 2 GiB, nesting depth
/// kMaxProtobufDepth); ModelFormatError naming `path` when they do not parse.
::onnx::ModelProto parse_model(const std::string& path, const std::string& bytes);

/// The batch extent in a tensor whose dims hold a symbolic batch (shape values, zeros): a
/// value no valid extent has, and far from the INT64_MIN / INT64_MIN + 1 that Slice nodes use
/// for "to the start".
inline constexpr std::int64_t kBatchDim = std::numeric_limits<std::int64_t>::min() + 4099;

/// A constant tensor: an initializer, a Constant node's value, or what recur folds from them
/// (shapes, zeros). Values are float (`f`) or integer (`i`); `zeros` marks an all-zero tensor
/// whose values are not stored (its dims may hold kBatchDim), and `i` of a shape vector may
/// hold kBatchDim too.
struct Const {
  std::vector<std::int64_t> dims;
  bool is_int = false;
  bool zeros = false;
  std::vector<float> f;
  std::vector<std::int64_t> i;
  std::size_t size() const { return is_int ? i.size() : f.size(); }
  /// Element k as a double (int or float).
  double at(std::size_t k) const { return is_int ? static_cast<double>(i[k]) : f[k]; }
};

/// A TensorProto as a Const, trusting nothing: data types FLOAT, DOUBLE (narrowed), INT32,
/// INT64, BOOL; dims >= 0, their product overflow-checked and compared with raw_data /
/// *_data sizes before anything is allocated; external data and segments refused.
/// `what` names the tensor in messages ("initializer 'W'").
Const read_tensor(const ::onnx::TensorProto& t, const std::string& path, const std::string& what);

/// "(1, 12, 3)"
std::string dims_str(const std::vector<std::int64_t>& dims);

}  // namespace recur::detail::onnx
