// An ONNX model -> recur model contents: read_onnx.
//
// The graph is interpreted node by node. Constants (initializers, Constant nodes, and what is
// folded from them: shapes with a symbolic batch, zero initial states) stay values; every other
// ONNX tensor is a VIEW of a recur tensor: recur tensors are batch-major (batch, ...), and the
// view says which recur axis each ONNX axis is (or a size-1 axis ONNX added, a bidirectional
// node's direction axis, a stack of tensors made by Concat), and whether the time axis runs
// backwards. So the Transpose / Squeeze / Unsqueeze / Reshape nodes around a time-major LSTM
// cost nothing, and the ops that compute something become recur layers: LSTM / GRU / RNN nodes
// LSTM, GRU, SimpleRNN or Bidirectional layers; MatMul / Gemm (+ Add + activation) Dense;
// Gather on a constant table Embedding; and so on (docs/onnx.md). What recur cannot express is
// refused with RECUR-E0021 naming the node, its op_type and what recur supports.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "onnx_common.hpp"
#include "onnx_format.hpp"
#include "recur/core/error.hpp"
#include "recur/layers/layer.hpp"

namespace recur::detail::onnx {
namespace {

using json = nlohmann::json;
using Dims = std::vector<std::int64_t>;
using ::onnx::AttributeProto;
using ::onnx::NodeProto;

// The timesteps extent of a recur input with None timesteps (symbolic, like kBatchDim).
constexpr std::int64_t kTimeDim = kBatchDim + 1;
bool symbolic(std::int64_t d) { return d == kBatchDim || d == kTimeDim; }

// Which output of a recur layer: its output (a recurrent layer's sequence), final h, final c.
enum class Out { kMain, kH, kC };

// A recur tensor: model input `input` (layer -1) or an output of layer `layer`.
struct Ref {
  int layer = -1;
  std::size_t input = 0;
  Out which = Out::kMain;
  bool operator==(const Ref&) const = default;
};

// One ONNX axis of a view: recur axis `data` (0 is the batch), a size-1 axis, the direction
// axis of a bidirectional node, or the axis of a Concat stack.
struct Axis {
  enum Kind { kData, kUnit, kDir, kStack };
  Kind kind = kUnit;
  int data = 0;
  bool operator==(const Axis&) const = default;
};
Axis data_axis(int d) { return Axis{Axis::kData, d}; }
Axis unit_axis() { return Axis{Axis::kUnit, 0}; }

// An ONNX tensor computed from the data, as a view of a recur tensor. Recur axes of extent 1
// may be missing from `axes` (an ONNX Squeeze dropped them).
struct Sym {
  Ref ref;
  std::vector<Axis> axes;
  bool reversed = false;       // the time axis (recur axis 1) runs backwards
  int dir_rnn = -1;            // a kDir view: the bidirectional node (Importer::rnns_)
  Out dir_which = Out::kMain;  //   and which of its outputs (Y, Y_h, Y_c)
  std::vector<Sym> parts;      // a kStack view: the stacked tensors, each with a unit axis there
  int find(Axis::Kind k) const {
    for (std::size_t i = 0; i < axes.size(); ++i)
      if (axes[i].kind == k) return static_cast<int>(i);
    return -1;
  }
  bool plain() const { return dir_rnn < 0 && parts.empty(); }
};

// The Equal -> Not -> Cast -> ReduceMax chain recur's exporter writes for Masking.
struct MaskStage {
  Sym x;
  float value = 0;
  int stage = 0;
};

struct Value {
  enum Kind { kConst, kSym, kMask, kInvalid } kind = kConst;
  Const c;
  Sym s;
  MaskStage m;
  std::string why;  // kInvalid: a graph input recur cannot take, refused where a node reads it
};

// A recur layer being made: class, config (without name and, for recurrent layers, without the
// return flags, which its uses decide), weights (names within the layer), inputs.
struct PLayer {
  std::string class_name;
  json config;
  std::vector<std::pair<std::string, Tensor>> weights;
  std::string hint;    // the name it should get
  std::string origin;  // the ONNX node it comes from
  std::vector<Ref> inputs, states;
  bool merge = false;
  bool rnn = false;
  bool used_seq = false, used_h = false, used_c = false;
  Dims shape;        // output (a recurrent layer's sequence output) without the batch
  Dims state_shape;  // recurrent: (units)
  std::string name;
};

// An ONNX LSTM / GRU / RNN node, kept for the layers made from it on demand (bidirectional).
struct RnnNode {
  std::string kind;                                                  // LSTM, GRU, SimpleRNN
  json cell;                                                         // units, activations, use_bias, reset_after
  std::vector<std::vector<std::pair<std::string, Tensor>>> weights;  // per direction, Keras layout
  Ref x;
  Dims x_shape;  // (T, F)
  std::string hint, origin;
  std::map<std::string, int> made;  // layers made from it, by kind of use
  std::vector<std::vector<Ref>> dir_states;  // bidirectional: each direction's initial states (or none)
};

bool is_valid_name(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// The element count of `d`; nullopt when an extent is symbolic or negative, or the count
// passes 2^62.
std::optional<std::int64_t> checked_product(const Dims& d) {
  std::int64_t p = 1;
  for (auto x : d) {
    if (x < 0 || (x > 0 && p > (std::int64_t{1} << 62) / x)) return std::nullopt;
    p *= x;
  }
  return p;
}

// Limits of the conversion: constants it folds (values), layers it makes, the rank of any
// tensor, the units of a Dense it makes for an element-wise constant (a (U, U) kernel).
constexpr std::int64_t kMaxFoldedValues = std::int64_t{1} << 24;
constexpr std::size_t kMaxLayers = 10000;
constexpr std::size_t kMaxRank = 8;
constexpr std::int64_t kMaxDiagonalUnits = 4096;
/// The largest extent of any axis the conversion makes (a constant's, a Flatten's or a
/// concatenation's): 2^31, so that sums and differences of extents never approach int64's range.
constexpr std::int64_t kMaxExtent = std::int64_t{1} << 31;
/// The most repeats of a RepeatVector it makes: the bound the layer registry puts on a stored
/// RepeatVector's n (kMaxConfigUnits, src/layers/config_reader.hpp).
constexpr std::int64_t kMaxRepeats = std::int64_t{1} << 20;

std::vector<std::int64_t> strides_of(const Dims& d) {
  std::vector<std::int64_t> s(d.size(), 1);
  for (std::size_t k = d.size(); k-- > 1;) s[k - 1] = s[k] * d[k];
  return s;
}

// Calls f(flat output index, multi-index) for every element of `dims`, row-major.
template <class F>
void for_each_index(const Dims& dims, F f) {
  const std::int64_t n = checked_product(dims).value_or(0);
  std::vector<std::int64_t> idx(dims.size(), 0);
  for (std::int64_t flat = 0; flat < n; ++flat) {
    f(flat, idx);
    for (std::size_t k = dims.size(); k-- > 0;) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
}

bool all_zero(const Const& c) {
  if (c.zeros) return true;
  for (std::size_t k = 0; k < c.size(); ++k)
    if (c.at(k) != 0.0) return false;
  return true;
}

// A Const with the same values in new dims (Reshape, Squeeze, Unsqueeze).
Const with_dims(Const c, Dims dims) {
  c.dims = std::move(dims);
  return c;
}

// A Const whose output element at multi-index `idx` is input element src(idx). The caller has
// checked the output's size (Importer::fold_size); zeros keep no values.
template <class Src>
Const gather_const(const Const& in, const Dims& out_dims, Src src) {
  Const o;
  o.dims = out_dims;
  o.is_int = in.is_int;
  o.zeros = in.zeros;
  if (in.zeros) return o;
  const std::int64_t n = checked_product(out_dims).value_or(0);
  if (n == 0) return o;  // no element to gather (and the input's strides need not be computed)
  if (in.is_int)
    o.i.resize(static_cast<std::size_t>(n));
  else
    o.f.resize(static_cast<std::size_t>(n));
  const auto st = strides_of(in.dims);
  for_each_index(out_dims, [&](std::int64_t flat, const std::vector<std::int64_t>& idx) {
    const std::vector<std::int64_t> s = src(idx);
    std::int64_t off = 0;
    for (std::size_t k = 0; k < s.size(); ++k) off += s[k] * st[k];
    if (in.is_int)
      o.i[static_cast<std::size_t>(flat)] = in.i[static_cast<std::size_t>(off)];
    else
      o.f[static_cast<std::size_t>(flat)] = in.f[static_cast<std::size_t>(off)];
  });
  return o;
}

// The first recurrent node a graph input reaches through Transpose / Identity / Cast, with
// the ONNX input axis each of that node's operand axes is (perm).
struct Anchor {
  const NodeProto* node = nullptr;
  int operand = 0;
  Dims perm;
};

class Importer {
 public:
  Importer(const ::onnx::ModelProto& model, const std::string& path) : model_(model), g_(model.graph()), path_(path) {}
  ModelFileContents run();

 private:
  // --- messages ---
  std::string where(const NodeProto& n) const {
    std::string s =
        n.name().empty() ? "node #" + std::to_string(node_index_) : "node '" + n.name().substr(0, 100) + "'";
    s += " (" + n.op_type().substr(0, 60);
    if (n.name().empty())
      for (const auto& o : n.output())
        if (!o.empty()) {
          s += ", output '" + o.substr(0, 100) + "'";
          break;
        }
    return s + ")";
  }
  [[noreturn]] void refuse(const NodeProto& n, const std::string& why) const {
    unsupported(path_, "ONNX " + where(n) + " " + why);
  }
  [[noreturn]] void bad(const NodeProto& n, const std::string& why) const {
    damaged(path_, "ONNX " + where(n) + " " + why);
  }

  // --- attributes ---
  // The attribute `name`, checked to be of `type` when the file says (very old files leave
  // the type out).
  const AttributeProto* attr(const NodeProto& n, const std::string& name,
                             AttributeProto::AttributeType type = AttributeProto::UNDEFINED) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) {
        if (type != AttributeProto::UNDEFINED && a.type() != AttributeProto::UNDEFINED && a.type() != type)
          bad(n, "has attribute '" + name + "' of type " + std::to_string(a.type()) + ", expected " +
                     std::to_string(type) + " (onnx.proto's AttributeType).");
        return &a;
      }
    return nullptr;
  }
  std::int64_t attr_i(const NodeProto& n, const std::string& name, std::int64_t def) const {
    const AttributeProto* a = attr(n, name, AttributeProto::INT);
    return a ? a->i() : def;
  }
  float attr_f(const NodeProto& n, const std::string& name, float def) const {
    const AttributeProto* a = attr(n, name, AttributeProto::FLOAT);
    return a ? a->f() : def;
  }
  std::string attr_s(const NodeProto& n, const std::string& name, const std::string& def) const {
    const AttributeProto* a = attr(n, name, AttributeProto::STRING);
    return a ? a->s() : def;
  }
  std::optional<Dims> attr_ints(const NodeProto& n, const std::string& name) const {
    const AttributeProto* a = attr(n, name, AttributeProto::INTS);
    if (!a) return std::nullopt;
    return Dims(a->ints().begin(), a->ints().end());
  }

  // --- values ---
  bool has_input(const NodeProto& n, int k) const { return n.input_size() > k && !n.input(k).empty(); }
  const Value& input(const NodeProto& n, int k) const {
    if (!has_input(n, k)) bad(n, "lacks its input " + std::to_string(k) + ".");
    auto it = values_.find(n.input(k));
    if (it == values_.end())
      bad(n, "reads '" + n.input(k).substr(0, 100) +
                 "', which no earlier node, initializer or graph input makes "
                 "(the graph is not in topological order, or the name is wrong).");
    if (it->second.kind == Value::kInvalid) unsupported(path_, it->second.why + " (read by ONNX " + where(n) + ")");
    return it->second;
  }
  const Const& constant(const NodeProto& n, int k, const std::string& what) const {
    const Value& v = input(n, k);
    if (v.kind != Value::kConst)
      refuse(n, "takes its " + what + " from '" + n.input(k).substr(0, 100) +
                    "', which is computed from the data; recur needs it constant (an initializer or Constant node).");
    return v.c;
  }
  const Sym& sym(const NodeProto& n, int k) const {
    const Value& v = input(n, k);
    if (v.kind != Value::kSym) refuse(n, "takes input " + std::to_string(k) + " in a form recur cannot express here.");
    return v.s;
  }
  // Integer values of a constant (axes, shapes, indices); symbolic entries allowed if asked.
  Dims ints(const NodeProto& n, const Const& c, const std::string& what, bool allow_symbolic = false) const {
    Dims out;
    for (std::size_t k = 0; k < c.size(); ++k) {
      const double v = c.at(k);
      if (c.is_int) {
        if (symbolic(c.i[k]) && !allow_symbolic)
          refuse(n, "has " + what + " that depend on the batch size; recur needs them constant.");
        out.push_back(c.i[k]);
      } else {
        if (v != std::floor(v) || std::fabs(v) > 9.0e15) bad(n, "has " + what + " that are not integers.");
        out.push_back(static_cast<std::int64_t>(v));
      }
    }
    if (c.zeros) out.assign(static_cast<std::size_t>(fold_size(n, c.dims)), 0);
    return out;
  }
  Dims axes_input(const NodeProto& n, int k, const std::string& attr_name) const {
    if (has_input(n, k)) return ints(n, constant(n, k, "axes"), "axes");
    return attr_ints(n, attr_name).value_or(Dims{});
  }
  // The values of a constant the node folds, refused beyond kMaxFoldedValues or when an extent
  // depends on the batch.
  std::int64_t fold_size(const NodeProto& n, const Dims& dims) const {
    const auto count = checked_product(dims);
    if (!count)
      refuse(n, "makes a constant of shape " + dims_str(dims) + "; recur folds constants of fixed shape only.");
    if (*count > kMaxFoldedValues)
      refuse(n, "makes a constant of " + std::to_string(*count) + " values; recur folds at most " +
                    std::to_string(kMaxFoldedValues) + " (shapes, initial states).");
    return *count;
  }
  void set(const NodeProto& n, int k, Value v) {
    if (n.output_size() <= k || n.output(k).empty()) return;
    const std::size_t rank = v.kind == Value::kSym ? v.s.axes.size() : v.kind == Value::kConst ? v.c.dims.size() : 0;
    if (rank > kMaxRank) refuse(n, "makes a tensor of rank " + std::to_string(rank) + "; recur reads ranks up to 8.");
    // A constant's extents come from the file (ConstantOfShape, Expand of zeros, folded shape
    // arithmetic): each must be an extent or the batch / timesteps placeholder, so that the
    // sums and differences of the folds stay far inside int64, and the product of the non-zero
    // ones (a 0 must not hide the others: the folds compute strides from them) is bounded by
    // the budget of values the conversion keeps.
    if (v.kind == Value::kConst) {
      std::uint64_t extents = 1;
      for (std::int64_t d : v.c.dims) {
        if (symbolic(d)) continue;
        if (d < 0) bad(n, "makes a constant of shape " + dims_str(v.c.dims) + ", with a negative extent.");
        if (d > kMaxExtent)
          refuse(n, "makes a constant of shape " + dims_str(v.c.dims) + "; recur reads extents up to " +
                        std::to_string(kMaxExtent) + ".");
        if (d != 0 && __builtin_mul_overflow(extents, static_cast<std::uint64_t>(d), &extents)) extents = UINT64_MAX;
      }
      if (extents > static_cast<std::uint64_t>(value_budget_))
        refuse(n, "makes a constant of shape " + dims_str(v.c.dims) + ", more than the " +
                      std::to_string(value_budget_) + " values recur folds for this file.");
    }
    // Every value kept costs memory: a chain of Identity nodes copying a large constant, or a
    // stack of many tensors, must not multiply it without bound.
    kept_values_ += static_cast<std::int64_t>(v.c.size() + v.s.parts.size() + 1);
    if (kept_values_ > value_budget_)
      damaged(path_, "ONNX " + where(n) + ": the graph's constants and values add up to more than " +
                         std::to_string(value_budget_) +
                         " values; the file is crafted or far larger than any "
                         "recurrent model recur reads.");
    values_[n.output(k)] = std::move(v);
  }
  void set_sym(const NodeProto& n, Sym s, int k = 0) {
    Value v;
    v.kind = Value::kSym;
    v.s = std::move(s);
    set(n, k, std::move(v));
  }
  void set_const(const NodeProto& n, Const c, int k = 0) {
    Value v;
    v.c = std::move(c);
    set(n, k, std::move(v));
  }

  // --- views ---
  Dims rshape(const Ref& r) const {
    Dims s{kBatchDim};
    const Dims& d = r.layer < 0 ? inputs_[r.input].shape
                                : (layers_[static_cast<std::size_t>(r.layer)].rnn && r.which != Out::kMain
                                       ? layers_[static_cast<std::size_t>(r.layer)].state_shape
                                       : layers_[static_cast<std::size_t>(r.layer)].shape);
    s.insert(s.end(), d.begin(), d.end());
    return s;
  }
  // The recur shape a view's data axes index (for a direction view: one direction's).
  Dims sym_rshape(const Sym& s) const {
    if (!s.parts.empty()) return sym_rshape(s.parts[0]);
    if (s.dir_rnn >= 0) {
      const RnnNode& r = rnns_[static_cast<std::size_t>(s.dir_rnn)];
      const std::int64_t U = r.cell.at("units").get<std::int64_t>();
      return s.dir_which == Out::kMain ? Dims{kBatchDim, r.x_shape[0], U} : Dims{kBatchDim, U};
    }
    return rshape(s.ref);
  }
  Dims onnx_dims(const Sym& s) const {
    const Dims rs = sym_rshape(s);
    Dims d;
    for (const Axis& a : s.axes)
      d.push_back(a.kind == Axis::kData    ? rs[static_cast<std::size_t>(a.data)]
                  : a.kind == Axis::kDir   ? 2
                  : a.kind == Axis::kStack ? static_cast<std::int64_t>(s.parts.size())
                                           : 1);
    return d;
  }
  static std::string view_str(const Sym& s) {
    std::string v = "[";
    for (std::size_t k = 0; k < s.axes.size(); ++k) {
      const Axis& a = s.axes[k];
      v += k ? ", " : "";
      v += a.kind == Axis::kData    ? (a.data == 0 ? std::string("batch") : "axis " + std::to_string(a.data))
           : a.kind == Axis::kDir   ? std::string("direction")
           : a.kind == Axis::kStack ? std::string("stack")
                                    : std::string("1");
    }
    return v + "]";
  }
  // The view with its axes rearranged by `f` (applied to the stacked parts alike).
  template <class F>
  Sym remap(Sym s, F f) const {
    s.axes = f(s.axes);
    for (Sym& p : s.parts) p = remap(p, f);
    return s;
  }
  // True when the view is the recur tensor itself up to size-1 axes: the data axes in order,
  // the batch first, nothing reversed, no direction or stack axis.
  bool ordered(const Sym& s) const {
    if (!s.plain() || s.reversed) return false;
    int last = -1;
    std::set<int> seen;
    for (const Axis& a : s.axes) {
      if (a.kind == Axis::kUnit) continue;
      if (a.kind != Axis::kData || a.data <= last) return false;
      if (last < 0 && a.data != 0) return false;
      last = a.data;
      seen.insert(a.data);
    }
    const Dims rs = sym_rshape(s);
    for (std::size_t d = 0; d < rs.size(); ++d)
      if (!seen.count(static_cast<int>(d)) && rs[d] != 1) return false;
    return last >= 0;
  }
  Sym canonical_view(const Ref& r) const {
    Sym s;
    s.ref = r;
    for (std::size_t k = 0; k < rshape(r).size(); ++k) s.axes.push_back(data_axis(static_cast<int>(k)));
    return s;
  }

  // --- recur layers ---
  int add_layer(PLayer l) {
    if (layers_.size() >= kMaxLayers)
      unsupported(path_, "the ONNX graph makes more than " + std::to_string(kMaxLayers) + " recur layers (at " +
                             l.origin + "); recur models have at most that many.");
    // The weights the layers hold, charged against what the file can justify: every value in
    // it twice, and four of the largest diagonal kernels (Mul by a constant makes one of
    // U x U from U values), so that a small file cannot make many large kernels.
    for (const auto& w : l.weights) weight_values_ += static_cast<std::int64_t>(w.second.size());
    const std::int64_t weight_budget = 2 * value_budget_ + 4 * kMaxDiagonalUnits * kMaxDiagonalUnits;
    if (weight_values_ > weight_budget)
      damaged(path_, "the ONNX graph's layers hold more than " + std::to_string(weight_budget) +
                         " weights (at " + l.origin + "); the file is crafted or far larger than any recurrent model "
                         "recur reads.");
    layers_.push_back(std::move(l));
    return static_cast<int>(layers_.size()) - 1;
  }
  void use(const Ref& r) {
    if (r.layer < 0) return;
    PLayer& l = layers_[static_cast<std::size_t>(r.layer)];
    if (!l.rnn) return;
    if (r.which == Out::kMain) l.used_seq = true;
    if (r.which == Out::kH) l.used_h = true;
    if (r.which == Out::kC) l.used_c = true;
  }
  // A layer of one input (`x`), output shape `shape`; returns its output.
  Ref layer1(const NodeProto& n, const std::string& cls, json config, const Ref& x, Dims shape,
             std::vector<std::pair<std::string, Tensor>> weights = {}) {
    PLayer l;
    l.class_name = cls;
    l.config = std::move(config);
    l.weights = std::move(weights);
    l.hint = n.name();
    l.origin = where(n);
    l.inputs = {x};
    l.shape = std::move(shape);
    use(x);
    const int k = add_layer(std::move(l));
    if (n.output_size() > 0) direct_[k] = n.output(0);
    return Ref{k, 0, Out::kMain};
  }
  Ref merge_directions(const NodeProto& n, const Sym& s, const std::string& mode);
  Sym select_direction(const NodeProto& n, const Sym& s, int axis, std::int64_t d, bool keep_axis);
  // The bidirectional node whose directions the view `s` holds (refused when `s` is another
  // view with a direction axis, such as a stack of such views).
  RnnNode& direction_node(const NodeProto& n, const Sym& s) {
    if (s.dir_rnn < 0 || static_cast<std::size_t>(s.dir_rnn) >= rnns_.size() || !s.parts.empty())
      refuse(n, "takes apart the directions of a tensor that is not a bidirectional node's output.");
    return rnns_[static_cast<std::size_t>(s.dir_rnn)];
  }
  Ref zeros_like_state(const NodeProto& n, const Ref& h, std::int64_t units);
  // True when input k of the node is, with this node its only reader, the very output of a
  // layer of class `cls` that the node can fold into (a bias, an activation, one more input).
  bool fusable(const NodeProto& n, int k, const Sym& s, const std::string& cls) const {
    if (!s.plain() || s.ref.layer < 0 || !has_input(n, k)) return false;
    auto it = direct_.find(s.ref.layer);
    return it != direct_.end() && it->second == n.input(k) && consumers_.at(n.input(k)) == 1 &&
           !graph_outputs_.count(n.input(k)) && layers_[static_cast<std::size_t>(s.ref.layer)].class_name == cls;
  }
  Tensor weight_tensor(const NodeProto& n, const Const& c, Shape shape, const std::string& what) const {
    if (c.is_int) refuse(n, "has integer " + what + "; recur's weights are floats.");
    // The count, checked before the tensor is allocated: zeros store no values, so their shape
    // is bounded by the file's value budget (the same as every value the conversion keeps).
    const Dims dims(shape.begin(), shape.end());
    const std::optional<std::int64_t> count = checked_product(dims);  // nullopt past 2^62 or for a placeholder
    if (!count || (c.zeros ? *count > value_budget_ : static_cast<std::uint64_t>(*count) != c.f.size()))
      bad(n, "has " + what + " of " + (c.zeros ? std::string("zeros") : std::to_string(c.f.size()) + " values") +
                 " where its shape " + dims_str(dims) + " needs " +
                 (count ? std::to_string(*count) : std::string("more than 2^62")) + " values.");
    Tensor t(std::move(shape));
    if (c.zeros) return t;
    for (std::size_t k = 0; k < c.f.size(); ++k) {
      if (!std::isfinite(c.f[k]))
        throw ModelFormatError(path_ + ": ONNX " + where(n) + " has a non-finite value in its " + what + ".",
                               codes::kNonFiniteData);
      t[k] = c.f[k];
    }
    return t;
  }

  // --- the op handlers ---
  void convert(const NodeProto& n);
  void op_constant(const NodeProto& n);
  void op_shape_like(const NodeProto& n);  // Identity, Cast, Dropout
  void op_transpose(const NodeProto& n);
  void op_squeeze(const NodeProto& n, bool un);
  void op_reshape(const NodeProto& n);
  void op_flatten(const NodeProto& n);
  void op_concat(const NodeProto& n);
  void op_gather(const NodeProto& n);
  void op_slice(const NodeProto& n);
  void op_split(const NodeProto& n);
  void op_shape(const NodeProto& n);
  void op_constant_of_shape(const NodeProto& n);
  void op_expand_tile(const NodeProto& n);
  void op_matmul(const NodeProto& n);
  void op_gemm(const NodeProto& n);
  void op_binary(const NodeProto& n);
  void op_sum(const NodeProto& n);
  void op_activation(const NodeProto& n);
  void op_reduce(const NodeProto& n);
  void op_mask(const NodeProto& n);
  void op_rnn(const NodeProto& n);
  // Dense on the last ONNX axis (which must be the recur tensor's last axis, unless
  // `elementwise`: a diagonal kernel, indifferent to the view's order).
  Sym dense(const NodeProto& n, const Sym& x, Tensor kernel, std::optional<Tensor> bias, const std::string& activation,
            bool elementwise = false);
  Sym merge_syms(const NodeProto& n, const std::vector<Sym>& xs, const std::string& cls, json config);

  void bind_inputs();
  void bind_input(const ::onnx::ValueInfoProto& vi,
                  const std::function<std::optional<Anchor>(const std::string&, const Dims&, int)>& find_anchor);
  ModelFileContents finish();

  const ::onnx::ModelProto& model_;
  const ::onnx::GraphProto& g_;
  std::string path_;
  std::int64_t opset_ = 1;
  int node_index_ = 0;
  std::map<std::string, Value> values_;
  std::map<std::string, int> consumers_;
  std::set<std::string> graph_outputs_;
  struct In {
    std::string name;
    Dims shape;                           // recur shape without the batch (kTimeDim: None)
    std::vector<std::int64_t> onnx_axes;  // recur axis i is ONNX axis onnx_axes[i]
  };
  std::vector<In> inputs_;
  std::vector<PLayer> layers_;
  std::vector<RnnNode> rnns_;
  std::map<int, std::string> direct_;  // layer -> the ONNX value that is its output
  std::vector<std::string> notes_;     // what the conversion changed in form, for the metadata
  std::int64_t kept_values_ = 0;
  std::int64_t value_budget_ = 0;
  std::int64_t weight_values_ = 0;  // the values of every layer's weights (add_layer)
  void note(const std::string& s) {
    if (notes_.size() < 20 && std::find(notes_.begin(), notes_.end(), s) == notes_.end()) notes_.push_back(s);
  }
};

// ---- graph inputs ------------------------------------------------------------------------------

// Each graph input becomes a recur input: its batch axis first, and - when it feeds a recurrent
// node (through Transposes) - its other axes in the order that node reads them, so that a
// time-major X (T, batch, F) becomes recur's (batch, T, F).
void Importer::bind_inputs() {
  std::set<std::string> initializers;
  for (const auto& t : g_.initializer()) initializers.insert(t.name());
  // Who reads each value (node, operand), so that each search visits a node at most once.
  std::map<std::string, std::vector<std::pair<int, int>>> readers;
  for (int j = 0; j < g_.node_size(); ++j)
    for (int k = 0; k < g_.node(j).input_size(); ++k) readers[g_.node(j).input(k)].emplace_back(j, k);
  std::set<int> visited;
  // Visits of all the searches together: each search visits a node at most once, but a crafted
  // graph of many inputs that all reach the same large web of Identity nodes would otherwise
  // cost inputs x nodes.
  std::int64_t visits = 0;
  const std::int64_t max_visits = 16 * static_cast<std::int64_t>(g_.node_size()) + 1'000'000;
  std::function<std::optional<Anchor>(const std::string&, const Dims&, int)> find_anchor =
      [&](const std::string& value, const Dims& perm, int depth) -> std::optional<Anchor> {
    if (depth > 16) return std::nullopt;
    auto it = readers.find(value);
    if (it == readers.end()) return std::nullopt;
    for (const auto& [j, k] : it->second) {
      if (visited.insert(j).second) {
        if (++visits > max_visits)
          damaged(path_, "finding where the graph inputs lead took more than " + std::to_string(max_visits) +
                             " node visits; the file is crafted.");
        const NodeProto& n = g_.node(j);
        const std::string& op = n.op_type();
        if (op == "LSTM" || op == "GRU" || op == "RNN") {
          if (k == 0 || k == 5 || k == 6) return Anchor{&n, k, perm};
        } else if ((op == "Identity" || op == "Cast") && n.output_size() > 0) {
          if (auto a = find_anchor(n.output(0), perm, depth + 1)) return a;
        } else if (op == "Transpose" && n.output_size() > 0) {
          Dims p = attr_ints(n, "perm").value_or(Dims{});
          if (p.empty())
            for (std::size_t q = perm.size(); q-- > 0;) p.push_back(static_cast<std::int64_t>(q));
          if (p.size() != perm.size()) continue;
          Dims next;
          for (auto q : p) {
            if (q < 0 || q >= static_cast<std::int64_t>(perm.size())) return std::nullopt;
            next.push_back(perm[static_cast<std::size_t>(q)]);
          }
          if (auto a = find_anchor(n.output(0), next, depth + 1)) return a;
        }
      }
    }
    return std::nullopt;
  };
  for (const auto& vi : g_.input()) {
    if (initializers.count(vi.name())) continue;  // IR < 4 lists initializers as inputs too
    try {
      visited.clear();
      bind_input(vi, find_anchor);
    } catch (const ModelFormatError& e) {
      // Refused only where a node reads it: a graph input recur cannot take (sequence lengths,
      // say) is better reported by the node that uses it.
      Value v;
      v.kind = Value::kInvalid;
      v.why = e.message();
      if (v.why.rfind(path_ + ": ", 0) == 0) v.why = v.why.substr(path_.size() + 2);
      values_[vi.name()] = v;
    }
  }
}

void Importer::bind_input(
    const ::onnx::ValueInfoProto& vi,
    const std::function<std::optional<Anchor>(const std::string&, const Dims&, int)>& find_anchor) {
  const std::string what = "graph input '" + vi.name().substr(0, 100) + "'";
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
    unsupported(path_, "ONNX " + what +
                           " declares no tensor shape; recur needs each input's rank and extents "
                           "(all but the batch and the timesteps fixed).");
  const auto& shape = vi.type().tensor_type().shape();
  const std::size_t rank = static_cast<std::size_t>(shape.dim_size());
  if (rank < 2 || rank > 5)
    unsupported(path_, "ONNX " + what + " has rank " + std::to_string(rank) +
                           "; recur's inputs have a batch axis and 1 to 4 more.");
  Dims dims;  // -1: symbolic
  for (const auto& d : shape.dim()) dims.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : -1);
  Dims identity;
  for (std::size_t k = 0; k < rank; ++k) identity.push_back(static_cast<std::int64_t>(k));
  Dims order = identity;  // recur axis i is ONNX axis order[i]
  if (auto a = find_anchor(vi.name(), identity, 0); a && rank == 3) {
    const std::int64_t layout = attr_i(*a->node, "layout", 0);
    const Dims& p = a->perm;
    if (a->operand == 0) {
      order = layout == 0 ? Dims{p[1], p[0], p[2]} : Dims{p[0], p[1], p[2]};
    } else {
      // A state (num_directions, batch, units): the size-1 direction axis is left out.
      const std::int64_t direction_axis = layout == 0 ? p[0] : p[1];
      if (dims[static_cast<std::size_t>(direction_axis)] == 1)
        order = layout == 0 ? Dims{p[1], p[2]} : Dims{p[0], p[2]};
    }
  }
  In in;
  in.name = vi.name();
  in.onnx_axes = order;
  for (std::size_t i = 1; i < order.size(); ++i) {
    const std::int64_t d = dims[static_cast<std::size_t>(order[i])];
    if (d < 0) {
      // Only the timesteps (the first axis after the batch, of a sequence input) may be None.
      if (i == 1 && order.size() >= 3) {
        in.shape.push_back(kTimeDim);
        continue;
      }
      unsupported(path_, "ONNX " + what + " axis " + std::to_string(order[i]) +
                             " has no fixed extent; recur's inputs fix every extent but the batch and the "
                             "timesteps. Export the model with that axis static.");
    }
    if (d > (std::int64_t{1} << 24)) unsupported(path_, "ONNX " + what + " has an extent above 16777216.");
    in.shape.push_back(d);
  }
  Sym s;
  s.ref = Ref{-1, inputs_.size(), Out::kMain};
  for (std::size_t o = 0; o < rank; ++o) {
    const auto it = std::find(order.begin(), order.end(), static_cast<std::int64_t>(o));
    s.axes.push_back(it == order.end() ? unit_axis() : data_axis(static_cast<int>(it - order.begin())));
  }
  inputs_.push_back(std::move(in));
  Value v;
  v.kind = Value::kSym;
  v.s = s;
  values_[vi.name()] = v;
}

// ---- the conversion ----------------------------------------------------------------------------

ModelFileContents Importer::run() {
  // Folded constants may hold a few times what the file does, plus shapes.
  value_budget_ = 4 * static_cast<std::int64_t>(model_.ByteSizeLong() / 4) + (std::int64_t{1} << 24);
  for (const auto& o : model_.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  if (g_.node_size() > kMaxNodes)
    damaged(path_, "the ONNX graph has " + std::to_string(g_.node_size()) + " nodes; recur reads at most " +
                       std::to_string(kMaxNodes) + ".");
  if (g_.initializer_size() > kMaxInitializers)
    damaged(path_, "the ONNX graph has " + std::to_string(g_.initializer_size()) +
                       " initializers; recur reads at most " + std::to_string(kMaxInitializers) + ".");
  if (g_.sparse_initializer_size() > 0)
    unsupported(path_, "the ONNX graph holds sparse initializers ('" +
                           g_.sparse_initializer(0).values().name().substr(0, 100) + "'); recur reads dense tensors.");
  // Subgraphs first (Loop, Scan, If bodies): recur runs no control flow.
  for (int k = 0; k < g_.node_size(); ++k) {
    node_index_ = k;
    const NodeProto& n = g_.node(k);
    for (const auto& a : n.attribute())
      if (a.has_g() || a.graphs_size() > 0 || a.type() == AttributeProto::GRAPH || a.type() == AttributeProto::GRAPHS)
        refuse(n, "holds a subgraph (attribute '" + a.name().substr(0, 60) +
                      "'): recur runs no ONNX control flow (Loop, Scan, If). Export the recurrent layers as native "
                      "LSTM / GRU / RNN nodes instead (tf2onnx does when it recognizes the Keras layer; "
                      "torch.onnx.export always does).");
  }
  for (const auto& t : g_.initializer()) {
    Value v;
    v.c = read_tensor(t, path_, "initializer '" + t.name().substr(0, 100) + "'");
    values_[t.name()] = std::move(v);
  }
  for (const auto& n : g_.node())
    for (const auto& i : n.input()) ++consumers_[i];
  for (const auto& o : g_.output()) {
    ++consumers_[o.name()];
    graph_outputs_.insert(o.name());
  }
  bind_inputs();
  for (int k = 0; k < g_.node_size(); ++k) {
    node_index_ = k;
    convert(g_.node(k));
  }
  return finish();
}

void Importer::convert(const NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    refuse(n, "is from the operator domain '" + n.domain().substr(0, 60) +
                  "'; recur reads the standard ONNX operators only.");
  if (std::all_of(n.output().begin(), n.output().end(), [](const std::string& o) { return o.empty(); }))
    bad(n, "has no output.");
  const std::string& op = n.op_type();
  // The operand and result counts of the operators' schemas (onnx/defs): a node with more is
  // not valid ONNX, and recur would otherwise ignore what it cannot read.
  struct Arity {
    const char* op;
    int min_in, max_in, max_out;
  };
  static constexpr Arity kArity[] = {
      {"Constant", 0, 0, 1},     {"Identity", 1, 1, 1},    {"Cast", 1, 1, 1},
      {"Dropout", 1, 3, 2},      {"Transpose", 1, 1, 1},   {"Squeeze", 1, 2, 1},
      {"Unsqueeze", 1, 2, 1},    {"Reshape", 2, 2, 1},     {"Flatten", 1, 1, 1},
      {"Concat", 1, 1 << 20, 1}, {"Gather", 2, 2, 1},      {"Slice", 1, 5, 1},
      {"Split", 1, 2, 1 << 20},  {"Shape", 1, 1, 1},       {"ConstantOfShape", 1, 1, 1},
      {"Expand", 2, 2, 1},       {"Tile", 2, 2, 1},        {"MatMul", 2, 2, 1},
      {"Gemm", 2, 3, 1},         {"Add", 2, 2, 1},         {"Sub", 2, 2, 1},
      {"Mul", 2, 2, 1},          {"Div", 2, 2, 1},         {"Sum", 1, 1 << 20, 1},
      {"Relu", 1, 1, 1},         {"Tanh", 1, 1, 1},        {"Sigmoid", 1, 1, 1},
      {"Softmax", 1, 1, 1},      {"HardSigmoid", 1, 1, 1}, {"Elu", 1, 1, 1},
      {"Selu", 1, 1, 1},         {"Softplus", 1, 1, 1},    {"Softsign", 1, 1, 1},
      {"Exp", 1, 1, 1},          {"ReduceMean", 1, 2, 1},  {"ReduceMax", 1, 2, 1},
      {"ReduceSum", 1, 2, 1},    {"ReduceProd", 1, 2, 1},  {"Equal", 2, 2, 1},
      {"Not", 1, 1, 1},          {"LSTM", 3, 8, 3},        {"GRU", 3, 6, 2},
      {"RNN", 3, 6, 2},
  };
  for (const Arity& a : kArity)
    if (op == a.op && (n.input_size() < a.min_in || n.input_size() > a.max_in || n.output_size() > a.max_out))
      bad(n, "has " + std::to_string(n.input_size()) + " inputs and " + std::to_string(n.output_size()) + " outputs; " +
                 op + " takes " + std::to_string(a.min_in) + " to " + std::to_string(a.max_in) +
                 " inputs and at most " + std::to_string(a.max_out) + " outputs.");
  if (op == "Constant") return op_constant(n);
  if (op == "Identity" || op == "Cast" || op == "Dropout") return op_shape_like(n);
  if (op == "Transpose") return op_transpose(n);
  if (op == "Squeeze") return op_squeeze(n, false);
  if (op == "Unsqueeze") return op_squeeze(n, true);
  if (op == "Reshape") return op_reshape(n);
  if (op == "Flatten") return op_flatten(n);
  if (op == "Concat") return op_concat(n);
  if (op == "Gather") return op_gather(n);
  if (op == "Slice") return op_slice(n);
  if (op == "Split") return op_split(n);
  if (op == "Shape") return op_shape(n);
  if (op == "ConstantOfShape") return op_constant_of_shape(n);
  if (op == "Expand" || op == "Tile") return op_expand_tile(n);
  if (op == "MatMul") return op_matmul(n);
  if (op == "Gemm") return op_gemm(n);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return op_binary(n);
  if (op == "Sum") return op_sum(n);
  if (op == "Relu" || op == "Tanh" || op == "Sigmoid" || op == "Softmax" || op == "HardSigmoid" || op == "Elu" ||
      op == "Selu" || op == "Softplus" || op == "Softsign" || op == "Exp")
    return op_activation(n);
  if (op == "ReduceMean" || op == "ReduceMax" || op == "ReduceSum" || op == "ReduceProd") return op_reduce(n);
  if (op == "Equal" || op == "Not") return op_mask(n);
  if (op == "LSTM" || op == "GRU" || op == "RNN") return op_rnn(n);
  refuse(n,
         "is an operator recur cannot express. recur reads LSTM, GRU and RNN nodes with the ops exporters write "
         "around them: Transpose, Squeeze, Unsqueeze, Reshape, Flatten, Concat, Gather, Slice, Split, Shape, "
         "ConstantOfShape, Expand, Tile, Constant, Identity, Cast, Dropout, MatMul, Gemm, Add, Sub, Mul, Div, "
         "Sum, Relu, Tanh, Sigmoid, Softmax, HardSigmoid, Elu, Selu, Softplus, Softsign, Exp, ReduceMean, "
         "ReduceMax, ReduceSum, ReduceProd (and the Equal/Not/Cast/ReduceMax/Mul of a Masking layer).");
}

void Importer::op_constant(const NodeProto& n) {
  Const c;
  if (const AttributeProto* a = attr(n, "value", AttributeProto::TENSOR)) {
    c = read_tensor(a->t(), path_, "the value of ONNX " + where(n));
  } else if (const AttributeProto* a = attr(n, "value_float", AttributeProto::FLOAT)) {
    c.f = {a->f()};
  } else if (const AttributeProto* a = attr(n, "value_floats", AttributeProto::FLOATS)) {
    c.f.assign(a->floats().begin(), a->floats().end());
    c.dims = {static_cast<std::int64_t>(c.f.size())};
  } else if (const AttributeProto* a = attr(n, "value_int", AttributeProto::INT)) {
    c.is_int = true;
    c.i = {a->i()};
  } else if (const AttributeProto* a = attr(n, "value_ints", AttributeProto::INTS)) {
    c.is_int = true;
    c.i.assign(a->ints().begin(), a->ints().end());
    c.dims = {static_cast<std::int64_t>(c.i.size())};
  } else {
    refuse(n, "holds a sparse or string value; recur reads dense numeric constants.");
  }
  set_const(n, std::move(c));
}

void Importer::op_shape_like(const NodeProto& n) {
  Value v = input(n, 0);
  if (n.op_type() == "Dropout" && n.output_size() > 1 && !n.output(1).empty() && consumers_[n.output(1)] > 0)
    refuse(n, "has its mask output read; recur runs inference, where Dropout is the identity and has no mask.");
  if (n.op_type() == "Cast") {
    const std::int64_t to = attr_i(n, "to", ::onnx::TensorProto::FLOAT);
    if (v.kind == Value::kMask && v.m.stage == 2 && to == ::onnx::TensorProto::FLOAT) v.m.stage = 3;
    if (v.kind == Value::kConst && !v.c.zeros) {
      const bool to_int =
          to == ::onnx::TensorProto::INT64 || to == ::onnx::TensorProto::INT32 || to == ::onnx::TensorProto::BOOL;
      if (to_int && !v.c.is_int) {
        for (float f : v.c.f) {
          // NaN and values beyond int64 have no integer (the conversion would be undefined).
          if (to != ::onnx::TensorProto::BOOL && !(std::fabs(f) < 9.2e18f))
            bad(n, "casts the value " + std::to_string(f) + " to an integer type that cannot hold it.");
          v.c.i.push_back(to == ::onnx::TensorProto::BOOL ? (f != 0.0f) : static_cast<std::int64_t>(f));
        }
        v.c.f.clear();
        v.c.is_int = true;
      } else if (!to_int && v.c.is_int) {
        for (auto i : v.c.i) {
          if (symbolic(i)) refuse(n, "casts a batch-dependent shape to floats; recur cannot express that.");
          v.c.f.push_back(static_cast<float>(i));
        }
        v.c.i.clear();
        v.c.is_int = false;
      }
    } else if (v.kind == Value::kConst) {
      v.c.is_int =
          to == ::onnx::TensorProto::INT64 || to == ::onnx::TensorProto::INT32 || to == ::onnx::TensorProto::BOOL;
    }
  }
  set(n, 0, v);
}

void Importer::op_transpose(const NodeProto& n) {
  const Value& v = input(n, 0);
  const std::size_t rank = v.kind == Value::kSym ? v.s.axes.size() : v.kind == Value::kConst ? v.c.dims.size() : 0;
  if (v.kind == Value::kMask)
    refuse(n, "transposes a mask computation; recur reads Masking only as its exporter writes it.");
  Dims perm = attr_ints(n, "perm").value_or(Dims{});
  if (perm.empty())
    for (std::size_t k = rank; k-- > 0;) perm.push_back(static_cast<std::int64_t>(k));
  std::vector<bool> seen(rank, false);
  if (perm.size() != rank)
    bad(n, "has perm of " + std::to_string(perm.size()) + " axes for a tensor of rank " + std::to_string(rank) + ".");
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(p)])
      bad(n, "has a perm that is not a permutation.");
    seen[static_cast<std::size_t>(p)] = true;
  }
  if (v.kind == Value::kSym) {
    set_sym(n, remap(v.s, [&](const std::vector<Axis>& a) {
              std::vector<Axis> out;
              for (auto p : perm) out.push_back(a[static_cast<std::size_t>(p)]);
              return out;
            }));
    return;
  }
  Dims out_dims;
  for (auto p : perm) out_dims.push_back(v.c.dims[static_cast<std::size_t>(p)]);
  if (!v.c.zeros) fold_size(n, out_dims);
  set_const(n, gather_const(v.c, out_dims, [&](const std::vector<std::int64_t>& idx) {
              std::vector<std::int64_t> src(rank);
              for (std::size_t k = 0; k < rank; ++k) src[static_cast<std::size_t>(perm[k])] = idx[k];
              return src;
            }));
}

