// Writing Keras files from a recur model: a Keras 3 `.keras` zip (config.json, metadata.json,
// model.weights.h5), the legacy HDF5 layout tf.keras 2.x and Keras 3 read (`.h5`), and Keras 3
// `.weights.h5`. The configs carry only keys every Keras of the target line accepts (Keras 3
// refuses unknown keys: keras/src/layers/layer.py), and what a Keras would read differently is
// refused, never written: Keras 1/2's hard_sigmoid in a Keras 3 file, Keras 3's in a legacy one.
// Layouts: docs/keras.md.
#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "keras_common.hpp"
#include "keras_format.hpp"
#include "recur/io/files.hpp"
#include "recur/io/hdf5.hpp"
#include "recur/io/zip_archive.hpp"
#include "recur/layers/layer.hpp"
#include "recur/model/model.hpp"

namespace recur::detail::keras {
namespace {

/// The Keras versions the files claim (metadata.json / keras_version attributes): the layouts
/// written are those of these versions, and recur reads its own files back by them.
constexpr const char* kKeras3Version = "3.8.0";
constexpr const char* kLegacyVersion = "2.15.0";

enum class Target { kKeras3, kLegacy };

json none() { return json(nullptr); }

json keras_layer_entry(const json& entry, Target t);

json initializer(const std::string& recur_name, Target t) {
  std::string cls = "GlorotUniform";
  json config = {{"seed", nullptr}};
  if (recur_name == "orthogonal") {
    cls = "Orthogonal";
    config = {{"seed", nullptr}, {"gain", 1.0}};
  } else if (recur_name == "zeros") {
    cls = "Zeros";
    config = json::object();
  } else if (recur_name == "ones") {
    cls = "Ones";
    config = json::object();
  } else if (recur_name == "uniform" || recur_name == "random_uniform") {
    cls = "RandomUniform";
    config = {{"minval", -0.05}, {"maxval", 0.05}, {"seed", nullptr}};
  }
  json o = {{"module", "keras.initializers"}, {"class_name", cls}, {"config", config}, {"registered_name", nullptr}};
  (void)t;
  return o;
}

std::string keras_activation(const std::string& recur_name, Target t, const std::string& where) {
  if (recur_name == "legacy_hard_sigmoid") {
    if (t == Target::kKeras3)
      throw unsupported(where + " uses Keras 1/2's hard_sigmoid (clip(0.2x + 0.5)); Keras 3 reads \"hard_sigmoid\" as "
                        "clip(x/6 + 0.5), so a .keras file cannot hold this model. Save it as .h5 (the legacy format, "
                        "read by tf.keras 2.x with this meaning).");
    return "hard_sigmoid";
  }
  if (recur_name == "hard_sigmoid" && t == Target::kLegacy)
    throw unsupported(where + " uses Keras 3's hard_sigmoid (clip(x/6 + 0.5)); tf.keras 2.x reads \"hard_sigmoid\" in "
                      "a .h5 file as clip(0.2x + 0.5), so a .h5 file cannot hold this model. Save it as .keras.");
  return recur_name;
}

json base_config(const std::string& name, Target t) {
  json c = {{"name", name}, {"trainable", true}, {"dtype", "float32"}};
  (void)t;
  return c;
}

// The Keras config of a recur layer entry {"class_name", "config"}.
json keras_config(const json& entry, Target t) {
  const std::string cls = entry.at("class_name").get<std::string>();
  const json& c = entry.at("config");
  const std::string name = c.value("name", to_snake_case(cls));
  const std::string where = cls + " '" + name + "'";
  json k = base_config(name, t);
  auto cell_keys = [&](const json& rc, const std::string& rcls, json& out) {
    out["units"] = rc.at("units");
    out["activation"] = keras_activation(rc.at("activation").get<std::string>(), t, where);
    if (rcls != "SimpleRNN" && rcls != "SimpleRNNCell")
      out["recurrent_activation"] = keras_activation(rc.at("recurrent_activation").get<std::string>(), t, where);
    out["use_bias"] = rc.value("use_bias", true);
    out["kernel_initializer"] = initializer(rc.value("kernel_initializer", "glorot_uniform"), t);
    out["recurrent_initializer"] = initializer(rc.value("recurrent_initializer", "orthogonal"), t);
    out["bias_initializer"] = initializer(rc.value("bias_initializer", "zeros"), t);
    if (rcls == "LSTM" || rcls == "LSTMCell") out["unit_forget_bias"] = rc.value("unit_forget_bias", true);
    for (const char* key : {"kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                            "recurrent_constraint", "bias_constraint"})
      out[key] = none();
    out["dropout"] = rc.value("dropout", 0.0);
    out["recurrent_dropout"] = rc.value("recurrent_dropout", 0.0);
    if (rcls == "GRU" || rcls == "GRUCell") out["reset_after"] = rc.value("reset_after", true);
    if (t == Target::kKeras3) out["seed"] = none();
  };
  auto rnn_keys = [&](json& out) {
    out["return_sequences"] = c.value("return_sequences", false);
    out["return_state"] = c.value("return_state", false);
    out["go_backwards"] = c.value("go_backwards", false);
    out["stateful"] = c.value("stateful", false);
    out["unroll"] = false;
    const bool zero = c.value("zero_output_for_mask", false);
    if (t == Target::kKeras3 || zero) out["zero_output_for_mask"] = zero;
  };
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN") {
    rnn_keys(k);
    cell_keys(c, cls, k);
    if (cls != "SimpleRNN") k["activity_regularizer"] = none();
    if (t == Target::kLegacy && cls != "SimpleRNN") k["implementation"] = 2;
  } else if (cls == "RNN") {
    const json& cell = c.at("cell");
    const std::string ccls = cell.at("class_name").get<std::string>();
    json cc = base_config(ccls == "LSTMCell" ? "lstm_cell" : ccls == "GRUCell" ? "gru_cell" : "simple_rnn_cell", t);
    cell_keys(cell.at("config"), ccls, cc);
    json cell_entry = {{"class_name", ccls}, {"config", cc}};
    if (t == Target::kKeras3) {
      cell_entry["module"] = "keras.layers";
      cell_entry["registered_name"] = nullptr;
    }
    k["cell"] = cell_entry;
    rnn_keys(k);
  } else if (cls == "Bidirectional") {
    json inner = c.at("layer");
    const std::string base = inner.at("config").value("name", "layer");
    json fwd = inner, bwd = inner;
    fwd["config"]["name"] = t == Target::kKeras3 ? "forward_" + base : base;
    bwd["config"]["name"] = "backward_" + base;
    bwd["config"]["go_backwards"] = !inner.at("config").value("go_backwards", false);
    // Keras forces zero_output_for_mask = return_sequences on both (bidirectional.py).
    for (json* x : {&fwd, &bwd}) (*x)["config"]["zero_output_for_mask"] = inner.at("config").value("return_sequences", false);
    k["merge_mode"] = c.value("merge_mode", "concat");
    k["layer"] = keras_layer_entry(fwd, t);
    if (t == Target::kKeras3) k["backward_layer"] = keras_layer_entry(bwd, t);
  } else if (cls == "TimeDistributed") {
    k["layer"] = keras_layer_entry(c.at("layer"), t);
  } else if (cls == "Dense") {
    k["units"] = c.at("units");
    k["activation"] = keras_activation(c.value("activation", "linear"), t, where);
    k["use_bias"] = c.value("use_bias", true);
    k["kernel_initializer"] = initializer(c.value("kernel_initializer", "glorot_uniform"), t);
    k["bias_initializer"] = initializer(c.value("bias_initializer", "zeros"), t);
    for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                            "bias_constraint"})
      k[key] = none();
  } else if (cls == "Dropout") {
    k["rate"] = c.at("rate");
    k["seed"] = none();
    k["noise_shape"] = none();
  } else if (cls == "Activation") {
    k["activation"] = keras_activation(c.at("activation").get<std::string>(), t, where);
  } else if (cls == "Masking") {
    k["mask_value"] = c.at("mask_value");
  } else if (cls == "Embedding") {
    k["input_dim"] = c.at("input_dim");
    k["output_dim"] = c.at("output_dim");
    k["embeddings_initializer"] = initializer(c.value("embeddings_initializer", "uniform"), t);
    k["embeddings_regularizer"] = none();
    k["activity_regularizer"] = none();
    k["embeddings_constraint"] = none();
    k["mask_zero"] = c.value("mask_zero", false);
  } else if (cls == "Flatten") {
    k["data_format"] = "channels_last";
  } else if (cls == "GlobalAveragePooling1D" || cls == "GlobalMaxPooling1D") {
    k["data_format"] = "channels_last";
    k["keepdims"] = false;
  } else if (cls == "Concatenate") {
    k["axis"] = c.value("axis", -1);
  } else if (cls == "Add" || cls == "Multiply" || cls == "Average") {
  } else if (cls == "RepeatVector") {
    k["n"] = c.at("n");
  } else if (cls == "Reshape") {
    k["target_shape"] = c.at("target_shape");
  } else {
    throw unsupported(where + ": recur cannot write a " + cls + " layer in a Keras file.");
  }
  return k;
}

json keras_layer_entry(const json& entry, Target t) {
  json e = {{"class_name", entry.at("class_name")}, {"config", keras_config(entry, t)}};
  if (t == Target::kKeras3) {
    e["module"] = "keras.layers";
    e["registered_name"] = nullptr;
  }
  return e;
}

json batch_shape(const json& sample_shape) {
  json b = json::array({nullptr});
  for (const json& d : sample_shape) b.push_back(d);
  return b;
}

json shape_with_batch(const Shape& s) {
  json b = json::array({nullptr});
  for (std::size_t d : s) b.push_back(d == kAnyDim ? json(nullptr) : json(d));
  return b;
}

// The loss and optimizer of recur's compile settings in Keras 3's compile_config (or the legacy
// training_config).
std::optional<json> keras_compile(const json& doc, Target t, const std::vector<std::string>& outputs) {
  if (!doc.contains("compile")) return std::nullopt;
  const json& c = doc["compile"];
  const json& o = c.at("optimizer");
  const std::string ocls = o.at("class_name").get<std::string>();
  json oc = o.at("config");
  json kc = {{"name", ocls == "RMSprop" ? std::string("rmsprop") : to_snake_case(ocls)}};
  for (const auto& [key, v] : oc.items())
    if (key != "schedule") kc[key] = v;
  if (oc.contains("schedule")) {
    const json& s = oc["schedule"];
    json sc = {{"initial_learning_rate", s.at("initial_learning_rate")}, {"decay_steps", s.at("decay_steps")},
               {"decay_rate", s.at("decay_rate")}, {"staircase", s.at("staircase")}, {"name", "ExponentialDecay"}};
    kc["learning_rate"] = {{"module", "keras.optimizers.schedules"}, {"class_name", "ExponentialDecay"}, {"config", sc},
                           {"registered_name", nullptr}};
  }
  auto loss_name = [](const json& l) -> json {
    static const std::map<std::string, std::pair<std::string, std::string>> names = {
        {"mse", {"mean_squared_error", "MeanSquaredError"}},
        {"mae", {"mean_absolute_error", "MeanAbsoluteError"}},
        {"huber", {"huber_loss", "Huber"}},
        {"binary_crossentropy", {"binary_crossentropy", "BinaryCrossentropy"}},
        {"categorical_crossentropy", {"categorical_crossentropy", "CategoricalCrossentropy"}},
        {"sparse_categorical_crossentropy", {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}}};
    const auto& [fn, cls] = names.at(l.at("loss").get<std::string>());
    const bool logits = l.value("from_logits", false);
    const double delta = l.value("delta", 1.0);
    if (!logits && (cls != "Huber" || delta == 1.0)) return fn;
    json config = {{"name", fn}, {"reduction", "sum_over_batch_size"}};
    if (cls == "Huber") config["delta"] = delta;
    else config["from_logits"] = logits;
    return {{"module", "keras.losses"}, {"class_name", cls}, {"config", config}, {"registered_name", nullptr}};
  };
  json loss;
  const json& losses = c.contains("losses") ? c["losses"] : json::array({c});
  if (losses.size() == 1 || outputs.size() <= 1) loss = loss_name(losses[0]);
  else {
    loss = json::object();
    for (std::size_t i = 0; i < losses.size() && i < outputs.size(); ++i) loss[outputs[i]] = loss_name(losses[i]);
  }
  json metrics = c.value("metrics", json::array());
  if (t == Target::kLegacy)
    return json{{"optimizer_config", {{"class_name", ocls}, {"config", kc}}},
                {"loss", loss},
                {"metrics", metrics},
                {"weighted_metrics", nullptr},
                {"loss_weights", c.value("loss_weights", json())},
                {"sample_weight_mode", nullptr}};
  json ko = {{"module", "keras.optimizers"}, {"class_name", ocls}, {"config", kc}, {"registered_name", nullptr}};
  return json{{"optimizer", ko},
              {"loss", loss},
              {"loss_weights", c.value("loss_weights", json())},
              {"metrics", metrics.empty() ? json() : metrics},
              {"weighted_metrics", nullptr},
              {"run_eagerly", false},
              {"steps_per_execution", 1},
              {"jit_compile", false}};
}

// One layer of the model as the exporters need it: its recur entry, its built input shape, its
// weights (Keras's order) and the path of its variables in a Keras 3 weights file.
struct ExportLayer {
  json entry;
  std::string name, cls;
  json build_input_shape;  // [null, ...] or null
  std::vector<Tensor> weights;
  std::vector<std::string> weight_names;  // recur's ("kernel", "forward_lstm/kernel", ...)
  std::string keras3_path;
};

struct ExportModel {
  json doc;  // recur's architecture document
  bool sequential = false;
  std::vector<ExportLayer> layers;  // in Keras's layer order (see order_layers)
  std::vector<std::string> input_names, output_names;
};

// The layers in the order Keras 3 rebuilds a Functional model's operations (keras/src/ops/
// function.py _build_map / _map_graph: by depth from the outputs, deepest first, ties in the
// pre-order of a depth-first walk from the outputs), so the class counters of the weight paths
// match the ones Keras computes when it loads the file.
std::vector<std::size_t> keras_order(const json& cfg) {
  const json& nodes = cfg.at("nodes");
  const json& layers = cfg.at("layers");
  std::map<std::string, std::size_t> layer_index;
  for (std::size_t i = 0; i < layers.size(); ++i) layer_index[layers[i]["config"]["name"].get<std::string>()] = i;
  std::vector<long> depth(nodes.size(), -1);
  for (const json& r : cfg.at("outputs"))
    if (r.contains("node")) depth[r["node"].get<std::size_t>()] = 0;
  for (std::size_t n = nodes.size(); n-- > 0;) {
    if (depth[n] < 0) continue;
    for (const char* key : {"inputs", "initial_state"})
      for (const json& r : nodes[n][key])
        if (r.contains("node")) {
          const std::size_t p = r["node"].get<std::size_t>();
          depth[p] = std::max(depth[p], depth[n] + 1);
        }
  }
  std::vector<long> layer_depth(layers.size(), -1);
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const std::size_t l = layer_index.at(nodes[n]["layer"].get<std::string>());
    layer_depth[l] = std::max(layer_depth[l], depth[n]);
  }
  std::vector<long> visit(layers.size(), -1);
  long counter = 0;
  std::set<std::size_t> seen_nodes;
  std::function<void(std::size_t)> walk = [&](std::size_t n) {
    if (!seen_nodes.insert(n).second) return;
    const std::size_t l = layer_index.at(nodes[n]["layer"].get<std::string>());
    if (visit[l] < 0) visit[l] = counter++;
    for (const char* key : {"inputs", "initial_state"})
      for (const json& r : nodes[n][key])
        if (r.contains("node")) walk(r["node"].get<std::size_t>());
  };
  for (const json& r : cfg.at("outputs"))
    if (r.contains("node")) walk(r["node"].get<std::size_t>());
  std::vector<std::size_t> order(layers.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (layer_depth[a] != layer_depth[b]) return layer_depth[a] > layer_depth[b];
    return visit[a] < visit[b];
  });
  return order;
}

