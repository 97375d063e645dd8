// Reading Keras files: the containers (a .keras zip, an HDF5 file), the weights of each layer
// in each format's addressing, the conversions of older layouts (Keras 1's per-gate arrays,
// CuDNN layers), and load_weights into a model built in recur. keras_import.cpp converts the
// configs; keras_export.cpp writes. Layouts: docs/keras.md.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "keras_common.hpp"
#include "keras_format.hpp"
#include "keras_import.hpp"
#include "recur/io/hdf5.hpp"
#include "recur/io/zip_archive.hpp"
#include "recur/layers/layer.hpp"
#include "recur/model/model.hpp"

namespace recur::detail::keras {
namespace {

/// The most values one Keras file's weights may hold in all (1G floats, 4 GiB).
constexpr std::uint64_t kMaxWeightValues = std::uint64_t{1} << 30;
/// The most weight arrays one Keras file may have read (10000 layers of up to 26 arrays each).
constexpr std::uint64_t kMaxWeightArrays = std::uint64_t{1} << 18;
/// The largest model.weights.h5 member of a .keras zip read into memory.
constexpr std::uint64_t kMaxWeightsMemberBytes = std::uint64_t{4} << 30;


// ---- which weights a recur layer has, by name, in Keras's order --------------------------------

std::vector<std::string> own_weight_names(const json& entry) {
  const std::string cls = entry.at("class_name").get<std::string>();
  const json& c = entry.at("config");
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN") {
    std::vector<std::string> n = {"kernel", "recurrent_kernel"};
    if (c.value("use_bias", true)) n.push_back("bias");
    return n;
  }
  if (cls == "RNN") {
    std::vector<std::string> n = {"kernel", "recurrent_kernel"};
    if (c.at("cell").at("config").value("use_bias", true)) n.push_back("bias");
    return n;
  }
  if (cls == "Dense") {
    std::vector<std::string> n = {"kernel"};
    if (c.value("use_bias", true)) n.push_back("bias");
    return n;
  }
  if (cls == "Embedding") return {"embeddings"};
  if (cls == "TimeDistributed") return own_weight_names(c.at("layer"));
  if (cls == "Bidirectional") {
    const json& inner = c.at("layer");
    const std::string base = inner.at("config").at("name").get<std::string>();
    std::vector<std::string> n;
    for (const char* dir : {"forward_", "backward_"})
      for (const std::string& w : own_weight_names(inner)) n.push_back(dir + base + "/" + w);
    return n;
  }
  return {};
}

// ---- array conversions ---------------------------------------------------------------------------

// Blocks (R, C_k) side by side: (R, sum C_k). 1-D blocks are concatenated.
Tensor hstack(const std::vector<const Tensor*>& blocks, const std::string& where) {
  const std::size_t rank = blocks[0]->rank();
  const std::size_t rows = rank == 2 ? blocks[0]->dim(0) : 1;
  std::size_t cols = 0;
  for (const Tensor* b : blocks) {
    if (b->rank() != rank || (rank == 2 && b->dim(0) != rows) || rank < 1 || rank > 2)
      throw ModelFormatError(where + ": the per-gate arrays have shapes that do not fit together (" + b->shape_str() + ").");
    cols += rank == 2 ? b->dim(1) : b->dim(0);
  }
  Tensor out(rank == 2 ? Shape{rows, cols} : Shape{cols});
  std::size_t at = 0;
  for (const Tensor* b : blocks) {
    const std::size_t c = rank == 2 ? b->dim(1) : b->dim(0);
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(b->data() + r * c, c, out.data() + r * cols + at);
    at += c;
  }
  return out;
}

// CuDNN's input kernel: each gate block (F, U) is stored as k.T reshaped to (F, U) in Fortran
// order; undo it (keras 2.15 hdf5_format.py _convert_rnn_weights, transpose_input("F")).
Tensor from_cudnn_input_kernel(const Tensor& k, std::size_t gates) {
  const std::size_t F = k.dim(0), U = k.dim(1) / gates;
  Tensor out(k.shape());
  for (std::size_t g = 0; g < gates; ++g)
    for (std::size_t a = 0; a < F; ++a)
      for (std::size_t b = 0; b < U; ++b) {
        const std::size_t p = a + b * F, i = p % U, j = p / U;
        out.data()[a * gates * U + g * U + b] = k.data()[j * gates * U + g * U + i];
      }
  return out;
}

// CuDNN's recurrent kernel: each gate block (U, U) transposed.
Tensor from_cudnn_recurrent_kernel(const Tensor& k, std::size_t gates) {
  const std::size_t U = k.dim(0);
  Tensor out(k.shape());
  for (std::size_t g = 0; g < gates; ++g)
    for (std::size_t a = 0; a < U; ++a)
      for (std::size_t b = 0; b < U; ++b) out.data()[a * gates * U + g * U + b] = k.data()[b * gates * U + g * U + a];
  return out;
}

// The three arrays of a recurrent layer from the file's arrays of Keras class `cls`: Keras 1's
// per-gate arrays (LSTM stored i, c, f, o; GRU z, r, h) and CuDNN layers converted as Keras 2
// converts them (keras 2.15 hdf5_format.py preprocess_weights_for_loading).
std::vector<Tensor> standard_recurrent(const std::string& cls, std::vector<Tensor> a, const std::string& where) {
  const std::size_t gates = gate_count_of(cls);
  if (gates == 4 && a.size() == 12) {
    return {hstack({&a[0], &a[6], &a[3], &a[9]}, where), hstack({&a[1], &a[7], &a[4], &a[10]}, where),
            hstack({&a[2], &a[8], &a[5], &a[11]}, where)};
  }
  if (gates == 3 && a.size() == 9)
    return {hstack({&a[0], &a[3], &a[6]}, where), hstack({&a[1], &a[4], &a[7]}, where), hstack({&a[2], &a[5], &a[8]}, where)};
  if ((cls == "CuDNNLSTM" || cls == "CuDNNGRU") && a.size() == 3) {
    const Tensor& k = a[0];
    const Tensor& r = a[1];
    const Tensor& b = a[2];
    // By division, with U >= 1 and features >= 1: extents read from the file can make
    // gates * U wrap (a (2^62, 0) recurrent kernel "matched" and the conversion read past it).
    if (k.rank() != 2 || r.rank() != 2 || b.rank() != 1 || r.dim(0) == 0 || k.dim(0) == 0 ||
        r.dim(1) % gates != 0 || r.dim(1) / gates != r.dim(0) || k.dim(1) != r.dim(1) || b.dim(0) % 2 != 0 ||
        b.dim(0) / 2 != r.dim(1))
      throw ModelFormatError(where + ": the " + cls + " weights have shapes " + k.shape_str() + ", " + r.shape_str() + ", " +
                                 b.shape_str() + "; a " + cls + " of U units has (features, " + std::to_string(gates) +
                                 "U), (U, " + std::to_string(gates) + "U) and (" + std::to_string(2 * gates) + "U,).",
                             codes::kArchitectureMismatch);
    const std::size_t G = r.dim(1);
    Tensor bias;
    if (gates == 4) {
      bias = Tensor({G});
      for (std::size_t i = 0; i < G; ++i) bias.data()[i] = b.data()[i] + b.data()[G + i];
    } else {
      bias = b.reshape({2, G});
    }
    return {from_cudnn_input_kernel(k, gates), from_cudnn_recurrent_kernel(r, gates), bias};
  }
  return a;
}

// A layer's arrays in recur's form, given the file's arrays in Keras's order and the Keras
// class of the layer (and of the wrapped one).
std::vector<Tensor> standard_arrays(const KerasLayer& kl, std::vector<Tensor> a, const std::string& where) {
  if (gate_count_of(kl.cls) > 0) return standard_recurrent(kl.cls, std::move(a), where);
  const json& c = kl.entry.at("config");
  if ((kl.cls == "Bidirectional" || kl.cls == "TimeDistributed") && c.contains("layer")) {
    const std::string inner = c["layer"].value("class_name", "");
    if (kl.cls == "TimeDistributed" || gate_count_of(inner) == 0) return a;
    if (a.size() % 2 != 0)
      throw ModelFormatError(where + ": a Bidirectional layer has the forward then the backward layer's arrays, an even "
                                 "count; the file has " + std::to_string(a.size()) + ".",
                             codes::kArchitectureMismatch);
    std::vector<Tensor> fwd(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(a.size() / 2));
    std::vector<Tensor> bwd(a.begin() + static_cast<std::ptrdiff_t>(a.size() / 2), a.end());
    std::vector<Tensor> out = standard_recurrent(inner, std::move(fwd), where + " (forward)");
    for (Tensor& t : standard_recurrent(inner, std::move(bwd), where + " (backward)")) out.push_back(std::move(t));
    return out;
  }
  if (kl.cls == "RNN" && c.contains("cell")) return standard_recurrent(c["cell"].value("class_name", ""), std::move(a), where);
  return a;
}

// Units, gates and features a recurrent layer's arrays say, for messages.
std::string recurrent_reading(const std::vector<Tensor>& a) {
  if (a.size() < 2 || a[1].rank() != 2 || a[1].dim(0) == 0) return "";
  const std::size_t U = a[1].dim(0), G = a[1].dim(1);
  std::string s = "units " + std::to_string(U);
  if (G % U == 0) s += " with " + std::to_string(G / U) + " gate block(s) (" + (G / U == 4 ? "an LSTM" : G / U == 3 ? "a GRU" : G / U == 1 ? "a SimpleRNN" : "no Keras recurrent layer") + ")";
  if (a[0].rank() == 2) s += ", " + std::to_string(a[0].dim(0)) + " input features";
  return s;
}

// Why the file's arrays `got` (of file layer `file_layer`) do not fit the weights `want` of the
// recur layer `layer`: names the layer and the field in recur's and Keras's terms.
std::string explain_mismatch(const std::string& file_layer, const std::vector<Tensor>& got, const Layer& layer,
                             const std::vector<const Weight*>& want) {
  const std::string mine = layer.type() + " '" + layer.name() + "'";
  if (got.size() != want.size()) {
    std::string s = "the file's layer '" + file_layer + "' has " + std::to_string(got.size()) + " weight arrays, but " +
                    mine + " has " + std::to_string(want.size()) + ".";
    if (got.size() * 2 == want.size() && layer.type() == "Bidirectional")
      s += " The file's layer is not Bidirectional (a Bidirectional layer holds the forward and the backward layer's "
           "arrays): the Bidirectional wrapper is missing in the file's model.";
    else if (want.size() * 2 == got.size())
      s += " The file's layer looks Bidirectional (forward and backward arrays) and this one is not.";
    else if (got.size() + 1 == want.size() || got.size() == want.size() + 1)
      s += " One of them has no bias (use_bias differs).";
    return s;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].shape() == want[i]->value.shape()) continue;
    std::string s = mine + "'s " + want[i]->name + " is " + want[i]->value.shape_str() + ", but the file's layer '" +
                    file_layer + "' has " + got[i].shape_str() + ".";
    const Shape& g = got[i].shape();
    const Shape& w = want[i]->value.shape();
    if (g.size() == 2 && w.size() == 2 && g[0] == w[1] && g[1] == w[0])
      s += " It is transposed: PyTorch and ONNX store (gates*units, features), Keras and recur (features, "
           "gates*units); transpose it.";
    std::vector<Tensor> mine_arrays;
    for (const Weight* x : want) mine_arrays.push_back(x->value);
    const std::string file_reading = recurrent_reading(got), my_reading = recurrent_reading(mine_arrays);
    if (!file_reading.empty() && !my_reading.empty() && file_reading != my_reading)
      s += " The file's arrays say " + file_reading + "; this model's say " + my_reading + ".";
    else if (g.size() == 2 && w.size() == 2 && g[0] == w[0] && g[1] != w[1])
      s += " The file's layer has " + std::to_string(g[1]) + " units (columns), this one " + std::to_string(w[1]) + ".";
    return s;
  }
  return "";
}

