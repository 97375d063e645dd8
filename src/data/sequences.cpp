#include "recur/data/sequences.hpp"

#include <algorithm>
#include <cmath>

#include "recur/core/error.hpp"

namespace recur {

PaddedSequences pad_sequences(const std::vector<std::vector<std::vector<float>>>& sequences,
                              const PadOptions& o) {
  if (sequences.empty()) throw ValueError("pad_sequences: got no sequences.");
  for (const char* what : {"padding", "truncating"}) {
    const std::string& v = std::string(what) == "padding" ? o.padding() : o.truncating();
    if (v != "pre" && v != "post")
      throw ValueError(std::string("pad_sequences: ") + what + " must be \"pre\" or \"post\", got \"" +
                       v + "\".");
  }
  std::size_t features = 0, longest = 0;
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    longest = std::max(longest, sequences[i].size());
    for (std::size_t t = 0; t < sequences[i].size(); ++t) {
      const auto& step = sequences[i][t];
      if (features == 0) features = step.size();
      if (step.size() != features || features == 0)
        throw ValueError("pad_sequences: every step needs the same number of features (at least "
                         "one); sequence " + std::to_string(i) + ", step " + std::to_string(t) +
                         " has " + std::to_string(step.size()) + ", earlier steps " +
                         std::to_string(features) + ".");
      for (float v : step)
        if (!std::isfinite(v))
          throw ValueError("pad_sequences: sequence " + std::to_string(i) + ", step " +
                           std::to_string(t) + " holds a non-finite value (" + std::to_string(v) +
                           "); clean or impute it first.", codes::kNonFiniteData);
    }
  }
  const std::size_t maxlen = o.maxlen() > 0 ? o.maxlen() : longest;
  if (maxlen == 0)
    throw ValueError("pad_sequences: every sequence is empty and no maxlen was given.");
  if (features == 0) features = 1;
  const std::size_t n = sequences.size();
  PaddedSequences out{Tensor::full({n, maxlen, features}, o.value()), Tensor({n, maxlen})};
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = sequences[i];
    const std::size_t len = std::min(s.size(), maxlen);
    // Truncating "pre" keeps the last maxlen steps; "post" keeps the first.
    const std::size_t src = s.size() > maxlen && o.truncating() == "pre" ? s.size() - maxlen : 0;
    const std::size_t dst = o.padding() == "pre" ? maxlen - len : 0;
    for (std::size_t k = 0; k < len; ++k) {
      std::copy(s[src + k].begin(), s[src + k].end(),
                out.x.data() + (i * maxlen + dst + k) * features);
      out.mask[i * maxlen + dst + k] = 1.0f;
    }
  }
  return out;
}

PaddedSequences pad_sequences(const std::vector<std::vector<float>>& sequences,
                              const PadOptions& options) {
  std::vector<std::vector<std::vector<float>>> vec(sequences.size());
  for (std::size_t i = 0; i < sequences.size(); ++i)
    for (float v : sequences[i]) vec[i].push_back({v});
  PaddedSequences out = pad_sequences(vec, options);
  out.x = out.x.reshape({out.x.dim(0), out.x.dim(1)});
  return out;
}

Tensor to_tensor(const Sequences& sequences, const std::string& caller) {
  if (sequences.empty() || sequences[0].empty() || sequences[0][0].empty())
    throw ValueError(caller + ": expected at least one sample with at least one step of at least "
                     "one feature.");
  const std::size_t n = sequences.size(), T = sequences[0].size(), F = sequences[0][0].size();
  for (std::size_t i = 0; i < n; ++i) {
    if (sequences[i].size() != T)
      throw ShapeError(caller + ": the sequences have different lengths: sample " +
                       std::to_string(i) + " has " + std::to_string(sequences[i].size()) +
                       " timesteps, sample 0 has " + std::to_string(T) + ". A batch must be "
                       "rectangular (batch, timesteps, features): pad them to one length with "
                       "pad_sequences and add a Masking layer (or Embedding(mask_zero)) so the "
                       "padding is skipped.", codes::kRaggedSequences);
    for (std::size_t t = 0; t < T; ++t)
      if (sequences[i][t].size() != F)
        throw ShapeError(caller + ": sample " + std::to_string(i) + ", timestep " +
                         std::to_string(t) + " has " + std::to_string(sequences[i][t].size()) +
                         " features, the others " + std::to_string(F) + "; every step needs "
                         "the same features.", codes::kRaggedSequences);
  }
  Tensor x({n, T, F});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < T; ++t)
      std::copy(sequences[i][t].begin(), sequences[i][t].end(), x.data() + (i * T + t) * F);
  return x;
}

}  // namespace recur
