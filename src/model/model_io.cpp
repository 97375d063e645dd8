// Model files: save, load and load_weights for Sequential (format "recur.sequential") and
// Functional models ("recur.functional"); docs/model-format.md. A file is untrusted input:
// every size and reference is checked before anything is built.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "graph_impl.hpp"
#include "recur/core/error.hpp"
#include "recur/io/files.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/initializers.hpp"
#include "recur/layers/merge.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"
#include "model_document.hpp"
#include "training_state_io.hpp"

namespace recur {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxLayers = 10000, kMaxNodes = 100000, kMaxModelInputs = 1000, kMaxNameLength = 256;
// The longest chain of calls a stored graph may have: Model::set_graph visits it depth first and
// a chain of nodes is destroyed recursively, so a 100000-call chain overflowed the stack.
constexpr std::size_t kMaxGraphDepth = 2048;

// The model document of a file: parsed with its nesting capped (a document nested 200k levels
// deep would overflow the stack of every recursive walk over it, dump() included) and checked
// to be an object.
json parse_model_document(const ModelFileContents& contents, const std::string& path) {
  constexpr int kMaxDepth = 64;
  json doc;
  try {
    doc = json::parse(contents.json, [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth)
        throw ModelFormatError(path + ": the architecture JSON is nested more than " + std::to_string(kMaxDepth) +
                               " levels deep; recur's own files use fewer than 10. The file is damaged or crafted.");
      return true;
    });
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the architecture JSON does not parse: " + e.what());
  }
  if (!doc.is_object()) throw ModelFormatError(path + ": the architecture JSON is not an object.");
  // Layer and optimizer settings are read as float32: a larger number there (a rate of 1e300)
  // would be an undefined conversion.
  std::function<void(const json&)> floats_fit = [&](const json& v) {
    if (v.is_number_float() && std::fabs(v.get<double>()) > static_cast<double>(std::numeric_limits<float>::max()))
      throw ModelFormatError(path + ": the architecture holds the number " + v.dump() +
                             ", beyond float32's range; the file is damaged or crafted.");
    if (v.is_structured())
      for (const json& x : v) floats_fit(x);
  };
  if (doc.contains("model")) floats_fit(doc["model"]);
  if (doc.contains("compile")) floats_fit(doc["compile"]);
  return doc;
}

// A stored input shape: 1 to `max_rank` extents, each an integer from 1 to 2^24; the first of
// two or more may be null (any number of timesteps, Keras's None).
Shape stored_input_shape(const json& v, const std::string& path, std::size_t max_rank = 3) {
  Shape shape;
  const bool ok_rank = v.is_array() && !v.empty() && v.size() <= max_rank;
  if (ok_rank)
    for (const json& d : v) {
      if (d.is_null() && shape.empty() && v.size() >= 2) {
        shape.push_back(kAnyDim);
        continue;
      }
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() < 1 || d.get<std::uint64_t>() > (1u << 24)) break;
      shape.push_back(static_cast<std::size_t>(d.get<std::uint64_t>()));
    }
  if (!ok_rank || shape.size() != v.size())
    throw ModelFormatError(path + ": the stored input_shape " + v.dump().substr(0, 60) + " is not 1 to " +
                           std::to_string(max_rank) + " integers from 1 to 16777216 (the first may be null).");
  return shape;
}

// A shape as stored: None (kAnyDim) as null.
json shape_json(const Shape& shape) {
  json a = json::array();
  for (std::size_t d : shape) a.push_back(d == kAnyDim ? json(nullptr) : json(d));
  return a;
}

// True when every tensor from `first` on belongs to a training state ("training/...").
bool only_training_tensors(const ModelFileContents& contents, std::size_t first) {
  for (std::size_t t = first; t < contents.tensors.size(); ++t)
    if (contents.tensors[t].name.rfind("training/", 0) != 0) return false;
  return true;
}

// The number of values the file's tensors hold (each bounded by the file size already).
std::uint64_t stored_values(const ModelFileContents& contents) {
  std::uint64_t n = 0;
  for (const NamedTensor& t : contents.tensors) n += t.tensor.size();
  return n;
}

