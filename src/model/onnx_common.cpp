// The protobuf parse with its limits, checked tensors and the activation tables shared by the
// ONNX reader and writer (onnx_common.hpp).
#include "onnx_common.hpp"

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <cstring>

#include "recur/core/error.hpp"

namespace recur::detail::onnx {

std::string rnn_activation_names() {
  std::string s;
  for (const RnnActivation& a : kRnnActivations) s += (s.empty() ? "" : ", ") + std::string(a.keras);
  return s;
}

std::string layer_activation_names() {
  std::string s;
  for (const LayerActivation& a : kLayerActivations) s += (s.empty() ? "" : ", ") + std::string(a.keras);
  return s;
}

void unsupported(const std::string& path, const std::string& what) {
  throw ModelFormatError(path + ": " + what, codes::kUnsupportedImport);
}

void damaged(const std::string& path, const std::string& what) { throw ModelFormatError(path + ": " + what); }

std::string dims_str(const std::vector<std::int64_t>& dims) {
  std::string s = "(";
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (k) s += ", ";
    s += dims[k] == kBatchDim ? std::string("batch") : std::to_string(dims[k]);
  }
  return s + (dims.size() == 1 ? ",)" : ")");
}

::onnx::ModelProto parse_model(const std::string& path, const std::string& bytes) {
  if (bytes.size() >= static_cast<std::size_t>(INT_MAX))
    damaged(path, "the ONNX file is " + std::to_string(bytes.size()) +
                      " bytes; protobuf messages (and so ONNX files without external data) end below 2 GiB.");
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  // A file nests messages (graph > node > attribute > graph ...) at most this deep: a deeper
  // one would recurse the parser off the stack.
  in.SetRecursionLimit(kMaxProtobufDepth);
  ::onnx::ModelProto model;
  if (!model.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    damaged(path,
            "the ONNX protobuf does not parse: the file is truncated or damaged, or nests messages more "
            "than " +
                std::to_string(kMaxProtobufDepth) + " levels deep.");
  if (!model.has_graph()) damaged(path, "the ONNX ModelProto has no graph.");
  return model;
}

Const read_tensor(const ::onnx::TensorProto& t, const std::string& path, const std::string& what) {
  using ::onnx::TensorProto;
  if (t.data_location() == TensorProto::EXTERNAL || t.external_data_size() > 0)
    unsupported(path, what +
                          " keeps its values in an external file (external_data); recur reads ONNX models "
                          "whose weights are inside the .onnx file. Re-save it with "
                          "onnx.save_model(model, path, save_as_external_data=False).");
  if (t.has_segment()) unsupported(path, what + " is a segment of a larger tensor; recur reads whole tensors.");
  Const c;
  // The element count, overflow-checked: each dim >= 0 and the product of the non-zero dims
  // below 2^62 (a 0 dim must not hide the others: the folds compute strides from them).
  std::uint64_t n = 1, extents = 1;
  constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 62;
  if (t.dims_size() > 8)
    damaged(path, what + " has " + std::to_string(t.dims_size()) + " dims; recur reads at most 8.");
  for (const std::int64_t d : t.dims()) {
    if (d < 0) damaged(path, what + " has a negative dim " + std::to_string(d) + ".");
    if (d != 0 && extents > kMaxElements / static_cast<std::uint64_t>(d))
      damaged(path, what + " declares dims " + dims_str({t.dims().begin(), t.dims().end()}) +
                        ", more values than any file can hold.");
    if (d != 0) extents *= static_cast<std::uint64_t>(d);
    n *= static_cast<std::uint64_t>(d);
    c.dims.push_back(d);
  }
  std::size_t width = 0;
  switch (t.data_type()) {
    case TensorProto::FLOAT:
      width = 4;
      break;
    case TensorProto::DOUBLE:
      width = 8;
      break;
    case TensorProto::INT32:
      width = 4;
      c.is_int = true;
      break;
    case TensorProto::INT64:
      width = 8;
      c.is_int = true;
      break;
    case TensorProto::BOOL:
      width = 1;
      c.is_int = true;
      break;
    default:
      unsupported(path, what + " has data type " + std::to_string(t.data_type()) +
                            "; recur reads FLOAT, DOUBLE, INT32, INT64 and BOOL tensors.");
  }
  // The values present, compared with the count before anything is allocated.
  const bool raw = t.has_raw_data();
  std::uint64_t present = 0;
  const char* field = "raw_data";
  if (raw) {
    present = t.raw_data().size();
    if (n > present / width || present != n * width)  // the first test keeps n * width from wrapping
      damaged(path, what + " declares dims " + dims_str(c.dims) + " = " + std::to_string(n) + " values of " +
                        std::to_string(width) + " bytes but holds " + std::to_string(present) + " bytes of raw_data.");
  } else {
    switch (t.data_type()) {
      case TensorProto::FLOAT:
        present = static_cast<std::uint64_t>(t.float_data_size());
        field = "float_data";
        break;
      case TensorProto::DOUBLE:
        present = static_cast<std::uint64_t>(t.double_data_size());
        field = "double_data";
        break;
      case TensorProto::INT64:
        present = static_cast<std::uint64_t>(t.int64_data_size());
        field = "int64_data";
        break;
      default:
        present = static_cast<std::uint64_t>(t.int32_data_size());
        field = "int32_data";
        break;
    }
    if (present != n)
      damaged(path, what + " declares dims " + dims_str(c.dims) + " = " + std::to_string(n) + " values but holds " +
                        std::to_string(present) + " values in " + field + ".");
  }
  const std::string& bytes = t.raw_data();
  auto raw_at = [&](std::size_t k, auto v) {
    std::memcpy(&v, bytes.data() + k * sizeof(v), sizeof(v));  // little-endian, as x86-64 and ARM64
    return v;
  };
  if (c.is_int)
    c.i.resize(n);
  else
    c.f.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    switch (t.data_type()) {
      case TensorProto::FLOAT:
        c.f[k] = raw ? raw_at(k, float{}) : t.float_data(static_cast<int>(k));
        break;
      case TensorProto::DOUBLE:
        c.f[k] = static_cast<float>(raw ? raw_at(k, double{}) : t.double_data(static_cast<int>(k)));
        break;
      case TensorProto::INT32:
        c.i[k] = raw ? raw_at(k, std::int32_t{}) : t.int32_data(static_cast<int>(k));
        break;
      case TensorProto::INT64:
        c.i[k] = raw ? raw_at(k, std::int64_t{}) : t.int64_data(static_cast<int>(k));
        break;
      default:
        c.i[k] = raw ? (bytes[k] != 0) : (t.int32_data(static_cast<int>(k)) != 0);
        break;
    }
  }
  return c;
}

}  // namespace recur::detail::onnx
