// Keras model files -> recur's model contents: the architecture JSON of docs/model-format.md
// and the weights in recur's order (keras_format.hpp). The file is hostile until checked: the
// containers are read by io/zip_archive and io/hdf5 (sizes capped, links refused), the JSON is
// parsed with its size and depth capped, every name and count is checked here, and the model
// itself is then built by Model::from_contents, the same checked code as recur's own files.
//
// Layouts and semantics: ../shared/interop/KERAS-FORMATS.md (copied in docs/keras.md), each
// fact with its source in Keras's code (keras/src/saving/saving_lib.py, keras/src/legacy/saving/
// legacy_h5_format.py, keras 2.15 keras/saving/legacy/hdf5_format.py).
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "keras_common.hpp"
#include "keras_format.hpp"
#include "keras_import.hpp"
#include "recur/io/hdf5.hpp"
#include "recur/io/zip_archive.hpp"

namespace recur::detail::keras {

// ---- shared helpers ----------------------------------------------------------------------------

std::string to_snake_case(const std::string& class_name) {
  // keras/src/utils/naming.py: drop non-word characters; "(.)([A-Z][a-z]+)" -> "\1_\2";
  // "([a-z])([A-Z])" -> "\1_\2"; lower.
  std::string s;
  for (char c : class_name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') s += c;
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string a;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && is_upper(s[i]) && i + 1 < s.size() && is_lower(s[i + 1])) a += '_';
    a += s[i];
  }
  std::string b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && is_lower(a[i - 1]) && is_upper(a[i])) b += '_';
    b += a[i];
  }
  for (char& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return b;
}

json parse_json(const std::string& text, const std::string& where) {
  if (text.size() > kMaxConfigBytes)
    throw ModelFormatError(where + " is " + std::to_string(text.size()) + " bytes, more than the " +
                           std::to_string(kMaxConfigBytes >> 20) + " MiB recur reads; the file is damaged or crafted.");
  // Values are counted too: 16 MiB of "[]," is 5 million of them, and the conversion copies a
  // layer's whole entry several times (a 39 KB .keras reached 1.1 GB).
  std::size_t values = 0;
  try {
    return json::parse(text, [&](int depth, json::parse_event_t event, json&) {
      if (depth > kMaxConfigDepth)
        throw ModelFormatError(where + " is nested more than " + std::to_string(kMaxConfigDepth) +
                               " levels deep; Keras's own configs nest fewer than 20. The file is damaged or crafted.");
      if (event == json::parse_event_t::value || event == json::parse_event_t::object_start ||
          event == json::parse_event_t::array_start) {
        if (++values > kMaxConfigValues)
          throw ModelFormatError(where + " holds more than " + std::to_string(kMaxConfigValues) +
                                 " values; Keras's configs of 10000 layers hold fewer. The file is damaged or crafted.");
      }
      return true;
    });
  } catch (const json::exception& e) {
    throw ModelFormatError(where + " is not valid JSON: " + e.what());
  }
}

int keras_major(const std::string& version) {
  if (version.empty() || !std::isdigit(static_cast<unsigned char>(version[0]))) return 0;
  return version[0] - '0';
}

std::size_t gate_count_of(const std::string& cls) {
  if (cls == "LSTM" || cls == "LSTMCell" || cls == "CuDNNLSTM") return 4;
  if (cls == "GRU" || cls == "GRUCell" || cls == "CuDNNGRU") return 3;
  if (cls == "SimpleRNN" || cls == "SimpleRNNCell") return 1;
  return 0;
}