// A stored name: a string of 1 to kMaxNameLength characters.
std::string stored_name(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > kMaxNameLength)
    throw ModelFormatError(path + ": " + what + " is not a name of 1 to " + std::to_string(kMaxNameLength) +
                           " characters.");
  return v.get<std::string>();
}

json loss_json(const Loss& l) { return {{"loss", loss_name(l.kind)}, {"from_logits", l.from_logits}, {"delta", l.delta}}; }

// Reads the layers' weights from the file's tensors, in the model's order, by name
// ("<layer>/<weight>"); returns the number of tensors used.
std::size_t read_weights(const std::vector<std::shared_ptr<Layer>>& layers, const ModelFileContents& contents,
                         const std::string& path) {
  std::size_t i = 0;
  for (const auto& l : layers)
    for (Weight* w : l->weights()) {
      const std::string want = l->name() + "/" + w->name;
      if (i >= contents.tensors.size())
        throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size()) +
                                   " tensors, but the architecture needs more: '" + want + "' is missing.",
                               codes::kArchitectureMismatch);
      const NamedTensor& nt = contents.tensors[i++];
      if (nt.name != want)
        throw ModelFormatError(path + ": tensor " + std::to_string(i - 1) + " is named '" + nt.name + "', expected '" +
                                   want + "' for layer " + l->type() + " '" + l->name() + "'.",
                               codes::kArchitectureMismatch);
      if (nt.tensor.shape() != w->value.shape())
        throw ModelFormatError(path + ": tensor '" + want + "' has shape " + nt.tensor.shape_str() + ", but layer " +
                                   l->type() + " '" + l->name() + "' needs " + w->value.shape_str() + ".",
                               codes::kArchitectureMismatch);
      w->value = nt.tensor;
    }
  return i;
}

// The compile settings of a file, applied to `model`.
void read_compile(Model& model, const json& c) {
  std::vector<std::string> metrics = c.at("metrics").get<std::vector<std::string>>();
  if (metrics.size() > 64) throw ModelFormatError("the stored compile settings list more than 64 metrics.");
  std::vector<Loss> losses;
  if (c.contains("losses")) {
    const json& ls = c.at("losses");
    if (!ls.is_array() || ls.empty() || ls.size() > kMaxModelInputs)
      throw ModelFormatError("the stored losses are not a list of 1 to 1000 entries.");
    for (const json& l : ls)
      losses.push_back(Loss{parse_loss(l.at("loss").get<std::string>()), l.value("from_logits", false), l.value("delta", 1.0)});
  } else {
    losses.push_back(Loss{parse_loss(c.at("loss").get<std::string>()), c.value("from_logits", false), c.value("delta", 1.0)});
  }
  std::vector<double> weights;
  if (c.contains("loss_weights")) weights = c.at("loss_weights").get<std::vector<double>>();
  model.compile(optimizer_from_config(c.at("optimizer").at("class_name").get<std::string>(), c.at("optimizer").at("config")),
                losses, metrics, weights);
}

}  // namespace

// ---- save --------------------------------------------------------------------------------------

