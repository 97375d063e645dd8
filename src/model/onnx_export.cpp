// recur model contents -> an ONNX model (opset 14): write_onnx. Every recur tensor is an ONNX
// tensor of the same batch-major shape (batch, ...); a recurrent layer is ONE native LSTM / GRU /
// RNN node (layout 0, between Transpose nodes: onnxruntime rejects layout 1), its weights
// initializers in ONNX's gate order. What ONNX cannot express is refused with RECUR-E0021
// naming the layer, its class and the option. Mapping table: docs/onnx.md.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "onnx_common.hpp"
#include "onnx_format.hpp"
#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur::detail::onnx {
namespace {

using json = nlohmann::json;
using Dims = std::vector<std::int64_t>;  // without the batch axis; -1: any extent (None)

// A tensor of the recur graph: model input `index` (node -1) or output `index` of node `node`.
struct Ref {
  int node = -1;
  std::size_t index = 0;
  bool operator<(const Ref& o) const { return node != o.node ? node < o.node : index < o.index; }
};

// The recur model's graph, Sequential and Functional alike (docs/model-format.md).
struct RecurGraph {
  struct In {
    std::string name;
    Dims shape;
    std::optional<std::int64_t> batch;
  };
  struct Node {
    std::string class_name;
    json config;
    std::vector<Ref> inputs, states;
  };
  std::string name;
  std::vector<In> inputs;
  std::vector<Node> nodes;
  std::vector<Ref> outputs;
  json metadata;
};

// A stored extent: a positive integer, or null / kAnyDim for None (any number of timesteps).
std::int64_t stored_extent(const json& d) {
  if (d.is_null()) return -1;
  if (d.is_number_unsigned()) {
    const auto v = d.get<std::uint64_t>();
    if (v == std::numeric_limits<std::uint64_t>::max()) return -1;
    if (v >= 1 && v <= (std::uint64_t{1} << 24)) return static_cast<std::int64_t>(v);
  }
  throw ModelFormatError("ONNX export: the model's input shape holds " + d.dump().substr(0, 40) +
                         ", not an extent from 1 to 16777216.");
}

RecurGraph read_graph(const ModelFileContents& contents) {
  RecurGraph g;
  const json doc = json::parse(contents.json);
  const std::string format = doc.value("format", "");
  const json& cfg = doc.at("model").at("config");
  g.name = cfg.value("name", "recur");
  g.metadata = doc.value("metadata", json::object());
  auto ref = [&](const json& r) {
    if (r.contains("input")) return Ref{-1, r.at("input").get<std::size_t>()};
    return Ref{r.at("node").get<int>(), r.at("index").get<std::size_t>()};
  };
  if (format == "recur.sequential") {
    const json& layers = cfg.at("layers");
    if (!layers.is_array() || layers.empty())
      throw ValueError("ONNX export: the Sequential model has no layers; add layers and build it first.");
    RecurGraph::In in{layers[0].at("config").at("name").get<std::string>() + "_input", {}, std::nullopt};
    for (const json& d : cfg.at("input_shape")) in.shape.push_back(stored_extent(d));
    g.inputs.push_back(in);
    for (std::size_t k = 0; k < layers.size(); ++k)
      g.nodes.push_back({layers[k].at("class_name").get<std::string>(),
                         layers[k].at("config"),
                         {k == 0 ? Ref{-1, 0} : Ref{static_cast<int>(k) - 1, 0}},
                         {}});
    g.outputs.push_back({static_cast<int>(layers.size()) - 1, 0});
    return g;
  }
  if (format != "recur.functional")
    throw ModelFormatError("ONNX export: the model document has format \"" + format.substr(0, 40) +
                           "\", expected recur.sequential or recur.functional.");
  std::map<std::string, const json*> layers;
  for (const json& l : cfg.at("layers")) layers[l.at("config").at("name").get<std::string>()] = &l;
  for (const json& in : cfg.at("inputs")) {
    RecurGraph::In x{in.at("name").get<std::string>(), {}, std::nullopt};
    for (const json& d : in.at("shape")) x.shape.push_back(stored_extent(d));
    if (in.contains("batch_size") && in.at("batch_size").is_number_unsigned())
      x.batch = in.at("batch_size").get<std::int64_t>();
    g.inputs.push_back(x);
  }
  for (const json& n : cfg.at("nodes")) {
    const json& layer = *layers.at(n.at("layer").get<std::string>());
    RecurGraph::Node node{layer.at("class_name").get<std::string>(), layer.at("config"), {}, {}};
    for (const json& r : n.at("inputs")) node.inputs.push_back(ref(r));
    for (const json& r : n.value("initial_state", json::array())) node.states.push_back(ref(r));
    g.nodes.push_back(node);
  }
  for (const json& r : cfg.at("outputs")) g.outputs.push_back(ref(r));
  return g;
}

// The writer: one ONNX graph built node by node from the recur graph.
class Writer {
 public:
  Writer(const ModelFileContents& contents, const std::string& path) : path_(path), g_(read_graph(contents)) {
    for (const NamedTensor& t : contents.tensors) weights_[t.name] = &t.tensor;
  }

  ::onnx::ModelProto build();