ExportModel export_model(const Model& model, const ModelFileContents& contents) {
  ExportModel em;
  em.doc = json::parse(contents.json);
  em.sequential = em.doc.at("format") == "recur.sequential";
  const json& cfg = em.doc["model"]["config"];
  std::map<std::string, std::shared_ptr<Layer>> built;
  for (const auto& l : model.layers()) built[l->name()] = l;
  std::map<std::string, std::vector<const NamedTensor*>> tensors;
  for (const NamedTensor& t : contents.tensors) tensors[t.name.substr(0, t.name.find('/'))].push_back(&t);
  std::vector<std::size_t> order(cfg["layers"].size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!em.sequential) order = keras_order(cfg);
  std::map<std::string, std::size_t> seen;
  if (!em.sequential)
    for (std::size_t i = 0; i < cfg["inputs"].size(); ++i) ++seen["input_layer"];
  for (std::size_t i : order) {
    ExportLayer el;
    el.entry = cfg["layers"][i];
    el.cls = el.entry["class_name"].get<std::string>();
    el.name = el.entry["config"]["name"].get<std::string>();
    const auto it = built.find(el.name);
    el.build_input_shape = it != built.end() && !it->second->input_shape().empty() && el.cls != "Concatenate" &&
                                   el.cls != "Add" && el.cls != "Multiply" && el.cls != "Average"
                               ? shape_with_batch(it->second->input_shape())
                               : json();
    for (const NamedTensor* t : tensors[el.name]) {
      el.weights.push_back(t->tensor);
      el.weight_names.push_back(t->name.substr(el.name.size() + 1));
    }
    const std::string snake = to_snake_case(el.cls);
    const std::size_t k = seen[snake]++;
    el.keras3_path = "layers/" + snake + (k == 0 ? "" : "_" + std::to_string(k));
    em.layers.push_back(std::move(el));
  }
  em.input_names = model.input_names();
  em.output_names = model.output_names();
  return em;
}