ModelFileContents Model::contents(const std::string& metadata_json, const TrainingState* state) const {
  if (!built_) throw ValueError("save: the model is not built; build or fit it before saving.");
  json meta;
  try {
    meta = json::parse(metadata_json);
  } catch (const json::exception& e) {
    throw ValueError(std::string("save: metadata_json is not valid JSON: ") + e.what());
  }
  json layers = json::array();
  ModelFileContents contents;
  for (const auto& l : layers_) {
    layers.push_back({{"class_name", l->type()}, {"config", l->get_config()}});
    for (const Weight* w : std::as_const(*l).weights()) contents.tensors.push_back({l->name() + "/" + w->name, w->value});
  }
  json doc;
  if (kind() == "Sequential") {
    doc = {{"format", "recur.sequential"},
           {"model",
            {{"class_name", "Sequential"},
             {"config", {{"name", name_}, {"input_shape", shape_json(inputs_[0].shape())}, {"layers", layers}}}}},
           {"metadata", meta}};
  } else {
    // The graph: the inputs, every node in topological order with the tensors it reads (an
    // input by position, or a node's output by the node's position and the output's index),
    // and the outputs.
    const Graph& g = *graph_;
    auto ref = [&](const Graph::Ref& r) {
      return r.first < g.input_count ? json{{"input", r.first}}
                                     : json{{"node", r.first - g.input_count}, {"index", r.second}};
    };
    json inputs = json::array(), nodes = json::array(), outputs = json::array();
    for (const auto& x : inputs_) {
      json in = {{"name", x.node()->name()}, {"shape", shape_json(x.shape())}};
      in["batch_size"] = x.node()->batch_size ? json(*x.node()->batch_size) : json(nullptr);
      inputs.push_back(in);
    }
    for (const auto& e : g.entries) {
      json node = {{"layer", e.node->layer->name()}, {"inputs", json::array()}, {"initial_state", json::array()}};
      for (const auto& a : e.args) node["inputs"].push_back(ref(a));
      for (const auto& a : e.state_args) node["initial_state"].push_back(ref(a));
      nodes.push_back(node);
    }
    for (const auto& r : g.output_refs) outputs.push_back(ref(r));
    doc = {{"format", "recur.functional"},
           {"model",
            {{"class_name", "Functional"},
             {"config",
              {{"name", name_}, {"layers", layers}, {"inputs", inputs}, {"nodes", nodes}, {"outputs", outputs}}}}},
           {"metadata", meta}};
  }
  if (!output_config_.empty()) {
    json losses = json::array(), weights = json::array();
    for (const auto& oc : output_config_) {
      losses.push_back(loss_json(oc.loss));
      weights.push_back(oc.weight);
    }
    const Loss& first = output_config_[0].loss;
    doc["compile"] = {{"optimizer", {{"class_name", optimizer_->type()}, {"config", optimizer_config(*optimizer_)}}},
                      {"loss", loss_name(first.kind)},
                      {"from_logits", first.from_logits},
                      {"delta", first.delta},
                      {"losses", losses},
                      {"loss_weights", weights},
                      {"metrics", metric_names_}};
  }
  if (state) doc["training_state"] = detail::encode_training_state(*state, contents.tensors);
  contents.json = doc.dump();
  return contents;
}

void Model::save(const std::string& path, const std::string& metadata_json, const TrainingState* state) const {
  if (detail::save_foreign(*this, path, metadata_json, state)) return;
  write_model_file(path, contents(metadata_json, state));
}

void Sequential::save(const std::string& path, const std::string& metadata_json, const TrainingState* state) const {
  Model::save(path, metadata_json, state);
}

// ---- load_weights ------------------------------------------------------------------------------

void Model::load_weights(const std::string& path) {
  if (!built_)
    throw ValueError("load_weights: the model is not built; build it with the architecture the file was saved "
                     "from first.");
  std::string bytes = read_file_bounded(path, kMaxModelFileBytes, "model file");
  if (detail::sniff_format(bytes) == detail::FileFormat::kRecur) load_weights_from(parse_model_file(path, bytes), path);
  else detail::load_weights_foreign(*this, path, std::move(bytes));
}