// ---- reading arrays from the two weight layouts ---------------------------------------------------

struct Budget {
  std::uint64_t left = kMaxWeightValues;
  // Arrays read: each costs a dataset open however few values it holds, and name lists
  // (layer_names x weight_names) can name the same small array millions of times.
  std::uint64_t arrays_left = kMaxWeightArrays;
};

Tensor read_array(const hdf5::Group& g, const std::string& rel, Budget& budget) {
  if (budget.arrays_left == 0)
    throw ModelFormatError("the file names more than " + std::to_string(kMaxWeightArrays) + " weight arrays (at '" +
                           rel.substr(0, 100) + "'); no model recur reads has that many. The file is crafted.");
  --budget.arrays_left;
  Tensor t = g.float_dataset(rel, budget.left);
  budget.left -= std::min<std::uint64_t>(budget.left, t.size());
  return t;
}

// The variables of a Keras 3 "vars" group: datasets "0", "1", ... read by number (HDF5 lists
// them by name: 0, 1, 10, 11, ..., 2).
std::vector<Tensor> read_vars(const hdf5::Group& root, const std::string& vars_path, Budget& budget) {
  if (!root.has_group(vars_path)) return {};
  const hdf5::Group v = root.group(vars_path);
  const std::vector<std::string> names = v.members();
  std::vector<Tensor> out(names.size());
  std::vector<bool> got(names.size(), false);
  for (const std::string& n : names) {
    std::size_t k = 0;
    bool ok = !n.empty() && n.size() < 8;
    for (char c : n) ok = ok && std::isdigit(static_cast<unsigned char>(c));
    if (ok) k = std::stoul(n);
    if (!ok || k >= names.size() || got[k])
      throw ModelFormatError(root.path() + "/" + vars_path + " holds '" + n + "'; a Keras 3 vars group holds the datasets 0 to " +
                             std::to_string(names.size() - 1) + ".");
    out[k] = read_array(v, n, budget);
    got[k] = true;
  }
  return out;
}