// ---- HDF5 helpers --------------------------------------------------------------------------------

hdf5::Group ensure_group(hdf5::Group g, const std::string& path) {
  std::size_t start = 0;
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string part = path.substr(start, end - start);
    g = g.has_group(part) ? g.group(part) : g.create_group(part);
    start = end + 1;
  }
  return g;
}

// The Keras 3 weights tree (keras/src/saving/saving_lib.py _save_state): every layer's
// variables at <path>/vars/<i>, an RNN's under its cell, a Bidirectional's under forward_layer /
// backward_layer, a TimeDistributed's under layer.
void write_keras3_weights(hdf5::Group root, const ExportModel& em) {
  ensure_group(root, "vars");
  if (!em.sequential)
    for (std::size_t i = 0; i < em.input_names.size(); ++i)
      ensure_group(root, "layers/input_layer" + (i == 0 ? std::string() : "_" + std::to_string(i)) + "/vars");
  for (const ExportLayer& el : em.layers) {
    ensure_group(root, el.keras3_path + "/vars");
    auto put = [&](const std::string& vars, std::size_t first, std::size_t count) {
      hdf5::Group v = ensure_group(root, vars);
      for (std::size_t k = 0; k < count; ++k) v.write_float_dataset(std::to_string(k), el.weights[first + k]);
    };
    const bool recurrent = el.cls == "LSTM" || el.cls == "GRU" || el.cls == "SimpleRNN" || el.cls == "RNN";
    if (recurrent) {
      put(el.keras3_path + "/cell/vars", 0, el.weights.size());
    } else if (el.cls == "Bidirectional") {
      const std::size_t half = el.weights.size() / 2;
      ensure_group(root, el.keras3_path + "/forward_layer/vars");
      ensure_group(root, el.keras3_path + "/backward_layer/vars");
      put(el.keras3_path + "/forward_layer/cell/vars", 0, half);
      put(el.keras3_path + "/backward_layer/cell/vars", half, half);
    } else if (el.cls == "TimeDistributed") {
      const std::string inner = el.entry["config"]["layer"]["class_name"].get<std::string>();
      const bool inner_rnn = inner == "LSTM" || inner == "GRU" || inner == "SimpleRNN";
      if (inner_rnn) ensure_group(root, el.keras3_path + "/layer/vars");
      put(el.keras3_path + (inner_rnn ? "/layer/cell/vars" : "/layer/vars"), 0, el.weights.size());
    } else if (!el.weights.empty()) {
      put(el.keras3_path + "/vars", 0, el.weights.size());
    }
  }
}