namespace {

// ---- configs -----------------------------------------------------------------------------------

// Keras 3 writes tuples as {"class_name": "__tuple__", "config": {"value": [...]}}
// (keras/src/saving/serialization_lib.py); recur reads them as lists.
json untuple(const json& v) {
  if (v.is_object()) {
    if (v.value("class_name", json()) == "__tuple__" && v.contains("config") && v["config"].is_object() &&
        v["config"].contains("value"))
      return untuple(v["config"]["value"]);
    json r = json::object();
    for (const auto& [k, x] : v.items()) r[k] = untuple(x);
    return r;
  }
  if (v.is_array()) {
    json r = json::array();
    for (const json& x : v) r.push_back(untuple(x));
    return r;
  }
  return v;
}

std::string short_dump(const json& v) { return v.dump().substr(0, 80); }

std::string string_of(const json& v, const std::string& what) {
  if (!v.is_string() || v.get<std::string>().size() > 256)
    throw ModelFormatError(what + " is not a name of at most 256 characters: " + short_dump(v) + ".");
  return v.get<std::string>();
}

const std::vector<std::string>& supported_classes() {
  static const std::vector<std::string> names = {
      "InputLayer", "LSTM", "GRU", "SimpleRNN", "RNN (with LSTMCell, GRUCell or SimpleRNNCell)", "CuDNNLSTM",
      "CuDNNGRU", "Bidirectional", "TimeDistributed", "Dense", "Dropout", "Activation", "Masking", "Embedding",
      "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Concatenate", "Add", "Multiply", "Average",
      "RepeatVector", "Reshape"};
  return names;
}

std::string supported_list() {
  std::string s;
  for (const auto& n : supported_classes()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The recur name of a Keras activation, by the file's Keras version: "hard_sigmoid" was
// clip(0.2x + 0.5) before Keras 3 (legacy_hard_sigmoid in recur) and clip(x/6 + 0.5) since.
std::string activation_of(const json& v, const Source& src, const std::string& where) {
  std::string name;
  if (v.is_null()) return "linear";
  if (v.is_string()) {
    name = v.get<std::string>();
  } else if (v.is_object()) {
    // Keras 3 may serialize a built-in activation function as an object whose config is its name.
    if (v.contains("config") && v["config"].is_string()) name = v["config"].get<std::string>();
    else if (v.contains("class_name") && v["class_name"].is_string()) name = to_snake_case(v["class_name"].get<std::string>());
  }
  if (name == "hard_sigmoid") return src.major >= 3 ? "hard_sigmoid" : "legacy_hard_sigmoid";
  static const std::set<std::string> known = {"linear", "relu",     "tanh",     "sigmoid",    "softmax",
                                              "elu",    "selu",     "softplus", "softsign",   "exponential"};
  if (known.count(name)) return name;
  throw unsupported(where + " uses the activation " + (name.empty() ? short_dump(v) : "\"" + name + "\"") +
                    ", which recur does not have; recur has linear, relu, tanh, sigmoid, softmax, elu, selu, "
                    "softplus, softsign, exponential and hard_sigmoid (in both its Keras 1/2 and Keras 3 meanings).");
}

// The recur name of a Keras initializer (string or object); initial values matter only to a
// layer trained from scratch, so an initializer recur lacks falls back to the slot's default.
std::string initializer_of(const json& v, const std::string& fallback) {
  std::string name;
  if (v.is_string()) name = v.get<std::string>();
  else if (v.is_object() && v.contains("class_name") && v["class_name"].is_string()) {
    name = v["class_name"].get<std::string>();
    if (name == "VarianceScaling" && v.contains("config") && v["config"].is_object()) {
      // Keras 2.0-2.2 wrote glorot_uniform as VarianceScaling(scale 1, fan_avg, uniform).
      const json& c = v["config"];
      if (c.value("mode", "") == "fan_avg" && c.value("scale", 0.0) == 1.0 &&
          c.value("distribution", "").find("uniform") != std::string::npos)
        return "glorot_uniform";
      return fallback;
    }
  }
  if (name == "GlorotUniform" || name == "glorot_uniform") return "glorot_uniform";
  if (name == "Orthogonal" || name == "OrthogonalInitializer" || name == "orthogonal") return "orthogonal";
  if (name == "Zeros" || name == "zeros" || name == "zero") return "zeros";
  if (name == "Ones" || name == "ones" || name == "one") return "ones";
  if (name == "RandomUniform" || name == "uniform" || name == "random_uniform") return "uniform";
  return fallback;
}

bool bool_of(const json& c, const char* key, bool fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  if (!c[key].is_boolean()) throw ModelFormatError(std::string("the config's ") + key + " is not true or false.");
  return c[key].get<bool>();
}

double number_of(const json& c, const char* key, double fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  if (!c[key].is_number()) throw ModelFormatError(std::string("the config's ") + key + " is not a number.");
  return c[key].get<double>();
}

// The value of `key` in the object `obj`: ModelFormatError naming `where` when `obj` is not an
// object or has no such key (nlohmann's at() would throw its own exception type).
const json& field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key))
    throw ModelFormatError(where + " has no \"" + key + "\" (" + short_dump(obj) +
                           "); Keras writes it there. The file is damaged or not written by Keras.");
  return obj[key];
}

const json& layer_config(const json& layer, const std::string& where) {
  if (!layer.is_object() || !layer.contains("class_name") || !layer.contains("config") || !layer["config"].is_object())
    throw ModelFormatError(where + " is not a layer entry {\"class_name\", \"config\"}: " + short_dump(layer) + ".");
  return layer["config"];
}

std::string class_of(const json& layer, const std::string& where) {
  layer_config(layer, where);
  return string_of(layer["class_name"], where + "'s class_name");
}

// A recurrent layer's (or cell's) config in recur's keys. `cls` is the Keras class.
json recurrent_config(const std::string& cls, const json& c, const Source& src, const std::string& where,
                      bool cell_only = false) {
  const bool cudnn = cls == "CuDNNLSTM" || cls == "CuDNNGRU";
  const std::size_t gates = gate_count_of(cls);
  json r;
  if (!cell_only) r["name"] = field(c, "name", where);
  r["units"] = c.contains("units") ? c["units"] : field(c, "output_dim", where);  // Keras 1: output_dim
  r["activation"] = cudnn ? std::string("tanh") : activation_of(c.value("activation", json("tanh")), src, where);
  if (gates > 1) {
    json ra = c.contains("recurrent_activation") ? c["recurrent_activation"]
              : c.contains("inner_activation")   ? c["inner_activation"]  // Keras 1
                                                  : json(src.major <= 2 ? "hard_sigmoid" : "sigmoid");
    r["recurrent_activation"] = cudnn ? std::string("sigmoid") : activation_of(ra, src, where);
  }
  r["use_bias"] = cudnn ? true : bool_of(c, "use_bias", bool_of(c, "bias", true));
  r["kernel_initializer"] = initializer_of(c.value("kernel_initializer", c.value("init", json())), "glorot_uniform");
  r["recurrent_initializer"] =
      initializer_of(c.value("recurrent_initializer", c.value("inner_init", json())), "orthogonal");
  r["bias_initializer"] = initializer_of(c.value("bias_initializer", json()), "zeros");
  const double dropout = number_of(c, "dropout", number_of(c, "dropout_W", 0.0));
  const double recurrent_dropout = number_of(c, "recurrent_dropout", number_of(c, "dropout_U", 0.0));
  r["dropout"] = dropout;
  r["recurrent_dropout"] = recurrent_dropout;
  if (gates == 4)
    r["unit_forget_bias"] = cudnn ? true
                                  : bool_of(c, "unit_forget_bias",
                                            c.value("forget_bias_init", json("one")) == json("one"));
  if (gates == 3) {
    // reset_after arrived in Keras 2.1.5 with default False; tf.keras 2.x and Keras 3 default to
    // True and always write it. A CuDNNGRU is a GRU with reset_after.
    r["reset_after"] = cudnn ? true : bool_of(c, "reset_after", src.major >= 3 || src.tf_keras);
  }
  if (gates == 0)
    throw unsupported(where + " is a " + cls + "; recur's recurrent layers are LSTM, GRU and SimpleRNN (and "
                      "CuDNNLSTM / CuDNNGRU, read as LSTM / GRU).");
  if (bool_of(c, "time_major", false))
    throw unsupported(where + " has time_major=true; recur's recurrent layers take (batch, timesteps, features) "
                      "only. Re-save the model with time_major=false.");
  if (!cell_only) {
    r["return_sequences"] = bool_of(c, "return_sequences", false);
    r["return_state"] = bool_of(c, "return_state", false);
    r["go_backwards"] = bool_of(c, "go_backwards", false);
    r["stateful"] = bool_of(c, "stateful", false);
    r["zero_output_for_mask"] = bool_of(c, "zero_output_for_mask", false);
  }
  return r;
}

