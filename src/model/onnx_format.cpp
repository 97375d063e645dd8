// ONNX files: telling one apart (looks_like_onnx). Reading: onnx_import.cpp; writing:
// onnx_export.cpp; shared parts: onnx_common.cpp. Mapping and limits: docs/onnx.md.
#include <cstdint>

#include "onnx_format.hpp"

namespace recur::detail::onnx {
namespace {

// A protobuf varint at `p` (before `end`); false when it does not end in 10 bytes or in the data.
bool read_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const unsigned char b = *p++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

}  // namespace

// The top-level fields of a ModelProto, walked without parsing their contents (onnx.proto):
// ir_version 1 (varint), producer_name 2, producer_version 3, domain 4 (bytes), model_version 5
// (varint), doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20,
// functions 25 (bytes). The bytes look like ONNX when every field until the end (or until a
// field that runs past the end: a truncated file, which read_onnx then reports as such) is one
// of these with its wire type, and the graph field is among them. A file that merely starts
// with a plausible byte (sniff_format's test) is not claimed.
bool looks_like_onnx(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* end = p + bytes.size();
  bool graph = false;
  int fields = 0;
  while (p < end) {
    std::uint64_t key = 0;
    if (!read_varint(p, end, key)) return graph;
    const std::uint64_t field = key >> 3, wire = key & 7;
    const bool varint_field = field == 1 || field == 5;
    const bool bytes_field =
        (field >= 2 && field <= 4) || (field >= 6 && field <= 8) || field == 14 || field == 20 || field == 25;
    if (varint_field && wire == 0) {
      std::uint64_t v = 0;
      if (!read_varint(p, end, v)) return graph;
    } else if (bytes_field && wire == 2) {
      std::uint64_t len = 0;
      if (!read_varint(p, end, len)) return graph;
      if (field == 7) graph = true;
      if (len > static_cast<std::uint64_t>(end - p)) return graph;  // truncated inside this field
      p += len;
    } else {
      return false;
    }
    ++fields;
  }
  return graph && fields > 0;
}

}  // namespace recur::detail::onnx