json keras3_config(const ExportModel& em) {
  const json& cfg = em.doc["model"]["config"];
  json layers = json::array();
  if (em.sequential) {
    const json shape = batch_shape(cfg.at("input_shape"));
    layers.push_back({{"module", "keras.layers"},
                      {"class_name", "InputLayer"},
                      {"config", {{"batch_shape", shape}, {"dtype", "float32"}, {"sparse", false}, {"name", "input_layer"}}},
                      {"registered_name", nullptr}});
    for (const ExportLayer& el : em.layers) {
      json e = keras_layer_entry(el.entry, Target::kKeras3);
      if (!el.build_input_shape.is_null()) e["build_config"] = {{"input_shape", el.build_input_shape}};
      layers.push_back(e);
    }
    return {{"module", "keras"},
            {"class_name", "Sequential"},
            {"config", {{"name", cfg.at("name")}, {"trainable", true}, {"layers", layers}, {"build_input_shape", shape}}},
            {"registered_name", nullptr},
            {"build_config", {{"input_shape", shape}}}};
  }
  // Functional: the inputs, then every layer with its calls in Keras 3's form.
  const json& nodes = cfg.at("nodes");
  std::map<std::string, std::size_t> call_count;
  std::vector<std::pair<std::string, std::size_t>> node_id(nodes.size());  // node -> (layer, k-th call)
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const std::string l = nodes[n]["layer"].get<std::string>();
    node_id[n] = {l, call_count[l]++};
  }
  std::map<std::string, json> shapes;  // tensor shapes are not needed by Keras to rebuild; kept minimal
  auto tensor = [&](const json& r) -> json {
    json history;
    if (r.contains("input")) history = json::array({cfg["inputs"][r["input"].get<std::size_t>()]["name"], 0, 0});
    else {
      const auto& [l, k] = node_id[r["node"].get<std::size_t>()];
      history = json::array({l, k, r["index"]});
    }
    return {{"class_name", "__keras_tensor__"},
            {"config", {{"shape", nullptr}, {"dtype", "float32"}, {"keras_history", history}}}};
  };
  json input_layers = json::array();
  for (const json& in : cfg.at("inputs")) {
    json b = batch_shape(in.at("shape"));
    if (!in.value("batch_size", json()).is_null()) b[0] = in["batch_size"];
    layers.push_back({{"module", "keras.layers"},
                      {"class_name", "InputLayer"},
                      {"config", {{"batch_shape", b}, {"dtype", "float32"}, {"sparse", false}, {"name", in.at("name")}}},
                      {"registered_name", nullptr},
                      {"name", in.at("name")},
                      {"inbound_nodes", json::array()}});
    input_layers.push_back(json::array({in.at("name"), 0, 0}));
  }
  for (const ExportLayer& el : em.layers) {
    json e = keras_layer_entry(el.entry, Target::kKeras3);
    if (!el.build_input_shape.is_null()) e["build_config"] = {{"input_shape", el.build_input_shape}};
    e["name"] = el.name;
    json inbound = json::array();
    const bool merge = el.cls == "Concatenate" || el.cls == "Add" || el.cls == "Multiply" || el.cls == "Average";
    for (const json& node : nodes) {
      if (node["layer"] != el.name) continue;
      json args = json::array();
      if (merge) {
        json list = json::array();
        for (const json& r : node["inputs"]) list.push_back(tensor(r));
        args.push_back(list);
      } else {
        args.push_back(tensor(node["inputs"][0]));
      }
      json kwargs = json::object();
      if (!node["initial_state"].empty()) {
        json st = json::array();
        for (const json& r : node["initial_state"]) st.push_back(tensor(r));
        kwargs["initial_state"] = st;
      }
      inbound.push_back({{"args", args}, {"kwargs", kwargs}});
    }
    e["inbound_nodes"] = inbound;
    layers.push_back(e);
  }
  json output_layers = json::array();
  for (const json& r : cfg.at("outputs")) output_layers.push_back(tensor(r)["config"]["keras_history"]);
  return {{"module", "keras.src.models.functional"},
          {"class_name", "Functional"},
          {"config",
           {{"name", cfg.at("name")}, {"trainable", true}, {"layers", layers}, {"input_layers", input_layers},
            {"output_layers", output_layers}}},
          {"registered_name", "Functional"},
          {"build_config", {{"input_shape", nullptr}}}};
}