// The recur layer entry {"class_name", "config"} of a Keras layer entry.
json recur_layer(const json& layer, const Source& src, const std::string& where_in, int depth = 0) {
  const std::string cls = class_of(layer, where_in);
  const json& c = layer_config(layer, where_in);
  const std::string name = c.contains("name") ? string_of(c["name"], where_in + "'s name") : std::string();
  const std::string where = name.empty() ? where_in + " (" + cls + ")" : cls + " '" + name + "'";
  if (depth > 4) throw ModelFormatError(where + ": layers are wrapped more than 4 deep.");
  for (const char* key : {"data_format"})
    if (c.contains(key) && c[key].is_string() && c[key] != "channels_last")
      throw unsupported(where + " has data_format \"" + c[key].get<std::string>() +
                        "\"; recur's layers are channels_last (batch, timesteps, features).");
  if (c.contains("dtype") && c["dtype"].is_object()) {
    // DTypePolicy: float32 / float16 / bfloat16 and the mixed policies read as float32; a
    // quantized policy stores int8 kernels and scales, which recur cannot read.
    const json& d = c["dtype"];
    const std::string dcls = d.value("class_name", "");
    if (dcls.find("Quantized") != std::string::npos || dcls.find("Int4") != std::string::npos ||
        dcls.find("GPTQ") != std::string::npos || dcls.find("Float8") != std::string::npos)
      throw unsupported(where + " is quantized (dtype policy " + dcls + "); recur reads float weights only.");
  }
  json r;
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN" || cls == "CuDNNLSTM" || cls == "CuDNNGRU") {
    const std::string recur_cls = cls == "CuDNNLSTM" ? "LSTM" : cls == "CuDNNGRU" ? "GRU" : cls;
    return {{"class_name", recur_cls}, {"config", recurrent_config(cls, c, src, where)}};
  }
  if (cls == "RNN") {
    const json& cell = field(c, "cell", where);
    const std::string cell_cls = class_of(cell, where + "'s cell");
    if (cell_cls != "LSTMCell" && cell_cls != "GRUCell" && cell_cls != "SimpleRNNCell")
      throw unsupported(where + " runs the cell " + cell_cls +
                        "; recur's RNN takes an LSTMCell, GRUCell or SimpleRNNCell (stacked or custom cells are not "
                        "supported).");
    r = {{"name", name},
         {"cell",
          {{"class_name", cell_cls},
           {"config", recurrent_config(cell_cls, layer_config(cell, where + "'s cell"), src, where + "'s cell", true)}}},
         {"return_sequences", bool_of(c, "return_sequences", false)},
         {"return_state", bool_of(c, "return_state", false)},
         {"go_backwards", bool_of(c, "go_backwards", false)},
         {"stateful", bool_of(c, "stateful", false)},
         {"zero_output_for_mask", bool_of(c, "zero_output_for_mask", false)}};
    return {{"class_name", "RNN"}, {"config", r}};
  }
  if (cls == "Bidirectional") {
    json inner = recur_layer(field(c, "layer", where), src, where + "'s layer", depth + 1);
    json& ic = inner["config"];
    if (inner["class_name"] != "LSTM" && inner["class_name"] != "GRU" && inner["class_name"] != "SimpleRNN" &&
        inner["class_name"] != "RNN")
      throw unsupported(where + " wraps a " + inner["class_name"].get<std::string>() + "; Bidirectional wraps a recurrent layer.");
    const json mode = c.value("merge_mode", json("concat"));
    if (!mode.is_string())
      throw unsupported(where + " has merge_mode None (the two outputs as a list); recur merges them with concat, "
                        "sum, mul or ave.");
    // Keras 3 names the forward layer "forward_<name>"; recur stores the inner name.
    std::string inner_name = ic.value("name", "");
    if (inner_name.rfind("forward_", 0) == 0) inner_name = inner_name.substr(8);
    if (c.contains("backward_layer") && !c["backward_layer"].is_null()) {
      json back = recur_layer(c["backward_layer"], src, where + "'s backward_layer", depth + 1);
      json a = ic, b = back["config"];
      for (json* x : {&a, &b}) {
        x->erase("name");
        x->erase("go_backwards");
        x->erase("zero_output_for_mask");
      }
      if (back["class_name"] != inner["class_name"] || a != b) {
        std::string field = "class";
        if (back["class_name"] == inner["class_name"])
          for (const auto& [k, v] : a.items())
            if (!b.contains(k) || b[k] != v) {
              field = k;
              break;
            }
        throw unsupported(where + " has a backward_layer that differs from its forward layer (in " + field +
                          "); recur's Bidirectional runs the same layer in both directions.");
      }
    }
    ic["name"] = inner_name.empty() ? to_snake_case(inner["class_name"].get<std::string>()) : inner_name;
    ic["go_backwards"] = false;
    return {{"class_name", "Bidirectional"}, {"config", {{"name", name}, {"merge_mode", mode}, {"layer", inner}}}};
  }
  if (cls == "TimeDistributed") {
    json inner = recur_layer(field(c, "layer", where), src, where + "'s layer", depth + 1);
    return {{"class_name", "TimeDistributed"}, {"config", {{"name", name}, {"layer", inner}}}};
  }
  if (cls == "Dense") {
    r = {{"name", name},
         {"units", c.contains("units") ? c["units"] : field(c, "output_dim", where)},
         {"activation", activation_of(c.value("activation", json("linear")), src, where)},
         {"use_bias", bool_of(c, "use_bias", bool_of(c, "bias", true))},
         {"kernel_initializer", initializer_of(c.value("kernel_initializer", c.value("init", json())), "glorot_uniform")},
         {"bias_initializer", initializer_of(c.value("bias_initializer", json()), "zeros")}};
    return {{"class_name", "Dense"}, {"config", r}};
  }
  if (cls == "Dropout" || cls == "SpatialDropout1D") {
    if (cls != "Dropout")
      throw unsupported(where + ": recur has Dropout, not SpatialDropout1D.");
    if (c.contains("noise_shape") && !c["noise_shape"].is_null())
      throw unsupported(where + " has a noise_shape; recur's Dropout drops each value independently.");
    return {{"class_name", "Dropout"}, {"config", {{"name", name}, {"rate", number_of(c, "rate", number_of(c, "p", 0.0))}}}};
  }
  if (cls == "Activation")
    return {{"class_name", "Activation"}, {"config", {{"name", name}, {"activation", activation_of(field(c, "activation", where), src, where)}}}};
  if (cls == "Masking") {
    if (!c.contains("mask_value") || !c["mask_value"].is_number())
      throw unsupported(where + " has a mask_value that is not one number: " + short_dump(c.value("mask_value", json())) + ".");
    return {{"class_name", "Masking"}, {"config", {{"name", name}, {"mask_value", c["mask_value"]}}}};
  }
  if (cls == "Embedding") {
    r = {{"name", name},
         {"input_dim", field(c, "input_dim", where)},
         {"output_dim", field(c, "output_dim", where)},
         {"embeddings_initializer", initializer_of(c.value("embeddings_initializer", c.value("init", json())), "uniform")},
         {"mask_zero", bool_of(c, "mask_zero", false)}};
    return {{"class_name", "Embedding"}, {"config", r}};
  }
  if (cls == "Flatten") return {{"class_name", "Flatten"}, {"config", {{"name", name}}}};
  if (cls == "GlobalAveragePooling1D" || cls == "GlobalAvgPool1D" || cls == "GlobalMaxPooling1D" ||
      cls == "GlobalMaxPool1D") {
    if (bool_of(c, "keepdims", false))
      throw unsupported(where + " has keepdims=true; recur's global poolings return (batch, features).");
    const bool avg = cls.find("Av") != std::string::npos;
    return {{"class_name", avg ? "GlobalAveragePooling1D" : "GlobalMaxPooling1D"}, {"config", {{"name", name}}}};
  }
  if (cls == "Concatenate")
    return {{"class_name", "Concatenate"}, {"config", {{"name", name}, {"axis", c.value("axis", json(-1))}}}};
  if (cls == "Add" || cls == "Multiply" || cls == "Average")
    return {{"class_name", cls}, {"config", {{"name", name}}}};
  if (cls == "RepeatVector") return {{"class_name", "RepeatVector"}, {"config", {{"name", name}, {"n", field(c, "n", where)}}}};
  if (cls == "Reshape")
    return {{"class_name", "Reshape"}, {"config", {{"name", name}, {"target_shape", field(c, "target_shape", where)}}}};
  if (cls == "Sequential" || cls == "Functional" || cls == "Model")
    throw unsupported(where + " is a model nested inside the model; recur reads flat models. Rebuild it with the "
                      "inner model's layers in place.");
  throw unsupported(where + " is a " + cls + ", a layer recur does not have. recur reads: " + supported_list() + ".");
}

