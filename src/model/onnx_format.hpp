#pragma once
// ONNX model files <-> recur's model contents (private to src/model). Operator semantics:
// onnx/docs/Operators.md (LSTM-14, GRU-14, RNN-14); mapping: docs/onnx.md.
#include <string>

#include "recur/io/model_file.hpp"

namespace recur::detail::onnx {

/// True when `bytes` look like an ONNX ModelProto with a graph: its top-level protobuf fields
/// are ModelProto's, with their wire types, and the graph is among them (a file truncated inside
/// a field still counts, so that read_onnx reports the truncation). The check sniff_format
/// cannot make from the first bytes alone; nothing is parsed or allocated.
bool looks_like_onnx(const std::string& bytes);

/// An ONNX model, its bytes already read from `path`, as recur's model contents: a Functional
/// model whose metadata["onnx"] says how the graph's inputs and outputs map to recur's
/// (docs/onnx.md). ModelFormatError RECUR-E0021 naming the node for what recur cannot express,
/// RECUR-E0500 for a damaged or hostile file.
ModelFileContents read_onnx(const std::string& path, const std::string& bytes);

/// Writes `contents` (a model's, Model::contents) as an ONNX model of opset 14 with native
/// LSTM / GRU / RNN nodes. ModelFormatError RECUR-E0021 naming the layer, its class and the
/// option for what ONNX cannot express (a mask reaching a recurrent layer, stateful layers).
void write_onnx(const ModelFileContents& contents, const std::string& path);

}  // namespace recur::detail::onnx