 private:
  // --- values and nodes ---
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; !names_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }
  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name) {
    ::onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(fresh_node(name));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  std::string fresh_node(const std::string& base) {
    std::string name = base;
    for (int k = 1; !node_names_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }
  // One op with one output: returns the output's name (`out` when given, else a fresh one).
  std::string op1(const std::string& op, const std::vector<std::string>& inputs, const std::string& node_name,
                  const std::string& out = "", ::onnx::NodeProto** made = nullptr) {
    const std::string o = out.empty() ? fresh(node_name + "_output") : out;
    ::onnx::NodeProto* n = node(op, inputs, {o}, node_name);
    if (made) *made = n;
    return o;
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<float>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOATS);
    for (auto x : v) a->add_floats(x);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<std::string>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a->add_strings(x);
  }
  std::string float_init(const std::string& name, const Dims& dims, const std::vector<float>& values) {
    ::onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(fresh(name));
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return t->name();
  }
  // An int64 vector initializer, shared by every node that needs the same values (axes, shapes).
  std::string ints(const std::vector<std::int64_t>& values) {
    auto it = int_inits_.find(values);
    if (it != int_inits_.end()) return it->second;
    std::string name = "const";
    for (auto v : values)
      name +=
          v == std::numeric_limits<std::int64_t>::min() ? std::string("_min") : std::string("_") + std::to_string(v);
    for (char& c : name)
      if (c == '-') c = 'm';
    ::onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(fresh(name));
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
    int_inits_[values] = t->name();
    return t->name();
  }
  const Tensor& weight(const std::string& name) const {
    auto it = weights_.find(name);
    if (it == weights_.end())
      throw ModelFormatError("ONNX export: the model has no weight '" + name + "'; its contents are inconsistent.");
    return *it->second;
  }

  // --- the layers ---
  [[noreturn]] void refuse(const RecurGraph::Node& n, const std::string& why) const {
    unsupported(path_, "ONNX export: " + n.class_name + " '" + n.config.value("name", "?") + "' " + why);
  }
  std::string in(const Ref& r) const { return values_.at(r); }
  // The name the value of output `index` of node `k` gets: the graph output's name when it is
  // one, else a fresh one.
  std::string out_name(int k, std::size_t index, const std::string& base) {
    auto it = output_names_.find(Ref{k, index});
    if (it != output_names_.end() && !it->second.empty()) {
      std::string name = it->second;
      it->second.clear();  // a second use of the same ref needs another name (Identity below)
      return name;
    }
    return fresh(base);
  }
  void emit(int k);
  void emit_rnn(int k, const RecurGraph::Node& n, const std::string& kind, const json& cell);
  void emit_bidirectional(int k, const RecurGraph::Node& n);
  std::string emit_dense(const RecurGraph::Node& n, const std::string& layer, const json& cfg,
                         const std::string& prefix, const std::string& x, const std::string& out);
  std::string emit_activation(const RecurGraph::Node& n, const std::string& activation, const std::string& x,
                              const std::string& node_name, const std::string& out);
  // The ONNX W, R, B of one direction (Keras layout in, ONNX gate order out), appended.
  void rnn_weights(const std::string& kind, const std::string& prefix, bool use_bias, bool reset_after,
                   std::size_t units, std::vector<float>& W, std::vector<float>& R, std::vector<float>& B,
                   std::size_t& features);
  void set_dims(::onnx::ValueInfoProto* v, const std::string& name, const Dims& shape,
                std::optional<std::int64_t> batch);

  std::string path_;
  RecurGraph g_;
  std::map<std::string, const Tensor*> weights_;
  ::onnx::GraphProto* graph_ = nullptr;
  std::set<std::string> names_, node_names_;
  std::map<std::vector<std::int64_t>, std::string> int_inits_;
  std::map<Ref, std::string> values_;        // recur tensor -> ONNX value name
  std::map<Ref, Dims> shapes_;               // recur tensor -> shape without batch
  std::map<Ref, std::string> masks_;         // recur tensor -> the layer whose mask it carries
  std::map<Ref, std::string> output_names_;  // recur tensor -> graph output name (pending)
  std::set<Ref> used_;
};

// The recur output names (Model::output_names): the output layer's name, made unique.
std::vector<std::string> output_names(const RecurGraph& g) {
  std::vector<std::string> out;
  for (const Ref& r : g.outputs) {
    std::string n = r.node < 0 ? g.inputs.at(r.index).name
                               : g.nodes.at(static_cast<std::size_t>(r.node)).config.at("name").get<std::string>();
    if (std::count(out.begin(), out.end(), n)) n += std::string("_") + std::to_string(r.index);
    while (std::count(out.begin(), out.end(), n)) n += "_";
    out.push_back(n);
  }
  return out;
}

void Writer::set_dims(::onnx::ValueInfoProto* v, const std::string& name, const Dims& shape,
                      std::optional<std::int64_t> batch) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  auto* s = tt->mutable_shape();
  auto* b = s->add_dim();
  if (batch)
    b->set_dim_value(*batch);
  else
    b->set_dim_param("batch");
  for (std::size_t k = 0; k < shape.size(); ++k) {
    auto* d = s->add_dim();
    if (shape[k] >= 1)
      d->set_dim_value(shape[k]);
    else
      d->set_dim_param(k == 0 ? std::string("timesteps") : std::string("d") + std::to_string(k + 1));
  }
}