// Where a Keras 3 weights file keeps a layer: "layers/lstm", or, in files from tf.keras 2.12-2.14,
// "_layer_checkpoint_dependencies/lstm" (Keras 3 retries with that prefix: H5IOStore.get).
std::string locate_layer(const hdf5::Group& root, const std::string& path) {
  if (root.has_group(path)) return path;
  const std::string alt = "_layer_checkpoint_dependencies/" + path.substr(path.find('/') + 1);
  if (root.has_group(alt)) return alt;
  return path;
}

// The arrays of a layer of Keras class `cls` (inner class `inner` for wrappers) under `path` of
// a Keras 3 weights file, in Keras's order.
std::vector<Tensor> keras3_arrays(const hdf5::Group& root, const std::string& cls, const std::string& inner,
                                  const std::string& path_in, Budget& budget) {
  const std::string path = locate_layer(root, path_in);
  auto recurrent_vars = [&](const std::string& p) {
    std::vector<Tensor> a = read_vars(root, p + "/cell/vars", budget);
    if (a.empty()) a = read_vars(root, p + "/vars", budget);
    return a;
  };
  if (gate_count_of(cls) > 0 || cls == "RNN") return recurrent_vars(path);
  if (cls == "Bidirectional") {
    std::vector<Tensor> a = recurrent_vars(path + "/forward_layer");
    for (Tensor& t : recurrent_vars(path + "/backward_layer")) a.push_back(std::move(t));
    return a;
  }
  if (cls == "TimeDistributed") {
    if (gate_count_of(inner) > 0) return recurrent_vars(path + "/layer");
    return read_vars(root, path + "/layer/vars", budget);
  }
  return read_vars(root, path + "/vars", budget);
}