void Model::load_weights_from(const ModelFileContents& contents, const std::string& path) {
  const json doc = parse_model_document(contents, path);
  std::vector<std::string> file_names;  // the file's layer names, by position
  try {
    const json& layers = doc.at("model").at("config").at("layers");
    if (!layers.is_array()) throw ModelFormatError(path + ": the architecture's \"layers\" is not a list.");
    if (layers.size() != layers_.size())
      throw ModelFormatError(path + ": the file's model has " + std::to_string(layers.size()) + " layers, this model " +
                                 std::to_string(layers_.size()) + "; load_weights needs the same architecture.",
                             codes::kArchitectureMismatch);
    // Layer by layer: the class, then every config field except the name.
    std::function<void(const json&, const json&, const std::string&)> compare = [&](const json& file, const json& mine,
                                                                                     const std::string& where) {
      if (!file.is_object())
        throw ModelFormatError(path + ": " + where + " is not an object in the file.", codes::kArchitectureMismatch);
      for (const auto& [key, value] : mine.items()) {
        if (key == "name") continue;
        const std::string field = where.empty() ? key : where + "." + key;
        if (!file.contains(key))
          throw ModelFormatError(path + ": " + field + " is missing from the file's layer.", codes::kArchitectureMismatch);
        if (value.is_object()) compare(file.at(key), value, field);
        else if (file.at(key) != value)
          throw ModelFormatError(path + ": " + field + " is " + file.at(key).dump().substr(0, 60) + " in the file but " +
                                     value.dump() + " in this model; load_weights needs the same architecture.",
                                 codes::kArchitectureMismatch);
      }
    };
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = *layers_[i];
      const std::string where = "layer " + std::to_string(i) + " (" + l.type() + " '" + l.name() + "')";
      const std::string file_class = layers[i].at("class_name").get<std::string>();
      if (file_class != l.type())
        throw ModelFormatError(path + ": " + where + " is a " + file_class.substr(0, 60) + " in the file.",
                               codes::kArchitectureMismatch);
      compare(layers[i].at("config"), l.get_config(), where);
      file_names.push_back(layers[i].at("config").at("name").get<std::string>());
    }
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the architecture JSON is missing or has a wrong field: " + e.what());
  }
  // The tensors by name and in order: the file's layer name, then the weight name.
  std::size_t k = 0;
  std::vector<Tensor> values;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    for (const Weight* w : std::as_const(*layers_[i]).weights()) {
      const std::string want = file_names[i] + "/" + w->name;
      const std::string mine = layers_[i]->name() + "/" + w->name;
      if (k >= contents.tensors.size())
        throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size()) + " tensors; '" + want +
                                   "' (for " + mine + ") is missing.",
                               codes::kArchitectureMismatch);
      const NamedTensor& t = contents.tensors[k++];
      if (t.name != want)
        throw ModelFormatError(path + ": tensor " + std::to_string(k - 1) + " is named '" + t.name + "', expected '" +
                                   want + "' (for " + mine +
                                   "); the file's tensors are in another order or belong to another model.",
                               codes::kArchitectureMismatch);
      if (t.tensor.shape() != w->value.shape())
        throw ModelFormatError(path + ": tensor '" + t.name + "' has shape " + t.tensor.shape_str() + ", but " + mine +
                                   " is " + w->value.shape_str() + ".",
                               codes::kArchitectureMismatch);
      values.push_back(t.tensor);
    }
  if (k != contents.tensors.size() && !(doc.contains("training_state") && only_training_tensors(contents, k)))
    throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size() - k) +
                               " tensors more than this model uses (first extra: '" + contents.tensors[k].name + "').",
                           codes::kArchitectureMismatch);
  k = 0;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) w->value = values[k++];
}

// ---- load --------------------------------------------------------------------------------------