json legacy_config(const ExportModel& em) {
  const json& cfg = em.doc["model"]["config"];
  json layers = json::array();
  if (em.sequential) {
    layers.push_back({{"class_name", "InputLayer"},
                      {"config",
                       {{"batch_input_shape", batch_shape(cfg.at("input_shape"))}, {"dtype", "float32"},
                        {"sparse", false}, {"ragged", false}, {"name", "input_1"}}}});
    for (const ExportLayer& el : em.layers) layers.push_back(keras_layer_entry(el.entry, Target::kLegacy));
    return {{"class_name", "Sequential"}, {"config", {{"name", cfg.at("name")}, {"layers", layers}}}};
  }
  const json& nodes = cfg.at("nodes");
  std::map<std::string, std::size_t> call_count;
  std::vector<std::pair<std::string, std::size_t>> node_id(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const std::string l = nodes[n]["layer"].get<std::string>();
    node_id[n] = {l, call_count[l]++};
  }
  auto ref = [&](const json& r) -> json {
    if (r.contains("input")) return json::array({cfg["inputs"][r["input"].get<std::size_t>()]["name"], 0, 0, json::object()});
    const auto& [l, k] = node_id[r["node"].get<std::size_t>()];
    return json::array({l, k, r["index"], json::object()});
  };
  json input_layers = json::array();
  for (const json& in : cfg.at("inputs")) {
    json b = batch_shape(in.at("shape"));
    if (!in.value("batch_size", json()).is_null()) b[0] = in["batch_size"];
    layers.push_back({{"class_name", "InputLayer"},
                      {"config", {{"batch_input_shape", b}, {"dtype", "float32"}, {"sparse", false}, {"ragged", false},
                                  {"name", in.at("name")}}},
                      {"name", in.at("name")},
                      {"inbound_nodes", json::array()}});
    input_layers.push_back(json::array({in.at("name"), 0, 0}));
  }
  for (const ExportLayer& el : em.layers) {
    json e = keras_layer_entry(el.entry, Target::kLegacy);
    e["name"] = el.name;
    json inbound = json::array();
    for (const json& node : nodes) {
      if (node["layer"] != el.name) continue;
      json call = json::array();
      for (const json& r : node["inputs"]) call.push_back(ref(r));
      for (const json& r : node["initial_state"]) call.push_back(ref(r));
      inbound.push_back(call);
    }
    e["inbound_nodes"] = inbound;
    layers.push_back(e);
  }
  json output_layers = json::array();
  for (const json& r : cfg.at("outputs")) {
    json x = ref(r);
    x.erase(3);
    output_layers.push_back(x);
  }
  return {{"class_name", "Functional"},
          {"config", {{"name", cfg.at("name")}, {"trainable", true}, {"layers", layers}, {"input_layers", input_layers},
                      {"output_layers", output_layers}}}};
}

