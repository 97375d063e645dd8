#pragma once
// Typed, range-checked reads of layer configs from JSON that may come from an untrusted model
// file: a count must be a JSON integer in range (nlohmann's get<std::size_t>() would read -3 as
// 2^64-3 and 1.5 as 1).
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"

namespace recur::detail {

/// Largest units / output_dim a stored config may declare (Keras has no limit; this one is far
/// above any trained model and keeps shape arithmetic far from overflow).
inline constexpr std::size_t kMaxConfigUnits = std::size_t{1} << 20;
/// Largest vocabulary (Embedding input_dim) a stored config may declare.
inline constexpr std::size_t kMaxConfigVocabulary = std::size_t{1} << 26;

/// c[key] as a count in 1..max. Throws ValueError (RECUR-E0013) naming `who` and the value.
inline std::size_t config_size(const nlohmann::json& c, const char* key, std::size_t max, const std::string& who) {
  const nlohmann::json& v = c.at(key);
  if (v.is_number_unsigned()) {
    const auto n = v.get<std::uint64_t>();
    if (n >= 1 && n <= max) return static_cast<std::size_t>(n);
  }
  throw ValueError(who + ": " + key + " must be an integer from 1 to " + std::to_string(max) + ", got " +
                   v.dump().substr(0, 40) + ".", codes::kBadHyperparameter);
}

}  // namespace recur::detail