::onnx::ModelProto Writer::build() {
  ::onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("recur");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  if (!g_.metadata.empty()) {
    auto* p = model.add_metadata_props();
    p->set_key("recur.metadata");
    p->set_value(g_.metadata.dump());
  }
  graph_ = model.mutable_graph();
  graph_->set_name(g_.name);
  for (std::size_t k = 0; k < g_.inputs.size(); ++k) {
    const auto& x = g_.inputs[k];
    names_.insert(x.name);
    set_dims(graph_->add_input(), x.name, x.shape, x.batch);
    values_[Ref{-1, k}] = x.name;
    shapes_[Ref{-1, k}] = x.shape;
  }
  for (const auto& n : g_.nodes) {
    for (const Ref& r : n.inputs) used_.insert(r);
    for (const Ref& r : n.states) used_.insert(r);
  }
  const std::vector<std::string> out_names = output_names(g_);
  for (std::size_t k = 0; k < g_.outputs.size(); ++k) {
    used_.insert(g_.outputs[k]);
    // The first graph output of a tensor takes its value's name; more are Identity copies.
    if (!output_names_.count(g_.outputs[k]) && g_.outputs[k].node >= 0) {
      output_names_[g_.outputs[k]] = out_names[k];
      names_.insert(out_names[k]);
    }
  }
  for (std::size_t k = 0; k < g_.nodes.size(); ++k) emit(static_cast<int>(k));
  std::optional<std::int64_t> batch;
  for (const auto& x : g_.inputs)
    if (x.batch) batch = x.batch;
  for (std::size_t k = 0; k < g_.outputs.size(); ++k) {
    const Ref& r = g_.outputs[k];
    std::string value = values_.at(r);
    if (value != out_names[k]) {
      names_.insert(out_names[k]);
      op1("Identity", {value}, out_names[k] + "/Identity", out_names[k]);
    }
    set_dims(graph_->add_output(), out_names[k], shapes_.at(r), batch);
  }
  return model;
}