// The legacy model_weights tree (keras 2.15 hdf5_format.py save_weights_to_hdf5_group): the
// layer names, and per layer its weight names (paths relative to its group) and datasets.
void write_legacy_weights(hdf5::Group g, const ExportModel& em) {
  std::vector<std::string> names;
  if (!em.sequential)
    for (const json& in : em.doc["model"]["config"]["inputs"]) names.push_back(in["name"].get<std::string>());
  else
    names.push_back("input_1");
  for (const ExportLayer& el : em.layers) names.push_back(el.name);
  g.set_string_list_attribute("layer_names", names);
  g.set_string_attribute("backend", "tensorflow");
  g.set_string_attribute("keras_version", kLegacyVersion);
  hdf5::Group top = ensure_group(g, "top_level_model_weights");
  top.set_string_list_attribute("weight_names", {});
  for (const std::string& n : names) {
    const ExportLayer* el = nullptr;
    for (const ExportLayer& x : em.layers)
      if (x.name == n) el = &x;
    hdf5::Group lg = ensure_group(g, n);
    std::vector<std::string> weight_names;
    if (el)
      for (std::size_t k = 0; k < el->weights.size(); ++k) {
        const std::string wn = n + "/" + el->weight_names[k] + ":0";
        weight_names.push_back(wn);
        const std::size_t slash = wn.rfind('/');
        ensure_group(lg, wn.substr(0, slash)).write_float_dataset(wn.substr(slash + 1), el->weights[k]);
      }
    lg.set_string_list_attribute("weight_names", weight_names);
  }
}