namespace {

// The optimizer state a converted Keras file carries (Adam's moments and step count, tensors
// "training/optimizer_state/<list>/<weight>" after the weights), set on the compiled model's
// optimizer so that fit continues where Keras stopped. Returns the index after its tensors. A
// state that does not fit the optimizer is left out, with the reason in the metadata
// ("optimizer_state_error"): the model still loads, its optimizer starting anew.
std::size_t read_optimizer_state(Model& model, const json& doc, const ModelFileContents& contents, std::size_t first,
                                 const std::string& path, json& metadata) {
  std::size_t t = first;
  Optimizer::State st;
  std::string error;
  try {
    const json& o = doc.at("optimizer_state");
    const json& it = o.at("iterations");
    if (!it.is_number_unsigned() || it.get<std::uint64_t>() > (std::uint64_t{1} << 53))
      throw ModelFormatError(path + ": the optimizer state's iterations is not a count.");
    st.iterations = static_cast<std::int64_t>(it.get<std::uint64_t>());
    st.learning_rate = o.at("learning_rate").get<float>();
    for (std::size_t l = 0; t < contents.tensors.size(); ++l) {
      const std::string prefix = "training/optimizer_state/" + std::to_string(l) + "/";
      if (contents.tensors[t].name.rfind(prefix, 0) != 0) break;
      std::vector<std::vector<float>> list;
      while (t < contents.tensors.size() && contents.tensors[t].name == prefix + std::to_string(list.size()))
        list.push_back(contents.tensors[t++].tensor.values());
      st.slots.push_back(std::move(list));
    }
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the optimizer state is missing a field or has a wrong one: " + e.what());
  }
  Optimizer* optimizer = model.optimizer();
  if (!optimizer) {
    error = "the model is not compiled, so the file's optimizer state has no optimizer to go to";
  } else {
    const std::vector<Tensor> weights = model.get_weights();
    bool fits = true;
    for (const auto& list : st.slots) {
      fits = fits && list.size() == weights.size();
      for (std::size_t k = 0; fits && k < list.size(); ++k) fits = list[k].size() == weights[k].size();
    }
    if (!fits) {
      error = "the file's optimizer state does not fit the model's weights; the optimizer starts anew";
    } else {
      try {
        optimizer->set_state(st);
      } catch (const Error& e) {
        error = e.message();
      }
    }
  }
  if (!error.empty()) {
    if (!doc.value("compile_optional", false)) throw ModelFormatError(path + ": " + error + ".");
    metadata["optimizer_state_error"] = error;
  }
  return t;
}

// What Sequential::load and Model::load share after the architecture: the weights, the
// metadata and the training state.
void finish_load(Model& model, const std::vector<std::shared_ptr<Layer>>& layers, const json& doc,
                 const ModelFileContents& contents, const std::string& path, std::string* metadata_json,
                 TrainingState* state) {
  json metadata;
  try {
    if (doc.contains("metadata") && !doc["metadata"].is_object())
      throw ModelFormatError(path + ": the stored metadata is not a JSON object.");
    metadata = doc.contains("metadata") ? doc["metadata"] : json::object();
    if (doc.contains("compile")) {
      if (doc.value("compile_optional", false)) {
        // A converted Keras file: compile settings recur refuses leave the model uncompiled, with
        // the reason in its metadata, rather than refusing the model.
        try {
          read_compile(model, doc.at("compile"));
        } catch (const std::exception& e) {
          metadata["compile_error"] = e.what();
        }
      } else {
        read_compile(model, doc.at("compile"));
      }
    }
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the compile settings are missing a field or have a wrong one: " + e.what());
  } catch (const ModelFormatError&) {
    throw;
  } catch (const Error& e) {
    throw ModelFormatError(path + ": the stored compile settings are invalid: " + e.what());
  }
  std::size_t used = read_weights(layers, contents, path);
  if (doc.contains("optimizer_state")) used = read_optimizer_state(model, doc, contents, used, path, metadata);
  if (metadata_json) *metadata_json = metadata.dump();
  const bool has_state = doc.contains("training_state");
  if (used != contents.tensors.size() && !(has_state && only_training_tensors(contents, used)))
    throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size() - used) +
                               " tensors more than the architecture uses (first extra: '" + contents.tensors[used].name +
                               "').",
                           codes::kArchitectureMismatch);
  if (state) {
    if (!has_state)
      throw ModelFormatError(path + ": the file holds no training state; it is a model, not a checkpoint "
                                    "(checkpoints are written by ModelCheckpoint with save_training_state).");
    *state = detail::decode_training_state(doc.at("training_state"), contents.tensors, used, path);
  }
}

// Runs `f` (which reads the architecture), turning every failure into a ModelFormatError.
template <class F>
void reading_architecture(const std::string& path, F&& f) {
  try {
    f();
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the architecture JSON is missing or has a wrong field: " + e.what());
  } catch (const ModelFormatError&) {
    throw;
  } catch (const Error& e) {
    throw ModelFormatError(path + ": the stored architecture is invalid: " + e.what());
  } catch (const std::bad_alloc&) {
    throw ModelFormatError(path + ": the stored architecture needs more memory than there is.");
  }
}

}  // namespace

Sequential Sequential::load(const std::string& path, std::string* metadata_json, TrainingState* state) {
  return from_contents(detail::read_any_model_file(path), path, metadata_json, state);
}

