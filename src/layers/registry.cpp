// The layer registry: Keras class name + config JSON -> layer (what model files store).
#include <cctype>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "config_reader.hpp"

namespace recur {

// Defined in recurrent.cpp: LSTM, GRU, SimpleRNN and RNN from their configs (null otherwise).
std::unique_ptr<Layer> recurrent_layer_from_config(const std::string& type,
                                                   const nlohmann::json& config);

std::string default_layer_name(const std::string& type) {
  std::string s;
  for (std::size_t i = 0; i < type.size(); ++i) {
    const char c = type[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      // "LSTM" -> "lstm", "SimpleRNN" -> "simple_rnn", "TimeDistributed" -> "time_distributed"
      if (i > 0 && std::islower(static_cast<unsigned char>(type[i - 1]))) s += '_';
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      s += c;
    }
  }
  return s;
}

std::unique_ptr<Layer> layer_from_config(const std::string& class_name, const nlohmann::json& c) {
  const std::string name = c.value("name", "");
  if (auto rnn = recurrent_layer_from_config(class_name, c)) return rnn;
  if (class_name == "Dense")
    return std::make_unique<Dense>(
        DenseOptions(detail::config_size(c, "units", detail::kMaxConfigUnits, "Dense config"))
            .activation(c.at("activation").get<std::string>())
            .use_bias(c.at("use_bias").get<bool>())
            .kernel_initializer(c.at("kernel_initializer").get<std::string>())
            .bias_initializer(c.at("bias_initializer").get<std::string>())
            .name(name));
  if (class_name == "Dropout") return std::make_unique<Dropout>(c.at("rate").get<float>(), name);
  if (class_name == "Activation")
    return std::make_unique<Activation>(c.at("activation").get<std::string>(), name);
  if (class_name == "Flatten") return std::make_unique<Flatten>(name);
  if (class_name == "GlobalMaxPooling1D") return std::make_unique<GlobalMaxPooling1D>(name);
  if (class_name == "GlobalAveragePooling1D") return std::make_unique<GlobalAveragePooling1D>(name);
  if (class_name == "Masking") return std::make_unique<Masking>(c.at("mask_value").get<float>(), name);
  if (class_name == "Embedding")
    return std::make_unique<Embedding>(
        EmbeddingOptions(detail::config_size(c, "input_dim", detail::kMaxConfigVocabulary, "Embedding config"),
                         detail::config_size(c, "output_dim", detail::kMaxConfigUnits, "Embedding config"))
            .embeddings_initializer(c.value("embeddings_initializer", "uniform"))
            .mask_zero(c.value("mask_zero", false))
            .name(name));
  if (class_name == "Concatenate") {
    const nlohmann::json& axis = c.value("axis", nlohmann::json(-1));
    if (!axis.is_number_integer() || axis.get<long long>() < -8 || axis.get<long long>() > 8)
      throw ValueError("Concatenate config: axis must be an integer from -8 to 8, got " + axis.dump().substr(0, 40) + ".");
    return std::make_unique<Concatenate>(axis.get<int>(), name);
  }
  if (class_name == "Add") return std::make_unique<Add>(name);
  if (class_name == "Multiply") return std::make_unique<Multiply>(name);
  if (class_name == "Average") return std::make_unique<Average>(name);
  if (class_name == "RepeatVector")
    return std::make_unique<RepeatVector>(detail::config_size(c, "n", detail::kMaxConfigUnits, "RepeatVector config"), name);
  if (class_name == "Reshape") {
    const nlohmann::json& t = c.at("target_shape");
    if (!t.is_array() || t.empty() || t.size() > 4)
      throw ValueError("Reshape config: target_shape must be a list of 1 to 4 integers.");
    std::vector<long long> target;
    for (const nlohmann::json& d : t) {
      if (!d.is_number_integer() || d.get<long long>() < -1 || d.get<long long>() > (1LL << 24))
        throw ValueError("Reshape config: target_shape extents must be integers from -1 to 16777216, got " +
                         d.dump().substr(0, 40) + ".");
      target.push_back(d.get<long long>());
    }
    return std::make_unique<Reshape>(target, name);
  }
  if (class_name == "Bidirectional" || class_name == "TimeDistributed") {
    const nlohmann::json& inner = c.at("layer");
    std::unique_ptr<Layer> layer =
        layer_from_config(inner.at("class_name").get<std::string>(), inner.at("config"));
    if (class_name == "TimeDistributed") return std::make_unique<TimeDistributed>(std::move(layer), name);
    auto* rnn = dynamic_cast<RNN*>(layer.get());
    if (!rnn)
      throw ValueError("Bidirectional wraps a recurrent layer, got " + layer->type() + ".");
    layer.release();
    return std::make_unique<Bidirectional>(std::unique_ptr<RNN>(rnn),
                                           c.value("merge_mode", "concat"), name);
  }
  throw ValueError("unknown layer class \"" + class_name + "\"; this recur knows LSTM, GRU, "
                   "SimpleRNN, RNN, Bidirectional, TimeDistributed, Dense, Dropout, Activation, "
                   "Flatten, GlobalMaxPooling1D, GlobalAveragePooling1D, Masking, Embedding, Concatenate, "
                   "Add, Multiply, Average, RepeatVector, Reshape.");
}

}  // namespace recur
