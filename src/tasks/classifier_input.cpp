#include "recur/tasks/classifier_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/random.hpp"

namespace recur::tasks {
namespace {

using json = nlohmann::json;

json input_to_json(const ClassifierInput& s) {
  return {{"form", s.form},         {"columns", s.columns},   {"sequence", s.sequence},
          {"alphabet", s.alphabet}, {"timesteps", s.timesteps}, {"features", s.features},
          {"padded", s.padded},     {"embed", s.embed},       {"scaler", scaler_name(s.scaler.kind)},
          {"offset", s.scaler.offset}, {"scale", s.scaler.scale}};
}

ClassifierInput input_from_json(const json& j) {
  ClassifierInput s;
  s.form = j.at("form").get<std::string>();
  s.columns = j.at("columns").get<std::vector<std::string>>();
  s.sequence = j.at("sequence").get<std::string>();
  s.alphabet = j.at("alphabet").get<std::string>();
  s.timesteps = j.at("timesteps").get<std::size_t>();
  s.features = j.at("features").get<std::size_t>();
  s.padded = j.value("padded", false);
  s.embed = j.value("embed", std::size_t{0});
  s.scaler.kind = parse_scaler(j.at("scaler").get<std::string>());
  s.scaler.offset = j.at("offset").get<std::vector<double>>();
  s.scaler.scale = j.at("scale").get<std::vector<double>>();
  return s;
}

// x (rows, T, F) one-hot, or (rows, T) ids k + 1 for an Embedding, from the sequence column.
Tensor encode_sequences(const CsvTable& table, const ClassifierInput& spec) {
  const std::size_t n = table.rows.size(), T = spec.timesteps, F = spec.features;
  Tensor x = spec.embed > 0 ? Tensor({n, T}) : Tensor({n, T, F});
  const std::size_t col = column_index(table, spec.sequence);
  for (std::size_t r = 0; r < n; ++r) {
    const std::string s = trim_cell(table.rows[r][col]);
    if (s.empty() || s.size() > T || (!spec.padded && s.size() != T))
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][col],
                       "(column \"" + spec.sequence + "\"): expected a sequence of " +
                           (spec.padded ? "1 to " : "") + std::to_string(T) +
                           " symbols (as the model was trained on), got " +
                           std::to_string(s.size()) + ".");
    // Pre-padding (Keras's default): the padded steps are all-zero rows (id 0), masked by the
    // model's Masking layer (or the Embedding's mask_zero).
    const std::size_t pad = T - s.size();
    for (std::size_t t = 0; t < s.size(); ++t) {
      const std::size_t k = spec.alphabet.find(s[t]);
      if (k == std::string::npos)
        throw ParseError(table.source, table.line_numbers[r],
                         table.cell_columns[r][col] + static_cast<long>(t),
                         "(column \"" + spec.sequence + "\"): unknown symbol '" +
                             std::string(1, s[t]) + "' at position " + std::to_string(t + 1) +
                             "; the model knows the symbols \"" + spec.alphabet + "\".");
      if (spec.embed > 0) x[r * T + pad + t] = static_cast<float>(k + 1);
      else x[(r * T + pad + t) * F + k] = 1.0f;
    }
  }
  return x;
}

}  // namespace

Shape ClassifierInput::sample_shape() const {
  return embed > 0 ? Shape{timesteps} : Shape{timesteps, features};
}

