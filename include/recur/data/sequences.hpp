#pragma once
// pad_sequences with Keras's options (keras.io/api/data_loading/ ... pad_sequences), except the
// dtype: recur pads to float32, so float features are kept as they are (Keras's default int32
// silently truncates them), and it returns the mask that says which steps are real.
#include <cstddef>
#include <string>
#include <vector>

#include "recur/core/options.hpp"
#include "recur/core/tensor.hpp"

namespace recur {

/// Options of pad_sequences; defaults are Keras's.
struct PadOptions {
  /// Length of the padded sequences; 0: the longest sequence's length.
  RECUR_ARG(std::size_t, maxlen) = 0;
  /// "pre" (Keras default) pads before the sequence, "post" after it.
  RECUR_ARG(std::string, padding) = "pre";
  /// "pre" (Keras default) drops the first steps of a longer sequence, "post" the last ones.
  RECUR_ARG(std::string, truncating) = "pre";
  /// The value of padded steps (every feature).
  RECUR_ARG(float, value) = 0.0f;
};

/// Padded sequences and their mask.
struct PaddedSequences {
  /// (samples, maxlen) for scalar steps, (samples, maxlen, features) for vector steps.
  Tensor x;
  /// (samples, maxlen): 1 for a real step, 0 for padding.
  Tensor mask;
};

/// Pads (or truncates) sequences of scalar steps, e.g. token ids, to one length.
/// Throws ValueError for no sequences, maxlen 0 with only empty sequences, a padding or
/// truncating other than "pre"/"post", or a non-finite value (naming the sample and step).
PaddedSequences pad_sequences(const std::vector<std::vector<float>>& sequences,
                              const PadOptions& options = {});

/// Pads sequences whose steps are feature vectors: sequences[i][t] has `features` values, the
/// same for every step. Output x is (samples, maxlen, features). Throws as above, and ValueError
/// naming the first step whose feature count differs.
PaddedSequences pad_sequences(const std::vector<std::vector<std::vector<float>>>& sequences,
                              const PadOptions& options = {});

/// Nested sequences as (samples, timesteps, features): sequences[i][t] holds the features of step
/// t of sample i.
using Sequences = std::vector<std::vector<std::vector<float>>>;

/// The (samples, timesteps, features) tensor of nested sequences that all have the same length
/// and feature count. Throws ShapeError RECUR-E0003 for ragged input, naming the first sample
/// whose length differs from sample 0's (and suggesting pad_sequences and Masking), or the
/// first step whose feature count differs; ValueError for no samples or empty sequences.
Tensor to_tensor(const Sequences& sequences, const std::string& caller = "to_tensor");

}  // namespace recur