// A name list attribute, also when Keras split it into name0, name1, ... (attributes are capped
// at 64 KiB: keras 2.15 hdf5_format.py load_attributes_from_hdf5_group).
std::vector<std::string> name_list(const hdf5::Group& g, const std::string& attr) {
  if (g.has_attribute(attr)) return g.string_list_attribute(attr);
  std::vector<std::string> all;
  for (std::size_t k = 0; k < 100000 && g.has_attribute(attr + std::to_string(k)); ++k)
    for (std::string& s : g.string_list_attribute(attr + std::to_string(k))) all.push_back(std::move(s));
  return all;
}

// The arrays of the layer named `name` in a legacy weights group (model_weights, or the root of
// a save_weights file), in its weight_names order.
std::vector<Tensor> legacy_arrays(const hdf5::Group& weights, const std::string& name, Budget& budget) {
  if (!weights.has_group(name)) return {};
  const hdf5::Group g = weights.group(name);
  std::vector<Tensor> out;
  for (const std::string& w : name_list(g, "weight_names")) out.push_back(read_array(g, w, budget));
  return out;
}

Source source_of(const std::string& path, const std::string& version) {
  Source s;
  s.path = path;
  s.keras_version = version;
  s.major = keras_major(version);
  // tf.keras: "2.2.4-tf" .. "2.3.0-tf" (TF 1.13-2.1), then 2.4 to 2.15 (standalone Keras ended at 2.3.1).
  int minor = 0;  // from_chars: a minor of 30 digits is an error, not undefined as with atoi
  const bool has_minor = s.major == 2 && version.size() >= 3 && version[1] == '.' &&
                         std::from_chars(version.data() + 2, version.data() + version.size(), minor).ec == std::errc();
  s.tf_keras = version.find("-tf") != std::string::npos || (has_minor && minor >= 4);
  return s;
}

std::string attribute_or(const hdf5::Group& g, const std::string& name, const std::string& fallback) {
  return g.has_attribute(name) ? g.string_attribute(name) : fallback;
}

// Output names of a converted architecture, in order (for per-output losses).
std::vector<std::string> output_names(const KerasArchitecture& arch) {
  const json& c = arch.document["model"]["config"];
  if (arch.document["format"] == "recur.sequential") return {c["layers"].empty() ? std::string("output") : c["layers"].back()["config"]["name"].get<std::string>()};
  std::vector<std::string> names;
  for (const json& r : c["outputs"]) {
    if (r.contains("node")) names.push_back(c["nodes"][r["node"].get<std::size_t>()]["layer"].get<std::string>());
    else names.push_back("input");
  }
  return names;
}

// The optimizer's variables as a file stores them: Keras 3's optimizer/vars (iterations,
// learning_rate, then momentum and velocity of each trainable variable in turn), or a legacy
// optimizer_weights group in its weight_names order (Keras 2.x and tf.keras: iterations, every
// m, every v, and Keras 2.2's vhats; Keras 3's legacy writer: Keras 3's order).
struct OptimizerArrays {
  std::vector<Tensor> arrays;
  bool keras3_order = false;
};