Sequential Sequential::from_contents(const ModelFileContents& contents, const std::string& path,
                                     std::string* metadata_json, TrainingState* state) {
  const json doc = parse_model_document(contents, path);
  Sequential model;
  reading_architecture(path, [&] {
    const std::string format = doc.value("format", "");
    if (format == "recur.functional")
      throw ModelFormatError(path + ": the file holds a Functional model; load it with recur::Model::load.");
    if (format != "recur.sequential")
      throw ModelFormatError(path + ": the architecture JSON has format \"" + format.substr(0, 60) +
                             "\", expected \"recur.sequential\".");
    const json& cfg = doc.at("model").at("config");
    model.name_ = cfg.at("name").get<std::string>();
    const Shape input_shape = stored_input_shape(cfg.at("input_shape"), path);
    const json& layers = cfg.at("layers");
    if (!layers.is_array() || layers.size() > kMaxLayers)
      throw ModelFormatError(path + ": the architecture's \"layers\" is not a list of at most 10000 layers.");
    // The weights are created uninitialised and may hold no more values than the file has: an
    // architecture that declares more fails here, before anything large is allocated. (A slack
    // of 4M values lets a small mismatch reach the clearer per-tensor message below.)
    WeightLoadScope budget(stored_values(contents) + (std::uint64_t{1} << 22), path);
    for (const json& l : layers) model.add(layer_from_config(l.at("class_name").get<std::string>(), l.at("config")));
    model.build(input_shape);
  });
  finish_load(model, model.layers_, doc, contents, path, metadata_json, state);
  return model;
}

Model Model::load(const std::string& path, std::string* metadata_json, TrainingState* state) {
  return from_contents(detail::read_any_model_file(path), path, metadata_json, state);
}