// "layers/<snake>" for the first layer of its class, "layers/<snake>_<k>" for the k-th after it.
std::string weights_path_of(const std::string& cls, std::map<std::string, std::size_t>& seen) {
  const std::string snake = to_snake_case(cls);
  const std::size_t k = seen[snake]++;
  std::string path = "layers/";
  path += snake;
  if (k != 0) path += '_' + std::to_string(k);
  return path;
}

// ---- input shapes -------------------------------------------------------------------------------

// A Keras batch shape [batch, d1, ...]: the per-sample shape (None on the first axis becomes
// null: any number of timesteps), and the batch size when fixed.
json sample_shape(const json& batch_shape, const std::string& where, std::optional<std::size_t>* batch = nullptr) {
  if (!batch_shape.is_array() || batch_shape.size() < 2 || batch_shape.size() > 5)
    throw unsupported(where + " has the input shape " + short_dump(batch_shape) +
                      "; recur's models take inputs of 1 to 4 axes besides the batch.");
  json s = json::array();
  for (std::size_t i = 1; i < batch_shape.size(); ++i) {
    const json& d = batch_shape[i];
    if (d.is_null()) {
      if (i != 1)
        throw unsupported(where + " has the input shape " + short_dump(batch_shape) +
                          ": only the timesteps axis (the first after the batch) may be None in recur.");
      s.push_back(nullptr);
    } else if (d.is_number_unsigned() && d.get<std::uint64_t>() >= 1 && d.get<std::uint64_t>() <= (1u << 24)) {
      s.push_back(d);
    } else {
      throw ModelFormatError(where + " has the input shape " + short_dump(batch_shape) + ", whose extents are not "
                             "integers from 1 to 16777216 or None.");
    }
  }
  if (batch) {
    const json& b = batch_shape[0];
    if (b.is_number_unsigned() && b.get<std::uint64_t>() >= 1 && b.get<std::uint64_t>() <= (1u << 24))
      *batch = b.get<std::size_t>();
  }
  return s;
}

