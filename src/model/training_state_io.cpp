#include "training_state_io.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "recur/core/error.hpp"
#include "recur/core/random.hpp"

namespace recur::detail {
namespace {

using json = nlohmann::json;

// Doubles travel as the hex of their 64 bits: exact, and infinities (a monitor's starting best)
// survive JSON.
std::string bits_of(double v) {
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, b);
  return buf;
}

double from_bits(const json& j, const std::string& path) {
  const std::string s = j.get<std::string>();
  std::uint64_t b = 0;
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw ModelFormatError(path + ": a training-state number \"" + s.substr(0, 20) + "\" is not 16 hex digits.");
  for (char c : s) b = b * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  double v = 0;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

std::vector<double> doubles(const json& j, const std::string& path) {
  std::vector<double> out;
  for (const json& v : j) out.push_back(from_bits(v, path));
  return out;
}

json hexes(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(bits_of(x));
  return a;
}

}  // namespace

json encode_training_state(const TrainingState& st, std::vector<NamedTensor>& tensors) {
  json slots = json::array();
  for (std::size_t l = 0; l < st.optimizer.slots.size(); ++l) {
    slots.push_back(st.optimizer.slots[l].size());
    for (std::size_t i = 0; i < st.optimizer.slots[l].size(); ++i) {
      const auto& a = st.optimizer.slots[l][i];
      tensors.push_back({"training/optimizer/" + std::to_string(l) + "/" + std::to_string(i),
                         Tensor({a.size()}, a)});
    }
  }
  json callbacks = json::array();
  for (std::size_t k = 0; k < st.callbacks.size(); ++k) {
    callbacks.push_back({{"values", hexes(st.callbacks[k].values)}, {"tensors", st.callbacks[k].tensors.size()}});
    for (std::size_t i = 0; i < st.callbacks[k].tensors.size(); ++i)
      tensors.push_back({"training/callback/" + std::to_string(k) + "/" + std::to_string(i), st.callbacks[k].tensors[i]});
  }
  json history = json::object();
  for (const auto& key : st.history.keys) history[key] = hexes(st.history.history.at(key));
  return {{"epochs_done", st.epochs_done},
          {"stopped", st.stopped},
          {"shuffle_rng", st.shuffle_rng},
          {"layer_rngs", st.layer_rngs},
          {"optimizer", {{"iterations", st.optimizer.iterations},
                         {"learning_rate", bits_of(st.optimizer.learning_rate)},
                         {"slots", slots}}},
          {"callbacks", callbacks},
          {"history_keys", st.history.keys},
          {"history", history},
          {"terminated_on_nan", st.history.terminated_on_nan},
          {"train_samples", st.history.train_samples},
          {"validation_samples", st.history.validation_samples}};
}

TrainingState decode_training_state(const json& j, const std::vector<NamedTensor>& tensors, std::size_t first,
                                    const std::string& path) {
  const auto bad = [&](const std::string& what) {
    return ModelFormatError(path + ": the training state is damaged: " + what +
                            ". This checkpoint cannot be resumed; load it as a plain model, or start training anew.");
  };
  TrainingState st;
  try {
    if (!j.is_object()) throw bad("it is not an object");
    const json& e = j.at("epochs_done");
    if (!e.is_number_unsigned() || e.get<std::uint64_t>() > 100000000) throw bad("epochs_done is not a count");
    st.epochs_done = static_cast<int>(e.get<std::uint64_t>());
    st.stopped = j.at("stopped").get<bool>();
    Rng probe;
    st.shuffle_rng = j.at("shuffle_rng").get<std::string>();
    probe.set_state(st.shuffle_rng);
    st.layer_rngs = j.at("layer_rngs").get<std::vector<std::string>>();
    for (const std::string& r : st.layer_rngs) probe.set_state(r);
    const json& opt = j.at("optimizer");
    const json& it = opt.at("iterations");
    if (!it.is_number_unsigned()) throw bad("the optimizer's iterations is not a count");
    if (it.get<std::uint64_t>() > (std::uint64_t{1} << 53)) throw bad("the optimizer's iterations is implausibly large");
    st.optimizer.iterations = static_cast<std::int64_t>(it.get<std::uint64_t>());
    st.optimizer.learning_rate = static_cast<float>(from_bits(opt.at("learning_rate"), path));
    std::size_t t = first;
    const auto next = [&](const std::string& name) -> const Tensor& {
      if (t >= tensors.size() || tensors[t].name != name)
        throw bad("tensor '" + name + "' is missing or out of order");
      return tensors[t++].tensor;
    };
    const json& slots = opt.at("slots");
    if (!slots.is_array() || slots.size() > 8) throw bad("the optimizer's slot lists");
    for (std::size_t l = 0; l < slots.size(); ++l) {
      if (!slots[l].is_number_unsigned() || slots[l].get<std::uint64_t>() > tensors.size()) throw bad("a slot count");
      std::vector<std::vector<float>> list;
      for (std::size_t i = 0; i < slots[l].get<std::size_t>(); ++i) {
        const Tensor& a = next("training/optimizer/" + std::to_string(l) + "/" + std::to_string(i));
        list.push_back(a.values());
      }
      st.optimizer.slots.push_back(std::move(list));
    }
    const json& callbacks = j.at("callbacks");
    if (!callbacks.is_array() || callbacks.size() > 1000) throw bad("the callback list");
    for (std::size_t k = 0; k < callbacks.size(); ++k) {
      Callback::State cs;
      cs.values = doubles(callbacks[k].at("values"), path);
      const json& n = callbacks[k].at("tensors");
      if (!n.is_number_unsigned() || n.get<std::uint64_t>() > tensors.size()) throw bad("a callback's tensor count");
      for (std::size_t i = 0; i < n.get<std::size_t>(); ++i)
        cs.tensors.push_back(next("training/callback/" + std::to_string(k) + "/" + std::to_string(i)));
      st.callbacks.push_back(std::move(cs));
    }
    if (t != tensors.size()) throw bad("tensor '" + tensors[t].name + "' is not part of it");
    for (const std::string& key : j.at("history_keys").get<std::vector<std::string>>()) {
      if (!j.at("history").contains(key)) throw bad("history key '" + key.substr(0, 40) + "' has no values");
      for (double v : doubles(j.at("history").at(key), path)) st.history.record(key, v);
    }
    st.history.terminated_on_nan = j.value("terminated_on_nan", false);
    st.history.train_samples = j.at("train_samples").get<std::size_t>();
    st.history.validation_samples = j.at("validation_samples").get<std::size_t>();
  } catch (const json::exception& e) {
    throw bad(std::string("a field is missing or of the wrong type (") + e.what() + ")");
  } catch (const ValueError& e) {
    throw bad(e.message());
  }
  return st;
}

}  // namespace recur::detail