void Writer::emit(int k) {
  const RecurGraph::Node& n = g_.nodes[static_cast<std::size_t>(k)];
  const std::string name = n.config.at("name").get<std::string>();
  const std::string& cls = n.class_name;
  const Ref out0{k, 0};
  // The mask reaching this layer (Masking, Embedding(mask_zero) upstream), and where from.
  std::string mask;
  for (const Ref& r : n.inputs)
    if (masks_.count(r)) mask = masks_.at(r);
  const Dims x_shape = shapes_.at(n.inputs.at(0));
  auto keep_mask = [&](const Ref& r) {
    if (!mask.empty()) masks_[r] = mask;
  };
  auto refuse_mask = [&] {
    if (!mask.empty())
      refuse(n, "receives the mask of " + mask + " (Masking, or Embedding with mask_zero=true): ONNX's " +
                    (cls == "GlobalAveragePooling1D" || cls == "GlobalMaxPooling1D"
                         ? std::string("ReduceMean/ReduceMax have no mask, so masked steps would be pooled")
                         : std::string("recurrent nodes only take per-sample lengths (sequence_lens) of "
                                       "right-padded batches, not a mask computed from the data")) +
                    ". Export a model without the mask (mask_zero=false, no Masking layer) trained on the "
                    "same data, or run the model in recur.");
  };
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN") {
    refuse_mask();
    emit_rnn(k, n, cls, n.config);
    return;
  }
  if (cls == "RNN") {
    refuse_mask();
    const std::string cell = n.config.at("cell").at("class_name").get<std::string>();
    const std::string kind = cell == "LSTMCell"        ? "LSTM"
                             : cell == "GRUCell"       ? "GRU"
                             : cell == "SimpleRNNCell" ? "SimpleRNN"
                                                       : "";
    if (kind.empty())
      refuse(n, "wraps a cell of class " + cell + "; ONNX export knows LSTMCell, GRUCell and SimpleRNNCell.");
    json cfg = n.config.at("cell").at("config");
    for (const char* key : {"return_sequences", "return_state", "go_backwards", "stateful", "name"})
      if (n.config.contains(key)) cfg[key] = n.config[key];
    emit_rnn(k, n, kind, cfg);
    return;
  }
  if (cls == "Bidirectional") {
    refuse_mask();
    emit_bidirectional(k, n);
    return;
  }
  const std::string x = in(n.inputs.at(0));
  Dims shape = x_shape;
  std::string y;
  if (cls == "Dense") {
    y = emit_dense(n, name, n.config, name, x, out_name(k, 0, name + "_output"));
    shape.back() = n.config.at("units").get<std::int64_t>();
    if (x_shape.size() >= 2) keep_mask(out0);
  } else if (cls == "TimeDistributed") {
    const json& inner = n.config.at("layer");
    const std::string inner_class = inner.at("class_name").get<std::string>();
    if (inner_class == "Dense") {
      // Dense on the last axis of (batch, timesteps, ..., features) is Dense on every step.
      y = emit_dense(n, name, inner.at("config"), name, x, out_name(k, 0, name + "_output"));
      shape.back() = inner.at("config").at("units").get<std::int64_t>();
    } else if (inner_class == "Dropout") {
      y = op1("Identity", {x}, name, out_name(k, 0, name + "_output"));
    } else if (inner_class == "Activation") {
      y = emit_activation(n, inner.at("config").at("activation").get<std::string>(), x, name,
                          out_name(k, 0, name + "_output"));
    } else {
      refuse(n, "wraps a " + inner_class +
                    "; ONNX export knows TimeDistributed(Dense), TimeDistributed(Dropout) "
                    "and TimeDistributed(Activation).");
    }
    keep_mask(out0);
  } else if (cls == "Dropout") {
    y = op1("Identity", {x}, name, out_name(k, 0, name + "_output"));
    keep_mask(out0);
  } else if (cls == "Activation") {
    y = emit_activation(n, n.config.at("activation").get<std::string>(), x, name, out_name(k, 0, name + "_output"));
    keep_mask(out0);
  } else if (cls == "Embedding") {
    // recur feeds ids as floats: Cast to int64, then Gather rows of the embeddings.
    const Tensor& e = weight(name + "/embeddings");
    const std::string table = float_init(
        name + "/embeddings", {static_cast<std::int64_t>(e.dim(0)), static_cast<std::int64_t>(e.dim(1))}, e.values());
    ::onnx::NodeProto* cast = nullptr;
    const std::string ids = op1("Cast", {x}, name + "/Cast", "", &cast);
    attr(cast, "to", std::int64_t{::onnx::TensorProto::INT64});
    ::onnx::NodeProto* gather = nullptr;
    y = op1("Gather", {table, ids}, name, out_name(k, 0, name + "_output"), &gather);
    attr(gather, "axis", std::int64_t{0});
    shape.push_back(static_cast<std::int64_t>(e.dim(1)));
    if (n.config.value("mask_zero", false)) masks_[out0] = "Embedding '" + name + "'";
  } else if (cls == "Masking") {
    // y = x * keep, keep = any(x != mask_value) over the features (Keras's Masking output); the
    // mask itself reaches nothing that uses it (checked where it would).
    const float v = n.config.at("mask_value").get<float>();
    const std::string value = float_init(name + "/mask_value", {}, {v});
    const std::string eq = op1("Equal", {x, value}, name + "/Equal");
    const std::string ne = op1("Not", {eq}, name + "/Not");
    ::onnx::NodeProto* cast = nullptr;
    const std::string keepf = op1("Cast", {ne}, name + "/Cast", "", &cast);
    attr(cast, "to", std::int64_t{::onnx::TensorProto::FLOAT});
    ::onnx::NodeProto* any = nullptr;
    const std::string keep = op1("ReduceMax", {keepf}, name + "/ReduceMax", "", &any);
    attr(any, "axes", std::vector<std::int64_t>{-1});
    attr(any, "keepdims", std::int64_t{1});
    y = op1("Mul", {x, keep}, name, out_name(k, 0, name + "_output"));
    masks_[out0] = "Masking '" + name + "'";
  } else if (cls == "Flatten") {
    ::onnx::NodeProto* f = nullptr;
    y = op1("Flatten", {x}, name, out_name(k, 0, name + "_output"), &f);
    attr(f, "axis", std::int64_t{1});
    std::int64_t p = 1;
    for (auto d : x_shape) p = (d < 0 || p < 0) ? -1 : p * d;
    shape = {p};
  } else if (cls == "Reshape") {
    std::vector<std::int64_t> target{0};  // 0: copy the batch extent
    for (const json& d : n.config.at("target_shape")) target.push_back(d.get<std::int64_t>());
    y = op1("Reshape", {x, ints(target)}, name, out_name(k, 0, name + "_output"));
    std::int64_t known = 1, total = 1;
    for (auto d : x_shape) total = (d < 0 || total < 0) ? -1 : total * d;
    shape.assign(target.begin() + 1, target.end());
    for (auto d : shape)
      if (d > 0) known *= d;
    for (auto& d : shape)
      if (d == -1) d = total > 0 ? total / known : -1;
  } else if (cls == "RepeatVector") {
    const std::int64_t times = n.config.at("n").get<std::int64_t>();
    const std::string u = op1("Unsqueeze", {x, ints({1})}, name + "/Unsqueeze");
    y = op1("Tile", {u, ints({1, times, 1})}, name, out_name(k, 0, name + "_output"));
    shape = {times, x_shape.at(0)};
  } else if (cls == "GlobalAveragePooling1D" || cls == "GlobalMaxPooling1D") {
    refuse_mask();
    ::onnx::NodeProto* r = nullptr;
    y = op1(cls == "GlobalMaxPooling1D" ? "ReduceMax" : "ReduceMean", {x}, name, out_name(k, 0, name + "_output"), &r);
    attr(r, "axes", std::vector<std::int64_t>{1});
    attr(r, "keepdims", std::int64_t{0});
    shape = {x_shape.back()};
  } else if (cls == "Concatenate" || cls == "Add" || cls == "Multiply" || cls == "Average") {
    std::vector<std::string> xs;
    for (const Ref& r : n.inputs) xs.push_back(in(r));
    if (cls == "Concatenate") {
      const std::int64_t axis = n.config.value("axis", std::int64_t{-1});
      ::onnx::NodeProto* c = nullptr;
      y = op1("Concat", xs, name, out_name(k, 0, name + "_output"), &c);
      attr(c, "axis", axis);
      const std::size_t a =
          static_cast<std::size_t>(axis < 0 ? static_cast<std::int64_t>(x_shape.size()) + axis : axis - 1);
      shape[a] = 0;
      for (const Ref& r : n.inputs)
        shape[a] = (shape[a] < 0 || shapes_.at(r)[a] < 0) ? -1 : shape[a] + shapes_.at(r)[a];
    } else if (cls == "Multiply") {
      std::string acc = xs[0];
      for (std::size_t j = 1; j < xs.size(); ++j)
        acc = j + 1 == xs.size() ? op1("Mul", {acc, xs[j]}, name, out_name(k, 0, name + "_output"))
                                 : op1("Mul", {acc, xs[j]}, name + "/Mul");
      y = acc;
    } else {
      const bool mean = cls == "Average";
      const std::string sum_op = xs.size() == 2 ? "Add" : "Sum";
      if (!mean) {
        y = op1(sum_op, xs, name, out_name(k, 0, name + "_output"));
      } else {
        const std::string sum = op1(sum_op, xs, name + "/" + sum_op);
        const std::string scale = float_init(name + "/scale", {}, {1.0f / static_cast<float>(xs.size())});
        y = op1("Mul", {sum, scale}, name, out_name(k, 0, name + "_output"));
      }
    }
    keep_mask(out0);
  } else {
    refuse(n,
           "has no ONNX export; recur exports LSTM, GRU, SimpleRNN, RNN, Bidirectional, TimeDistributed, "
           "Dense, Dropout, Activation, Embedding, Masking, Flatten, Reshape, RepeatVector, "
           "GlobalAveragePooling1D, GlobalMaxPooling1D, Concatenate, Add, Multiply and Average.");
  }
  values_[out0] = y;
  shapes_[out0] = shape;
}