void ClassifierInput::check_against(const Sequential& model, const std::string& path) const {
  const auto bad = [&](const std::string& why) {
    return ModelFormatError(path + ": the classifier metadata does not fit the model: " + why +
                            ". The file was edited or damaged; retrain or restore it.");
  };
  const Shape& in = model.input_shape();
  // A sample of at most 2^22 values: the model file's word alone must not size a buffer of
  // rows x 2^24 x 256 floats.
  constexpr std::size_t kMaxValues = std::size_t{1} << 22;
  if (timesteps == 0 || features == 0 || timesteps > kMaxValues || features > kMaxValues ||
      timesteps * features > kMaxValues)
    throw bad("timesteps x features is " + std::to_string(timesteps) + " x " + std::to_string(features) +
              ", outside 1 to 4194304 values per sample");
  if (form == "columns") {
    if (in != Shape{timesteps, features})
      throw bad("its input is " + shape_str(in) + " but the metadata says (" + std::to_string(timesteps) + ", " +
                std::to_string(features) + ")");
    if (columns.size() != timesteps * features)
      throw bad(std::to_string(columns.size()) + " columns for " + std::to_string(timesteps) + " x " +
                std::to_string(features) + " inputs");
    if (scaler.offset.size() != columns.size() || scaler.scale.size() != columns.size())
      throw bad("the scaler has " + std::to_string(scaler.offset.size()) + " offsets and " +
                std::to_string(scaler.scale.size()) + " scales for " + std::to_string(columns.size()) + " columns");
    for (std::size_t c = 0; c < columns.size(); ++c)
      if (!std::isfinite(scaler.offset[c]) || !std::isfinite(scaler.scale[c]) || scaler.scale[c] == 0)
        throw bad("the scaler of column \"" + columns[c] + "\" is not a finite, nonzero number");
  } else if (form == "sequence") {
    const Shape want = sample_shape();
    if (in != want) throw bad("its input is " + shape_str(in) + " but the metadata says " + shape_str(want));
    if (alphabet.empty() || alphabet.size() != features)
      throw bad("the alphabet has " + std::to_string(alphabet.size()) + " symbols for " + std::to_string(features) +
                " features");
    for (std::size_t k = 0; k < alphabet.size(); ++k)
      if (alphabet.find(alphabet[k]) != k) throw bad("the alphabet repeats a symbol");
  } else {
    throw bad("the input form is \"" + form.substr(0, 40) + "\", expected \"columns\" or \"sequence\"");
  }
}

std::vector<std::string> class_names(const std::vector<std::string>& labels) {
  std::vector<std::string> names(labels);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const bool integers = std::all_of(names.begin(), names.end(), [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("-0123456789") == std::string::npos && s != "-";
  });
  if (integers)
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  return names;
}

ClassLabels read_class_labels(const CsvTable& table, const std::string& column) {
  const std::size_t col = column_index(table, column);
  const std::size_t n = table.rows.size();
  if (n < kMinClassifierRows)
    throw ValueError(table.source + " has " + std::to_string(n) + " rows; a train/test split "
                     "needs at least " + std::to_string(kMinClassifierRows) + ".");
  std::vector<std::string> labels;
  for (std::size_t r = 0; r < n; ++r) {
    labels.push_back(trim_cell(table.rows[r][col]));
    if (labels.back().empty())
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][col],
                       "(column \"" + column + "\"): the label is empty; every row needs a class.");
  }
  ClassLabels out;
  out.classes = class_names(labels);
  if (out.classes.size() < 2)
    throw ValueError("column \"" + column + "\" has a single class (\"" + out.classes[0] +
                     "\"); classification needs at least 2.");
  std::map<std::string, std::size_t> id;
  for (std::size_t c = 0; c < out.classes.size(); ++c) id[out.classes[c]] = c;
  for (const std::string& l : labels) out.ids.push_back(id.at(l));
  return out;
}

ClassifierInput sequence_input(const CsvTable& table, const std::string& column, std::size_t embed) {
  ClassifierInput spec;
  spec.form = "sequence";
  spec.sequence = column;
  const std::size_t col = column_index(table, column);
  std::string symbols;
  for (const auto& row : table.rows) symbols += trim_cell(row[col]);
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  spec.alphabet = symbols;
  std::size_t shortest = SIZE_MAX, longest = 0;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::size_t len = trim_cell(table.rows[r][col]).size();
    if (len == 0)
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][col],
                       "(column \"" + column + "\"): the sequence is empty; every row "
                       "needs at least one symbol.");
    shortest = std::min(shortest, len);
    longest = std::max(longest, len);
  }
  spec.timesteps = longest;
  spec.padded = shortest != longest;
  spec.features = symbols.size();
  spec.embed = embed;
  return spec;
}

ClassifierInput columns_input(const CsvTable& table, std::size_t label_column,
                              const std::vector<std::string>& columns) {
  ClassifierInput spec;
  spec.form = "columns";
  spec.columns = columns;
  if (spec.columns.empty())
    for (std::size_t c = 0; c < table.header.size(); ++c)
      if (c != label_column && is_numeric_column(table, c)) spec.columns.push_back(table.header[c]);
  if (spec.columns.empty())
    throw ValueError(table.source + " has no numeric columns besides \"" + table.header.at(label_column) +
                     "\"; pass --columns, or --sequence for a string column of symbols.");
  spec.timesteps = spec.columns.size();
  spec.features = 1;
  return spec;
}