void Importer::op_squeeze(const NodeProto& n, bool un) {
  const Value& v = input(n, 0);
  if (v.kind == Value::kMask)
    refuse(n, "reshapes a mask computation; recur reads Masking only as its exporter writes it.");
  Dims axes = axes_input(n, 1, "axes");
  const Dims in_dims = v.kind == Value::kSym ? onnx_dims(v.s) : v.c.dims;
  const std::int64_t out_rank = static_cast<std::int64_t>(in_dims.size()) +
                                (un ? static_cast<std::int64_t>(axes.size()) : -static_cast<std::int64_t>(axes.size()));
  const std::int64_t range = un ? out_rank : static_cast<std::int64_t>(in_dims.size());
  if (!un && axes.empty())
    for (std::size_t k = 0; k < in_dims.size(); ++k)
      if (in_dims[k] == 1) axes.push_back(static_cast<std::int64_t>(k));
  for (auto& a : axes) {
    if (a < -range || a >= range) bad(n, "has axis " + std::to_string(a) + " outside the rank.");
    if (a < 0) a += range;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) bad(n, "lists an axis twice.");
  if (!un)
    for (auto a : axes)
      if (in_dims[static_cast<std::size_t>(a)] != 1)
        bad(n, "squeezes axis " + std::to_string(a) + " of extent " +
                   (symbolic(in_dims[static_cast<std::size_t>(a)])
                        ? std::string("batch")
                        : std::to_string(in_dims[static_cast<std::size_t>(a)])) +
                   ".");
  if (v.kind == Value::kSym) {
    if (!un)
      for (auto a : axes) {
        const Axis& ax = v.s.axes[static_cast<std::size_t>(a)];
        if (ax.kind == Axis::kData && ax.data == 0) refuse(n, "squeezes the batch axis; recur keeps it.");
      }
    set_sym(n, remap(v.s, [&](const std::vector<Axis>& a) {
              std::vector<Axis> out;
              if (un) {
                std::size_t j = 0;
                for (std::int64_t k = 0; k < out_rank; ++k)
                  out.push_back(std::binary_search(axes.begin(), axes.end(), k) ? unit_axis() : a[j++]);
              } else {
                for (std::size_t k = 0; k < a.size(); ++k)
                  if (!std::binary_search(axes.begin(), axes.end(), static_cast<std::int64_t>(k))) out.push_back(a[k]);
              }
              return out;
            }));
    return;
  }
  Dims out;
  if (un) {
    std::size_t j = 0;
    for (std::int64_t k = 0; k < out_rank; ++k)
      out.push_back(std::binary_search(axes.begin(), axes.end(), k) ? 1 : in_dims[j++]);
  } else {
    for (std::size_t k = 0; k < in_dims.size(); ++k)
      if (!std::binary_search(axes.begin(), axes.end(), static_cast<std::int64_t>(k))) out.push_back(in_dims[k]);
  }
  set_const(n, with_dims(v.c, out));
}