// recur's Optimizer::State from the file's Adam variables, when they fit the model's weights
// (`weights`, in get_weights order, which is Keras's trainable-variable order). Empty, with the
// reason in `note`, when they do not: the model then starts with fresh moments, as it would in
// a Keras that could not restore them.
std::optional<Optimizer::State> adam_state(const OptimizerArrays& o, const std::vector<NamedTensor>& weights,
                                           const std::string& optimizer, float learning_rate, std::string& note) {
  if (o.arrays.empty()) return std::nullopt;
  if (optimizer != "Adam" && optimizer != "AdamW") {
    note = "the file's " + optimizer + " state was not imported (recur imports Adam's and AdamW's); fit starts it anew";
    return std::nullopt;
  }
  const std::size_t W = weights.size();
  const std::size_t head = o.keras3_order ? 2 : 1;
  const std::size_t n = o.arrays.size();
  const bool counts_fit = o.keras3_order ? n == head + 2 * W : (n == head + 2 * W || n == head + 3 * W);
  if (!counts_fit || o.arrays[0].size() != 1 || (o.keras3_order && o.arrays[1].size() != 1)) {
    note = "the file's optimizer state (" + std::to_string(n) + " arrays) does not fit the model's " +
           std::to_string(W) + " weights; fit starts Adam's moments anew";
    return std::nullopt;
  }
  Optimizer::State st;
  const float it = o.arrays[0][0];
  if (!(it >= 0) || !(it <= 9.0e15f)) {
    note = "the file's optimizer iteration count is not a count; fit starts Adam's moments anew";
    return std::nullopt;
  }
  st.iterations = static_cast<std::int64_t>(it);
  st.learning_rate = o.keras3_order ? o.arrays[1][0] : learning_rate;
  st.slots.assign(2, {});
  for (std::size_t k = 0; k < W; ++k) {
    const Tensor& m = o.keras3_order ? o.arrays[head + 2 * k] : o.arrays[head + k];
    const Tensor& v = o.keras3_order ? o.arrays[head + 2 * k + 1] : o.arrays[head + W + k];
    for (const Tensor* a : {&m, &v}) {
      if (a->shape() != weights[k].tensor.shape()) {
        note = "the file's Adam slot for " + weights[k].name + " is " + a->shape_str() + ", the weight " +
               weights[k].tensor.shape_str() + "; fit starts Adam's moments anew";
        return std::nullopt;
      }
      for (float x : a->values())
        if (!std::isfinite(x)) {
          note = "the file's Adam slot for " + weights[k].name + " holds NaN or infinity; fit starts Adam's moments anew";
          return std::nullopt;
        }
    }
    st.slots[0].push_back(m.values());
    st.slots[1].push_back(v.values());
  }
  if (!(st.learning_rate > 0) || !std::isfinite(st.learning_rate)) {
    note = "the file's learning rate variable is not a positive number; fit starts Adam's moments anew";
    return std::nullopt;
  }
  return st;
}