Model Model::from_contents(const ModelFileContents& contents, const std::string& path, std::string* metadata_json,
                           TrainingState* state) {
  const json doc = parse_model_document(contents, path);
  if (doc.value("format", "") == "recur.sequential") {
    Sequential s = Sequential::from_contents(contents, path, metadata_json, state);
    return Model(static_cast<Model&&>(s));
  }
  Model model("functional");
  reading_architecture(path, [&] {
    if (doc.value("format", "") != "recur.functional")
      throw ModelFormatError(path + ": the architecture JSON has format \"" + doc.value("format", "").substr(0, 60) +
                             "\", expected \"recur.functional\" or \"recur.sequential\".");
    const json& cfg = doc.at("model").at("config");
    model.name_ = stored_name(cfg.at("name"), path, "the model's name");
    const json& layers = cfg.at("layers");
    const json& inputs = cfg.at("inputs");
    const json& nodes = cfg.at("nodes");
    const json& outputs = cfg.at("outputs");
    if (!layers.is_array() || layers.size() > kMaxLayers)
      throw ModelFormatError(path + ": the architecture's \"layers\" is not a list of at most 10000 layers.");
    if (!inputs.is_array() || inputs.empty() || inputs.size() > kMaxModelInputs)
      throw ModelFormatError(path + ": the architecture's \"inputs\" is not a list of 1 to 1000 inputs.");
    if (!nodes.is_array() || nodes.size() > kMaxNodes)
      throw ModelFormatError(path + ": the architecture's \"nodes\" is not a list of at most 100000 nodes.");
    if (!outputs.is_array() || outputs.empty() || outputs.size() > kMaxModelInputs)
      throw ModelFormatError(path + ": the architecture's \"outputs\" is not a list of 1 to 1000 outputs.");
    WeightLoadScope budget(stored_values(contents) + (std::uint64_t{1} << 22), path);
    std::map<std::string, std::shared_ptr<Layer>> by_name;
    for (const json& l : layers) {
      std::shared_ptr<Layer> layer = layer_from_config(l.at("class_name").get<std::string>(), l.at("config"));
      const std::string name = stored_name(json(layer->name()), path, "a layer's name");
      if (!by_name.emplace(name, std::move(layer)).second)
        throw ModelFormatError(path + ": two layers are named '" + name + "'.");
    }
    std::vector<SymbolicTensor> xs;
    for (const json& in : inputs) {
      std::optional<std::size_t> batch;
      if (in.contains("batch_size") && !in.at("batch_size").is_null()) {
        const json& b = in.at("batch_size");
        if (!b.is_number_unsigned() || b.get<std::uint64_t>() < 1 || b.get<std::uint64_t>() > (1u << 24))
          throw ModelFormatError(path + ": an input's batch_size is not an integer from 1 to 16777216.");
        batch = b.get<std::size_t>();
      }
      xs.push_back(Input(stored_input_shape(in.at("shape"), path, 4), stored_name(in.at("name"), path, "an input's name"), batch));
    }
    // Nodes in order; a reference may only name an input or an EARLIER node, so the graph is
    // acyclic by construction.
    std::vector<std::vector<SymbolicTensor>> node_outputs;
    std::vector<std::size_t> node_depth;  // calls on the longest path from an input, this one included
    auto resolve = [&](const json& r, const std::string& where) -> SymbolicTensor {
      if (!r.is_object()) throw ModelFormatError(path + ": " + where + " is not a tensor reference.");
      if (r.contains("input")) {
        const json& k = r.at("input");
        if (!k.is_number_unsigned() || k.get<std::uint64_t>() >= xs.size())
          throw ModelFormatError(path + ": " + where + " names input " + k.dump().substr(0, 20) + " of " +
                                 std::to_string(xs.size()) + ".");
        return xs[k.get<std::size_t>()];
      }
      const json& n = r.at("node");
      const json& i = r.at("index");
      if (!n.is_number_unsigned() || n.get<std::uint64_t>() >= node_outputs.size())
        throw ModelFormatError(path + ": " + where + " names node " + n.dump().substr(0, 20) +
                               ", which is not an earlier node (there are " + std::to_string(node_outputs.size()) +
                               " before it); the graph would not be acyclic.");
      const auto& outs = node_outputs[n.get<std::size_t>()];
      if (!i.is_number_unsigned() || i.get<std::uint64_t>() >= outs.size())
        throw ModelFormatError(path + ": " + where + " names output " + i.dump().substr(0, 20) + " of a node with " +
                               std::to_string(outs.size()) + ".");
      return outs[i.get<std::size_t>()];
    };
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      const json& node = nodes[n];
      const std::string where = "node " + std::to_string(n);
      const std::string layer_name = stored_name(node.at("layer"), path, where + "'s layer");
      const auto it = by_name.find(layer_name);
      if (it == by_name.end()) throw ModelFormatError(path + ": " + where + " calls layer '" + layer_name + "', which is not in the file.");
      const json& args = node.at("inputs");
      const json& states = node.value("initial_state", json::array());
      if (!args.is_array() || args.empty() || args.size() > kMaxModelInputs || !states.is_array() || states.size() > 2)
        throw ModelFormatError(path + ": " + where + " has no inputs, too many, or more than 2 initial states.");
      std::vector<SymbolicTensor> in;
      CallOptions call;
      for (const json& a : args) in.push_back(resolve(a, where + "'s input"));
      for (const json& s : states) call.initial_state.push_back(resolve(s, where + "'s initial state"));
      std::size_t depth = 1;  // resolve() checked every reference
      for (const json* refs : {&args, &states})
        for (const json& r : *refs)
          if (r.contains("node")) depth = std::max(depth, node_depth[r.at("node").get<std::size_t>()] + 1);
      if (depth > kMaxGraphDepth)
        throw ModelFormatError(path + ": " + where + " is the " + std::to_string(depth) +
                               "th call of a chain; recur reads graphs of at most " + std::to_string(kMaxGraphDepth) +
                               " chained calls. The file is damaged or crafted.");
      node_depth.push_back(depth);
      const bool list = dynamic_cast<Merge*>(it->second.get()) != nullptr;
      node_outputs.push_back(detail::call_layer(it->second, in, call, list));
    }
    std::vector<SymbolicTensor> ys;
    for (const json& r : outputs) ys.push_back(resolve(r, "an output"));
    model.set_graph(xs, ys);
    if (model.layers_.size() != by_name.size())
      throw ModelFormatError(path + ": the file has " + std::to_string(by_name.size()) + " layers, but its graph uses " +
                             std::to_string(model.layers_.size()) + ".");
  });
  finish_load(model, model.layers_, doc, contents, path, metadata_json, state);
  return model;
}

}  // namespace recur