// The output dims of a Reshape of `in` to `spec` (0 copies an extent unless allowzero, one -1
// is inferred); symbolic extents (batch, timesteps) pass only where 0 copies them or the spec
// names them. Empty when it cannot be resolved.
std::optional<Dims> resolve_reshape(const Dims& in, const Dims& spec, bool allowzero) {
  Dims out;
  int infer = -1;
  for (std::size_t k = 0; k < spec.size(); ++k) {
    std::int64_t d = spec[k];
    if (d == 0 && !allowzero) {
      if (k >= in.size()) return std::nullopt;
      d = in[k];
    } else if (d == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(k);
    } else if (d < 0 && !symbolic(d)) {
      return std::nullopt;
    }
    out.push_back(d);
  }
  // Symbols must match one to one; the rest is a product of plain extents.
  std::multiset<std::int64_t> in_sym, out_sym;
  Dims in_plain, out_plain;
  for (auto d : in) symbolic(d) ? (void)in_sym.insert(d) : in_plain.push_back(d);
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (static_cast<int>(k) == infer) continue;
    symbolic(out[k]) ? (void)out_sym.insert(out[k]) : out_plain.push_back(out[k]);
  }
  const auto in_count = checked_product(in_plain), out_count = checked_product(out_plain);
  if (!in_count || !out_count) return std::nullopt;
  const std::int64_t in_p = *in_count;
  std::int64_t out_p = *out_count;
  if (infer >= 0) {
    if (out_sym.size() + 1 == in_sym.size() && in_p == out_p) {
      // The -1 stands for the one symbol the spec does not name.
      for (auto s : out_sym) {
        const auto it = in_sym.find(s);
        if (it == in_sym.end()) return std::nullopt;  // the spec names a placeholder the input lacks
        in_sym.erase(it);
      }
      out[static_cast<std::size_t>(infer)] = *in_sym.begin();
      return out;
    }
    if (out_p == 0 || in_p % out_p) return std::nullopt;
    out[static_cast<std::size_t>(infer)] = in_p / out_p;
    out_p = in_p;
  }
  if (in_sym != out_sym || in_p != out_p) return std::nullopt;
  return out;
}