// The architecture, the weights read by `arrays_of` (file arrays in Keras order of one layer),
// the compile settings and the provenance as recur's model contents.
template <class ArraysOf>
ModelFileContents assemble(KerasArchitecture arch, ArraysOf&& arrays_of, const std::optional<json>& keras_compile,
                           bool legacy_compile, json source, const OptimizerArrays& optimizer_arrays) {
  ModelFileContents contents;
  const json& layers = arch.document["model"]["config"]["layers"];
  for (std::size_t i = 0; i < arch.keras_layers.size(); ++i) {
    const KerasLayer& kl = arch.keras_layers[i];
    const json& entry = layers[i];
    const std::vector<std::string> names = own_weight_names(entry);
    const std::string where = kl.cls + " '" + kl.name + "'";
    std::vector<Tensor> a = standard_arrays(kl, arrays_of(kl), where);
    if (a.size() != names.size())
      throw ModelFormatError(source.value("path", "") + ": " + where + " has " + std::to_string(a.size()) +
                                 " weight arrays in the file, but its config needs " + std::to_string(names.size()) +
                                 (names.empty() ? "" : " (" + [&] {
                                   std::string s;
                                   for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
                                   return s;
                                 }() + ")") + ".",
                             codes::kArchitectureMismatch);
    // Recurrent layers: the arrays against the config's units, in Keras's terms.
    const json& c = entry["config"];
    const json* rc = entry["class_name"] == "Bidirectional" ? &c["layer"]["config"]
                     : entry["class_name"] == "RNN"         ? &c["cell"]["config"]
                                                            : &c;
    const std::string rcls = entry["class_name"] == "Bidirectional" ? c["layer"]["class_name"].get<std::string>()
                             : entry["class_name"] == "RNN"         ? c["cell"]["class_name"].get<std::string>()
                                                                    : entry["class_name"].get<std::string>();
    const std::size_t gates = gate_count_of(rcls);
    if (gates > 0 && rc->contains("units") && (*rc)["units"].is_number_unsigned() && a.size() >= 2) {
      const std::size_t U = (*rc)["units"].get<std::size_t>();
      for (std::size_t half = 0; half < a.size(); half += names.size() / (entry["class_name"] == "Bidirectional" ? 2 : 1)) {
        const Tensor& r = a[half + 1];
        if (r.rank() != 2 || r.dim(0) != U || r.dim(1) != gates * U || a[half].rank() != 2 || a[half].dim(1) != gates * U)
          throw ModelFormatError(source.value("path", "") + ": " + where + " has units " + std::to_string(U) +
                                     " in its config, so its kernel is (features, " + std::to_string(gates * U) +
                                     ") and its recurrent_kernel (" + std::to_string(U) + ", " + std::to_string(gates * U) +
                                     "); the file's arrays are " + a[half].shape_str() + " and " + r.shape_str() + ": " +
                                     recurrent_reading({a[half], r}) + ".",
                                 codes::kArchitectureMismatch);
        if (half + 2 < a.size() && names.size() / (entry["class_name"] == "Bidirectional" ? 2 : 1) == 3) {
          const Tensor& b = a[half + 2];
          const bool reset_after = gates == 3 && rc->value("reset_after", true);
          const Shape want = reset_after ? Shape{2, gates * U} : Shape{gates * U};
          if (b.shape() != want)
            throw ModelFormatError(source.value("path", "") + ": " + where + "'s bias is " + b.shape_str() + " in the file; units " +
                                       std::to_string(U) + (gates == 3 ? std::string(" with reset_after=") + (reset_after ? "true" : "false") : "") +
                                       " needs " + shape_str(want) + "." +
                                       (gates == 3 ? " (A GRU's bias is (2, 3*units) with reset_after=true, (3*units,) without.)" : ""),
                                   codes::kArchitectureMismatch);
        }
      }
    }
    for (std::size_t k = 0; k < names.size(); ++k) {
      for (float v : a[k].values())
        if (!std::isfinite(v))
          throw ModelFormatError(source.value("path", "") + ": " + where + "'s " + names[k] +
                                     " holds NaN or infinite values; the model diverged before it was saved. Retrain "
                                     "it (a lower learning rate, gradient clipping).",
                                 codes::kNonFiniteData);
      contents.tensors.push_back({kl.name + "/" + names[k], std::move(a[k])});
    }
  }
  std::vector<std::string> notes;
  const std::vector<std::string> outputs = output_names(arch);
  json doc = std::move(arch.document);
  std::optional<json> converted;
  if (keras_compile) {
    // Compile settings are optional: settings of the wrong types load the model uncompiled,
    // with the reason in its notes, as settings recur lacks do.
    try {
      converted = convert_compile(*keras_compile, legacy_compile, outputs, notes);
    } catch (const json::exception& e) {
      notes.push_back(std::string("the compile settings are malformed (") + std::string(e.what()).substr(0, 200) +
                      "); the model loads uncompiled.");
    }
  }
  if (converted) {
    doc["compile"] = *converted;
    // Adam's moments and step count, so that fit continues where Keras stopped.
    std::string note;
    const json& opt = (*converted)["optimizer"];
    const float lr = opt["config"].value("learning_rate", 0.001f);
    if (auto st = adam_state(optimizer_arrays, contents.tensors, opt.value("class_name", ""), lr, note)) {
      doc["optimizer_state"] = {{"iterations", st->iterations}, {"learning_rate", st->learning_rate}};
      for (std::size_t l = 0; l < st->slots.size(); ++l)
        for (std::size_t k = 0; k < st->slots[l].size(); ++k)
          contents.tensors.push_back({"training/optimizer_state/" + std::to_string(l) + "/" + std::to_string(k),
                                      Tensor(contents.tensors[k].tensor.shape(), std::move(st->slots[l][k]))});
    } else if (!note.empty()) {
      notes.push_back(note);
    }
  }
  doc["compile_optional"] = true;
  source["notes"] = notes;
  doc["metadata"] = {{"source", source}};
  // The path and the version strings come from outside and may not be UTF-8.
  contents.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return contents;
}

// Runs a reader of a Keras file. The converters check what they read field by field; what
// nlohmann::json still throws on a config no Keras writes (a value of another type deep in a
// layer's config) becomes a ModelFormatError naming the file, as a failed allocation does.
template <class Read>
auto guarded(const std::string& path, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the Keras model could not be converted, a value in its config is not of the "
                           "type Keras writes (" + std::string(e.what()).substr(0, 200) +
                           "); the file is damaged or was not written by Keras.");
  } catch (const std::bad_alloc&) {
    throw ModelFormatError(path + ": reading the Keras model needs more memory than this machine has (a damaged or "
                           "crafted file can claim that much).");
  }
}

