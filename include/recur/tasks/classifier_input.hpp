#pragma once
// How the rows of a CSV file become sequences for a classifier, one sequence per row, and
// their labels class ids. Two input forms:
//   columns:  numeric cells, cell t * features + f is step t, feature f (digits: 64 pixel
//             columns as 8 steps of 8), scaled per column on the training rows;
//   sequence: a text column of symbols, one per timestep, one-hot over the symbols seen
//             (DNA: A, C, G, T), or ids 1..K for an Embedding (0 is padding). Sequences of
//             different lengths are pre-padded to the longest (Keras's pad_sequences default)
//             and masked by the model.
// The form is stored with the model (classifier_metadata) so that `recur predict` encodes new
// rows the same way; a model file is untrusted and is checked before any buffer is sized from it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recur/core/tensor.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/scaler.hpp"
#include "recur/model/sequential.hpp"

namespace recur::tasks {

/// The fewest rows a classification job splits into training and test rows.
inline constexpr std::size_t kMinClassifierRows = 10;

/// How CSV rows become (timesteps, features) sequences.
struct ClassifierInput {
  std::string form;                  // "columns" or "sequence"
  std::vector<std::string> columns;  // columns form: cell t * features + f is step t, feature f
  std::string sequence;              // sequence form: the text column
  std::string alphabet;              // sequence form: symbol k is one-hot feature k (id k + 1)
  std::size_t timesteps = 0, features = 0;
  bool padded = false;    // sequence form: shorter sequences are pre-padded and masked
  std::size_t embed = 0;  // sequence form: 0 one-hot; > 0 ids for an Embedding of this size
  Scaler scaler;          // columns form: per column, fitted on the training rows (fit_scaler)

  /// One sample's shape: (timesteps) of ids with an Embedding, else (timesteps, features).
  Shape sample_shape() const;
  /// Checks the settings read from a model file against the model they came with, before any
  /// buffer is sized from them: at most 2^22 values per sample, the model's input shape, the
  /// column and scaler counts, a finite nonzero scale, an alphabet of `features` distinct
  /// symbols. Throws ModelFormatError naming `path` and what does not fit.
  void check_against(const Sequential& model, const std::string& path) const;
};

/// Class names in a stable order: sorted numerically when every label is an integer ("2"
/// before "10"), else as text; duplicates removed. Never throws.
std::vector<std::string> class_names(const std::vector<std::string>& labels);

/// The labels of every row as class ids into `classes`.
struct ClassLabels {
  std::vector<std::string> classes;  // class_names of the labels
  std::vector<std::size_t> ids;      // (rows,) the class of each row
};

/// Reads column `column` (cells trimmed) as class labels. Throws ValueError: RECUR-E0014 for an
/// unknown column; when the table has fewer than kMinClassifierRows rows; when there is a
/// single class. Throws ParseError (file:line:column) for an empty label.
ClassLabels read_class_labels(const CsvTable& table, const std::string& column);

/// The sequence form from text column `column`: the alphabet is every symbol seen (sorted),
/// timesteps the longest sequence, padded when lengths differ, features the alphabet's size.
/// `embed` > 0 feeds ids to an Embedding of that size. Throws ValueError (RECUR-E0014) for an
/// unknown column, ParseError naming the cell of an empty sequence.
ClassifierInput sequence_input(const CsvTable& table, const std::string& column, std::size_t embed);

/// The columns form: `columns`, or when empty every numeric column but `label_column`, shaped
/// (columns, 1) until reshaped (columns_shape). The scaler (standard unless the caller sets its
/// kind) is fitted by split_rows. Throws ValueError when the table has no numeric column
/// besides the label; the names are checked when the rows are encoded.
ClassifierInput columns_input(const CsvTable& table, std::size_t label_column,
                              const std::vector<std::string>& columns);

/// (timesteps, features) for `cells` columns: given both, they must multiply to cells; given
/// one, the other is cells divided by it; given neither (0, 0), (cells, 1). nullopt when the
/// cells do not divide so.
std::optional<std::array<std::size_t, 2>> columns_shape(std::size_t cells, std::size_t timesteps,
                                                         std::size_t features);

/// x (rows, timesteps, features) of the columns form from already converted columns
/// (nc.values[c] is input.columns[c]), scaled with input.scaler. Throws ValueError when a
/// scaled value does not fit a float.
Tensor encode_columns(const NumericColumns& nc, const ClassifierInput& input);

/// x from a table in either form: (rows, timesteps, features) one-hot or scaled numbers, or
/// (rows, timesteps) ids with an Embedding. Throws ParseError naming the cell of a sequence of
/// the wrong length (empty, longer than timesteps, or of another length when not padded) or of
/// a symbol outside the alphabet; ParseError/ValueError from select_numeric for the columns form.
Tensor encode_rows(const CsvTable& table, const ClassifierInput& input);

/// The rows shuffled with a seed and split: the first round(test_split * rows) (at least 1) of
/// the permutation are the test rows, the others the training rows (in permutation order).
struct ClassifierSplit {
  std::vector<std::size_t> order;  // (rows,) a permutation of the table's rows
  std::size_t n_test = 0, n_train = 0;
  Tensor x_train, y_train;  // (n_train, sample...), (n_train,) class ids as floats
  Tensor x_test, y_test;    // (n_test, sample...), (n_test,)
};

/// Splits and encodes the rows (Rng(seed).permutation); for the columns form the scaler of
/// `*input` is fitted on the training rows only, then every row is scaled. labels: ids per
/// table row (read_class_labels). Throws ValueError (RECUR-E0013) when test_split is not in
/// (0, 1) or leaves no training row, or labels has another length than the table; and as
/// encode_rows.
ClassifierSplit split_rows(const CsvTable& table, ClassifierInput* input, const std::vector<std::size_t>& labels,
                           std::uint64_t seed, double test_split);

/// A classifier's model-file metadata.
struct ClassifierMetadata {
  std::string label;                 // the class column ("" when the file has none)
  std::vector<std::string> classes;  // class id k is classes[k]
  ClassifierInput input;
};

/// The metadata as JSON text: task "classify", label, classes and input (form, columns,
/// sequence, alphabet, timesteps, features, padded, embed, scaler and its offsets and scales).
std::string classifier_metadata(const ClassifierMetadata& metadata);

/// Reads classifier_metadata's text back (input, then label when present, then classes).
/// Throws ModelFormatError "<source>: the classifier metadata is incomplete: ..." (without
/// "<source>: " when source is empty) for text that is not JSON, a missing field or one of the
/// wrong type. The values are not checked against a model: see ClassifierInput::check_against.
ClassifierMetadata read_classifier_metadata(const std::string& json_text, const std::string& source);

}  // namespace recur::tasks