void Importer::op_reshape(const NodeProto& n) {
  const Value& v = input(n, 0);
  const Dims spec = ints(n, constant(n, 1, "target shape"), "a target shape", true);
  const bool allowzero = attr_i(n, "allowzero", 0) != 0;
  if (v.kind == Value::kMask)
    refuse(n, "reshapes a mask computation; recur reads Masking only as its exporter writes it.");
  if (v.kind == Value::kConst) {
    const auto out = resolve_reshape(v.c.dims, spec, allowzero);
    if (!out) bad(n, "reshapes " + dims_str(v.c.dims) + " to " + dims_str(spec) + ", which does not fit.");
    set_const(n, with_dims(v.c, *out));
    return;
  }
  const Sym& s = v.s;
  const Dims in = onnx_dims(s);
  const auto out_opt = resolve_reshape(in, spec, allowzero);
  if (!out_opt) bad(n, "reshapes " + dims_str(in) + " to " + dims_str(spec) + ", which does not fit.");
  const Dims& out = *out_opt;
  if (!s.parts.empty())
    refuse(n, "reshapes a stack of tensors (a Concat along a new axis); recur cannot express that.");
  // A bidirectional node's (direction, units) merged into one axis: Keras's merge_mode concat.
  if (const int p = s.find(Axis::kDir); p >= 0) {
    const Dims rs = sym_rshape(s);
    const bool merges = static_cast<std::size_t>(p) + 1 < s.axes.size() &&
                        s.axes[static_cast<std::size_t>(p) + 1] == data_axis(static_cast<int>(rs.size()) - 1) &&
                        out.size() + 1 == in.size();
    bool same = merges;
    for (std::size_t k = 0; same && k < out.size(); ++k) {
      const std::int64_t want = k < static_cast<std::size_t>(p)    ? in[k]
                                : k == static_cast<std::size_t>(p) ? 2 * in[k + 1]
                                                                   : in[k + 1];
      same = out[k] == want;
    }
    if (!same)
      refuse(n,
             "reshapes the output of a bidirectional node other than by merging its direction axis into the "
             "units (Keras's merge_mode concat): view " +
                 view_str(s) + ", " + dims_str(in) + " to " + dims_str(out) + ".");
    Sym merged = canonical_view(merge_directions(n, s, "concat"));
    merged.axes = s.axes;
    merged.axes.erase(merged.axes.begin() + p);
    merged.reversed = false;
    set_sym(n, merged);
    return;
  }
  // Only size-1 axes added or removed: the same view.
  {
    std::vector<std::size_t> in_big, out_big;
    for (std::size_t k = 0; k < in.size(); ++k)
      if (in[k] != 1) in_big.push_back(k);
    for (std::size_t k = 0; k < out.size(); ++k)
      if (out[k] != 1) out_big.push_back(k);
    bool same = in_big.size() == out_big.size();
    for (std::size_t j = 0; same && j < in_big.size(); ++j) same = in[in_big[j]] == out[out_big[j]];
    if (same) {
      Sym r = s;
      r.axes.clear();
      std::size_t j = 0;
      for (std::size_t k = 0; k < out.size(); ++k) r.axes.push_back(out[k] != 1 ? s.axes[in_big[j++]] : unit_axis());
      set_sym(n, r);
      return;
    }
  }
  // Anything else: a recur Reshape of the batch-major tensor.
  if (!ordered(s) || out.empty() || out[0] != kBatchDim || out.size() < 2 || out.size() > 5)
    refuse(n, "reshapes " + dims_str(in) + " to " + dims_str(out) + " on a tensor recur holds as " +
                  dims_str(sym_rshape(s)) + " (ONNX axes " + view_str(s) +
                  "); recur's Reshape keeps the batch axis first and the values in batch-major order.");
  const Dims rs = sym_rshape(s);
  Dims target(out.begin() + 1, out.end());
  for (auto d : target)
    if (symbolic(d)) refuse(n, "reshapes with the timesteps extent unknown; recur's Reshape needs fixed extents.");
  if (Dims(rs.begin() + 1, rs.end()) == target) {
    set_sym(n, canonical_view(s.ref));
    return;
  }
  set_sym(n, canonical_view(layer1(n, "Reshape", {{"target_shape", target}}, s.ref, target)));
}

void Importer::op_flatten(const NodeProto& n) {
  const Value& v = input(n, 0);
  const std::int64_t axis = attr_i(n, "axis", 1);
  if (v.kind == Value::kConst) {
    if (axis < 0 || axis > static_cast<std::int64_t>(v.c.dims.size())) bad(n, "has an axis outside the rank.");
    const Dims head(v.c.dims.begin(), v.c.dims.begin() + axis), tail(v.c.dims.begin() + axis, v.c.dims.end());
    fold_size(n, v.c.dims);
    const std::optional<std::int64_t> rows = checked_product(head), cols = checked_product(tail);
    if (!rows || !cols) refuse(n, "flattens a constant of shape " + dims_str(v.c.dims) + "; recur cannot fold that.");
    set_const(n, with_dims(v.c, {*rows, *cols}));
    return;
  }
  if (v.kind != Value::kSym || axis != 1 || !ordered(v.s))
    refuse(n, "flattens other than all axes after the batch of a batch-major tensor; recur's Flatten keeps the batch.");
  const Dims rs = sym_rshape(v.s);
  for (std::size_t k = 1; k < rs.size(); ++k)
    if (symbolic(rs[k])) refuse(n, "flattens a sequence of unknown length; recur's Flatten needs fixed extents.");
  const std::optional<std::int64_t> p = checked_product(Dims(rs.begin() + 1, rs.end()));
  if (!p || *p > kMaxExtent)
    refuse(n, "flattens " + dims_str(Dims(rs.begin() + 1, rs.end())) + " into more than " +
                  std::to_string(kMaxExtent) + " features.");
  if (rs.size() == 2) {
    set_sym(n, canonical_view(v.s.ref));
    return;
  }
  set_sym(n, canonical_view(layer1(n, "Flatten", json::object(), v.s.ref, {*p})));
}

void Importer::op_shape(const NodeProto& n) {
  const Value& v = input(n, 0);
  const Dims d = v.kind == Value::kSym ? onnx_dims(v.s) : v.kind == Value::kConst ? v.c.dims : onnx_dims(v.m.x);
  Const c;
  c.is_int = true;
  std::int64_t start = attr_i(n, "start", 0), end = attr_i(n, "end", static_cast<std::int64_t>(d.size()));
  const auto r = static_cast<std::int64_t>(d.size());
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<std::int64_t>(start, 0, r);
  end = std::clamp<std::int64_t>(end, start, r);
  c.i.assign(d.begin() + start, d.begin() + end);
  c.dims = {static_cast<std::int64_t>(c.i.size())};
  set_const(n, c);
}

void Importer::op_constant_of_shape(const NodeProto& n) {
  const Dims shape = ints(n, constant(n, 0, "shape"), "a shape", true);
  Const value;
  value.f = {0.0f};
  if (const AttributeProto* a = attr(n, "value", AttributeProto::TENSOR))
    value = read_tensor(a->t(), path_, "the value of ONNX " + where(n));
  if (value.size() != 1) bad(n, "has a value that is not one element.");
  Const c;
  c.dims = shape;
  c.is_int = value.is_int;
  bool sym_dims = false;
  for (auto d : shape) sym_dims = sym_dims || symbolic(d);
  if (value.at(0) == 0.0) {
    c.zeros = true;
  } else if (sym_dims) {
    refuse(n, "fills a batch-sized tensor with " + std::to_string(value.at(0)) +
                  "; recur expresses batch-sized constants only as zero initial states.");
  } else {
    const std::int64_t count = fold_size(n, shape);
    for (std::int64_t k = 0; k < count; ++k) {
      if (c.is_int)
        c.i.push_back(value.i[0]);
      else
        c.f.push_back(value.f[0]);
    }
  }
  set_const(n, c);
}

void Importer::op_concat(const NodeProto& n) {
  std::vector<const Value*> xs;
  for (int k = 0; k < n.input_size(); ++k)
    if (!n.input(k).empty()) xs.push_back(&input(n, k));
  if (xs.empty()) bad(n, "has no inputs.");
  const AttributeProto* axis_attr = attr(n, "axis", AttributeProto::INT);
  if (!axis_attr) bad(n, "has no axis.");
  std::int64_t axis = axis_attr->i();
  bool all_const = true, all_sym = true;
  for (const Value* v : xs) {
    all_const = all_const && v->kind == Value::kConst;
    all_sym = all_sym && v->kind == Value::kSym;
  }
  if (all_const) {
    const std::size_t rank = xs[0]->c.dims.size();
    if (axis < 0) axis += static_cast<std::int64_t>(rank);
    if (axis < 0 || axis >= static_cast<std::int64_t>(rank)) bad(n, "has an axis outside the rank.");
    const auto a = static_cast<std::size_t>(axis);
    Dims out = xs[0]->c.dims;
    out[a] = 0;
    bool zeros = true, is_int = xs[0]->c.is_int;
    for (const Value* v : xs) {
      if (v->c.dims.size() != rank) bad(n, "concatenates tensors of different ranks.");
      for (std::size_t k = 0; k < rank; ++k)
        if (k != a && v->c.dims[k] != xs[0]->c.dims[k]) bad(n, "concatenates tensors whose other extents differ.");
      if (symbolic(v->c.dims[a])) refuse(n, "concatenates along a batch-sized axis.");
      if (__builtin_add_overflow(out[a], v->c.dims[a], &out[a]) || out[a] > kMaxExtent)
        refuse(n, "concatenates constants into an axis of more than " + std::to_string(kMaxExtent) + " entries.");
      zeros = zeros && v->c.zeros;
      if (v->c.is_int != is_int) bad(n, "concatenates integer and float tensors.");
    }
    Const c;
    c.dims = out;
    c.is_int = is_int;
    c.zeros = zeros;
    if (!zeros) {
      for (const Value* v : xs)
        if (v->c.zeros) refuse(n, "concatenates batch-sized zeros with stored values.");
      fold_size(n, out);  // bounds the values built below, before they are built
      std::int64_t outer = 1, inner = 1;
      for (std::size_t k = 0; k < a; ++k) outer *= out[k];
      for (std::size_t k = a + 1; k < rank; ++k) inner *= out[k];
      for (std::int64_t o = 0; o < outer; ++o)
        for (const Value* v : xs) {
          const std::int64_t chunk = v->c.dims[a] * inner;
          for (std::int64_t j = 0; j < chunk; ++j) {
            const auto src = static_cast<std::size_t>(o * chunk + j);
            if (is_int)
              c.i.push_back(v->c.i[src]);
            else
              c.f.push_back(v->c.f[src]);
          }
        }
    }
    set_const(n, c);
    return;
  }
  if (!all_sym) refuse(n, "concatenates constants with tensors computed from the data; recur cannot express that.");
  const std::size_t rank = xs[0]->s.axes.size();
  if (axis < 0) axis += static_cast<std::int64_t>(rank);
  if (axis < 0 || axis >= static_cast<std::int64_t>(rank)) bad(n, "has an axis outside the rank.");
  const auto a = static_cast<std::size_t>(axis);
  // Along a size-1 axis (or an existing stack): a stack of tensors, to be taken apart again by
  // Gather / Slice / Split (PyTorch's h_n of a multi-layer LSTM).
  bool stacking = true;
  for (const Value* v : xs)
    stacking =
        stacking && v->s.axes.size() == rank && (v->s.axes[a].kind == Axis::kUnit || v->s.axes[a].kind == Axis::kStack);
  if (stacking) {
    for (const Value* v : xs) {
      if (!v->s.parts.empty() && v->s.axes[a].kind != Axis::kStack)
        refuse(n, "stacks tensors that are stacks along another axis; recur takes stacks apart one level deep.");
      if (v->s.dir_rnn >= 0)
        refuse(n, "stacks the two directions of a bidirectional node with other tensors; take the directions apart "
                  "first.");
    }
    Sym st;
    st.axes = xs[0]->s.axes;
    st.axes[a] = Axis{Axis::kStack, 0};
    for (const Value* v : xs) {
      if (v->s.axes[a].kind == Axis::kStack) {
        for (const Sym& p : v->s.parts) st.parts.push_back(p);
      } else {
        st.parts.push_back(v->s);
      }
      // Charged as set() will charge it, but before copies of copies can multiply the parts.
      if (kept_values_ + static_cast<std::int64_t>(st.parts.size()) > value_budget_)
        refuse(n, "stacks more tensors than the " + std::to_string(value_budget_) +
                      " values recur keeps for this file; the file is crafted.");
    }
    set_sym(n, st);
    return;
  }
  // Along a data axis: recur's Concatenate, every input the same view of its tensor.
  std::vector<Sym> syms;
  for (const Value* v : xs) syms.push_back(v->s);
  const Axis& ax = syms[0].axes[a];
  if (ax.kind != Axis::kData || ax.data == 0)
    refuse(n, "concatenates along " +
                  std::string(ax.kind == Axis::kData ? "the batch axis" : "an axis recur does not hold") +
                  "; recur's Concatenate joins tensors along a feature or time axis.");
  set_sym(n, merge_syms(n, syms, "Concatenate", {{"axis", ax.data}}));
}

// A merge layer (Concatenate, Add, Multiply, Average) of views that are all the same view of
// their tensors; the output is that view of the merged tensor.
Sym Importer::merge_syms(const NodeProto& n, const std::vector<Sym>& xs, const std::string& cls, json config) {
  const Dims rs0 = sym_rshape(xs[0]);
  for (const Sym& s : xs) {
    if (!s.plain()) refuse(n, "merges a bidirectional node's directions or a stack; recur merges whole tensors.");
    bool same = s.axes == xs[0].axes && s.reversed == xs[0].reversed && sym_rshape(s).size() == rs0.size();
    if (same && cls != "Concatenate") same = sym_rshape(s) == rs0;
    if (!same)
      refuse(n, "merges tensors laid out differently (" + view_str(s) + " " + dims_str(sym_rshape(s)) + " and " +
                    view_str(xs[0]) + " " + dims_str(rs0) + "); recur's " + cls +
                    " merges tensors of one layout, without broadcasting.");
    if (s.reversed) refuse(n, "merges sequences that run backwards in time; recur cannot express that.");
  }
  // Add(Add(a, b), c) is one Add of three (Multiply alike), when the inner one has no other reader.
  std::vector<Ref> refs;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Sym& s = xs[k];
    const bool inner = cls != "Concatenate" && fusable(n, static_cast<int>(k), s, cls);
    if (inner) {
      for (const Ref& r : layers_[static_cast<std::size_t>(s.ref.layer)].inputs) refs.push_back(r);
      layers_[static_cast<std::size_t>(s.ref.layer)].inputs.clear();  // unused now: pruned at the end
    } else {
      refs.push_back(s.ref);
    }
  }
  Dims shape(rs0.begin() + 1, rs0.end());
  if (cls == "Concatenate") {
    const auto a = static_cast<std::size_t>(config.at("axis").get<int>()) - 1;
    shape[a] = 0;
    for (const Sym& s : xs) {
      const std::int64_t d = sym_rshape(s)[a + 1];
      if (symbolic(d) || symbolic(shape[a])) refuse(n, "concatenates along an axis of unknown length.");
      if (__builtin_add_overflow(shape[a], d, &shape[a]) || shape[a] > kMaxExtent)
        refuse(n, "concatenates into an axis of more than " + std::to_string(kMaxExtent) + " entries.");
    }
  }
  PLayer l;
  l.class_name = cls;
  l.config = std::move(config);
  l.hint = n.name();
  l.origin = where(n);
  l.inputs = refs;
  l.merge = true;
  l.shape = shape;
  for (const Ref& r : refs) use(r);
  const int k = add_layer(std::move(l));
  if (n.output_size() > 0) direct_[k] = n.output(0);
  Sym out = xs[0];
  out.ref = Ref{k, 0, Out::kMain};
  return out;
}