ModelFileContents h5_model(const std::string& path, std::string bytes) {
  const hdf5::File file = hdf5::File::from_bytes(std::move(bytes), path);
  const hdf5::Group root = file.root();
  if (!root.has_attribute("model_config")) {
    if (root.has_attribute("layer_names") || root.has_group("layers") || root.has_group("vars"))
      throw ModelFormatError(path + ": the file holds only weights (a Keras save_weights / .weights.h5 file), no "
                             "architecture; build the model and call load_weights with it.");
    throw ModelFormatError(path + ": an HDF5 file without a Keras model_config attribute; recur reads Keras model "
                           "files (model.save(\"m.h5\")) and weight files (load_weights).");
  }
  const bool has_weights = root.has_group("model_weights");
  const hdf5::Group weights = has_weights ? root.group("model_weights") : root;
  // Keras 2/3 read the version on model_weights, which Keras 1 files lack (they are Keras "1").
  std::string version = has_weights ? attribute_or(weights, "keras_version", "") : "";
  if (version.empty()) version = attribute_or(root, "keras_version", "1");
  const Source src = source_of(path, version);
  KerasArchitecture arch = convert_architecture(parse_json(root.string_attribute("model_config"), path + ": model_config"), src);
  std::optional<json> compile;
  if (root.has_attribute("training_config"))
    compile = parse_json(root.string_attribute("training_config"), path + ": training_config");
  Budget budget;
  auto arrays_of = [&](const KerasLayer& kl) {
    if (!has_weights) return std::vector<Tensor>{};
    return legacy_arrays(weights, kl.name, budget);
  };
  json source = {{"path", path}, {"format", "keras-h5"}, {"keras_version", version},
                 {"backend", attribute_or(root, "backend", "")}};
  OptimizerArrays optimizer;
  if (compile && src.major >= 2 && root.has_group("optimizer_weights")) {
    const hdf5::Group g = root.group("optimizer_weights");
    for (const std::string& name : name_list(g, "weight_names")) optimizer.arrays.push_back(read_array(g, name, budget));
    optimizer.keras3_order = src.major >= 3;
  }
  return assemble(std::move(arch), arrays_of, compile, true, source, optimizer);
}

ModelFileContents zip_model(const std::string& path, std::string bytes) {
  const zip::Reader archive = zip::Reader::from_bytes(std::move(bytes), path);
  if (!archive.has("config.json")) {
    std::string members;
    for (std::size_t i = 0; i < archive.names().size() && i < 10; ++i) members += (i ? ", " : "") + archive.names()[i];
    throw ModelFormatError(path + ": a zip archive without config.json, so not a Keras .keras file (it holds: " +
                           (members.empty() ? std::string("nothing") : members) + ").");
  }
  std::string version = "3";
  if (archive.has("metadata.json")) {
    const json meta = parse_json(archive.read("metadata.json", 1 << 20), path + ": metadata.json");
    if (meta.is_object() && meta.contains("keras_version") && meta["keras_version"].is_string())
      version = meta["keras_version"].get<std::string>().substr(0, 40);
  }
  const Source src = source_of(path, version);
  const json config = parse_json(archive.read("config.json", kMaxConfigBytes), path + ": config.json");
  KerasArchitecture arch = convert_architecture(config, src);
  if (!archive.has("model.weights.h5")) {
    if (archive.has("model.weights.npz"))
      throw unsupported(path + ": the weights are in model.weights.npz (saved with weights_format=\"npz\"); recur reads "
                        "model.weights.h5. Save the model again with Keras's default format.");
    throw ModelFormatError(path + ": the .keras archive has no model.weights.h5.");
  }
  const hdf5::File weights =
      hdf5::File::from_bytes(archive.read("model.weights.h5", kMaxWeightsMemberBytes), path + ":model.weights.h5");
  const hdf5::Group root = weights.root();
  Budget budget;
  auto arrays_of = [&](const KerasLayer& kl) {
    std::string inner;
    const json& c = kl.entry.at("config");
    if (c.contains("layer") && c["layer"].is_object()) inner = c["layer"].value("class_name", "");
    return keras3_arrays(root, kl.cls, inner, kl.weights_path, budget);
  };
  std::optional<json> compile;
  if (config.contains("compile_config") && config["compile_config"].is_object()) compile = config["compile_config"];
  json source = {{"path", path}, {"format", "keras-zip"}, {"keras_version", version}};
  OptimizerArrays optimizer;
  if (compile) optimizer.arrays = read_vars(root, "optimizer/vars", budget);
  optimizer.keras3_order = true;
  return assemble(std::move(arch), arrays_of, compile, false, source, optimizer);
}