// The batch shape an InputLayer or a first layer declares, if any.
std::optional<json> declared_batch_shape(const json& c) {
  for (const char* key : {"batch_shape", "batch_input_shape"})
    if (c.contains(key) && c[key].is_array()) return c[key];
  if (c.contains("input_shape") && c["input_shape"].is_array()) {
    json b = json::array({nullptr});
    for (const json& d : c["input_shape"]) b.push_back(d);
    return b;
  }
  return std::nullopt;
}

}  // namespace

// ---- the architecture ----------------------------------------------------------------------------

KerasArchitecture convert_architecture(const json& model_in, const Source& src) {
  const json model = untuple(model_in);
  const std::string where_model = src.path + ": the model config";
  if (!model.is_object() || !model.contains("class_name") || !model.contains("config"))
    throw ModelFormatError(where_model + " is not {\"class_name\", \"config\"}.");
  const std::string cls = string_of(model["class_name"], where_model + "'s class_name");
  const json& cfg = model["config"];
  KerasArchitecture arch;
  arch.class_name = cls;
  if (cls == "Sequential") {
    // Keras 1 and Keras 2 up to 2.2.2 store the layers as the config itself (a list).
    const json& layers = cfg.is_array() ? cfg : field(cfg, "layers", where_model);
    if (!layers.is_array() || layers.size() > kMaxKerasLayers)
      throw ModelFormatError(where_model + "'s layers are not a list of at most 10000 layers.");
    arch.name = cfg.is_object() && cfg.contains("name") ? string_of(cfg["name"], "the model's name") : "sequential";
    std::optional<json> batch_shape;
    std::size_t first = 0;
    if (!layers.empty() && class_of(layers[0], "layer 0") == "InputLayer") {
      batch_shape = declared_batch_shape(layer_config(layers[0], "layer 0"));
      first = 1;
    } else if (!layers.empty()) {
      batch_shape = declared_batch_shape(layer_config(layers[0], "layer 0"));
    }
    if (!batch_shape && cfg.is_object() && cfg.contains("build_input_shape") && cfg["build_input_shape"].is_array())
      batch_shape = cfg["build_input_shape"];
    if (!batch_shape && model.contains("build_config") && model["build_config"].is_object() &&
        model["build_config"].contains("input_shape") && model["build_config"]["input_shape"].is_array())
      batch_shape = model["build_config"]["input_shape"];
    if (!batch_shape)
      throw unsupported(where_model + " declares no input shape (the Sequential model was saved before it was "
                        "built); recur needs it to create the weights. Build the model (model.build(...)) and "
                        "save it again.");
    json recur_layers = json::array();
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = first; i < layers.size(); ++i) {
      const std::string w = "layer " + std::to_string(i);
      json keras_layer = layers[i];
      recur_layers.push_back(recur_layer(keras_layer, src, w));
      const std::string kcls = class_of(keras_layer, w);
      arch.keras_layers.push_back({kcls, string_of(field(layer_config(keras_layer, w), "name", w), w + "'s name"), keras_layer,
                                   weights_path_of(kcls, seen)});
    }
    arch.document = {{"format", "recur.sequential"},
                     {"model",
                      {{"class_name", "Sequential"},
                       {"config",
                        {{"name", arch.name},
                         {"input_shape", sample_shape(*batch_shape, "the Sequential model's first layer")},
                         {"layers", recur_layers}}}}}};
    return arch;
  }
  if (cls != "Functional" && cls != "Model")
    throw unsupported(where_model + " is a " + cls + " model; recur reads Sequential and Functional models (a "
                      "subclassed model has no config recur can rebuild).");
  const json& layers = field(cfg, "layers", where_model);
  if (!layers.is_array() || layers.size() > kMaxKerasLayers)
    throw ModelFormatError(where_model + "'s layers are not a list of at most 10000 layers.");
  arch.name = cfg.contains("name") ? string_of(cfg["name"], "the model's name") : "model";
  // Layers by name, with their calls (inbound nodes), in both of Keras's forms.
  struct Ref {
    std::string layer;
    std::size_t node = 0, index = 0;
  };
  struct Call {
    std::vector<Ref> args, states;
  };
  struct KLayer {
    std::string cls, name;
    const json* entry = nullptr;
    std::vector<Call> calls;
  };
  std::vector<KLayer> klayers;
  std::map<std::string, std::size_t> by_name;
  std::map<std::string, std::string> paths;  // layer name -> Keras 3 weights path
  std::map<std::string, std::size_t> seen;
  auto parse_ref = [&](const json& v, const std::string& where) -> Ref {
    // Keras 3: {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, index]}};
    // Keras 2: [name, node, index, kwargs].
    const json* h = &v;
    if (v.is_object()) {
      if (!v.contains("config") || !v["config"].is_object() || !v["config"].contains("keras_history"))
        throw unsupported(where + " is " + short_dump(v) + ", not a tensor from another layer (recur's graphs "
                          "connect layers' outputs only; constants and Python values in calls are not supported).");
      h = &v["config"]["keras_history"];
    }
    if (!h->is_array() || h->size() < 3 || !(*h)[1].is_number_unsigned() || !(*h)[2].is_number_unsigned())
      throw ModelFormatError(where + " is not a tensor reference [layer, node, index]: " + short_dump(v) + ".");
    return {string_of((*h)[0], where + "'s layer"), (*h)[1].get<std::size_t>(), (*h)[2].get<std::size_t>()};
  };
  std::size_t total_calls = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string w = "layer " + std::to_string(i);
    const json& l = layers[i];
    KLayer k;
    k.cls = class_of(l, w);
    k.entry = &l;
    k.name = l.contains("name") ? string_of(l["name"], w + "'s name") : string_of(field(layer_config(l, w), "name", w), w + "'s name");
    if (!by_name.emplace(k.name, klayers.size()).second) throw ModelFormatError(where_model + " has two layers named '" + k.name + "'.");
    paths[k.name] = weights_path_of(k.cls, seen);
    const json& nodes = l.value("inbound_nodes", json::array());
    if (!nodes.is_array()) throw ModelFormatError(w + "'s inbound_nodes is not a list.");
    for (const json& node : nodes) {
      Call call;
      const std::string nw = k.cls + " '" + k.name + "' call " + std::to_string(k.calls.size());
      if (node.is_object()) {  // Keras 3
        const json& args = node.value("args", json::array());
        if (!args.is_array() || args.empty()) throw ModelFormatError(nw + " has no arguments.");
        const json& first_arg = args[0];
        if (first_arg.is_array())
          for (const json& t : first_arg) call.args.push_back(parse_ref(t, nw + "'s input"));
        else
          call.args.push_back(parse_ref(first_arg, nw + "'s input"));
        for (std::size_t a = 1; a < args.size(); ++a) {
          if (args[a].is_null()) continue;
          if (args[a].is_object() && args[a].contains("config") && args[a]["config"].is_object() &&
              args[a]["config"].contains("keras_history"))
            call.states.push_back(parse_ref(args[a], nw + "'s initial state"));
          else if (args[a].is_array())
            for (const json& t : args[a]) call.states.push_back(parse_ref(t, nw + "'s initial state"));
        }
        const json& kwargs = node.value("kwargs", json::object());
        if (kwargs.is_object() && kwargs.contains("initial_state") && !kwargs["initial_state"].is_null()) {
          const json& st = kwargs["initial_state"];
          if (st.is_array())
            for (const json& t : st) call.states.push_back(parse_ref(t, nw + "'s initial state"));
          else
            call.states.push_back(parse_ref(st, nw + "'s initial state"));
        }
        if (kwargs.is_object() && kwargs.contains("constants") && !kwargs["constants"].is_null())
          throw unsupported(nw + " passes constants to the layer; recur does not support them.");
      } else if (node.is_array()) {  // Keras 1/2: [[name, node, index, kwargs], ...]
        if (node.empty()) throw ModelFormatError(nw + " has no inputs.");
        for (const json& t : node) call.args.push_back(parse_ref(t, nw + "'s input"));
        // A Keras 2 RNN called with initial_state lists the states after the sequence.
        if (gate_count_of(k.cls) > 0 || k.cls == "RNN" || k.cls == "Bidirectional") {
          call.states.assign(call.args.begin() + 1, call.args.end());
          call.args.resize(1);
        }
        if (!node.empty() && node[0].is_array() && node[0].size() >= 4 && node[0][3].is_object() &&
            node[0][3].contains("initial_state"))
          for (const json& t : node[0][3]["initial_state"]) call.states.push_back(parse_ref(t, nw + "'s initial state"));
      } else {
        throw ModelFormatError(nw + " is neither Keras 3's {args, kwargs} nor Keras 2's list form.");
      }
      // recur's calls take at most 1000 inputs (model_io.cpp) and a Bidirectional's 4 states; a
      // crafted call of a million references would otherwise be read on every ordering pass.
      if (call.args.size() > 1000 || call.states.size() > 4)
        throw ModelFormatError(nw + " has " + std::to_string(call.args.size()) + " inputs and " +
                               std::to_string(call.states.size()) +
                               " initial states; recur's layers take at most 1000 and 4.");
      k.calls.push_back(std::move(call));
      if (++total_calls > kMaxKerasLayers * 10) throw ModelFormatError(where_model + " has more than 100000 calls.");
    }
    klayers.push_back(std::move(k));
  }
  // Inputs and outputs: [[name, node, index], ...] (Keras 3 writes a single one unnested).
  auto ref_list = [&](const json& v, const std::string& what) {
    std::vector<Ref> refs;
    if (v.is_array() && !v.empty() && v[0].is_string()) refs.push_back(parse_ref(v, what));
    else if (v.is_array())
      for (const json& r : v) refs.push_back(parse_ref(r, what));
    else
      throw ModelFormatError(where_model + "'s " + what + " is not a list.");
    if (refs.empty() || refs.size() > 1000) throw ModelFormatError(where_model + " has no " + what + " or more than 1000.");
    return refs;
  };
  const std::vector<Ref> in_refs = ref_list(field(cfg, "input_layers", where_model), "input_layers");
  const std::vector<Ref> out_refs = ref_list(field(cfg, "output_layers", where_model), "output_layers");
  json inputs = json::array();
  std::map<std::string, std::size_t> input_slot;
  for (const Ref& r : in_refs) {
    const auto it = by_name.find(r.layer);
    if (it == by_name.end() || klayers[it->second].cls != "InputLayer")
      throw ModelFormatError(where_model + ": input '" + r.layer + "' is not an InputLayer of the model.");
    const json& c = layer_config(*klayers[it->second].entry, "input '" + r.layer + "'");
    std::optional<json> bs = declared_batch_shape(c);
    if (!bs) throw unsupported("input '" + r.layer + "' declares no shape.");
    std::optional<std::size_t> batch;
    json in = {{"name", r.layer}, {"shape", sample_shape(*bs, "input '" + r.layer + "'", &batch)}};
    in["batch_size"] = batch ? json(*batch) : json(nullptr);
    input_slot[r.layer] = inputs.size();
    inputs.push_back(in);
  }
  // Nodes in an order where every call comes after the calls it reads (Keras lists layers in
  // creation order, which is usually already one).
  json nodes = json::array(), recur_layers = json::array();
  std::map<std::pair<std::string, std::size_t>, std::size_t> placed;  // (layer, call) -> node
  std::vector<std::size_t> next_call(klayers.size(), 0);
  std::set<std::string> layer_listed;
  auto ref_json = [&](const Ref& r, const std::string& where) -> std::optional<json> {
    if (input_slot.count(r.layer)) return json{{"input", input_slot[r.layer]}};
    const auto it = placed.find({r.layer, r.node});
    if (it == placed.end()) {
      if (!by_name.count(r.layer)) throw ModelFormatError(where + " reads layer '" + r.layer + "', which the model does not have.");
      return std::nullopt;
    }
    return json{{"node", it->second}, {"index", r.index}};
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t li = 0; li < klayers.size(); ++li) {
      KLayer& k = klayers[li];
      if (k.cls == "InputLayer") continue;
      while (next_call[li] < k.calls.size()) {
        const Call& call = k.calls[next_call[li]];
        const std::string w = k.cls + " '" + k.name + "' call " + std::to_string(next_call[li]);
        json args = json::array(), states = json::array();
        bool ready = true;  // stops at the first reference not placed yet
        for (std::size_t q = 0; ready && q < call.args.size(); ++q)
          if (auto j = ref_json(call.args[q], w)) args.push_back(*j);
          else ready = false;
        for (std::size_t q = 0; ready && q < call.states.size(); ++q)
          if (auto j = ref_json(call.states[q], w)) states.push_back(*j);
          else ready = false;
        if (!ready) break;
        if (!layer_listed.count(k.name)) {
          layer_listed.insert(k.name);
          recur_layers.push_back(recur_layer(*k.entry, src, "layer '" + k.name + "'"));
          arch.keras_layers.push_back({k.cls, k.name, *k.entry, paths[k.name]});
        }
        placed[{k.name, next_call[li]}] = nodes.size();
        nodes.push_back({{"layer", k.name}, {"inputs", args}, {"initial_state", states}});
        ++next_call[li];
        progress = true;
      }
    }
  }
  for (std::size_t li = 0; li < klayers.size(); ++li)
    if (klayers[li].cls != "InputLayer" && next_call[li] < klayers[li].calls.size())
      throw ModelFormatError(where_model + ": call " + std::to_string(next_call[li]) + " of layer '" + klayers[li].name +
                             "' reads a tensor no earlier call makes (the graph has a cycle or a dangling reference).");
  json outputs = json::array();
  for (const Ref& r : out_refs) {
    auto j = ref_json(r, "output '" + r.layer + "'");
    if (!j) throw ModelFormatError(where_model + ": output '" + r.layer + "' is not made by any call.");
    outputs.push_back(*j);
  }
  arch.document = {{"format", "recur.functional"},
                   {"model",
                    {{"class_name", "Functional"},
                     {"config",
                      {{"name", arch.name}, {"layers", recur_layers}, {"inputs", inputs}, {"nodes", nodes}, {"outputs", outputs}}}}}};
  return arch;
}