void Importer::op_gather(const NodeProto& n) {
  const Value& data = input(n, 0);
  const Const& indices_c = input(n, 1).kind == Value::kConst ? input(n, 1).c : Const{};
  std::int64_t axis = attr_i(n, "axis", 0);
  // An embedding lookup: rows of a constant table at ids computed from the data.
  if (data.kind == Value::kConst && input(n, 1).kind == Value::kSym) {
    const Sym& ids = input(n, 1).s;
    if (axis != 0 || data.c.dims.size() != 2 || !ids.plain() || ids.reversed || sym_rshape(ids).size() != 2 ||
        ids.axes.size() != 2 || ids.find(Axis::kUnit) >= 0)
      refuse(n,
             "gathers from a constant other than rows of a 2-D table at (batch, timesteps) ids; recur's Embedding "
             "takes (batch, timesteps) ids and a (input_dim, output_dim) table.");
    const auto V = static_cast<std::size_t>(data.c.dims[0]), D = static_cast<std::size_t>(data.c.dims[1]);
    if (V < 1 || D < 1) bad(n, "gathers from an empty table.");
    const Dims ids_shape = sym_rshape(ids);
    Dims shape(ids_shape.begin() + 1, ids_shape.end());
    shape.push_back(static_cast<std::int64_t>(D));
    Sym out = ids;
    out.ref = layer1(n, "Embedding",
                     {{"input_dim", V}, {"output_dim", D}, {"embeddings_initializer", "uniform"}, {"mask_zero", false}},
                     ids.ref, shape, {{"embeddings", weight_tensor(n, data.c, {V, D}, "embedding table")}});
    out.axes.push_back(data_axis(2));
    set_sym(n, out);
    return;
  }
  if (input(n, 1).kind != Value::kConst)
    refuse(n, "gathers at indices computed from the data from a tensor that is not a constant table.");
  const Dims idx = ints(n, indices_c, "indices");
  if (data.kind == Value::kConst) {
    const Dims& d = data.c.dims;
    const auto rank = static_cast<std::int64_t>(d.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) bad(n, "has an axis outside the rank.");
    const auto a = static_cast<std::size_t>(axis);
    if (symbolic(d[a])) refuse(n, "gathers along a batch-sized axis of a constant.");
    Dims out(d.begin(), d.begin() + axis);
    out.insert(out.end(), indices_c.dims.begin(), indices_c.dims.end());
    out.insert(out.end(), d.begin() + axis + 1, d.end());
    Dims fixed = idx;
    for (auto& i : fixed) {
      if (i < 0) i += d[a];
      if (i < 0 || i >= d[a])
        bad(n, "gathers index " + std::to_string(i) + " of an axis of extent " + std::to_string(d[a]) + ".");
    }
    if (data.c.zeros) {
      set_const(n, with_dims(data.c, out));
      return;
    }
    const std::size_t ir = indices_c.dims.size();
    fold_size(n, out);
    set_const(n, gather_const(data.c, out, [&](const std::vector<std::int64_t>& o) {
                std::vector<std::int64_t> src(o.begin(), o.begin() + axis);
                std::int64_t flat = 0;
                for (std::size_t k = 0; k < ir; ++k) flat = flat * indices_c.dims[k] + o[a + k];
                src.push_back(fixed[static_cast<std::size_t>(flat)]);
                src.insert(src.end(), o.begin() + axis + static_cast<std::int64_t>(ir), o.end());
                return src;
              }));
    return;
  }
  if (data.kind != Value::kSym) refuse(n, "gathers from a mask computation.");
  const Sym& s = data.s;
  const auto rank = static_cast<std::int64_t>(s.axes.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) bad(n, "has an axis outside the rank.");
  if (idx.size() != 1 || indices_c.dims.size() > 1)
    refuse(n,
           "gathers more than one index from a tensor computed from the data; recur can take one step, one "
           "direction or one stacked tensor.");
  const bool keep = indices_c.dims.size() == 1;  // indices [k]: the axis stays, of extent 1
  const auto a = static_cast<std::size_t>(axis);
  std::int64_t i = idx[0];
  const std::int64_t extent = onnx_dims(s)[a];
  if (!symbolic(extent)) {
    if (i < 0) i += extent;
    if (i < 0 || i >= extent)
      bad(n, "gathers index " + std::to_string(idx[0]) + " of an axis of extent " + std::to_string(extent) + ".");
  }
  const Axis ax = s.axes[a];
  auto drop = [&](Sym r) {
    return remap(std::move(r), [&](std::vector<Axis> v) {
      if (keep)
        v[a] = unit_axis();
      else
        v.erase(v.begin() + axis);
      return v;
    });
  };
  if (ax.kind == Axis::kStack) {
    Sym p = s.parts[static_cast<std::size_t>(i)];
    set_sym(n, drop(p));
    return;
  }
  if (ax.kind == Axis::kDir) {
    set_sym(n, select_direction(n, s, static_cast<int>(axis), i, keep));
    return;
  }
  if (ax.kind == Axis::kUnit) {
    set_sym(n, drop(s));
    return;
  }
  // One timestep of a recurrent layer's sequence: its last one is the final h.
  const Dims rs = sym_rshape(s);
  if (s.plain() && ax.data == 1 && s.ref.layer >= 0 && layers_[static_cast<std::size_t>(s.ref.layer)].rnn &&
      s.ref.which == Out::kMain && layers_[static_cast<std::size_t>(s.ref.layer)].class_name != "Bidirectional") {
    const bool last =
        symbolic(extent) ? (s.reversed ? idx[0] == 0 : idx[0] == -1) : (s.reversed ? i == 0 : i == extent - 1);
    if (last) {
      Sym h = s;
      h.ref.which = Out::kH;
      h.reversed = false;
      h.axes.clear();
      for (std::size_t k = 0; k < s.axes.size(); ++k) {
        Axis x = s.axes[k];
        if (k == a) {
          if (keep) h.axes.push_back(unit_axis());
          continue;
        }
        if (x.kind == Axis::kData && x.data > 1) --x.data;
        h.axes.push_back(x);
      }
      set_sym(n, h);
      return;
    }
  }
  refuse(n, "gathers index " + std::to_string(idx[0]) + " of " +
                (ax.data == 0 ? std::string("the batch axis") : "recur axis " + std::to_string(ax.data)) +
                " of a tensor computed from the data; recur can take only the last step of a recurrent layer's "
                "sequence (its final state), one direction of a bidirectional node, or one stacked tensor.");
}

void Importer::op_slice(const NodeProto& n) {
  const Value& v = input(n, 0);
  Dims starts, ends, axes, steps;
  if (has_input(n, 1) || opset_ >= 10) {
    starts = ints(n, constant(n, 1, "starts"), "starts");
    ends = ints(n, constant(n, 2, "ends"), "ends");
    if (has_input(n, 3)) axes = ints(n, constant(n, 3, "axes"), "axes");
    if (has_input(n, 4)) steps = ints(n, constant(n, 4, "steps"), "steps");
  } else {
    starts = attr_ints(n, "starts").value_or(Dims{});
    ends = attr_ints(n, "ends").value_or(Dims{});
    axes = attr_ints(n, "axes").value_or(Dims{});
  }
  if (v.kind == Value::kMask) refuse(n, "slices a mask computation.");
  const Dims in = v.kind == Value::kSym ? onnx_dims(v.s) : v.c.dims;
  const auto rank = static_cast<std::int64_t>(in.size());
  if (axes.empty())
    for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    bad(n, "has starts, ends, axes and steps of different lengths.");
  // Per axis: the first index, the step and the count (ONNX's clamping rules).
  Dims first(in.size(), 0), step(in.size(), 1), count = in;
  std::vector<bool> sliced(in.size(), false);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    std::int64_t a = axes[k];
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) bad(n, "has an axis outside the rank.");
    const auto ua = static_cast<std::size_t>(a);
    const std::int64_t d = in[ua];
    const std::int64_t st = steps[k];
    if (st == 0) bad(n, "has a step of 0.");
    if (symbolic(d)) {
      // A batch-sized or unknown-length axis: only a full slice, or the whole reversed.
      const bool full = st == 1 && starts[k] == 0 && ends[k] >= std::numeric_limits<std::int32_t>::max();
      const bool reverse = st == -1 && starts[k] == -1 && ends[k] <= std::numeric_limits<std::int32_t>::min();
      if (!full && !reverse) refuse(n, "slices part of an axis of unknown length; recur cannot express that.");
      if (reverse) {
        sliced[ua] = true;
        step[ua] = -1;
      }
      continue;
    }
    auto clampi = [](std::int64_t x, std::int64_t lo, std::int64_t hi) { return std::min(std::max(x, lo), hi); };
    std::int64_t s0 = starts[k] < 0 ? starts[k] + d : starts[k];
    std::int64_t e0 = ends[k] < 0 ? ends[k] + d : ends[k];
    if (ends[k] <= std::numeric_limits<std::int64_t>::min() / 2) e0 = -1;
    if (st > 0) {
      s0 = clampi(s0, 0, d);
      e0 = clampi(e0, 0, d);
      count[ua] = e0 > s0 ? (e0 - s0 - 1) / st + 1 : 0;
    } else {
      s0 = clampi(s0, 0, d - 1);
      e0 = clampi(e0, -1, d - 1);
      const std::int64_t back =
          st == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max() : -st;
      count[ua] = s0 > e0 ? (s0 - e0 - 1) / back + 1 : 0;
    }
    first[ua] = s0;
    step[ua] = st;
    sliced[ua] = !(s0 == 0 && st == 1 && count[ua] == d);
  }
  if (v.kind == Value::kConst) {
    for (std::size_t k = 0; k < in.size(); ++k)
      if (symbolic(in[k]) && sliced[k]) refuse(n, "reverses a batch-sized constant.");
    if (v.c.zeros) {
      set_const(n, with_dims(v.c, count));
      return;
    }
    set_const(n, gather_const(v.c, count, [&](const std::vector<std::int64_t>& o) {
                std::vector<std::int64_t> src(o.size());
                for (std::size_t k = 0; k < o.size(); ++k) src[k] = first[k] + o[k] * step[k];
                return src;
              }));
    return;
  }
  Sym s = v.s;
  for (std::size_t k = 0; k < in.size(); ++k) {
    if (!sliced[k]) continue;
    const Axis ax = s.axes[k];
    const bool whole_reverse = step[k] == -1 && (symbolic(in[k]) || (first[k] == in[k] - 1 && count[k] == in[k]));
    if (ax.kind == Axis::kData && ax.data == 1 && whole_reverse && s.plain() && sym_rshape(s).size() == 3) {
      s.reversed = !s.reversed;  // the time axis runs the other way
      continue;
    }
    if (ax.kind == Axis::kUnit && count[k] == 1) continue;
    if (count[k] == 1 && ax.kind == Axis::kStack) {
      Sym p = s.parts[static_cast<std::size_t>(first[k])];
      s = p;  // the part already has a size-1 axis here
      continue;
    }
    if (count[k] == 1 && ax.kind == Axis::kDir) {
      s = select_direction(n, s, static_cast<int>(k), first[k], true);
      continue;
    }
    if (count[k] == 1 && ax.kind == Axis::kData && ax.data == 1 && s.plain() && s.ref.layer >= 0 &&
        layers_[static_cast<std::size_t>(s.ref.layer)].rnn && s.ref.which == Out::kMain &&
        layers_[static_cast<std::size_t>(s.ref.layer)].class_name != "Bidirectional" &&
        (s.reversed ? first[k] == 0 : first[k] == in[k] - 1)) {
      // The last step of a recurrent layer's sequence: its final h, the axis kept as size 1.
      Sym h = s;
      h.ref.which = Out::kH;
      h.reversed = false;
      for (std::size_t j = 0; j < h.axes.size(); ++j) {
        if (j == k)
          h.axes[j] = unit_axis();
        else if (h.axes[j].kind == Axis::kData && h.axes[j].data > 1)
          --h.axes[j].data;
      }
      s = h;
      continue;
    }
    refuse(n, "slices " + std::to_string(count[k]) + " of " + std::to_string(in[k]) + " entries (from " +
                  std::to_string(first[k]) + ", step " + std::to_string(step[k]) + ") of ONNX axis " +
                  std::to_string(k) + " (view " + view_str(s) +
                  "); recur can reverse a sequence in time, take a recurrent layer's last "
                  "step, one direction of a bidirectional node or one stacked tensor.");
  }
  set_sym(n, s);
}

void Importer::op_split(const NodeProto& n) {
  const Value& v = input(n, 0);
  if (v.kind != Value::kSym) refuse(n, "splits a constant; recur folds only shape arithmetic.");
  std::int64_t axis = attr_i(n, "axis", 0);
  const auto rank = static_cast<std::int64_t>(v.s.axes.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) bad(n, "has an axis outside the rank.");
  const Axis ax = v.s.axes[static_cast<std::size_t>(axis)];
  const std::int64_t extent = onnx_dims(v.s)[static_cast<std::size_t>(axis)];
  if ((ax.kind != Axis::kDir && ax.kind != Axis::kStack) || n.output_size() != extent)
    refuse(n, "splits a tensor computed from the data other than into its directions or stacked tensors.");
  for (int k = 0; k < n.output_size(); ++k) {
    if (ax.kind == Axis::kStack)
      set_sym(n, v.s.parts[static_cast<std::size_t>(k)], k);
    else
      set_sym(n, select_direction(n, v.s, static_cast<int>(axis), k, true), k);
  }
}

void Importer::op_expand_tile(const NodeProto& n) {
  const Value& v = input(n, 0);
  const bool tile = n.op_type() == "Tile";
  const Dims arg = ints(n, constant(n, 1, tile ? "repeats" : "shape"), tile ? "repeats" : "a shape", !tile);
  if (v.kind == Value::kConst) {
    if (tile || !all_zero(v.c)) refuse(n, "expands a constant that is not zero; recur folds only zero initial states.");
    // Numpy broadcasting of the dims.
    Dims out(std::max(arg.size(), v.c.dims.size()), 1);
    for (std::size_t k = 0; k < out.size(); ++k) {
      const std::int64_t a = k + arg.size() >= out.size() ? arg[k + arg.size() - out.size()] : 1;
      const std::int64_t b = k + v.c.dims.size() >= out.size() ? v.c.dims[k + v.c.dims.size() - out.size()] : 1;
      if (a != b && a != 1 && b != 1) bad(n, "expands " + dims_str(v.c.dims) + " to " + dims_str(arg) + ".");
      out[k] = a == 1 ? b : a;
    }
    Const c;
    c.dims = out;
    c.zeros = true;
    c.is_int = v.c.is_int;
    set_const(n, c);
    return;
  }
  if (v.kind != Value::kSym) refuse(n, "repeats a mask computation.");
  // A (batch, features) tensor with a size-1 axis repeated n times: Keras's RepeatVector.
  const Sym& s = v.s;
  const Dims in = onnx_dims(s);
  if (arg.size() != in.size()) refuse(n, "changes the rank; recur's RepeatVector repeats an existing size-1 axis.");
  int axis = -1;
  std::int64_t times = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    // Only a unit axis (extent 1) may grow, so Tile's repeats are its new extent, as Expand's are.
    const std::int64_t want = arg[k];
    const bool same = tile ? arg[k] == 1 : (arg[k] == 1 || arg[k] == in[k]);
    if (same) continue;
    if (axis >= 0 || s.axes[k].kind != Axis::kUnit || want < 1) {
      axis = -2;
      break;
    }
    axis = static_cast<int>(k);
    times = want;
  }
  const Dims rs = sym_rshape(s);
  if (axis == -1) {
    set_sym(n, s);
    return;
  }
  if (axis < 0 || !s.plain() || s.reversed || rs.size() != 2 || s.find(Axis::kData) < 0)
    refuse(n, "repeats a tensor other than (batch, features) along one new axis (Keras's RepeatVector): view " +
                  view_str(s) + ", " + dims_str(in) + " by " + dims_str(arg) + ".");
  if (times > kMaxRepeats)
    refuse(n, "repeats a tensor " + std::to_string(times) + " times; recur's RepeatVector repeats at most " +
                  std::to_string(kMaxRepeats) + " times.");
  const Ref r = layer1(n, "RepeatVector", {{"n", times}}, s.ref, {times, rs[1]});
  Sym out = s;
  out.ref = r;
  for (std::size_t k = 0; k < out.axes.size(); ++k) {
    if (static_cast<int>(k) == axis)
      out.axes[k] = data_axis(1);
    else if (out.axes[k].kind == Axis::kData && out.axes[k].data == 1)
      out.axes[k] = data_axis(2);
  }
  set_sym(n, out);
}

// Dense on the last ONNX axis, which must be the tensor's last recur axis.
Sym Importer::dense(const NodeProto& n, const Sym& x, Tensor kernel, std::optional<Tensor> bias,
                    const std::string& activation, bool elementwise) {
  const Dims rs = sym_rshape(x);
  if (!x.plain() || x.axes.empty() || (!elementwise && !(x.axes.back() == data_axis(static_cast<int>(rs.size()) - 1))))
    refuse(n, "multiplies along ONNX axis " + std::to_string(x.axes.size() - 1) + " of view " + view_str(x) +
                  ", which is not the features axis of the tensor recur holds; recur's Dense works on the last axis.");
  const std::size_t F = kernel.dim(0), U = kernel.dim(1);
  if (rs.back() != static_cast<std::int64_t>(F))
    bad(n, "multiplies " + std::to_string(rs.back()) + " features by a (" + std::to_string(F) + ", " +
               std::to_string(U) + ") matrix.");
  json cfg = {{"units", U},
              {"activation", activation},
              {"use_bias", bias.has_value()},
              {"kernel_initializer", "glorot_uniform"},
              {"bias_initializer", "zeros"}};
  std::vector<std::pair<std::string, Tensor>> w{{"kernel", std::move(kernel)}};
  if (bias) w.emplace_back("bias", std::move(*bias));
  Dims shape(rs.begin() + 1, rs.end());
  shape.back() = static_cast<std::int64_t>(U);
  Sym out = x;
  out.ref = layer1(n, "Dense", cfg, x.ref, shape, std::move(w));
  return out;
}