std::string Writer::emit_activation(const RecurGraph::Node& n, const std::string& activation, const std::string& x,
                                    const std::string& node_name, const std::string& out) {
  for (const LayerActivation& a : kLayerActivations) {
    if (activation != a.keras) continue;
    if (std::string(a.op).empty()) return op1("Identity", {x}, node_name, out);
    ::onnx::NodeProto* node = nullptr;
    const std::string y = op1(a.op, {x}, node_name, out, &node);
    if (a.alpha) attr(node, "alpha", *a.alpha);
    if (a.beta) attr(node, "beta", *a.beta);
    if (std::string(a.op) == "Softmax") attr(node, "axis", std::int64_t{-1});
    if (std::string(a.op) == "Selu") {
      // Keras's constants, which ONNX's defaults round to the same floats.
      attr(node, "alpha", 1.6732632423543772f);
      attr(node, "gamma", 1.0507009873554805f);
    }
    return y;
  }
  refuse(n, "uses the activation \"" + activation + "\", which has no ONNX export; recur exports " +
                layer_activation_names() + ".");
}

std::string Writer::emit_dense(const RecurGraph::Node& n, const std::string& layer, const json& cfg,
                               const std::string& prefix, const std::string& x, const std::string& out) {
  // y = activation(x kernel + bias) on the last axis: MatMul broadcasts over the leading axes.
  const Tensor& kernel = weight(prefix + "/kernel");
  const std::string w =
      float_init(prefix + "/kernel",
                 {static_cast<std::int64_t>(kernel.dim(0)), static_cast<std::int64_t>(kernel.dim(1))}, kernel.values());
  const std::string activation = cfg.at("activation").get<std::string>();
  const bool bias = cfg.value("use_bias", true);
  const bool last_is_matmul = !bias && activation == "linear";
  std::string y = op1("MatMul", {x, w}, layer, last_is_matmul ? out : "");
  if (bias) {
    const Tensor& b = weight(prefix + "/bias");
    const std::string bn = float_init(prefix + "/bias", {static_cast<std::int64_t>(b.dim(0))}, b.values());
    y = op1("Add", {y, bn}, layer + "/Add", activation == "linear" ? out : "");
  }
  if (activation != "linear") y = emit_activation(n, activation, y, layer + "/" + activation, out);
  return y;
}

void Writer::rnn_weights(const std::string& kind, const std::string& prefix, bool use_bias, bool reset_after,
                         std::size_t units, std::vector<float>& W, std::vector<float>& R, std::vector<float>& B,
                         std::size_t& features) {
  const Tensor& kernel = weight(prefix + "/kernel");
  const Tensor& recurrent = weight(prefix + "/recurrent_kernel");
  const std::size_t U = units, F = kernel.dim(0);
  const std::size_t gates = kind == "LSTM" ? 4 : kind == "GRU" ? 3 : 1, G = gates * U;
  features = F;
  // Keras block of ONNX gate slot g: LSTM reorders i, f, c, o -> i, o, f, c; GRU and RNN keep it.
  auto block = [&](std::size_t g) {
    return kind == "LSTM" ? static_cast<std::size_t>(kKerasBlockOfOnnxLstmGate[g]) : g;
  };
  // W (G, F) = kernel^T with the blocks reordered; R (G, U) the same of recurrent_kernel.
  for (std::size_t g = 0; g < gates; ++g)
    for (std::size_t u = 0; u < U; ++u) {
      const std::size_t col = block(g) * U + u;
      for (std::size_t f = 0; f < F; ++f) W.push_back(kernel[f * G + col]);
    }
  for (std::size_t g = 0; g < gates; ++g)
    for (std::size_t u = 0; u < U; ++u) {
      const std::size_t col = block(g) * U + u;
      for (std::size_t v = 0; v < U; ++v) R.push_back(recurrent[v * G + col]);
    }
  if (!use_bias) return;
  // B = [Wb, Rb]: Keras's one bias is Wb (Rb zeros), a reset_after GRU's (2, G) bias is both.
  const Tensor& bias = weight(prefix + "/bias");
  const bool two_rows = kind == "GRU" && reset_after;
  for (std::size_t row = 0; row < 2; ++row)
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t u = 0; u < U; ++u) {
        const std::size_t col = block(g) * U + u;
        B.push_back(row == 0 ? bias[col] : two_rows ? bias[G + col] : 0.0f);
      }
}