void load_weights_into(Model& model, const std::string& path, std::string bytes) {
  std::optional<zip::Reader> archive;
  std::string h5 = std::move(bytes);
  if (zip::is_zip(h5)) {
    archive = zip::Reader::from_bytes(std::move(h5), path);
    if (!archive->has("model.weights.h5"))
      throw ModelFormatError(path + ": a zip archive without model.weights.h5, so not a Keras .keras file.");
    h5 = archive->read("model.weights.h5", kMaxWeightsMemberBytes);
  }
  const hdf5::File file = hdf5::File::from_bytes(std::move(h5), path);
  const hdf5::Group root = file.root();
  Budget budget;
  const std::vector<std::shared_ptr<Layer>> layers = model.layers();
  std::vector<std::pair<Layer*, std::vector<Tensor>>> plan;  // checked before anything is assigned
  auto check_and_plan = [&](Layer& layer, std::vector<Tensor> got, const std::string& file_layer) {
    std::vector<const Weight*> want;
    for (const Weight* w : std::as_const(layer).weights()) want.push_back(w);
    const std::string why = explain_mismatch(file_layer, got, layer, want);
    if (!why.empty())
      throw ModelFormatError(path + ": load_weights: " + why + " load_weights needs the architecture the file was saved "
                             "from.",
                             codes::kArchitectureMismatch);
    plan.emplace_back(&layer, std::move(got));
  };
  const bool legacy = root.has_group("model_weights") || root.has_attribute("layer_names");
  if (legacy) {
    // Keras 2's load_weights: the layers that have weights, matched by position.
    const hdf5::Group weights = root.has_group("model_weights") ? root.group("model_weights") : root;
    std::string version = attribute_or(weights, "keras_version", "");
    if (version.empty()) version = attribute_or(root, "keras_version", "1");
    std::map<std::string, std::string> file_class;  // from the model_config, when the file has one
    if (root.has_attribute("model_config")) {
      const json cfg = parse_json(root.string_attribute("model_config"), path + ": model_config");
      std::function<void(const json&)> walk = [&](const json& v) {
        if (v.is_object()) {
          if (v.contains("class_name") && v["class_name"].is_string() && v.contains("config") && v["config"].is_object() &&
              v["config"].contains("name") && v["config"]["name"].is_string())
            file_class[v["config"]["name"].get<std::string>()] = v["class_name"].get<std::string>();
          for (const auto& [k, x] : v.items()) walk(x);
        } else if (v.is_array()) {
          for (const json& x : v) walk(x);
        }
      };
      walk(cfg);
    }
    std::vector<std::pair<std::string, std::vector<Tensor>>> file_layers;
    for (const std::string& name : name_list(weights, "layer_names")) {
      std::vector<Tensor> a = legacy_arrays(weights, name, budget);
      if (!a.empty()) file_layers.emplace_back(name, std::move(a));
    }
    std::vector<Layer*> mine;
    for (const auto& l : layers)
      if (!l->weights().empty()) mine.push_back(l.get());
    if (file_layers.size() != mine.size()) {
      std::string f, m;
      for (const auto& [n, a] : file_layers) f += (f.empty() ? "" : ", ") + n;
      for (const Layer* l : mine) m += (m.empty() ? "" : ", ") + l->name();
      throw ModelFormatError(path + ": load_weights: the file has " + std::to_string(file_layers.size()) +
                                 " layers with weights (" + f + "), this model " + std::to_string(mine.size()) + " (" + m +
                                 "); Keras matches them by position, so the architectures must be the same.",
                             codes::kArchitectureMismatch);
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const std::string& name = file_layers[i].first;
      KerasLayer kl;
      kl.name = name;
      kl.cls = file_class.count(name) ? file_class[name] : mine[i]->type();
      kl.entry = {{"config", mine[i]->get_config()}};
      if (file_class.count(name) == 0 && mine[i]->type() == "LSTM" && file_layers[i].second.size() == 3 &&
          file_layers[i].second[2].rank() == 1 && file_layers[i].second[1].rank() == 2 &&
          file_layers[i].second[1].dim(1) > 0 && file_layers[i].second[2].dim(0) % 2 == 0 &&
          file_layers[i].second[2].dim(0) / 2 == file_layers[i].second[1].dim(1))
        kl.cls = "CuDNNLSTM";  // weights-only file: the 8U bias says CuDNN
      std::vector<Tensor> a = standard_arrays(kl, std::move(file_layers[i].second), "layer '" + name + "'");
      check_and_plan(*mine[i], std::move(a), name);
    }
  } else {
    // Keras 3: the variables of each layer at "layers/<snake_case(class)>[_k]".
    std::map<std::string, std::size_t> seen;
    for (const auto& l : layers) {
      const std::string snake = to_snake_case(l->type());
      const std::size_t k = seen[snake]++;
      const std::string where = "layers/" + snake + (k == 0 ? "" : "_" + std::to_string(k));
      if (l->weights().empty()) continue;
      std::string inner;
      const json c = l->get_config();
      if (c.contains("layer") && c["layer"].is_object()) inner = c["layer"].value("class_name", "");
      std::vector<Tensor> a = keras3_arrays(root, l->type(), inner, where, budget);
      if (a.empty())
        throw ModelFormatError(path + ": load_weights: the file has no weights for " + l->type() + " '" + l->name() +
                                   "' (Keras 3 keeps them under " + where + "); the file is from another architecture.",
                               codes::kArchitectureMismatch);
      check_and_plan(*l, std::move(a), where);
    }
  }
  for (auto& [layer, arrays] : plan) {
    std::size_t k = 0;
    for (Weight* w : layer->weights()) w->value = std::move(arrays[k++]);
  }
}

}  // namespace

// ---- load_model ----------------------------------------------------------------------------------

ModelFileContents read_keras_h5(const std::string& path, std::string bytes) {
  return guarded(path, [&] { return h5_model(path, std::move(bytes)); });
}

ModelFileContents read_keras_zip(const std::string& path, std::string bytes) {
  return guarded(path, [&] { return zip_model(path, std::move(bytes)); });
}

// ---- load_weights --------------------------------------------------------------------------------

void load_keras_weights(Model& model, const std::string& path, std::string bytes) {
  guarded(path, [&] { load_weights_into(model, path, std::move(bytes)); });
}

}  // namespace recur::detail::keras