void Importer::op_matmul(const NodeProto& n) {
  const Value& a = input(n, 0);
  const Value& b = input(n, 1);
  if (a.kind != Value::kSym || b.kind != Value::kConst || b.c.dims.size() != 2)
    refuse(n,
           "multiplies other than a tensor computed from the data by a constant 2-D matrix; recur's Dense is "
           "x (..., features) times a (features, units) kernel.");
  const auto F = static_cast<std::size_t>(b.c.dims[0]), U = static_cast<std::size_t>(b.c.dims[1]);
  if (F < 1 || U < 1) bad(n, "has an empty matrix.");
  set_sym(n, dense(n, a.s, weight_tensor(n, b.c, {F, U}, "matrix"), std::nullopt, "linear"));
}

void Importer::op_gemm(const NodeProto& n) {
  const Value& a = input(n, 0);
  if (a.kind != Value::kSym || attr_i(n, "transA", 0) != 0)
    refuse(n, "is a Gemm whose A is not a (batch, features) tensor computed from the data; recur's Dense is x W + b.");
  const Const& B = constant(n, 1, "matrix B");
  if (B.dims.size() != 2) bad(n, "has a B that is not 2-D.");
  const bool tb = attr_i(n, "transB", 0) != 0;
  const float alpha = attr_f(n, "alpha", 1.0f), beta = attr_f(n, "beta", 1.0f);
  const auto F = static_cast<std::size_t>(tb ? B.dims[1] : B.dims[0]),
             U = static_cast<std::size_t>(tb ? B.dims[0] : B.dims[1]);
  if (F < 1 || U < 1) bad(n, "has an empty matrix.");
  const Tensor b =
      weight_tensor(n, B, {static_cast<std::size_t>(B.dims[0]), static_cast<std::size_t>(B.dims[1])}, "matrix B");
  Tensor kernel({F, U});
  for (std::size_t f = 0; f < F; ++f)
    for (std::size_t u = 0; u < U; ++u) kernel[f * U + u] = alpha * (tb ? b[u * F + f] : b[f * U + u]);
  std::optional<Tensor> bias;
  if (has_input(n, 2)) {
    const Const& C = constant(n, 2, "bias C");
    if (!(C.size() == 1 || C.size() == U) || (C.dims.size() == 2 && C.dims[0] != 1))
      refuse(n, "adds a C of shape " + dims_str(C.dims) + "; recur's Dense adds one bias per unit.");
    const Tensor c = weight_tensor(n, C, {C.size()}, "bias C");
    bias = Tensor({U});
    for (std::size_t u = 0; u < U; ++u) (*bias)[u] = beta * c[C.size() == 1 ? 0 : u];
  }
  if (a.s.axes.size() != 2)
    refuse(n, "has an A of rank " + std::to_string(a.s.axes.size()) + "; Gemm multiplies 2-D tensors.");
  set_sym(n, dense(n, a.s, std::move(kernel), std::move(bias), "linear"));
}

void Importer::op_binary(const NodeProto& n) {
  const Value& a = input(n, 0);
  const Value& b = input(n, 1);
  const std::string& op = n.op_type();
  // Masking's last step: x * keep.
  if (op == "Mul" && (a.kind == Value::kMask || b.kind == Value::kMask)) {
    const Value& m = a.kind == Value::kMask ? a : b;
    const Value& x = a.kind == Value::kMask ? b : a;
    const Dims rs = m.m.x.plain() ? sym_rshape(m.m.x) : Dims{};
    if (m.m.stage != 4 || x.kind != Value::kSym || !(x.s.ref == m.m.x.ref) || x.s.axes != m.m.x.axes ||
        x.s.reversed != m.m.x.reversed || rs.size() != 3 || !(x.s.axes.back() == data_axis(2)))
      refuse(n, "is not the Masking pattern recur writes (x * ReduceMax(Cast(Not(Equal(x, v))), last axis)).");
    Sym out = x.s;
    out.ref = layer1(n, "Masking", {{"mask_value", m.m.value}}, x.s.ref, Dims(rs.begin() + 1, rs.end()));
    set_sym(n, out);
    return;
  }
  if (a.kind == Value::kConst && b.kind == Value::kConst) {
    // Shape arithmetic: same dims or one scalar.
    const Const &x = a.c, &y = b.c;
    if (x.zeros || y.zeros || (x.size() != 1 && y.size() != 1 && x.dims != y.dims))
      refuse(n, "combines constants of shapes " + dims_str(x.dims) + " and " + dims_str(y.dims) +
                    "; recur folds only "
                    "element-wise shape arithmetic.");
    Const c;
    c.dims = x.size() >= y.size() ? x.dims : y.dims;
    c.is_int = x.is_int && y.is_int;
    const std::size_t N = std::max(x.size(), y.size());
    for (std::size_t k = 0; k < N; ++k) {
      const std::size_t i = x.size() == 1 ? 0 : k, j = y.size() == 1 ? 0 : k;
      if (c.is_int) {
        const std::int64_t p = x.i[i], q = y.i[j];
        if (symbolic(p) || symbolic(q)) refuse(n, "computes with the batch size; recur cannot express that.");
        std::int64_t r = 0;
        const bool overflow = op == "Add"   ? __builtin_add_overflow(p, q, &r)
                              : op == "Sub" ? __builtin_sub_overflow(p, q, &r)
                              : op == "Mul" ? __builtin_mul_overflow(p, q, &r)
                                            : (q == 0 || (q == -1 && p == std::numeric_limits<std::int64_t>::min()));
        if (overflow) bad(n, "overflows or divides by zero in integer arithmetic.");
        if (op == "Div") r = p / q;
        c.i.push_back(r);
      } else {
        const double p = x.at(i), q = y.at(j);
        c.f.push_back(static_cast<float>(op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q));
      }
    }
    set_const(n, c);
    return;
  }
  if (a.kind == Value::kSym && b.kind == Value::kSym) {
    if (op == "Add") return set_sym(n, merge_syms(n, {a.s, b.s}, "Add", json::object()));
    if (op == "Mul") return set_sym(n, merge_syms(n, {a.s, b.s}, "Multiply", json::object()));
    refuse(n,
           "subtracts or divides two tensors computed from the data; recur merges them by Add, Multiply, Average "
           "or Concatenate.");
  }
  if (a.kind != Value::kSym && b.kind != Value::kSym) refuse(n, "combines a mask computation with a constant.");
  const bool const_first = a.kind == Value::kConst;
  const Sym& x = const_first ? b.s : a.s;
  const Const& c = const_first ? a.c : b.c;
  if (c.is_int || c.zeros) refuse(n, "combines a tensor with an integer or batch-sized constant.");
  const Dims rs = x.plain() ? sym_rshape(x) : Dims{};
  if (!x.plain())
    refuse(n, "applies arithmetic to a bidirectional node's directions or a stack before they are merged.");
  // The constant: a scalar, or one value per feature along the last ONNX axis (the last recur axis).
  const bool scalar = c.size() == 1;
  const bool last_axis = !x.axes.empty() && x.axes.back() == data_axis(static_cast<int>(rs.size()) - 1);
  bool per_feature =
      !scalar && last_axis && static_cast<std::int64_t>(c.size()) == rs.back() && c.dims.size() <= x.axes.size();
  for (std::size_t k = 0; per_feature && k + 1 < c.dims.size(); ++k) per_feature = c.dims[k] == 1;
  if (!scalar && !per_feature)
    refuse(n, "combines a tensor (" + view_str(x) + ") with a constant of shape " + dims_str(c.dims) +
                  "; recur expresses a scalar or a per-feature (last axis) constant.");
  const auto U = static_cast<std::size_t>(rs.back());
  if (symbolic(rs.back())) refuse(n, "combines a constant with a tensor whose last axis has no fixed extent.");
  auto value = [&](std::size_t u) { return c.f[scalar ? 0 : u]; };
  for (std::size_t u = 0; u < c.f.size(); ++u)
    if (!std::isfinite(c.f[u]))
      throw ModelFormatError(path_ + ": ONNX " + where(n) + " has a non-finite constant.", codes::kNonFiniteData);
  // x W + b, then + c: the Dense's bias (PyTorch's Linear on 3-D input is MatMul + Add).
  const int xi = const_first ? 1 : 0;
  if (op == "Add" && last_axis && fusable(n, xi, x, "Dense")) {
    PLayer& l = layers_[static_cast<std::size_t>(x.ref.layer)];
    if (!l.config.at("use_bias").get<bool>() && l.config.at("activation") == "linear") {
      Tensor bias({U});
      for (std::size_t u = 0; u < U; ++u) bias[u] = value(u);
      l.config["use_bias"] = true;
      l.weights.emplace_back("bias", bias);
      direct_[x.ref.layer] = n.output(0);
      set_sym(n, x);
      return;
    }
  }
  // (a + b) * 1/2: Keras's Average (recur's exporter writes it so).
  if (op == "Mul" && scalar && fusable(n, xi, x, "Add")) {
    PLayer& l = layers_[static_cast<std::size_t>(x.ref.layer)];
    if (c.f[0] == 1.0f / static_cast<float>(l.inputs.size())) {
      l.class_name = "Average";
      direct_[x.ref.layer] = n.output(0);
      set_sym(n, x);
      return;
    }
  }
  // Otherwise an element-wise Dense: x diag(w) + b, exact (x*1 + 0*... adds zeros only).
  if (static_cast<std::int64_t>(U) > kMaxDiagonalUnits)
    refuse(n, "applies a constant to " + std::to_string(U) + " features; recur expresses it as a Dense with a (" +
                  std::to_string(U) + ", " + std::to_string(U) + ") diagonal kernel, at most " +
                  std::to_string(kMaxDiagonalUnits) + " wide.");
  note(where(n) + ": a constant " + op + " is a Dense with a diagonal kernel");
  Tensor kernel({U, U});
  Tensor bias({U});
  bool with_bias = false;
  for (std::size_t u = 0; u < U; ++u) {
    const float k = value(u);
    if (op == "Add")
      kernel[u * U + u] = 1.0f, bias[u] = k, with_bias = true;
    else if (op == "Sub")
      kernel[u * U + u] = const_first ? -1.0f : 1.0f, bias[u] = const_first ? k : -k, with_bias = true;
    else if (op == "Mul")
      kernel[u * U + u] = k;
    else if (!const_first && k != 0.0f)
      kernel[u * U + u] = 1.0f / k;
    else
      refuse(n, "divides " + std::string(const_first ? "a constant by a tensor" : "by zero") +
                    "; recur cannot express that.");
  }
  // (A scalar applies element-wise whatever the view's order: the Dense reads the recur tensor.)
  set_sym(n, dense(n, x, kernel, with_bias ? std::optional<Tensor>(bias) : std::nullopt, "linear", scalar));
}

void Importer::op_sum(const NodeProto& n) {
  std::vector<Sym> xs;
  for (int k = 0; k < n.input_size(); ++k) {
    const Value& v = input(n, k);
    if (v.kind != Value::kSym)
      refuse(n, "sums constants with tensors; recur's Add merges tensors computed from the data.");
    xs.push_back(v.s);
  }
  if (xs.empty()) bad(n, "has no inputs.");
  if (xs.size() == 1) return set_sym(n, xs[0]);
  set_sym(n, merge_syms(n, xs, "Add", json::object()));
}