// The activations[] / activation_alpha / activation_beta of one direction, appended.
void rnn_activations(const std::vector<std::string>& keras, std::vector<std::string>& names, std::vector<float>& alpha,
                     std::vector<float>& beta, const std::function<void(const std::string&)>& refuse) {
  for (const std::string& k : keras) {
    const RnnActivation* found = nullptr;
    for (const RnnActivation& a : kRnnActivations)
      if (k == a.keras) found = &a;
    if (!found) refuse(k);
    names.push_back(found->onnx);
    if (found->alpha) alpha.push_back(*found->alpha);
    if (found->beta) beta.push_back(*found->beta);
  }
}

void Writer::emit_rnn(int k, const RecurGraph::Node& n, const std::string& kind, const json& cfg) {
  const std::string name = n.config.at("name").get<std::string>();
  if (cfg.value("stateful", false))
    refuse(n,
           "is stateful (stateful=true): an ONNX graph keeps no state from one run to the next. Export a "
           "copy built with stateful=false and pass the states as initial_state inputs (a Functional model), "
           "reading them back from return_state outputs.");
  const std::size_t U = cfg.at("units").get<std::size_t>();
  const bool use_bias = cfg.value("use_bias", true), reset_after = cfg.value("reset_after", true);
  const bool seq = cfg.value("return_sequences", false), backwards = cfg.value("go_backwards", false);
  std::vector<float> W, R, B;
  std::size_t F = 0;
  rnn_weights(kind, name, use_bias, reset_after, U, W, R, B, F);
  const std::string op = kind == "SimpleRNN" ? "RNN" : kind;
  const std::int64_t G = static_cast<std::int64_t>(W.size() / F), U64 = static_cast<std::int64_t>(U);
  std::vector<std::string> inputs{"", float_init(name + "/W", {1, G, static_cast<std::int64_t>(F)}, W),
                                  float_init(name + "/R", {1, G, U64}, R), ""};
  if (use_bias) inputs[3] = float_init(name + "/B", {1, 2 * G}, B);
  // X (batch, T, F) -> (T, batch, F): layout 0.
  ::onnx::NodeProto* transpose = nullptr;
  inputs[0] = op1("Transpose", {in(n.inputs.at(0))}, name + "/Transpose", "", &transpose);
  attr(transpose, "perm", std::vector<std::int64_t>{1, 0, 2});
  // initial_state (batch, U) each -> (1, batch, U).
  if (!n.states.empty()) {
    inputs.push_back("");  // sequence_lens
    for (const Ref& s : n.states) inputs.push_back(op1("Unsqueeze", {in(s), ints({0})}, name + "/Unsqueeze"));
  }
  const bool ret_state = cfg.value("return_state", false);
  const Ref out0{k, 0}, out1{k, 1}, out2{k, 2};
  const bool want_y = seq && used_.count(out0);
  const bool want_h = (!seq && used_.count(out0)) || (ret_state && used_.count(out1));
  const bool want_c = kind == "LSTM" && ret_state && used_.count(out2);
  std::vector<std::string> outputs{want_y ? fresh(name + "/Y") : "", want_h ? fresh(name + "/Y_h") : ""};
  if (want_c) outputs.push_back(fresh(name + "/Y_c"));
  while (!outputs.empty() && outputs.back().empty()) outputs.pop_back();
  if (outputs.empty()) outputs.push_back(fresh(name + "/Y_h"));  // an unused layer still computes
  ::onnx::NodeProto* r = node(op, inputs, outputs, name);
  attr(r, "hidden_size", U64);
  attr(r, "direction", std::string(backwards ? "reverse" : "forward"));
  attr(r, "layout", std::int64_t{0});
  std::vector<std::string> acts;
  if (kind == "LSTM")
    acts = {cfg.value("recurrent_activation", "sigmoid"), cfg.value("activation", "tanh"),
            cfg.value("activation", "tanh")};
  else if (kind == "GRU")
    acts = {cfg.value("recurrent_activation", "sigmoid"), cfg.value("activation", "tanh")};
  else
    acts = {cfg.value("activation", "tanh")};
  std::vector<std::string> names;
  std::vector<float> alpha, beta;
  rnn_activations(acts, names, alpha, beta, [&](const std::string& a) {
    refuse(n, "uses the activation \"" + a + "\" in its cell; ONNX's " + op + " node takes " + rnn_activation_names() +
                  ".");
  });
  attr(r, "activations", names);
  if (!alpha.empty()) attr(r, "activation_alpha", alpha);
  if (!beta.empty()) attr(r, "activation_beta", beta);
  if (kind == "GRU") attr(r, "linear_before_reset", std::int64_t{reset_after ? 1 : 0});

  Dims x_shape = shapes_.at(n.inputs.at(0));
  if (want_y) {
    // Y (T, 1, batch, U) -> (T, batch, U) [-> reversed in time: Keras's go_backwards output is in
    // processing order, ONNX's reverse direction in input order] -> (batch, T, U).
    std::string y = op1("Squeeze", {outputs[0], ints({1})}, name + "/Squeeze");
    if (backwards)
      y = op1("Slice", {y, ints({-1}), ints({std::numeric_limits<std::int64_t>::min()}), ints({0}), ints({-1})},
              name + "/Reverse");
    ::onnx::NodeProto* t = nullptr;
    values_[out0] = op1("Transpose", {y}, name + "/Transpose_Y", out_name(k, 0, name + "_output"), &t);
    attr(t, "perm", std::vector<std::int64_t>{1, 0, 2});
    shapes_[out0] = {x_shape.at(0), U64};
  }
  // Y_h / Y_c (1, batch, U) -> (batch, U).
  if (!seq && used_.count(out0)) {
    values_[out0] = op1("Squeeze", {outputs[1], ints({0})}, name + "/Squeeze_h", out_name(k, 0, name + "_output"));
    shapes_[out0] = {U64};
  }
  if (ret_state && used_.count(out1)) {
    values_[out1] = op1("Squeeze", {outputs[1], ints({0})}, name + "/Squeeze_h", out_name(k, 1, name + "_h"));
    shapes_[out1] = {U64};
  }
  if (want_c) {
    values_[out2] = op1("Squeeze", {outputs[2], ints({0})}, name + "/Squeeze_c", out_name(k, 2, name + "_c"));
    shapes_[out2] = {U64};
  }
}