std::optional<std::array<std::size_t, 2>> columns_shape(std::size_t cells, std::size_t timesteps,
                                                         std::size_t features) {
  std::size_t T = timesteps, F = features;
  if (T == 0 && F == 0) {
    T = cells;
    F = 1;
  } else if (T == 0) {
    T = F > 0 && cells % F == 0 ? cells / F : 0;
  } else if (F == 0) {
    F = cells % T == 0 ? cells / T : 0;
  }
  if (T == 0 || F == 0 || T * F != cells) return std::nullopt;
  return std::array<std::size_t, 2>{T, F};
}

Tensor encode_columns(const NumericColumns& nc, const ClassifierInput& spec) {
  const std::size_t n = nc.rows.size(), T = spec.timesteps, F = spec.features;
  Tensor x({n, T, F});
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < spec.columns.size(); ++c)
      x[r * T * F + c] = to_float32(spec.scaler.transform(nc.values[c][r], c), "a scaled input value");
  return x;
}

Tensor encode_rows(const CsvTable& table, const ClassifierInput& spec) {
  if (spec.form == "columns") return encode_columns(select_numeric(table, spec.columns), spec);
  return encode_sequences(table, spec);
}

ClassifierSplit split_rows(const CsvTable& table, ClassifierInput* input, const std::vector<std::size_t>& labels,
                           std::uint64_t seed, double test_split) {
  ClassifierInput& spec = *input;
  const std::size_t n = table.rows.size();
  if (!(test_split > 0 && test_split < 1) || labels.size() != n)
    throw ValueError("split_rows: test_split must be in (0, 1) and there must be one label per row; got " +
                     std::to_string(test_split) + " and " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(n) + " rows.", codes::kBadHyperparameter);
  ClassifierSplit split;
  // A seeded shuffle, then the first test_split of it is the test set.
  Rng rng(seed);
  split.order = rng.permutation(n);
  split.n_test = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(test_split * static_cast<double>(n))));
  if (split.n_test >= n)
    throw ValueError("split_rows: test_split " + std::to_string(test_split) + " of " + std::to_string(n) +
                     " rows leaves no training row; use a smaller one.", codes::kBadHyperparameter);
  split.n_train = n - split.n_test;
  const std::vector<std::size_t>& order = split.order;
  Tensor all;
  if (spec.form == "columns") {
    // Convert once; fit the scaler on the training rows only, then scale every row.
    const NumericColumns nc = select_numeric(table, spec.columns);
    for (std::size_t c = 0; c < spec.columns.size(); ++c) {
      std::vector<double> v;
      for (std::size_t i = split.n_test; i < n; ++i) v.push_back(nc.values[c][order[i]]);
      spec.scaler.fit_column(v, v.size());
    }
    all = encode_columns(nc, spec);
  } else {
    all = encode_sequences(table, spec);
  }
  const Shape sample = spec.sample_shape();
  const std::size_t row = shape_size(sample);
  auto batch_of = [&](std::size_t count) {
    Shape s{count};
    s.insert(s.end(), sample.begin(), sample.end());
    return s;
  };
  split.x_train = Tensor(batch_of(split.n_train));
  split.x_test = Tensor(batch_of(split.n_test));
  split.y_train = Tensor({split.n_train});
  split.y_test = Tensor({split.n_test});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = order[i];
    const bool test = i < split.n_test;
    const std::size_t k = test ? i : i - split.n_test;
    std::copy_n(all.data() + r * row, row, (test ? split.x_test : split.x_train).data() + k * row);
    (test ? split.y_test : split.y_train)[k] = static_cast<float>(labels[r]);
  }
  return split;
}

std::string classifier_metadata(const ClassifierMetadata& m) {
  const json meta = {{"task", "classify"}, {"label", m.label}, {"classes", m.classes}, {"input", input_to_json(m.input)}};
  return meta.dump();
}

ClassifierMetadata read_classifier_metadata(const std::string& json_text, const std::string& source) {
  ClassifierMetadata m;
  try {
    const json meta = json::parse(json_text);
    m.input = input_from_json(meta.at("input"));
    if (meta.contains("label")) m.label = meta.at("label").get<std::string>();
    m.classes = meta.at("classes").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw ModelFormatError((source.empty() ? "" : source + ": ") + "the classifier metadata is incomplete: " +
                           e.what());
  }
  return m;
}

}  // namespace recur::tasks