void Importer::op_activation(const NodeProto& n) {
  const Value& v = input(n, 0);
  const std::string& op = n.op_type();
  if (v.kind != Value::kSym) refuse(n, "applies an activation to a constant; recur folds only shape arithmetic.");
  std::string keras;
  if (op == "HardSigmoid") {
    const float alpha = attr_f(n, "alpha", 0.2f), beta = attr_f(n, "beta", 0.5f);
    if (std::fabs(alpha - 0.2f) < 1e-6f && std::fabs(beta - 0.5f) < 1e-6f)
      keras = "legacy_hard_sigmoid";
    else if (std::fabs(alpha - 1.0f / 6.0f) < 1e-6f && std::fabs(beta - 0.5f) < 1e-6f)
      keras = "hard_sigmoid";
    else
      refuse(n, "has alpha " + std::to_string(alpha) + ", beta " + std::to_string(beta) +
                    "; recur has HardSigmoid with (0.2, 0.5) (legacy_hard_sigmoid) and (1/6, 0.5) (hard_sigmoid).");
  } else if (op == "Elu") {
    if (std::fabs(attr_f(n, "alpha", 1.0f) - 1.0f) > 1e-6f)
      refuse(n, "has alpha other than 1; recur's elu has alpha 1.");
    keras = "elu";
  } else if (op == "Selu") {
    if (std::fabs(attr_f(n, "alpha", 1.67326319f) - 1.67326319f) > 1e-5f ||
        std::fabs(attr_f(n, "gamma", 1.05070102f) - 1.05070102f) > 1e-5f)
      refuse(n, "has alpha or gamma other than the standard ones; recur's selu uses Keras's constants.");
    keras = "selu";
  } else {
    for (const LayerActivation& a : kLayerActivations)
      if (op == a.op) keras = a.keras;
  }
  const Sym& s = v.s;
  if (!s.plain())
    refuse(n, "applies an activation to a bidirectional node's directions or a stack before they are merged.");
  const Dims rs = sym_rshape(s);
  if (op == "Softmax") {
    std::int64_t axis = attr_i(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += static_cast<std::int64_t>(s.axes.size());
    const bool last = axis == static_cast<std::int64_t>(s.axes.size()) - 1 &&
                      s.axes.back() == data_axis(static_cast<int>(rs.size()) - 1);
    if (!last)
      refuse(n, "takes the softmax over ONNX axis " + std::to_string(axis) + " (view " + view_str(s) +
                    "); recur's softmax is over the last (features) axis.");
  }
  // Dense(linear) then the activation: one Dense.
  if (fusable(n, 0, s, "Dense") && layers_[static_cast<std::size_t>(s.ref.layer)].config.at("activation") == "linear") {
    layers_[static_cast<std::size_t>(s.ref.layer)].config["activation"] = keras;
    direct_[s.ref.layer] = n.output(0);
    return set_sym(n, s);
  }
  Sym out = s;
  out.ref = layer1(n, "Activation", {{"activation", keras}}, s.ref, Dims(rs.begin() + 1, rs.end()));
  set_sym(n, out);
}

void Importer::op_reduce(const NodeProto& n) {
  const Value& v = input(n, 0);
  const std::string& op = n.op_type();
  Dims axes = (op == "ReduceSum" || opset_ >= 18) && has_input(n, 1) ? ints(n, constant(n, 1, "axes"), "axes")
                                                                     : attr_ints(n, "axes").value_or(Dims{});
  const bool keepdims = attr_i(n, "keepdims", 1) != 0;
  if (v.kind == Value::kMask) {
    // Masking's any(x != v) over the features.
    const Sym& x = v.m.x;
    const auto rank = static_cast<std::int64_t>(x.axes.size());
    if (op != "ReduceMax" || v.m.stage != 3 || axes.size() != 1 || !keepdims || (axes[0] != -1 && axes[0] != rank - 1))
      refuse(n, "is not the Masking pattern recur writes (ReduceMax over the last axis, keepdims=1).");
    Value m = v;
    m.m.stage = 4;
    set(n, 0, m);
    return;
  }
  if (v.kind != Value::kSym) refuse(n, "reduces a constant; recur folds only shape arithmetic.");
  const Sym& s = v.s;
  const auto rank = static_cast<std::int64_t>(s.axes.size());
  if (axes.size() != 1) refuse(n, "reduces " + std::to_string(axes.size()) + " axes; recur pools or merges over one.");
  std::int64_t a = axes[0];
  if (a < 0) a += rank;
  if (a < 0 || a >= rank) bad(n, "has an axis outside the rank.");
  const Axis ax = s.axes[static_cast<std::size_t>(a)];
  auto finish_view = [&](Sym out) {
    if (keepdims)
      out.axes[static_cast<std::size_t>(a)] = unit_axis();
    else
      out.axes.erase(out.axes.begin() + a);
    return out;
  };
  if (ax.kind == Axis::kDir) {
    // Keras's Bidirectional merge modes sum, mul and ave.
    const std::string mode = op == "ReduceSum" ? "sum" : op == "ReduceProd" ? "mul" : op == "ReduceMean" ? "ave" : "";
    if (mode.empty())
      refuse(n, "takes the maximum of a bidirectional node's directions; Keras merges by concat, sum, mul or ave.");
    Sym out = s;
    out.ref = merge_directions(n, s, mode);
    out.dir_rnn = -1;
    out.reversed = false;
    set_sym(n, finish_view(out));
    return;
  }
  const Dims rs = sym_rshape(s);
  if (ax.kind == Axis::kData && ax.data == 1 && s.plain() && rs.size() == 3 &&
      (op == "ReduceMean" || op == "ReduceMax")) {
    // Over the timesteps: GlobalAveragePooling1D / GlobalMaxPooling1D (order does not matter).
    Sym out = s;
    out.reversed = false;
    out.ref =
        layer1(n, op == "ReduceMax" ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D", json::object(), s.ref, {rs[2]});
    for (Axis& x : out.axes)
      if (x.kind == Axis::kData && x.data == 2) x.data = 1;
    set_sym(n, finish_view(out));
    return;
  }
  if (ax.kind == Axis::kUnit) {
    set_sym(n, finish_view(s));
    return;
  }
  refuse(n, "reduces ONNX axis " + std::to_string(a) + " (view " + view_str(s) +
                "); recur pools over the timesteps of a "
                "(batch, timesteps, features) tensor (mean or max) and merges a bidirectional node's directions.");
}

void Importer::op_mask(const NodeProto& n) {
  const Value& v = input(n, 0);
  if (n.op_type() == "Equal") {
    const Value& c = input(n, 1);
    if (v.kind != Value::kSym || c.kind != Value::kConst || c.c.size() != 1 || c.c.is_int || !v.s.plain())
      refuse(n, "is not the Masking pattern recur writes (Equal of a tensor and a scalar mask value).");
    Value m;
    m.kind = Value::kMask;
    m.m = MaskStage{v.s, c.c.f[0], 1};
    set(n, 0, m);
    return;
  }
  if (v.kind != Value::kMask || v.m.stage != 1) refuse(n, "is not the Masking pattern recur writes.");
  Value m = v;
  m.m.stage = 2;
  set(n, 0, m);
}

// ---- recurrent nodes ---------------------------------------------------------------------------

void Importer::op_rnn(const NodeProto& n) {
  const std::string& op = n.op_type();
  const std::string kind = op == "RNN" ? "SimpleRNN" : op;
  const std::size_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
  const std::string direction = attr_s(n, "direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    bad(n, "has direction \"" + direction.substr(0, 40) + "\".");
  const std::size_t D = direction == "bidirectional" ? 2 : 1;
  const std::int64_t layout = attr_i(n, "layout", 0);
  if (layout != 0 && layout != 1) bad(n, "has layout " + std::to_string(layout) + ".");
  if (attr(n, "clip", AttributeProto::FLOAT))
    refuse(n, "clips its cell state (clip=" + std::to_string(attr_f(n, "clip", 0)) +
                  "); Keras and recur never clip. Export the model without clip.");
  if (op == "LSTM" && attr_i(n, "input_forget", 0) != 0)
    refuse(n, "couples its input and forget gates (input_forget=1); Keras's and recur's LSTM keep them separate.");
  if (op == "LSTM" && has_input(n, 7))
    refuse(n, "has peephole weights P (input 7, '" + n.input(7).substr(0, 100) +
                  "'); Keras's and recur's LSTM have no peephole connections.");
  // X (T, batch, F) in layout 0, (batch, T, F) in layout 1: recur's (batch, T, F) either way.
  const Value& xv = input(n, 0);
  if (xv.kind != Value::kSym)
    refuse(n, "has a constant X; recur runs recurrent layers on tensors computed from the data.");
  const Sym& x = xv.s;
  const std::vector<Axis> want = layout == 0 ? std::vector<Axis>{data_axis(1), data_axis(0), data_axis(2)}
                                             : std::vector<Axis>{data_axis(0), data_axis(1), data_axis(2)};
  if (!x.plain() || x.axes != want || sym_rshape(x).size() != 3)
    refuse(n, "reads X laid out as " + view_str(x) + " of a tensor recur holds as " +
                  (x.plain() ? dims_str(sym_rshape(x)) : std::string("directions")) +
                  "; recur needs X to be a (batch, " + "timesteps, features) tensor (layout " + std::to_string(layout) +
                  " reads it as " + view_str([&] {
                    Sym w;
                    w.axes = want;
                    return w;
                  }()) +
                  ").");
  if (D == 2 && x.reversed)
    refuse(n, "runs bidirectionally over a sequence reversed in time; recur's Bidirectional reads it in order.");
  const Dims rs = sym_rshape(x);
  const Const& W = constant(n, 1, "weights W");
  const Const& R = constant(n, 2, "recurrence weights R");
  if (W.dims.size() != 3 || R.dims.size() != 3)
    bad(n, "has W " + dims_str(W.dims) + " and R " + dims_str(R.dims) + "; both must be 3-D.");
  const std::int64_t H = R.dims[2];
  if (H < 1 || H > (std::int64_t{1} << 20)) bad(n, "has hidden size " + std::to_string(H) + ".");
  if (attr(n, "hidden_size", AttributeProto::INT) && attr_i(n, "hidden_size", 0) != H)
    bad(n, "has hidden_size " + std::to_string(attr_i(n, "hidden_size", 0)) + " but R of " + dims_str(R.dims) + ".");
  const std::int64_t G = static_cast<std::int64_t>(gates) * H, F = W.dims[2];
  if (W.dims[0] != static_cast<std::int64_t>(D) || W.dims[1] != G || R.dims[0] != static_cast<std::int64_t>(D) ||
      R.dims[1] != G)
    bad(n, "has W " + dims_str(W.dims) + " and R " + dims_str(R.dims) + "; with " + std::to_string(D) +
               " direction(s) and hidden size " + std::to_string(H) + " they must be (" + std::to_string(D) + ", " +
               std::to_string(G) + ", features) and (" + std::to_string(D) + ", " + std::to_string(G) + ", " +
               std::to_string(H) + ").");
  if (F < 1) bad(n, "has W with no input features.");
  if (rs[2] != F)
    bad(n, "reads X with " + std::to_string(rs[2]) + " features but W expects " + std::to_string(F) + ".");
  const bool use_bias = has_input(n, 3);
  Const Bc;
  if (use_bias) {
    Bc = constant(n, 3, "bias B");
    if (Bc.dims != Dims{static_cast<std::int64_t>(D), 2 * G})
      bad(n, "has B " + dims_str(Bc.dims) + ", expected " + dims_str({static_cast<std::int64_t>(D), 2 * G}) + ".");
  }
  if (has_input(n, 4)) {
    // Per-sample lengths: recur runs every sample over all timesteps, so only lengths that all
    // equal T say nothing more.
    auto it = values_.find(n.input(4));
    const Value* slp = it == values_.end() ? nullptr : &it->second;
    bool all_full = slp && slp->kind == Value::kConst && !slp->c.zeros && !symbolic(rs[1]);
    const Value& sl = all_full ? *slp : Value{};
    for (std::size_t k = 0; all_full && k < sl.c.size(); ++k) all_full = sl.c.at(k) == static_cast<double>(rs[1]);
    if (!all_full)
      refuse(n, "takes sequence_lens ('" + n.input(4).substr(0, 100) +
                    "'): per-sample lengths of a right-padded batch, which recur's layers express only as a Masking "
                    "mask. Export the model without sequence_lens (run each sequence at its own length, or pad with a "
                    "Masking layer in recur).");
  }
  // Activations per direction: f, g, h (LSTM), f, g (GRU), f (RNN).
  const std::size_t per_dir = op == "LSTM" ? 3 : op == "GRU" ? 2 : 1;
  std::vector<std::string> acts;
  if (const AttributeProto* a = attr(n, "activations", AttributeProto::STRINGS))
    acts.assign(a->strings().begin(), a->strings().end());
  if (acts.empty()) {
    const std::vector<std::string> def = op == "LSTM"  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                         : op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                       : std::vector<std::string>{"Tanh"};
    for (std::size_t d = 0; d < D; ++d) acts.insert(acts.end(), def.begin(), def.end());
  }
  if (acts.size() != per_dir * D)
    bad(n, "lists " + std::to_string(acts.size()) + " activations; " + op + " with " + std::to_string(D) +
               " direction(s) takes " + std::to_string(per_dir * D) + ".");
  std::vector<float> alphas, betas;
  if (const AttributeProto* a = attr(n, "activation_alpha", AttributeProto::FLOATS))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const AttributeProto* a = attr(n, "activation_beta", AttributeProto::FLOATS))
    betas.assign(a->floats().begin(), a->floats().end());
  std::size_t ia = 0, ib = 0;
  std::vector<std::string> keras;
  for (const std::string& name : acts) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // ONNX's consumption rule: each activation that takes alpha (beta) takes the next one.
    const bool takes_alpha = lower == "affine" || lower == "leakyrelu" || lower == "thresholdedrelu" ||
                             lower == "scaledtanh" || lower == "hardsigmoid" || lower == "elu";
    const bool takes_beta = lower == "affine" || lower == "scaledtanh" || lower == "hardsigmoid";
    std::optional<float> alpha, beta;
    if (takes_alpha && ia < alphas.size()) alpha = alphas[ia++];
    if (takes_beta && ib < betas.size()) beta = betas[ib++];
    std::string found;
    for (const RnnActivation& r : kRnnActivations) {
      std::string o = r.onnx;
      for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (o != lower) continue;
      // Defaults when absent: ONNX's (HardSigmoid 0.2 / 0.5, Elu 1, Affine 1 / 0).
      const float want_a = r.alpha.value_or(0.0f), want_b = r.beta.value_or(0.0f);
      const float got_a = alpha.value_or(lower == "hardsigmoid" ? 0.2f : 1.0f);
      const float got_b = beta.value_or(lower == "hardsigmoid" ? 0.5f : 0.0f);
      if (r.alpha && std::fabs(got_a - want_a) > 1e-6f) continue;
      if (r.beta && std::fabs(got_b - want_b) > 1e-6f) continue;
      found = r.keras;
      break;
    }
    if (found.empty())
      refuse(n, "uses the activation " + name.substr(0, 40) +
                    (alpha ? " alpha=" + std::to_string(*alpha) : std::string()) +
                    (beta ? " beta=" + std::to_string(*beta) : std::string()) +
                    "; recur's cells take Sigmoid, Tanh, Relu, "
                    "Affine(1, 0) (linear), HardSigmoid(0.2, 0.5) (legacy_hard_sigmoid), HardSigmoid(1/6, 0.5) "
                    "(hard_sigmoid), Elu(1), Softsign and Softplus.");
    keras.push_back(found);
  }
  // recur's LSTM applies one activation to the candidate (g) and the output (h).
  if (op == "LSTM")
    for (std::size_t d = 0; d < D; ++d)
      if (keras[d * 3 + 1] != keras[d * 3 + 2])
        refuse(n, "uses g=" + acts[d * 3 + 1] + " and h=" + acts[d * 3 + 2] +
                      "; recur's LSTM (as Keras's) applies one "
                      "activation to both.");
  if (D == 2 && !std::equal(keras.begin(), keras.begin() + static_cast<std::ptrdiff_t>(per_dir),
                            keras.begin() + static_cast<std::ptrdiff_t>(per_dir)))
    refuse(n,
           "uses different activations in its two directions; recur's Bidirectional runs one layer configuration both "
           "ways.");
  const bool reset_after = op == "GRU" && attr_i(n, "linear_before_reset", 0) != 0;
  json cell = {{"units", H},
               {"activation", op == "RNN" ? keras[0] : keras[1]},
               {"use_bias", use_bias},
               {"kernel_initializer", "glorot_uniform"},
               {"recurrent_initializer", "orthogonal"},
               {"bias_initializer", "zeros"},
               {"dropout", 0.0},
               {"recurrent_dropout", 0.0}};
  if (op != "RNN") cell["recurrent_activation"] = keras[0];
  if (op == "LSTM") cell["unit_forget_bias"] = true;
  if (op == "GRU") cell["reset_after"] = reset_after;
  // The weights in Keras's layout, per direction.
  RnnNode rn;
  rn.kind = kind;
  rn.cell = cell;
  rn.x = x.ref;
  rn.x_shape = {rs[1], rs[2]};
  rn.hint = n.name();
  rn.origin = where(n);
  const auto Fz = static_cast<std::size_t>(F), Hz = static_cast<std::size_t>(H), Gz = static_cast<std::size_t>(G);
  const Tensor Wt = weight_tensor(n, W, {D, Gz, Fz}, "weights W");
  const Tensor Rt = weight_tensor(n, R, {D, Gz, Hz}, "recurrence weights R");
  const Tensor Bt = use_bias ? weight_tensor(n, Bc, {D, 2 * Gz}, "bias B") : Tensor();
  auto block = [&](std::size_t g) { return op == "LSTM" ? static_cast<std::size_t>(kKerasBlockOfOnnxLstmGate[g]) : g; };
  for (std::size_t d = 0; d < D; ++d) {
    Tensor kernel({Fz, Gz}), recurrent({Hz, Gz});
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t u = 0; u < Hz; ++u) {
        const std::size_t col = block(g) * Hz + u, row = g * Hz + u;
        for (std::size_t f = 0; f < Fz; ++f) kernel[f * Gz + col] = Wt[(d * Gz + row) * Fz + f];
        for (std::size_t v = 0; v < Hz; ++v) recurrent[v * Gz + col] = Rt[(d * Gz + row) * Hz + v];
      }
    std::vector<std::pair<std::string, Tensor>> w{{"kernel", kernel}, {"recurrent_kernel", recurrent}};
    if (use_bias) {
      // B = [Wb, Rb]: a reset_after GRU keeps both rows, every other cell adds them.
      Tensor bias = reset_after ? Tensor({2, Gz}) : Tensor({Gz});
      for (std::size_t g = 0; g < gates; ++g)
        for (std::size_t u = 0; u < Hz; ++u) {
          const std::size_t col = block(g) * Hz + u, row = g * Hz + u;
          const float wb = Bt[d * 2 * Gz + row], rb = Bt[d * 2 * Gz + Gz + row];
          if (reset_after) {
            bias[col] = wb;
            bias[Gz + col] = rb;
          } else {
            bias[col] = wb + rb;
          }
        }
      w.emplace_back("bias", bias);
    }
    rn.weights.push_back(std::move(w));
  }
  // Initial states: absent or zeros is none; otherwise (1, batch, H) views of recur tensors.
  std::vector<Ref> states;
  bool any_state = false;
  std::vector<std::optional<Ref>> given;
  std::vector<std::optional<Ref>> given_dir[2];
  for (int k : {5, 6}) {
    if (k == 6 && op != "LSTM") break;
    given.emplace_back();
    given_dir[0].emplace_back();
    given_dir[1].emplace_back();
    if (!has_input(n, k)) continue;
    const Value& v = input(n, k);
    if (v.kind == Value::kConst) {
      if (!all_zero(v.c))
        refuse(n, "starts from a constant non-zero " + std::string(k == 5 ? "initial_h" : "initial_c") +
                      "; recur's initial states are tensors computed from the inputs (or zeros).");
      continue;
    }
    if (v.kind != Value::kSym) refuse(n, "starts from a state recur cannot express.");
    const Sym& s = v.s;
    const std::vector<Axis> want_s = layout == 0 ? std::vector<Axis>{unit_axis(), data_axis(0), data_axis(1)}
                                                 : std::vector<Axis>{data_axis(0), unit_axis(), data_axis(1)};
    if (D == 2) {
      // Keras's Bidirectional initial_state [forward..., backward...]: ONNX's (2, batch, H) as a
      // stack of two recur (batch, H) tensors, the forward direction's first (a Concat of two
      // Unsqueezes, as recur's exporter writes).
      const std::size_t stack_at = layout == 0 ? 0 : 1;
      bool ok = s.parts.size() == 2 && s.axes.size() == 3 && s.axes[stack_at].kind == Axis::kStack;
      for (const Sym& p : s.parts)
        ok = ok && p.plain() && !p.reversed && p.axes == want_s && sym_rshape(p) == Dims{kBatchDim, H};
      if (!ok)
        refuse(n, "is bidirectional and reads its " + std::string(k == 5 ? "initial_h" : "initial_c") + " as " +
                      view_str(s) +
                      "; recur's Bidirectional takes one (batch, units) tensor per direction, stacked on the direction "
                      "axis (a Concat of two Unsqueeze), the forward direction's first.");
      given_dir[0].back() = s.parts[0].ref;
      given_dir[1].back() = s.parts[1].ref;
      any_state = true;
      continue;
    }
    if (!s.plain() || s.reversed || s.axes != want_s || sym_rshape(s) != Dims{kBatchDim, H})
      refuse(n, "reads its " + std::string(k == 5 ? "initial_h" : "initial_c") + " laid out as " + view_str(s) +
                    " of a tensor recur holds as " + (s.plain() ? dims_str(sym_rshape(s)) : std::string("directions")) +
                    "; recur needs a (batch, units) tensor (ONNX (1, batch, units)).");
    given.back() = s.ref;
    any_state = true;
  }
  if (any_state && D == 1) {
    // recur's LSTM takes both states or none: a missing one is zeros, made from the other.
    for (std::size_t k = 0; k < given.size(); ++k) {
      if (!given[k]) given[k] = zeros_like_state(n, *given[1 - k], H);
      states.push_back(*given[k]);
    }
  }
  if (any_state && D == 2) {
    rn.dir_states.resize(2);
    for (std::size_t d = 0; d < 2; ++d)
      for (std::size_t k = 0; k < given_dir[d].size(); ++k) {
        if (!given_dir[d][k]) given_dir[d][k] = zeros_like_state(n, *given_dir[d][1 - k], H);
        rn.dir_states[d].push_back(*given_dir[d][k]);
      }
  }
  rnns_.push_back(std::move(rn));
  const int rnn_index = static_cast<int>(rnns_.size()) - 1;
  // Outputs: Y (T, D, batch, H) / (batch, T, D, H); Y_h and Y_c (D, batch, H) / (batch, D, H).
  const Axis dir_or_unit = D == 2 ? Axis{Axis::kDir, 0} : unit_axis();
  Sym y, yh, yc;
  y.axes = layout == 0 ? std::vector<Axis>{data_axis(1), dir_or_unit, data_axis(0), data_axis(2)}
                       : std::vector<Axis>{data_axis(0), data_axis(1), dir_or_unit, data_axis(2)};
  yh.axes = layout == 0 ? std::vector<Axis>{dir_or_unit, data_axis(0), data_axis(1)}
                        : std::vector<Axis>{data_axis(0), dir_or_unit, data_axis(1)};
  yc.axes = yh.axes;
  if (D == 2) {
    y.dir_rnn = yh.dir_rnn = yc.dir_rnn = rnn_index;
    y.dir_which = Out::kMain;
    yh.dir_which = Out::kH;
    yc.dir_which = Out::kC;
  } else {
    // One direction: one recur layer. A reverse node reads the sequence backwards, as Keras's
    // go_backwards, and writes Y in input order (Keras: processing order), hence `reversed`; an
    // X already reversed flips both.
    const bool reverse = direction == "reverse";
    PLayer l;
    l.class_name = kind;
    l.config = cell;
    l.config["go_backwards"] = reverse != x.reversed;
    l.weights = rnns_.back().weights[0];
    l.hint = n.name();
    l.origin = where(n);
    l.inputs = {x.ref};
    l.states = states;
    l.rnn = true;
    l.shape = {rs[1], H};
    l.state_shape = {H};
    use(x.ref);
    for (const Ref& r : states) use(r);
    const int k = add_layer(std::move(l));
    y.ref = Ref{k, 0, Out::kMain};
    y.reversed = reverse;
    yh.ref = Ref{k, 0, Out::kH};
    yc.ref = Ref{k, 0, Out::kC};
  }
  set_sym(n, y, 0);
  set_sym(n, yh, 1);
  if (op == "LSTM") set_sym(n, yc, 2);
}