void Writer::emit_bidirectional(int k, const RecurGraph::Node& n) {
  const std::string name = n.config.at("name").get<std::string>();
  const std::string merge = n.config.value("merge_mode", "concat");
  const json& layer = n.config.at("layer");
  std::string kind = layer.at("class_name").get<std::string>();
  json cfg = layer.at("config");
  if (kind == "RNN") {
    const std::string cell = cfg.at("cell").at("class_name").get<std::string>();
    json c = cfg.at("cell").at("config");
    for (const char* key : {"return_sequences", "return_state", "go_backwards", "stateful", "name"})
      if (cfg.contains(key)) c[key] = cfg[key];
    kind = cell == "LSTMCell" ? "LSTM" : cell == "GRUCell" ? "GRU" : "SimpleRNN";
    cfg = c;
  }
  if (kind != "LSTM" && kind != "GRU" && kind != "SimpleRNN")
    refuse(n, "wraps a " + kind + "; ONNX export knows Bidirectional LSTM, GRU, SimpleRNN and RNN.");
  if (cfg.value("stateful", false))
    refuse(n, "wraps a stateful layer (stateful=true): an ONNX graph keeps no state from one run to the next.");
  if (cfg.value("go_backwards", false))
    refuse(n,
           "wraps a layer with go_backwards=true (its forward half reads the sequence backwards); ONNX's "
           "bidirectional direction runs the first half forwards. Wrap the layer with go_backwards=false.");
  const std::size_t n_states = kind == "LSTM" ? 2 : 1;
  if (!n.states.empty() && n.states.size() != 2 * n_states)
    refuse(n, "is called with " + std::to_string(n.states.size()) + " initial states; a Bidirectional " + kind +
                  " takes " + std::to_string(2 * n_states) + ".");
  const std::string inner = cfg.at("name").get<std::string>();
  const std::size_t U = cfg.at("units").get<std::size_t>();
  const bool use_bias = cfg.value("use_bias", true), reset_after = cfg.value("reset_after", true);
  const bool seq = cfg.value("return_sequences", false);
  std::vector<float> W, R, B;
  std::size_t F = 0;
  rnn_weights(kind, name + "/forward_" + inner, use_bias, reset_after, U, W, R, B, F);
  rnn_weights(kind, name + "/backward_" + inner, use_bias, reset_after, U, W, R, B, F);
  const std::string op = kind == "SimpleRNN" ? "RNN" : kind;
  const std::int64_t G = static_cast<std::int64_t>(W.size() / F / 2), U64 = static_cast<std::int64_t>(U);
  ::onnx::NodeProto* t = nullptr;
  const std::string xt = op1("Transpose", {in(n.inputs.at(0))}, name + "/Transpose", "", &t);
  attr(t, "perm", std::vector<std::int64_t>{1, 0, 2});
  std::vector<std::string> inputs{xt, float_init(name + "/W", {2, G, static_cast<std::int64_t>(F)}, W),
                                  float_init(name + "/R", {2, G, U64}, R)};
  inputs.push_back(use_bias ? float_init(name + "/B", {2, 2 * G}, B) : "");
  // Keras's initial_state [forward states..., backward states...], each (batch, U) -> ONNX's
  // initial_h (and initial_c) (2, batch, U): the forward direction first.
  if (!n.states.empty()) {
    inputs.push_back("");  // sequence_lens
    for (std::size_t s = 0; s < n_states; ++s) {
      const std::string f = op1("Unsqueeze", {in(n.states[s]), ints({0})}, name + "/Unsqueeze");
      const std::string b = op1("Unsqueeze", {in(n.states[n_states + s]), ints({0})}, name + "/Unsqueeze");
      ::onnx::NodeProto* c = nullptr;
      inputs.push_back(op1("Concat", {f, b}, name + (s == 0 ? "/initial_h" : "/initial_c"), "", &c));
      attr(c, "axis", std::int64_t{0});
    }
  }
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  const bool ret_state = cfg.value("return_state", false);
  const std::string out = fresh(seq ? name + "/Y" : name + "/Y_h");
  std::vector<std::string> outputs = seq ? std::vector<std::string>{out} : std::vector<std::string>{"", out};
  if (ret_state) {
    if (seq) outputs.push_back(fresh(name + "/Y_h"));
    if (kind == "LSTM") outputs.push_back(fresh(name + "/Y_c"));
  }
  ::onnx::NodeProto* r = node(op, inputs, outputs, name);
  attr(r, "hidden_size", U64);
  attr(r, "direction", std::string("bidirectional"));
  attr(r, "layout", std::int64_t{0});
  std::vector<std::string> acts;
  if (kind == "LSTM")
    acts = {cfg.value("recurrent_activation", "sigmoid"), cfg.value("activation", "tanh"),
            cfg.value("activation", "tanh")};
  else if (kind == "GRU")
    acts = {cfg.value("recurrent_activation", "sigmoid"), cfg.value("activation", "tanh")};
  else
    acts = {cfg.value("activation", "tanh")};
  const std::vector<std::string> one_direction = acts;
  acts.insert(acts.end(), one_direction.begin(), one_direction.end());
  std::vector<std::string> names;
  std::vector<float> alpha, beta;
  rnn_activations(acts, names, alpha, beta, [&](const std::string& a) {
    refuse(n, "uses the activation \"" + a + "\" in its cell; ONNX's " + op + " node takes " + rnn_activation_names() +
                  ".");
  });
  attr(r, "activations", names);
  if (!alpha.empty()) attr(r, "activation_alpha", alpha);
  if (!beta.empty()) attr(r, "activation_beta", beta);
  if (kind == "GRU") attr(r, "linear_before_reset", std::int64_t{reset_after ? 1 : 0});
  // Y (T, 2, batch, U) -> (batch, T, 2, U); Y_h (2, batch, U) -> (batch, 2, U); then the merge
  // over the direction axis: concat (forward first, as Keras) is a Reshape, the others reduce.
  ::onnx::NodeProto* tp = nullptr;
  const std::string bm = op1("Transpose", {out}, name + "/Transpose_Y", "", &tp);
  attr(tp, "perm", seq ? std::vector<std::int64_t>{2, 0, 1, 3} : std::vector<std::int64_t>{1, 0, 2});
  const std::int64_t dir_axis = seq ? 2 : 1;
  const std::string y_name = out_name(k, 0, name + "_output");
  std::string y;
  if (merge == "concat") {
    y = op1("Reshape", {bm, ints(seq ? std::vector<std::int64_t>{0, 0, -1} : std::vector<std::int64_t>{0, -1})},
            name + "/Merge", y_name);
  } else if (merge == "sum") {
    ::onnx::NodeProto* m = nullptr;
    y = op1("ReduceSum", {bm, ints({dir_axis})}, name + "/Merge", y_name, &m);
    attr(m, "keepdims", std::int64_t{0});
  } else if (merge == "mul" || merge == "ave") {
    ::onnx::NodeProto* m = nullptr;
    y = op1(merge == "mul" ? "ReduceProd" : "ReduceMean", {bm}, name + "/Merge", y_name, &m);
    attr(m, "axes", std::vector<std::int64_t>{dir_axis});
    attr(m, "keepdims", std::int64_t{0});
  } else {
    refuse(n, "has merge_mode \"" + merge + "\"; ONNX export knows concat, sum, mul and ave.");
  }
  const Dims x_shape = shapes_.at(n.inputs.at(0));
  const std::int64_t width = merge == "concat" ? 2 * U64 : U64;
  values_[Ref{k, 0}] = y;
  shapes_[Ref{k, 0}] = seq ? Dims{x_shape.at(0), width} : Dims{width};
  // return_state: [h_f, (c_f,) h_b, (c_b)] from Y_h / Y_c (2, batch, U), direction d at index d.
  if (ret_state) {
    const char* state_names[] = {"_h", "_c"};
    for (std::size_t d = 0; d < 2; ++d)
      for (std::size_t s = 0; s < n_states; ++s) {
        const std::size_t index = 1 + d * n_states + s;
        const std::string& all = outputs.at(1 + s);
        const std::int64_t d64 = static_cast<std::int64_t>(d);
        const std::string one = op1("Slice", {all, ints({d64}), ints({d64 + 1}), ints({0})},
                                    name + "/Slice" + state_names[s]);
        values_[Ref{k, index}] =
            op1("Squeeze", {one, ints({0})}, name + "/Squeeze" + state_names[s],
                out_name(k, index, name + (d == 0 ? "_forward" : "_backward") + state_names[s]));
        shapes_[Ref{k, index}] = {U64};
      }
  }
}

}  // namespace

void write_onnx(const ModelFileContents& contents, const std::string& path) {
  ::onnx::ModelProto model;
  try {
    model = Writer(contents, path).build();
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError("ONNX export of " + path + ": the model's architecture JSON lacks a field: " + e.what());
  } catch (const std::out_of_range& e) {
    throw ModelFormatError("ONNX export of " + path + ": the model's graph is inconsistent (" + e.what() + ").");
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw ModelFormatError("ONNX export of " + path + ": protobuf could not serialize the model (over 2 GiB?).");
  write_file_atomic(path, bytes);
}

}  // namespace recur::detail::onnx