std::string now_string() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d@%H:%M:%S", &tm);
  return buf;
}

}  // namespace

void write_keras_zip(const Model& model, const ModelFileContents& contents, const std::string& path) {
  const ExportModel em = export_model(model, contents);
  json config = keras3_config(em);
  if (auto c = keras_compile(em.doc, Target::kKeras3, em.output_names)) config["compile_config"] = *c;
  hdf5::File weights = hdf5::File::create(path + ":model.weights.h5");
  write_keras3_weights(weights.root(), em);
  const json metadata = {{"keras_version", kKeras3Version}, {"date_saved", now_string()}};
  zip::write_archive(path, {{"metadata.json", metadata.dump()}, {"config.json", config.dump()},
                            {"model.weights.h5", weights.bytes()}});
}

void write_keras_h5(const Model& model, const ModelFileContents& contents, const std::string& path) {
  const ExportModel em = export_model(model, contents);
  const json config = legacy_config(em);
  hdf5::File file = hdf5::File::create(path);
  hdf5::Group root = file.root();
  root.set_string_attribute("keras_version", kLegacyVersion);
  root.set_string_attribute("backend", "tensorflow");
  root.set_string_attribute("model_config", config.dump());
  if (auto c = keras_compile(em.doc, Target::kLegacy, em.output_names)) root.set_string_attribute("training_config", c->dump());
  write_legacy_weights(root.create_group("model_weights"), em);
  write_file_atomic(path, file.bytes());
}

void write_keras_weights(const Model& model, const ModelFileContents& contents, const std::string& path) {
  const ExportModel em = export_model(model, contents);
  // The activations need no check here: a weights file holds no configs.
  hdf5::File file = hdf5::File::create(path);
  write_keras3_weights(file.root(), em);
  write_file_atomic(path, file.bytes());
}

}  // namespace recur::detail::keras