Ref Importer::zeros_like_state(const NodeProto& n, const Ref& h, std::int64_t units) {
  // A Dense with a zero kernel and no bias: exactly zeros of h's shape.
  const auto U = static_cast<std::size_t>(units);
  PLayer l;
  l.class_name = "Dense";
  l.config = {{"units", U},
              {"activation", "linear"},
              {"use_bias", false},
              {"kernel_initializer", "zeros"},
              {"bias_initializer", "zeros"}};
  l.weights = {{"kernel", Tensor({U, U})}};
  l.hint = "zero_state";
  l.origin = where(n);
  note(where(n) +
       ": the missing initial state is zeros made by a Dense with a zero kernel (recur's LSTM takes both states or "
       "none)");
  l.inputs = {h};
  l.shape = {units};
  use(h);
  return Ref{add_layer(std::move(l)), 0, Out::kMain};
}

// The layer that merges a bidirectional node's two directions (Keras's Bidirectional with that
// merge_mode), over the sequence (Y) or the final states (Y_h).
Ref Importer::merge_directions(const NodeProto& n, const Sym& s, const std::string& mode) {
  RnnNode& r = direction_node(n, s);
  if (s.dir_which == Out::kC)
    refuse(n, "merges the final cell states (Y_c) of a bidirectional LSTM; recur's Bidirectional outputs h only.");
  const bool seq = s.dir_which == Out::kMain;
  const std::string key = std::string(seq ? "seq/" : "h/") + mode;
  if (auto it = r.made.find(key); it != r.made.end()) return Ref{it->second, 0, Out::kMain};
  const std::string inner = default_layer_name(r.kind);
  json layer_cfg = r.cell;
  layer_cfg["name"] = inner;
  layer_cfg["return_sequences"] = seq;
  layer_cfg["return_state"] = false;
  layer_cfg["go_backwards"] = false;
  layer_cfg["stateful"] = false;
  layer_cfg["zero_output_for_mask"] = false;
  PLayer l;
  l.class_name = "Bidirectional";
  l.config = {{"merge_mode", mode}, {"layer", {{"class_name", r.kind}, {"config", layer_cfg}}}};
  for (std::size_t d = 0; d < 2; ++d)
    for (const auto& [w, t] : r.weights[d])
      l.weights.emplace_back((d == 0 ? "forward_" : "backward_") + inner + "/" + w, t);
  l.hint = r.hint;
  l.origin = r.origin;
  l.inputs = {r.x};
  for (const auto& direction : r.dir_states)
    for (const Ref& st : direction) {
      l.states.push_back(st);
      use(st);
    }
  const std::int64_t U = r.cell.at("units").get<std::int64_t>() * (mode == "concat" ? 2 : 1);
  l.shape = seq ? Dims{r.x_shape[0], U} : Dims{U};
  use(r.x);
  const int k = add_layer(std::move(l));
  r.made[key] = k;
  return Ref{k, 0, Out::kMain};
}

// One direction of a bidirectional node as its own recurrent layer (the backward one with
// go_backwards, its sequence in processing order: reversed relative to ONNX's).
Sym Importer::select_direction(const NodeProto& n, const Sym& s, int axis, std::int64_t d, bool keep_axis) {
  RnnNode& r = direction_node(n, s);
  if (d != 0 && d != 1) bad(n, "takes direction " + std::to_string(d) + " of 2.");
  const std::string key = "dir" + std::to_string(d);
  int k;
  if (auto it = r.made.find(key); it != r.made.end()) {
    k = it->second;
  } else {
    PLayer l;
    l.class_name = r.kind;
    l.config = r.cell;
    l.config["go_backwards"] = d == 1;
    l.weights = r.weights[static_cast<std::size_t>(d)];
    l.hint = r.hint.empty() ? "" : r.hint + (d == 0 ? "_forward" : "_backward");
    l.origin = r.origin;
    l.inputs = {r.x};
    if (!r.dir_states.empty()) l.states = r.dir_states[static_cast<std::size_t>(d)];
    for (const Ref& st : l.states) use(st);
    l.rnn = true;
    const std::int64_t U = r.cell.at("units").get<std::int64_t>();
    l.shape = {r.x_shape[0], U};
    l.state_shape = {U};
    use(r.x);
    k = add_layer(std::move(l));
    r.made[key] = k;
    note(r.origin + ": its " + (d == 0 ? "forward" : "backward") + " direction, read on its own, is a " + r.kind +
         (d == 1 ? " with go_backwards" : "") + " of its own (a copy of those weights)");
  }
  Sym out = s;
  out.dir_rnn = -1;
  out.ref = Ref{k, 0, s.dir_which};
  out.reversed = d == 1 && s.dir_which == Out::kMain;
  if (keep_axis)
    out.axes[static_cast<std::size_t>(axis)] = unit_axis();
  else
    out.axes.erase(out.axes.begin() + axis);
  return out;
}

// ---- the graph outputs and the recur model -------------------------------------------------------

ModelFileContents Importer::finish() {
  struct OutInfo {
    Ref ref;
    json onnx_axes;
    bool merged = false;
    std::string name;
  };
  std::vector<OutInfo> outs;
  for (const auto& o : g_.output()) {
    const std::string what = "graph output '" + o.name().substr(0, 100) + "'";
    auto it = values_.find(o.name());
    if (it == values_.end()) damaged(path_, "ONNX " + what + " is made by no node.");
    const Value& v = it->second;
    if (v.kind != Value::kSym)
      unsupported(path_, "ONNX " + what +
                             " is a constant or a mask computation; recur's outputs are computed from the inputs.");
    Sym s = v.s;
    OutInfo info;
    info.name = o.name();
    if (!s.parts.empty())
      unsupported(path_, "ONNX " + what +
                             " stacks several tensors (Concat along a new axis); recur's outputs are single "
                             "tensors. Output them separately.");
    if (const int p = s.find(Axis::kDir); p >= 0) {
      // A bidirectional node's output with its direction axis: recur gives both directions
      // side by side in the features (Keras's merge_mode concat, forward first).
      ::onnx::NodeProto dummy;
      dummy.set_op_type("output");
      dummy.set_name(o.name());
      const Ref r = merge_directions(dummy, s, "concat");
      note(what +
           " holds both directions of a bidirectional node: recur gives them side by side in the features "
           "(forward first), a Bidirectional with merge_mode concat");
      s.dir_rnn = -1;
      s.ref = r;
      s.axes.erase(s.axes.begin() + p);
      info.merged = true;
    }
    if (s.reversed)
      unsupported(path_, "ONNX " + what +
                             " is a sequence of a reverse-direction node in input order; recur's "
                             "go_backwards layers give it in processing order (reversed). Add a Slice with "
                             "step -1 on the time axis in the ONNX graph, or output the final state.");
    if (s.ref.layer < 0)
      unsupported(path_, "ONNX " + what + " is a graph input passed through; recur's outputs are computed by layers.");
    const Dims rs = rshape(s.ref);
    info.onnx_axes = json::array();
    for (std::size_t d = 0; d < rs.size(); ++d) {
      json where_axis = nullptr;
      for (std::size_t k = 0; k < s.axes.size(); ++k)
        if (s.axes[k] == data_axis(static_cast<int>(d))) where_axis = k;
      info.onnx_axes.push_back(where_axis);
    }
    info.ref = s.ref;
    use(s.ref);
    outs.push_back(info);
  }
  if (outs.empty()) damaged(path_, "the ONNX graph has no outputs.");
  // The layers the outputs need, in creation order (a topological one).
  std::vector<bool> keep(layers_.size(), false);
  std::set<std::size_t> needed_inputs;
  std::vector<Ref> todo;
  for (const OutInfo& o : outs) todo.push_back(o.ref);
  while (!todo.empty()) {
    const Ref r = todo.back();
    todo.pop_back();
    if (r.layer < 0) {
      needed_inputs.insert(r.input);
      continue;
    }
    if (keep[static_cast<std::size_t>(r.layer)]) continue;
    keep[static_cast<std::size_t>(r.layer)] = true;
    for (const Ref& i : layers_[static_cast<std::size_t>(r.layer)].inputs) todo.push_back(i);
    for (const Ref& i : layers_[static_cast<std::size_t>(r.layer)].states) todo.push_back(i);
  }
  // Names: each layer its ONNX node's name when that is a plain name, else Keras's default; the
  // layer an output comes from takes the output's name.
  std::set<std::string> taken;
  std::vector<std::size_t> input_index(inputs_.size(), 0);
  json inputs = json::array(), input_map = json::array();
  std::size_t kept_inputs = 0;
  for (std::size_t k = 0; k < inputs_.size(); ++k) {
    if (!needed_inputs.count(k)) continue;
    input_index[k] = kept_inputs++;
    taken.insert(inputs_[k].name);
    json shape = json::array();
    for (auto d : inputs_[k].shape) shape.push_back(d == kTimeDim ? json(nullptr) : json(d));
    inputs.push_back({{"name", inputs_[k].name}, {"shape", shape}, {"batch_size", nullptr}});
    input_map.push_back({{"name", inputs_[k].name}, {"onnx_axes", inputs_[k].onnx_axes}});
  }
  if (inputs.empty())
    unsupported(path_, "the ONNX graph's outputs depend on no graph input; recur models compute from inputs.");
  auto unique = [&](std::string base) {
    std::string name = base;
    for (int j = 1; taken.count(name); ++j) name = base + "_" + std::to_string(j);
    taken.insert(name);
    return name;
  };
  for (const OutInfo& o : outs) {
    PLayer& l = layers_[static_cast<std::size_t>(o.ref.layer)];
    if (l.name.empty() && is_valid_name(o.name) && !taken.count(o.name)) l.name = unique(o.name);
  }
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    PLayer& l = layers_[k];
    if (!keep[k] || !l.name.empty()) continue;
    l.name = unique(is_valid_name(l.hint) ? l.hint : default_layer_name(l.class_name));
  }
  // Recurrent layers: the flags their uses need, and the index of each output.
  auto index_of = [&](const Ref& r) -> std::size_t {
    const PLayer& l = layers_[static_cast<std::size_t>(r.layer)];
    if (!l.rnn || r.which == Out::kMain) return 0;
    if (r.which == Out::kH) return l.used_seq ? 1 : 0;
    return 2;
  };
  std::vector<std::size_t> node_of(layers_.size(), 0);
  for (std::size_t k = 0, next = 0; k < layers_.size(); ++k)
    if (keep[k]) node_of[k] = next++;
  auto ref_json = [&](const Ref& r) -> json {
    if (r.layer < 0) return {{"input", input_index[r.input]}};
    return {{"node", node_of[static_cast<std::size_t>(r.layer)]}, {"index", index_of(r)}};
  };
  json layers = json::array(), nodes = json::array(), outputs = json::array(), output_map = json::array();
  ModelFileContents contents;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    if (!keep[k]) continue;
    PLayer& l = layers_[k];
    json cfg = l.config;
    cfg["name"] = l.name;
    if (l.rnn) {
      cfg["return_sequences"] = l.used_seq;
      cfg["return_state"] = l.used_c || (l.used_h && l.used_seq);
      cfg["stateful"] = false;
      cfg["zero_output_for_mask"] = false;
      if (!cfg.contains("go_backwards")) cfg["go_backwards"] = false;
    }
    layers.push_back({{"class_name", l.class_name}, {"config", cfg}});
    json node = {{"layer", l.name}, {"inputs", json::array()}, {"initial_state", json::array()}};
    for (const Ref& r : l.inputs) node["inputs"].push_back(ref_json(r));
    for (const Ref& r : l.states) node["initial_state"].push_back(ref_json(r));
    nodes.push_back(node);
    for (auto& [w, t] : l.weights) contents.tensors.push_back({l.name + "/" + w, t});
  }
  for (const OutInfo& o : outs) {
    outputs.push_back(ref_json(o.ref));
    json m = {{"name", o.name}, {"onnx_axes", o.onnx_axes}};
    if (o.merged) m["directions_merged"] = true;
    output_map.push_back(m);
  }
  json metadata = json::object();
  for (const auto& p : model_.metadata_props())
    if (p.key() == "recur.metadata") {
      try {
        // recur's own metadata, written by its exporter; nested at most 32 levels (it is text
        // from the file, and deeper JSON would recurse when written back).
        metadata = json::parse(p.value(), [](int depth, json::parse_event_t, json&) {
          if (depth > 32) throw std::length_error("nested too deep");
          return true;
        });
      } catch (...) {
        metadata = json::object();
      }
    }
  if (!metadata.is_object()) metadata = json::object();
  for (std::size_t k = 0; k < inputs_.size(); ++k)
    if (!needed_inputs.count(k))
      note("graph input '" + inputs_[k].name.substr(0, 100) + "' is not needed by any output and was left out");
  metadata["onnx"] = {{"producer_name", model_.producer_name().substr(0, 100)},
                      {"ir_version", model_.ir_version()},
                      {"opset", opset_},
                      {"inputs", input_map},
                      {"outputs", output_map}};
  if (!model_.producer_version().empty())
    metadata["onnx"]["producer_version"] = model_.producer_version().substr(0, 100);
  if (!notes_.empty()) metadata["onnx"]["notes"] = notes_;
  const std::string name = is_valid_name(g_.name()) ? g_.name() : "onnx_model";
  json doc = {
      {"format", "recur.functional"},
      {"model",
       {{"class_name", "Functional"},
        {"config", {{"name", name}, {"layers", layers}, {"inputs", inputs}, {"nodes", nodes}, {"outputs", outputs}}}}},
      {"metadata", metadata}};
  // The path, the graph's name and the producer's come from outside and may not be UTF-8.
  contents.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return contents;
}

}  // namespace

ModelFileContents read_onnx(const std::string& path, const std::string& bytes) {
  const ::onnx::ModelProto model = parse_model(path, bytes);
  try {
    return Importer(model, path).run();
  } catch (const std::bad_alloc&) {
    damaged(path, "the ONNX model needs more memory than there is.");
  } catch (const nlohmann::json::exception& e) {
    damaged(path, std::string("the ONNX model could not be converted: ") + e.what());
  }
}

}  // namespace recur::detail::onnx