// ---- compile settings -----------------------------------------------------------------------------

namespace {

// recur's loss name for a Keras loss (a string or a serialized Loss object), or "" when recur lacks it.
std::string loss_of(const json& v, bool* from_logits, double* delta) {
  std::string name;
  if (v.is_string()) name = v.get<std::string>();
  else if (v.is_object() && v.contains("class_name") && v["class_name"].is_string()) {
    name = to_snake_case(v["class_name"].get<std::string>());
    if (v.contains("config") && v["config"].is_object()) {
      const json& c = v["config"];
      if (c.contains("from_logits") && c["from_logits"].is_boolean()) *from_logits = c["from_logits"].get<bool>();
      if (c.contains("delta") && c["delta"].is_number()) *delta = c["delta"].get<double>();
    }
  }
  if (name == "mse" || name == "mean_squared_error") return "mse";
  if (name == "mae" || name == "mean_absolute_error") return "mae";
  if (name == "huber" || name == "huber_loss") return "huber";
  if (name == "binary_crossentropy" || name == "categorical_crossentropy" || name == "sparse_categorical_crossentropy")
    return name;
  return "";
}

std::string metric_of(const json& v) {
  std::string name = v.is_string() ? v.get<std::string>()
                     : v.is_object() && v.contains("class_name") && v["class_name"].is_string()
                         ? to_snake_case(v["class_name"].get<std::string>())
                         : "";
  if (name == "acc" || name == "accuracy" || name == "binary_accuracy" || name == "categorical_accuracy" ||
      name == "sparse_categorical_accuracy")
    return "accuracy";
  if (name == "mae" || name == "mean_absolute_error") return "mae";
  if (name == "mse" || name == "mean_squared_error") return "mse";
  return "";
}

}  // namespace

std::optional<json> convert_compile(const json& keras_in, bool legacy, const std::vector<std::string>& output_names,
                                    std::vector<std::string>& notes) {
  const json keras = untuple(keras_in);
  if (!keras.is_object()) return std::nullopt;
  auto skip = [&](const std::string& why) -> std::optional<json> {
    notes.push_back("the compile settings were not imported: " + why);
    return std::nullopt;
  };
  // The optimizer: Keras 3 {"class_name", "config"} or a string; legacy "optimizer_config".
  json opt = legacy ? keras.value("optimizer_config", json()) : keras.value("optimizer", json());
  if (opt.is_string()) opt = {{"class_name", opt.get<std::string>()}, {"config", json::object()}};
  if (!opt.is_object() || !opt.contains("class_name") || !opt["class_name"].is_string())
    return skip("no optimizer is recorded");
  std::string ocls = opt["class_name"].get<std::string>();
  static const std::map<std::string, std::string> classes = {{"Adam", "Adam"}, {"adam", "Adam"}, {"SGD", "SGD"},
                                                             {"sgd", "SGD"},   {"RMSprop", "RMSprop"},
                                                             {"rmsprop", "RMSprop"}, {"Adagrad", "Adagrad"},
                                                             {"adagrad", "Adagrad"}, {"AdamW", "AdamW"},
                                                             {"adamw", "AdamW"}};
  const auto oc = classes.find(ocls);
  if (oc == classes.end()) return skip("recur has no " + ocls + " optimizer (it has SGD, Adam, AdamW, RMSprop, Adagrad)");
  const json& c = opt.value("config", json::object());
  json rc;
  json lr = c.contains("learning_rate") ? c["learning_rate"] : c.value("lr", json());
  if (lr.is_object()) {
    const std::string scls = lr.value("class_name", "");
    const json& s = lr.value("config", json::object());
    if (scls != "ExponentialDecay") return skip("the learning-rate schedule " + scls + " is not one recur has");
    rc["schedule"] = {{"class_name", "ExponentialDecay"},
                      {"initial_learning_rate", number_of(s, "initial_learning_rate", 0.001)},
                      {"decay_steps", number_of(s, "decay_steps", 1.0)},
                      {"decay_rate", number_of(s, "decay_rate", 1.0)},
                      {"staircase", bool_of(s, "staircase", false)}};
    rc["learning_rate"] = number_of(s, "initial_learning_rate", 0.001);
  } else {
    const double default_lr = oc->second == "SGD" ? 0.01 : 0.001;
    rc["learning_rate"] = lr.is_number() ? lr.get<double>() : default_lr;
  }
  if (number_of(c, "decay", 0.0) != 0.0) return skip("the legacy learning-rate decay (decay != 0) is not one recur has");
  if (bool_of(c, "amsgrad", false)) return skip("recur's Adam has no amsgrad variant");
  if (bool_of(c, "centered", false)) return skip("recur's RMSprop has no centered variant");
  if (c.contains("use_ema") && bool_of(c, "use_ema", false)) return skip("recur's optimizers have no EMA of the weights");
  const std::string rcls = oc->second;
  if (rcls == "Adam" || rcls == "AdamW") {
    rc["beta_1"] = number_of(c, "beta_1", 0.9);
    rc["beta_2"] = number_of(c, "beta_2", 0.999);
    rc["epsilon"] = number_of(c, "epsilon", 1e-7);
    if (rcls == "AdamW") rc["weight_decay"] = number_of(c, "weight_decay", 0.004);
  } else if (rcls == "SGD") {
    rc["momentum"] = number_of(c, "momentum", 0.0);
    rc["nesterov"] = bool_of(c, "nesterov", false);
  } else if (rcls == "RMSprop") {
    rc["rho"] = number_of(c, "rho", 0.9);
    rc["momentum"] = number_of(c, "momentum", 0.0);
    rc["epsilon"] = number_of(c, "epsilon", 1e-7);
  } else if (rcls == "Adagrad") {
    rc["initial_accumulator_value"] = number_of(c, "initial_accumulator_value", 0.1);
    rc["epsilon"] = number_of(c, "epsilon", 1e-7);
  }
  for (const char* key : {"clipnorm", "clipvalue", "global_clipnorm"})
    if (c.contains(key) && c[key].is_number()) rc[key] = c[key];
  // The losses: one for all outputs, a list per output, or a dict by output name.
  const json& loss = keras.value("loss", json());
  json losses = json::array();
  auto one_loss = [&](const json& v, const std::string& output) -> bool {
    bool from_logits = false;
    double delta = 1.0;
    const std::string name = loss_of(v, &from_logits, &delta);
    if (name.empty()) {
      notes.push_back("the compile settings were not imported: the loss " + short_dump(v) + (output.empty() ? "" : " of output '" + output + "'") +
                      " is not one recur has (mse, mae, huber, binary_crossentropy, categorical_crossentropy, "
                      "sparse_categorical_crossentropy)");
      return false;
    }
    losses.push_back({{"loss", name}, {"from_logits", from_logits}, {"delta", delta}});
    return true;
  };
  if (loss.is_array()) {
    if (loss.size() != output_names.size()) return skip("the file lists " + std::to_string(loss.size()) + " losses for " + std::to_string(output_names.size()) + " outputs");
    for (std::size_t i = 0; i < loss.size(); ++i)
      if (!one_loss(loss[i], output_names[i])) return std::nullopt;
  } else if (loss.is_object() && !loss.contains("class_name")) {
    for (const std::string& o : output_names) {
      if (!loss.contains(o)) return skip("the losses name no loss for output '" + o + "'");
      if (!one_loss(loss[o], o)) return std::nullopt;
    }
  } else {
    for (const std::string& o : output_names)
      if (!one_loss(loss, o)) return std::nullopt;
  }
  json rcompile = {{"optimizer", {{"class_name", rcls}, {"config", rc}}},
                   {"loss", losses[0]["loss"]},
                   {"from_logits", losses[0]["from_logits"]},
                   {"delta", losses[0]["delta"]},
                   {"losses", losses}};
  json weights = keras.value("loss_weights", json());
  if (weights.is_array() && weights.size() == output_names.size()) rcompile["loss_weights"] = weights;
  else if (weights.is_object()) {
    json w = json::array();
    for (const std::string& o : output_names) w.push_back(weights.value(o, json(1.0)));
    rcompile["loss_weights"] = w;
  }
  // Metrics: a list, a list per output, or a dict by output; recur keeps one list for all.
  std::vector<std::string> metrics;
  std::function<void(const json&)> add_metrics = [&](const json& m) {
    if (m.is_array()) {
      for (const json& x : m) add_metrics(x);
    } else if (m.is_object() && !m.contains("class_name")) {
      for (const auto& [k, x] : m.items()) add_metrics(x);
    } else if (!m.is_null()) {
      const std::string name = metric_of(m);
      if (name.empty()) notes.push_back("the metric " + short_dump(m) + " is not one recur has; it was left out");
      else if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) metrics.push_back(name);
    }
  };
  add_metrics(keras.value("metrics", json()));
  rcompile["metrics"] = metrics;
  return rcompile;
}

}  // namespace recur::detail::keras
