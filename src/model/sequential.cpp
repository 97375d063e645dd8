#include "recur/model/sequential.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recur/core/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/initializers.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "training_state_io.hpp"

namespace recur {
namespace {

using json = nlohmann::json;

// The true class of each of `rows` target rows, for class_weight: the label (sparse), the
// argmax (one-hot) or y > 0.5 (one binary output).
std::size_t row_class(const float* y, std::size_t classes, LossKind kind) {
  if (kind == LossKind::kSparseCategoricalCrossentropy) return static_cast<std::size_t>(*y);
  if (classes == 1) return *y > 0.5f ? 1 : 0;
  return static_cast<std::size_t>(std::max_element(y, y + classes) - y);
}

// Keeps the rows whose mask is 1 (all rows when the mask is empty).
void keep_unmasked(const Tensor& pred, const Tensor& y, std::size_t rows, std::size_t classes,
                   const Tensor& mask, std::vector<float>& p_out, std::vector<float>& y_out) {
  const std::size_t y_cols = y.size() / rows;
  p_out.clear();
  y_out.clear();
  for (std::size_t r = 0; r < rows; ++r) {
    if (mask[r] == 0.0f) continue;
    p_out.insert(p_out.end(), pred.data() + r * classes, pred.data() + (r + 1) * classes);
    y_out.insert(y_out.end(), y.data() + r * y_cols, y.data() + (r + 1) * y_cols);
  }
}

// Copies rows idx[begin, end) of a (N, ...) tensor into a (end-begin, ...) tensor.
Tensor gather_rows(const Tensor& t, const std::vector<std::size_t>& idx, std::size_t begin,
                   std::size_t end) {
  Shape s = t.shape();
  const std::size_t row = t.size() / s[0];
  s[0] = end - begin;
  Tensor out(s);
  for (std::size_t i = begin; i < end; ++i)
    std::copy_n(t.data() + idx[i] * row, row, out.data() + (i - begin) * row);
  return out;
}

std::string format_int(std::size_t n) {
  // 1234567 -> "1,234,567" (Keras's summary style), built left to right.
  const std::string digits = std::to_string(n);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

// Pads to `width`; a longer cell keeps one space before the next column.
std::string pad(std::string s, std::size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

}  // namespace

bool Sequential::loss_row_weights(std::vector<float>& out, const float* y, std::size_t samples,
                                  std::size_t rows, std::size_t classes,
                                  const std::vector<float>* sample_weight,
                                  const std::map<int, double>* class_weight,
                                  const Tensor& mask) const {
  const bool masked = !mask.empty() && mask.size() == rows;
  if (!sample_weight && !class_weight && !masked) return false;
  out.assign(rows, 1.0f);
  const std::size_t per_sample = rows / samples, y_cols = loss_->target_cols(classes);
  if (sample_weight)
    for (std::size_t r = 0; r < rows; ++r) out[r] *= (*sample_weight)[r / per_sample];
  if (class_weight)
    for (std::size_t r = 0; r < rows; ++r) {
      const auto it = class_weight->find(static_cast<int>(row_class(y + r * y_cols, classes, loss_->kind)));
      if (it != class_weight->end()) out[r] *= static_cast<float>(it->second);
    }
  if (masked) {
    // Masked rows are left out and the mean is over the rows that remain (Keras 3's masked
    // losses): scale by rows / unmasked rows.
    std::size_t valid = 0;
    for (std::size_t r = 0; r < rows; ++r) valid += mask[r] != 0.0f;
    const float scale = valid > 0 ? static_cast<float>(rows) / static_cast<float>(valid) : 0.0f;
    for (std::size_t r = 0; r < rows; ++r) out[r] *= mask[r] != 0.0f ? scale : 0.0f;
  }
  return true;
}

void Sequential::update_metrics(std::vector<Metric>& metrics, const Tensor& pred, const Tensor& y,
                                std::size_t rows, std::size_t classes, const Tensor& mask) const {
  if (mask.empty() || mask.size() != rows) {
    for (Metric& m : metrics) m.update(pred.data(), y.data(), rows, classes);
    return;
  }
  std::vector<float> p, t;
  keep_unmasked(pred, y, rows, classes, mask, p, t);
  for (Metric& m : metrics) m.update(p.data(), t.data(), p.size() / classes, classes);
}

Sequential::Sequential(std::string name) : name_(std::move(name)) {}
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

void Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer)
    throw ValueError("Sequential::add: expected a layer, got a null pointer; pass e.g. "
                     "std::make_unique<recur::Dense>(1).");
  if (auto* rnn = dynamic_cast<RNN*>(layer.get()); rnn && rnn->rnn_options().return_state())
    throw ValueError("Sequential::add: " + layer->type() +
                     (layer->name().empty() ? std::string() : " '" + layer->name() + "'") +
                     " has return_state=true, so it returns [output, final states...], but a "
                     "Sequential model passes one tensor from layer to layer. Set "
                     "return_state=false, or call the layer's call() directly to get the states.");
  if (layer->name().empty()) {
    const std::string base = default_layer_name(layer->type());
    std::size_t count = 0;
    for (const auto& l : layers_)
      if (l->type() == layer->type()) ++count;
    std::string candidate = count == 0 ? base : base + "_" + std::to_string(count);
    for (std::size_t k = count; ; ++k) {
      bool taken = false;
      for (const auto& l : layers_) taken = taken || l->name() == candidate;
      if (!taken) break;
      candidate = base + "_" + std::to_string(k + 1);
    }
    layer->set_name(candidate);
  }
  for (const auto& l : layers_)
    if (l->name() == layer->name())
      throw ValueError("Sequential::add: a layer named '" + layer->name() +
                       "' is already in the model; layer names must be unique.");
  if (built_) {
    Rng rng(layers_.size());
    build_layer(*layer, layers_.back().get(), output_shape(), rng);
  }
  layers_.push_back(std::move(layer));
}

void Sequential::build_layer(Layer& layer, const Layer* previous, const Shape& input_shape,
                             Rng& rng) {
  try {
    layer.build(input_shape, rng);
  } catch (const ShapeError& e) {
    if (!previous) throw;
    throw ShapeError(e.message() + " It receives the output of " + previous->type() + " '" +
                     previous->name() + "', of shape " + shape_str(with_batch(input_shape)) + ".",
                     codes::kLayerMisfit);
  }
}

void Sequential::build(const Shape& input_shape, std::uint64_t seed) {
  if (layers_.empty())
    throw ValueError("Sequential::build: the model has no layers; add() at least one first.");
  for (std::size_t d : input_shape)
    if (d == 0)
      throw ShapeError("Sequential::build: input_shape " + shape_str(input_shape) +
                       " has a zero extent; expected (timesteps, features) with both > 0.");
  Rng rng(seed);
  Shape shape = input_shape;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    build_layer(*layers_[i], i == 0 ? nullptr : layers_[i - 1].get(), shape, rng);
    shape = layers_[i]->output_shape();
  }
  input_shape_ = input_shape;
  built_ = true;
}

Shape Sequential::output_shape() const {
  if (!built_) throw ValueError("Sequential: the model is not built; call build(input_shape).");
  return layers_.back()->output_shape();
}

std::size_t Sequential::count_params() const {
  std::size_t n = 0;
  for (const auto& l : layers_) n += l->count_params();
  return n;
}

std::string Sequential::summary() const {
  if (!built_)
    throw ValueError("Sequential::summary: the model is not built yet; call "
                     "build({timesteps, features}) first.");
  const std::string rule(65, '_'), double_rule(65, '=');
  std::ostringstream out;
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << pad(" Layer (type)", 29) << pad("Output Shape", 26) << "Param #\n" << double_rule << "\n";
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = *layers_[i];
    out << pad(" " + l.name() + " (" + l.type() + ")", 29)
        << pad(shape_str(with_batch(l.output_shape())), 26)
        << format_int(l.count_params()) << "\n";
    if (i + 1 < layers_.size()) out << "\n";
  }
  out << double_rule << "\n";
  out << "Total params: " << format_int(count_params()) << "\n";
  out << "Trainable params: " << format_int(count_params()) << "\n";
  out << "Non-trainable params: 0\n" << rule << "\n";
  return out.str();
}

void Sequential::compile(std::unique_ptr<Optimizer> optimizer, const std::string& loss,
                         const std::vector<std::string>& metrics) {
  compile(std::move(optimizer), Loss{parse_loss(loss)}, metrics);
}

void Sequential::compile(std::unique_ptr<Optimizer> optimizer, const Loss& loss,
                         const std::vector<std::string>& metrics) {
  if (!optimizer) throw ValueError("compile: optimizer is null; pass e.g. \"adam\".");
  if (!(loss.delta > 0))
    throw ValueError("compile: huber delta must be > 0, got " + std::to_string(loss.delta) + ".");
  if (loss.from_logits && loss.kind != LossKind::kBinaryCrossentropy &&
      loss.kind != LossKind::kCategoricalCrossentropy &&
      loss.kind != LossKind::kSparseCategoricalCrossentropy)
    throw ValueError("compile: from_logits applies only to the cross-entropy losses, not " +
                     loss_name(loss.kind) + ".");
  std::vector<MetricKind> m;
  for (const auto& name : metrics) m.push_back(parse_metric(name, loss));
  optimizer_ = std::move(optimizer);
  loss_ = loss;
  metric_names_ = metrics;
  metrics_ = std::move(m);
}

std::vector<Metric> Sequential::make_metrics() const {
  std::vector<Metric> out;
  for (std::size_t i = 0; i < metrics_.size(); ++i) out.emplace_back(metrics_[i], metric_names_[i]);
  return out;
}

void Sequential::compile(const std::string& optimizer, const std::string& loss,
                         const std::vector<std::string>& metrics) {
  compile(make_optimizer(optimizer), loss, metrics);
}

void Sequential::require_compiled(const std::string& caller) const {
  if (!loss_)
    throw ValueError(caller + ": the model is not compiled; call compile(optimizer, loss) "
                     "first, e.g. compile(\"adam\", \"mse\").");
}

void Sequential::check_data(const Tensor& x, const Tensor* y, const std::string& caller) const {
  check_x(x, caller);
  if (y) check_y(x, *y, caller);
}

void Sequential::check_x(const Tensor& x, const std::string& caller) const {
  const Shape want = with_batch(input_shape_);
  bool ok = x.rank() == want.size();
  for (std::size_t i = 1; ok && i < want.size(); ++i) ok = x.dim(i) == want[i];
  if (!ok) {
    std::string msg = caller + ": " + layers_.front()->type() + " '" + layers_.front()->name() +
                      "' (the first layer) expects x of shape " + shape_str(want);
    if (want.size() == 3) msg += " = (batch, timesteps, features)";
    msg += ", got " + x.shape_str() + ".";
    if (want.size() == 3 && x.rank() == 2 && x.dim(1) == want[1] && want[2] == 1)
      msg += " Add a feature axis: reshape x to " + shape_str({x.dim(0), x.dim(1), 1}) + ".";
    else if (want.size() == 3 && x.rank() == 3 && x.dim(2) != want[2])
      msg += " The model was built for " + std::to_string(want[2]) + " features per step; the "
             "data has " + std::to_string(x.dim(2)) + ". Rebuild the model for the data or "
             "select the same columns.";
    throw ShapeError(msg, x.rank() == want.size() ? codes::kFeatureCount : codes::kInputRank);
  }
  if (x.dim(0) == 0) throw ValueError(caller + ": x has no samples (shape " + x.shape_str() + ").");
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i])) {
      const std::size_t row = x.size() / x.dim(0);
      std::string where = "sample " + std::to_string(i / row);
      if (x.rank() == 3)
        where += ", timestep " + std::to_string((i % row) / x.dim(2)) + ", feature " +
                 std::to_string(i % x.dim(2));
      else
        where += ", offset " + std::to_string(i % row);
      throw ValueError(caller + ": x holds a non-finite value (" + std::to_string(x[i]) +
                       ") at " + where + ". Clean or impute the data before fit.",
                       codes::kNonFiniteData);
    }
  layers_.front()->check_input_values(x, caller);
}

void Sequential::check_y(const Tensor& x, const Tensor& y_tensor, const std::string& caller) const {
  const Tensor* y = &y_tensor;
  const Shape out = output_shape();
  const std::size_t classes = out.back();
  const bool sparse = loss_ && loss_->kind == LossKind::kSparseCategoricalCrossentropy;
  // Accepted y shapes: (N, *out), or with a one-wide last axis dropped; sparse: (N, *out[:-1])
  // or (N, *out[:-1], 1).
  Shape want_y{x.dim(0)};
  want_y.insert(want_y.end(), out.begin(), sparse ? out.end() - 1 : out.end());
  Shape alt = want_y;
  if (sparse) alt.push_back(1);
  else if (alt.back() == 1 && alt.size() > 1) alt.pop_back();
  const std::string who = layers_.back()->type() + " '" + layers_.back()->name() + "'";
  if (y->shape() != want_y && y->shape() != alt) {
    std::string msg = caller + ": y must be " + shape_str(want_y) + " to match x's " +
                      std::to_string(x.dim(0)) + " samples and the model output " +
                      shape_str(with_batch(out)) + " of " + who;
    if (sparse) msg += " (sparse_categorical_crossentropy takes one integer class id per output row)";
    msg += ", got " + y->shape_str() + ".";
    if (loss_ && loss_->kind == LossKind::kCategoricalCrossentropy && y->size() * classes == x.dim(0) * shape_size(out))
      msg += " y looks like integer class ids: use sparse_categorical_crossentropy, or one-hot "
             "encode y.";
    throw ShapeError(msg, codes::kLabelsDoNotFit);
  }
  const std::size_t per_sample = y->size() / y->dim(0);
  for (std::size_t i = 0; i < y->size(); ++i) {
    const float v = (*y)[i];
    if (!std::isfinite(v))
      throw ValueError(caller + ": y holds a non-finite value (" + std::to_string(v) +
                       ") at sample " + std::to_string(i / per_sample) + ".",
                       codes::kNonFiniteData);
    if (sparse && (v < 0 || v != std::floor(v) || v >= static_cast<float>(classes)))
      throw ValueError(caller + ": sparse_categorical_crossentropy needs integer class ids in "
                       "[0, " + std::to_string(classes) + ") for the " + std::to_string(classes) +
                       "-unit output of " + who + "; sample " + std::to_string(i / per_sample) +
                       " has " + std::to_string(v) + ". Give the output one unit per class.",
                       codes::kLabelsDoNotFit);
    if (loss_ && loss_->kind == LossKind::kBinaryCrossentropy && (v < 0 || v > 1))
      throw ValueError(caller + ": binary_crossentropy needs labels in [0, 1]; sample " +
                       std::to_string(i / per_sample) + " has " + std::to_string(v) +
                       ". For more than two classes use sparse_categorical_crossentropy with a "
                       "softmax output.", codes::kLabelsDoNotFit);
  }
}

Tensor Sequential::forward(const Tensor& x, bool training) {
  Tensor h = x, mask;
  for (auto& l : layers_) {
    Tensor next_mask = l->compute_mask(h, mask);
    h = mask.empty() ? l->forward(h, training) : l->forward_masked(h, mask, training);
    mask = std::move(next_mask);
  }
  output_mask_ = std::move(mask);
  return h;
}

void Sequential::reset_states() {
  for (auto& l : layers_) l->reset_states();
}

Tensor Sequential::backward(const Tensor& dy) {
  Tensor g = dy;
  for (std::size_t i = layers_.size(); i-- > 0;) g = layers_[i]->backward(g);
  return g;
}

std::vector<Weight*> Sequential::trainable_weights() {
  std::vector<Weight*> ws;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) ws.push_back(w);
  return ws;
}

void Sequential::zero_grad() {
  for (auto& l : layers_) l->zero_grad();
}

bool Sequential::has_stateful_layer() {
  for (auto& l : layers_) {
    std::vector<RNN*> rnns;
    if (auto* r = dynamic_cast<RNN*>(l.get())) rnns.push_back(r);
    if (auto* bi = dynamic_cast<Bidirectional*>(l.get()))
      rnns = {&bi->forward_layer(), &bi->backward_layer()};
    for (RNN* r : rnns)
      if (r->rnn_options().stateful()) return true;
  }
  return false;
}

void Sequential::check_fit_options(const FitOptions& o) const {
  if (o.epochs() < 1)
    throw ValueError("fit: epochs must be >= 1, got " + std::to_string(o.epochs()) + ".",
                     codes::kBadHyperparameter);
  if (o.batch_size() < 1)
    throw ValueError("fit: batch_size must be >= 1, got " + std::to_string(o.batch_size()) + ".",
                     codes::kBadHyperparameter);
  if (!(o.validation_split() >= 0.0 && o.validation_split() < 1.0))
    throw ValueError("fit: validation_split must be in [0, 1), got " +
                     std::to_string(o.validation_split()) + ". It is the fraction of samples "
                     "held out, e.g. 0.1.", codes::kBadHyperparameter);
  if (o.verbose() < 0 || o.verbose() > 2)
    throw ValueError("fit: verbose must be 0, 1 or 2, got " + std::to_string(o.verbose()) + ".");
}

std::size_t Sequential::check_fit_extras(const Tensor& x, const FitOptions& o) {
  const std::size_t n = x.dim(0);
  const std::size_t classes = output_shape().back();
  if (!o.sample_weight().empty()) {
    if (o.sample_weight().size() != n || o.sample_weight().rank() != 1)
      throw ShapeError("fit: sample_weight must be (samples,) = (" + std::to_string(n) +
                       ",), one weight per sample of x, got " + o.sample_weight().shape_str() + ".");
    for (std::size_t i = 0; i < n; ++i)
      if (!(std::isfinite(o.sample_weight()[i]) && o.sample_weight()[i] >= 0))
        throw ValueError("fit: sample_weight must be finite and >= 0; sample " +
                         std::to_string(i) + " has " + std::to_string(o.sample_weight()[i]) + ".",
                         codes::kNonFiniteData);
  }
  if (!o.class_weight().empty()) {
    const LossKind k = loss_->kind;
    if (k != LossKind::kBinaryCrossentropy && k != LossKind::kCategoricalCrossentropy &&
        k != LossKind::kSparseCategoricalCrossentropy)
      throw ValueError("fit: class_weight applies to classification losses (binary, "
                       "categorical or sparse_categorical_crossentropy), not " +
                       loss_name(k) + "; use sample_weight to weight samples of a regression.");
    const std::size_t n_classes = classes == 1 ? 2 : classes;
    for (const auto& [c, w] : o.class_weight()) {
      if (c < 0 || static_cast<std::size_t>(c) >= n_classes)
        throw ValueError("fit: class_weight has class " + std::to_string(c) + ", but the model "
                         "has " + std::to_string(n_classes) + " classes (ids 0 to " +
                         std::to_string(n_classes - 1) + ").", codes::kLabelsDoNotFit);
      if (!(std::isfinite(w) && w >= 0))
        throw ValueError("fit: class_weight for class " + std::to_string(c) +
                         " must be finite and >= 0, got " + std::to_string(w) + ".");
    }
  }
  const bool has_vd = !o.validation_x().empty() || !o.validation_y().empty();
  if (has_vd) check_data(o.validation_x(), &o.validation_y(), "fit (validation_data)");
  const std::size_t n_train =
      has_vd ? n : static_cast<std::size_t>(static_cast<double>(n) * (1.0 - o.validation_split()));
  if (n_train == 0)
    throw ValueError("fit: validation_split " + std::to_string(o.validation_split()) +
                     " leaves no training samples out of " + std::to_string(n) + ".",
                     codes::kBadHyperparameter);
  const std::size_t bs = static_cast<std::size_t>(o.batch_size());
  if (has_stateful_layer() && n_train % bs != 0)
    throw ValueError("fit: the model has a stateful layer, so every batch must have the same "
                     "size, but batch_size " + std::to_string(bs) + " does not divide the " +
                     std::to_string(n_train) + " training samples. Choose a batch_size that "
                     "divides it, or drop samples.", codes::kStatefulBatch);
  return n_train;
}

std::vector<Problem> Sequential::check(const Tensor& x, const Tensor& y, const FitOptions& o) {
  std::vector<Problem> problems;
  auto run = [&](const std::function<void()>& f) {
    try {
      f();
      return true;
    } catch (const Error& e) {
      problems.push_back({e.code(), e.type(), e.message()});
      return false;
    }
  };
  const bool compiled = run([&] { require_compiled("check"); });
  const bool options_ok = run([&] { check_fit_options(o); });
  bool ready = built_;
  if (!built_ && x.rank() >= 2)
    ready = run([&] { build({x.shape().begin() + 1, x.shape().end()}, o.seed()); });
  if (!ready) return problems;
  const bool x_ok = run([&] { check_x(x, "check"); });
  if (!x_ok || !compiled) return problems;
  const bool y_ok = run([&] { check_y(x, y, "check"); });
  if (y_ok && options_ok) run([&] { check_fit_extras(x, o); });
  return problems;
}

TrainingState Sequential::training_state(int epochs_done, bool stopped, const Rng& shuffle,
                                         const std::vector<std::shared_ptr<Callback>>& callbacks,
                                         const History& history) const {
  TrainingState st;
  st.epochs_done = epochs_done;
  st.stopped = stopped;
  st.shuffle_rng = shuffle.state();
  for (const auto& l : layers_)
    for (Rng* r : l->random_generators()) st.layer_rngs.push_back(r->state());
  st.optimizer = optimizer_->state();
  for (const auto& cb : callbacks) st.callbacks.push_back(cb->state());
  st.history = history;
  return st;
}

void Sequential::resume(const TrainingState& st, const std::vector<std::shared_ptr<Callback>>& callbacks, Rng& shuffle) {
  const auto fail = [](const std::string& what) {
    return ValueError("fit: resume_from does not fit this run: " + what +
                      ". Resume with the model, optimizer and callbacks of the run that wrote the checkpoint.");
  };
  std::vector<Rng*> rngs;
  for (auto& l : layers_)
    for (Rng* r : l->random_generators()) rngs.push_back(r);
  if (rngs.size() != st.layer_rngs.size())
    throw fail("the state has " + std::to_string(st.layer_rngs.size()) + " layer generators, the model " +
               std::to_string(rngs.size()));
  // Callbacks pair with the stored states in order; a stateless one (a progress display) may be
  // added or left out at the end.
  const auto empty = [](const Callback::State& c) { return c.values.empty() && c.tensors.empty(); };
  for (std::size_t k = 0; k < std::max(callbacks.size(), st.callbacks.size()); ++k) {
    const bool stored = k < st.callbacks.size() && !empty(st.callbacks[k]);
    const bool stateful = k < callbacks.size() && !empty(callbacks[k]->state());
    if ((k >= callbacks.size() && stored) || (k >= st.callbacks.size() && stateful))
      throw fail("the state has " + std::to_string(st.callbacks.size()) + " callbacks, fit was given " +
                 std::to_string(callbacks.size()));
  }
  const std::vector<Weight*> weights = trainable_weights();
  for (const auto& list : st.optimizer.slots) {
    if (list.empty()) continue;
    bool same = list.size() == weights.size();
    for (std::size_t k = 0; same && k < weights.size(); ++k) same = list[k].size() == weights[k]->value.size();
    if (!same) throw fail("the optimizer's slots do not match the model's weights");
  }
  for (const auto& cs : st.callbacks) {
    if (cs.tensors.empty()) continue;
    bool same = cs.tensors.size() == weights.size();
    for (std::size_t k = 0; same && k < weights.size(); ++k) same = cs.tensors[k].shape() == weights[k]->value.shape();
    if (!same) throw fail("a callback's stored weights do not match the model's weights");
  }
  if (st.epochs_done < 0) throw fail("epochs_done is negative");
  optimizer_->set_state(st.optimizer);
  shuffle.set_state(st.shuffle_rng);
  for (std::size_t k = 0; k < rngs.size(); ++k) rngs[k]->set_state(st.layer_rngs[k]);
  for (std::size_t k = 0; k < std::min(callbacks.size(), st.callbacks.size()); ++k)
    if (!empty(st.callbacks[k])) callbacks[k]->set_state(st.callbacks[k]);
}

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& o) {
  require_compiled("fit");
  check_fit_options(o);
  if (!built_) build({x.shape().begin() + 1, x.shape().end()}, o.seed());
  check_data(x, &y, "fit");
  const std::size_t n_train = check_fit_extras(x, o);
  const std::size_t n = x.dim(0);
  const std::size_t classes = output_shape().back();
  const bool has_sw = !o.sample_weight().empty();
  const bool has_cw = !o.class_weight().empty();
  const bool has_vd = !o.validation_x().empty() || !o.validation_y().empty();
  const std::size_t bs = static_cast<std::size_t>(o.batch_size());
  const Tensor y2 = y.reshape({n, y.size() / n});
  Tensor x_val, y_val;
  const bool has_val = has_vd || n_train < n;
  if (has_vd) {
    x_val = o.validation_x();
    y_val = o.validation_y().reshape({x_val.dim(0), o.validation_y().size() / x_val.dim(0)});
  } else if (has_val) {
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    x_val = gather_rows(x, all, n_train, n);
    y_val = gather_rows(y2, all, n_train, n);
  }

  Rng rng(o.seed());
  History history;
  history.train_samples = n_train;
  history.validation_samples = has_vd ? x_val.dim(0) : n - n_train;
  const int num_batches = static_cast<int>((n_train + bs - 1) / bs);
  std::vector<Weight*> weights = trainable_weights();
  std::vector<std::vector<float>> snapshot(weights.size());
  std::vector<Metric> metrics = make_metrics();
  std::vector<std::shared_ptr<Callback>> callbacks = o.callbacks();
  if (o.verbose() > 0) callbacks.insert(callbacks.begin(), std::make_shared<ProgressBar>(o.verbose()));
  Tensor dy;
  std::vector<float> row_w, sample_w;
  double last_finite_loss = NAN;
  bool stop = false;

  for (const auto& cb : callbacks) cb->on_train_begin(*this);
  int first_epoch = 1;
  if (o.resume_from()) {
    resume(*o.resume_from(), o.callbacks(), rng);
    history = o.resume_from()->history;
    first_epoch = o.resume_from()->epochs_done + 1;
    stop = o.resume_from()->stopped;
  }
  const bool want_state = static_cast<bool>(o.on_epoch_state()) ||
                          std::any_of(callbacks.begin(), callbacks.end(),
                                      [](const auto& cb) { return cb->wants_training_state(); });
  for (int epoch = first_epoch; epoch <= o.epochs() && !stop; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::size_t> order(n_train);
    if (o.shuffle()) order = rng.permutation(n_train);
    else for (std::size_t i = 0; i < n_train; ++i) order[i] = i;
    for (Metric& m : metrics) m.reset();
    double loss_sum = 0.0;
    std::size_t seen = 0;
    for (int b = 0; b < num_batches && !stop; ++b) {
      const std::size_t begin = static_cast<std::size_t>(b) * bs;
      const std::size_t end = std::min(n_train, begin + bs);
      const Tensor xb = gather_rows(x, order, begin, end);
      const Tensor yb = gather_rows(y2, order, begin, end);
      zero_grad();
      const Tensor pred = forward(xb, true);
      const std::size_t rows = pred.size() / classes;
      if (has_sw) {
        sample_w.resize(end - begin);
        for (std::size_t i = begin; i < end; ++i) sample_w[i - begin] = o.sample_weight()[order[i]];
      }
      const bool weighted = loss_row_weights(row_w, yb.data(), end - begin, rows, classes,
                                             has_sw ? &sample_w : nullptr,
                                             has_cw ? &o.class_weight() : nullptr, output_mask_);
      const float* rw = weighted ? row_w.data() : nullptr;
      const float loss = loss_value<float>(*loss_, pred.data(), yb.data(), rows, classes, rw);
      if (dy.shape() != pred.shape()) dy = Tensor(pred.shape());
      loss_gradient<float>(*loss_, dy.data(), pred.data(), yb.data(), rows, classes, rw);
      backward(dy);
      double grad_sq = 0.0;
      for (Weight* w : weights)
        for (float g : w->grad.values()) grad_sq += static_cast<double>(g) * g;
      BatchLogs blogs;
      blogs.epoch = epoch;
      blogs.epochs = o.epochs();
      blogs.batch = b + 1;
      blogs.batches = num_batches;
      blogs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!std::isfinite(loss) || !std::isfinite(grad_sq)) {
        blogs.values["loss"] = std::isfinite(loss) ? static_cast<double>(NAN) : loss;
        bool keep_going = true;
        for (const auto& cb : callbacks) keep_going = cb->on_batch_end(*this, blogs) && keep_going;
        if (!keep_going) {
          history.terminated_on_nan = true;
          stop = true;
          break;
        }
        std::ostringstream msg;
        msg << "fit: the " << (std::isfinite(loss) ? "gradient" : "loss") << " became "
            << (std::isnan(loss) || std::isnan(grad_sq) ? "NaN" : "infinite") << " at epoch "
            << epoch << ", batch " << b + 1 << "/" << num_batches << " (last finite loss "
            << last_finite_loss << ", gradient norm " << std::sqrt(grad_sq)
            << "). The weights are left at their last finite values. Lower the learning_rate "
            << "(now " << optimizer_->learning_rate() << "), e.g. to "
            << optimizer_->learning_rate() / 10 << ", scale the data, or clip the gradients "
            << "(optimizer->set_clipping({.clipnorm = 1.0f}), Keras's clipnorm).";
        throw ValueError(msg.str(), codes::kDivergence);
      }
      for (std::size_t k = 0; k < weights.size(); ++k) snapshot[k] = weights[k]->value.values();
      optimizer_->step(weights);
      bool finite = true;
      for (Weight* w : weights)
        for (float v : w->value.values()) finite = finite && std::isfinite(v);
      if (!finite) {
        for (std::size_t k = 0; k < weights.size(); ++k) weights[k]->value.values() = snapshot[k];
        std::ostringstream msg;
        msg << "fit: the update at epoch " << epoch << ", batch " << b + 1 << "/" << num_batches
            << " made a weight non-finite (loss " << loss << ", gradient norm "
            << std::sqrt(grad_sq) << "). The weights are restored to their values before that "
            << "update. Lower the learning_rate (now " << optimizer_->learning_rate() << "), "
            << "e.g. to " << optimizer_->learning_rate() / 10 << ", or clip the gradients "
            << "(optimizer->set_clipping({.clipnorm = 1.0f})).";
        throw ValueError(msg.str(), codes::kDivergence);
      }
      last_finite_loss = loss;
      loss_sum += static_cast<double>(loss) * static_cast<double>(end - begin);
      seen += end - begin;
      update_metrics(metrics, pred, yb, rows, classes, output_mask_);
      if (o.on_batch_end()) o.on_batch_end()(b + 1, num_batches, loss_sum / static_cast<double>(seen));
      blogs.values["loss"] = loss_sum / static_cast<double>(seen);
      for (const Metric& m : metrics) blogs.values[m.name()] = m.result();
      for (const auto& cb : callbacks) stop = !cb->on_batch_end(*this, blogs) || stop;
    }
    if (seen == 0) break;  // terminated in the first batch of an epoch: nothing to log
    EpochLogs logs;
    logs.epoch = epoch;
    logs.epochs = o.epochs();
    logs.values["loss"] = loss_sum / static_cast<double>(seen);
    history.record("loss", logs.values["loss"]);
    for (const Metric& m : metrics) {
      logs.values[m.name()] = m.result();
      history.record(m.name(), m.result());
    }
    if (has_val) {
      // Keras's order: val_loss, then each metric in compile order.
      const auto val = evaluate_checked(x_val, y_val, o.batch_size());
      std::vector<std::string> keys{"loss"};
      for (const Metric& m : metrics) keys.push_back(m.name());
      for (const auto& k : keys) {
        logs.values["val_" + k] = val.at(k);
        history.record("val_" + k, val.at(k));
      }
    }
    logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool keep_going = true;
    for (const auto& cb : callbacks) keep_going = cb->on_epoch_end(*this, logs) && keep_going;
    if (want_state) {
      // The state after this epoch: what a fit resumed from here needs (a stop by a callback
      // is part of it; a stop asked by on_epoch_end, e.g. Ctrl-C, is not).
      const TrainingState st = training_state(epoch, !keep_going || stop, rng, o.callbacks(), history);
      for (const auto& cb : callbacks)
        if (cb->wants_training_state()) cb->on_epoch_state(*this, st);
      if (o.on_epoch_state()) o.on_epoch_state()(st);
    }
    if (o.on_epoch_end()) keep_going = o.on_epoch_end()(logs) && keep_going;
    if (!keep_going) break;
  }
  for (const auto& cb : callbacks) cb->on_train_end(*this);
  return history;
}

std::map<std::string, double> Sequential::evaluate(const Tensor& x, const Tensor& y,
                                                   int batch_size) {
  require_compiled("evaluate");
  if (batch_size < 1)
    throw ValueError("evaluate: batch_size must be >= 1, got " + std::to_string(batch_size) + ".");
  if (!built_) throw ValueError("evaluate: the model is not built; fit or build it first.");
  check_data(x, &y, "evaluate");
  return evaluate_checked(x, y, batch_size);
}

std::map<std::string, double> Sequential::evaluate_checked(const Tensor& x, const Tensor& y,
                                                           int batch_size) {
  const std::size_t n = x.dim(0);
  Tensor masks;
  const Tensor pred = predict_checked(x, batch_size, &masks);
  std::map<std::string, double> out;
  // Keras's evaluate: mean over batches of the per-batch loss, weighted by batch size.
  double loss_sum = 0.0;
  const std::size_t classes = output_shape().back();
  const std::size_t pred_row = pred.size() / n, y_row = y.size() / n;
  const std::size_t rows_per_sample = pred_row / classes, bs = static_cast<std::size_t>(batch_size);
  std::vector<float> row_w;
  for (std::size_t begin = 0; begin < n; begin += bs) {
    const std::size_t end = std::min(n, begin + bs), rows = (end - begin) * rows_per_sample;
    Tensor mask;
    if (!masks.empty()) {
      mask = Tensor({end - begin, rows_per_sample});
      std::copy_n(masks.data() + begin * rows_per_sample, rows, mask.data());
    }
    const float* yb = y.data() + begin * y_row;
    const bool weighted = loss_row_weights(row_w, yb, end - begin, rows, classes, nullptr, nullptr, mask);
    loss_sum += static_cast<double>(loss_value<float>(*loss_, pred.data() + begin * pred_row,
                                                      yb, rows, classes,
                                                      weighted ? row_w.data() : nullptr)) *
                static_cast<double>(end - begin);
  }
  out["loss"] = loss_sum / static_cast<double>(n);
  std::vector<Metric> metrics = make_metrics();
  update_metrics(metrics, pred, y, n * rows_per_sample, classes, masks);
  for (const Metric& m : metrics) out[m.name()] = m.result();
  return out;
}

Tensor Sequential::predict(const Tensor& x, int batch_size) {
  if (batch_size < 1)
    throw ValueError("predict: batch_size must be >= 1, got " + std::to_string(batch_size) + ".");
  if (!built_)
    throw ValueError("predict: the model is not built; call build({timesteps, features}), fit, "
                     "or load a saved model first.");
  check_data(x, nullptr, "predict");
  return predict_checked(x, batch_size);
}

Tensor Sequential::predict_checked(const Tensor& x, int batch_size, Tensor* masks) {
  const std::size_t n = x.dim(0), bs = static_cast<std::size_t>(batch_size);
  const Shape out_shape = output_shape();
  Shape s{n};
  s.insert(s.end(), out_shape.begin(), out_shape.end());
  Tensor out(s);
  const std::size_t row = out.size() / n;
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  for (std::size_t begin = 0; begin < n; begin += bs) {
    const std::size_t end = std::min(n, begin + bs);
    const Tensor yb = forward(gather_rows(x, idx, begin, end), false);
    std::copy_n(yb.data(), yb.size(), out.data() + begin * row);
    if (masks && !output_mask_.empty()) {
      const std::size_t steps = output_mask_.size() / (end - begin);
      if (masks->empty()) *masks = Tensor({n, steps});
      std::copy_n(output_mask_.data(), output_mask_.size(), masks->data() + begin * steps);
    }
  }
  return out;
}

std::vector<Tensor> Sequential::get_weights() const {
  std::vector<Tensor> out;
  for (const auto& l : layers_)
    for (const Weight* w : std::as_const(*l).weights()) out.push_back(w->value);
  return out;
}

void Sequential::set_weights(const std::vector<Tensor>& weights) {
  if (!built_)
    throw ValueError("set_weights: the model is not built, so it has no weights yet; call "
                     "build({timesteps, features}) first.");
  std::vector<std::pair<const Layer*, Weight*>> targets;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) targets.emplace_back(l.get(), w);
  if (weights.size() != targets.size()) {
    std::string expected;
    for (const auto& [l, w] : targets)
      expected += (expected.empty() ? "" : ", ") + l->name() + "/" + w->name + " " +
                  w->value.shape_str();
    throw ValueError("set_weights: the model expects " + std::to_string(targets.size()) +
                     " arrays in this order: " + expected + "; got " +
                     std::to_string(weights.size()) + " arrays.", codes::kWeightCount);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& [l, w] = targets[i];
    const Shape& want = w->value.shape();
    const Shape& got = weights[i].shape();
    if (got == want) continue;
    std::string msg = "set_weights: " + l->type() + " '" + l->name() + "' weight '" + w->name +
                      "' (array " + std::to_string(i) + ") expects shape " + shape_str(want) +
                      ", got " + shape_str(got) + ".";
    if (want.size() == 2 && got.size() == 2 && got[0] == want[1] && got[1] == want[0])
      msg += " The array is the transpose of the expected one: it looks like PyTorch's layout "
             "(weight_ih is (4*units, features)); pass its transpose. Keras's layout is "
             "kernel (features, 4*units), recurrent_kernel (units, 4*units).";
    throw ShapeError(msg, codes::kWeightShape);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].second->value = weights[i];
}

void Sequential::save(const std::string& path, const std::string& metadata_json,
                      const TrainingState* state) const {
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
    for (const Weight* w : std::as_const(*l).weights())
      contents.tensors.push_back({l->name() + "/" + w->name, w->value});
  }
  json doc = {{"format", "recur.sequential"},
              {"model",
               {{"class_name", "Sequential"},
                {"config", {{"name", name_}, {"input_shape", input_shape_}, {"layers", layers}}}}},
              {"metadata", meta}};
  if (loss_) {
    doc["compile"] = {{"optimizer", {{"class_name", optimizer_->type()},
                                     {"config", optimizer_config(*optimizer_)}}},
                      {"loss", loss_name(loss_->kind)},
                      {"from_logits", loss_->from_logits},
                      {"delta", loss_->delta},
                      {"metrics", metric_names_}};
  }
  if (state) doc["training_state"] = detail::encode_training_state(*state, contents.tensors);
  contents.json = doc.dump();
  write_model_file(path, contents);
}

namespace {

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

// The input shape stored in a file: 1 to 3 extents, each an integer from 1 to 2^24.
Shape stored_input_shape(const json& v, const std::string& path) {
  Shape shape;
  const bool ok_rank = v.is_array() && !v.empty() && v.size() <= 3;
  if (ok_rank)
    for (const json& d : v) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() < 1 || d.get<std::uint64_t>() > (1u << 24)) break;
      shape.push_back(static_cast<std::size_t>(d.get<std::uint64_t>()));
    }
  if (!ok_rank || shape.size() != v.size())
    throw ModelFormatError(path + ": the stored input_shape " + v.dump().substr(0, 60) +
                           " is not 1 to 3 integers from 1 to 16777216.");
  return shape;
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

}  // namespace

void Sequential::load_weights(const std::string& path) {
  if (!built_)
    throw ValueError("load_weights: the model is not built; build it with the architecture the "
                     "file was saved from first.");
  const ModelFileContents contents = read_model_file(path);
  const json doc = parse_model_document(contents, path);
  std::vector<std::string> file_names;  // the file's layer names, by position
  try {
    const json& layers = doc.at("model").at("config").at("layers");
    if (!layers.is_array())
      throw ModelFormatError(path + ": the architecture's \"layers\" is not a list.");
    if (layers.size() != layers_.size())
      throw ModelFormatError(path + ": the file's model has " + std::to_string(layers.size()) +
                             " layers, this model " + std::to_string(layers_.size()) +
                             "; load_weights needs the same architecture.",
                             codes::kArchitectureMismatch);
    // Layer by layer: the class, then every config field except the name.
    std::function<void(const json&, const json&, const std::string&)> compare =
        [&](const json& file, const json& mine, const std::string& where) {
          if (!file.is_object())
            throw ModelFormatError(path + ": " + where + " is not an object in the file.",
                                   codes::kArchitectureMismatch);
          for (const auto& [key, value] : mine.items()) {
            if (key == "name") continue;
            const std::string field = where.empty() ? key : where + "." + key;
            if (!file.contains(key))
              throw ModelFormatError(path + ": " + field + " is missing from the file's layer.",
                                     codes::kArchitectureMismatch);
            if (value.is_object()) compare(file.at(key), value, field);
            else if (file.at(key) != value)
              throw ModelFormatError(path + ": " + field + " is " + file.at(key).dump().substr(0, 60) +
                                     " in the file but " + value.dump() + " in this model; "
                                     "load_weights needs the same architecture.",
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
        throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size()) +
                               " tensors; '" + want + "' (for " + mine + ") is missing.",
                               codes::kArchitectureMismatch);
      const NamedTensor& t = contents.tensors[k++];
      if (t.name != want)
        throw ModelFormatError(path + ": tensor " + std::to_string(k - 1) + " is named '" + t.name +
                               "', expected '" + want + "' (for " + mine + "); the file's tensors are "
                               "in another order or belong to another model.", codes::kArchitectureMismatch);
      if (t.tensor.shape() != w->value.shape())
        throw ModelFormatError(path + ": tensor '" + t.name + "' has shape " + t.tensor.shape_str() +
                               ", but " + mine + " is " + w->value.shape_str() + ".",
                               codes::kArchitectureMismatch);
      values.push_back(t.tensor);
    }
  if (k != contents.tensors.size() && !(doc.contains("training_state") && only_training_tensors(contents, k)))
    throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size() - k) +
                           " tensors more than this model uses (first extra: '" + contents.tensors[k].name +
                           "').", codes::kArchitectureMismatch);
  k = 0;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) w->value = values[k++];
}

Sequential Sequential::load(const std::string& path, std::string* metadata_json, TrainingState* state) {
  const ModelFileContents contents = read_model_file(path);
  const json doc = parse_model_document(contents, path);
  Sequential model;
  try {
    if (doc.value("format", "") != "recur.sequential")
      throw ModelFormatError(path + ": the architecture JSON has format \"" +
                             doc.value("format", "").substr(0, 60) + "\", expected \"recur.sequential\".");
    const json& cfg = doc.at("model").at("config");
    model.name_ = cfg.at("name").get<std::string>();
    const Shape input_shape = stored_input_shape(cfg.at("input_shape"), path);
    const json& layers = cfg.at("layers");
    if (!layers.is_array() || layers.size() > 10000)
      throw ModelFormatError(path + ": the architecture's \"layers\" is not a list of at most 10000 layers.");
    {
      // The weights are created uninitialised and may hold no more values than the file has:
      // an architecture that declares more fails here, before anything large is allocated.
      // (A slack of 4M values lets a small mismatch reach the clearer per-tensor message below.)
      WeightLoadScope budget(stored_values(contents) + (std::uint64_t{1} << 22), path);
      for (const json& l : layers)
        model.add(layer_from_config(l.at("class_name").get<std::string>(), l.at("config")));
      model.build(input_shape);
    }
    if (doc.contains("compile")) {
      const json& c = doc.at("compile");
      std::vector<std::string> metrics = c.at("metrics").get<std::vector<std::string>>();
      model.compile(optimizer_from_config(c.at("optimizer").at("class_name").get<std::string>(),
                                          c.at("optimizer").at("config")),
                    Loss{parse_loss(c.at("loss").get<std::string>()), c.value("from_logits", false),
                         c.value("delta", 1.0)},
                    metrics);
    }
    if (doc.contains("metadata") && !doc["metadata"].is_object())
      throw ModelFormatError(path + ": the stored metadata is not a JSON object.");
    if (metadata_json) *metadata_json = doc.contains("metadata") ? doc["metadata"].dump() : "{}";
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the architecture JSON is missing or has a wrong field: " +
                           e.what());
  } catch (const ModelFormatError&) {
    throw;
  } catch (const Error& e) {
    throw ModelFormatError(path + ": the stored architecture is invalid: " + e.what());
  } catch (const std::bad_alloc&) {
    throw ModelFormatError(path + ": the stored architecture needs more memory than there is.");
  }
  std::size_t i = 0;
  for (auto& l : model.layers_) {
    for (Weight* w : l->weights()) {
      const std::string want = l->name() + "/" + w->name;
      if (i >= contents.tensors.size())
        throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size()) +
                               " tensors, but the architecture needs more: '" + want +
                               "' is missing.", codes::kArchitectureMismatch);
      const NamedTensor& nt = contents.tensors[i++];
      if (nt.name != want)
        throw ModelFormatError(path + ": tensor " + std::to_string(i - 1) + " is named '" +
                               nt.name + "', expected '" + want + "' for layer " + l->type() +
                               " '" + l->name() + "'.", codes::kArchitectureMismatch);
      if (nt.tensor.shape() != w->value.shape())
        throw ModelFormatError(path + ": tensor '" + want + "' has shape " +
                               nt.tensor.shape_str() + ", but layer " + l->type() + " '" +
                               l->name() + "' needs " + w->value.shape_str() + ".",
                               codes::kArchitectureMismatch);
      w->value = nt.tensor;
    }
  }
  const bool has_state = doc.contains("training_state");
  if (i != contents.tensors.size() && !(has_state && only_training_tensors(contents, i)))
    throw ModelFormatError(path + ": the file has " + std::to_string(contents.tensors.size() - i) +
                           " tensors more than the architecture uses (first extra: '" +
                           contents.tensors[i].name + "').", codes::kArchitectureMismatch);
  if (state) {
    if (!has_state)
      throw ModelFormatError(path + ": the file holds no training state; it is a model, not a checkpoint "
                             "(checkpoints are written by ModelCheckpoint with save_training_state).");
    *state = detail::decode_training_state(doc.at("training_state"), contents.tensors, i, path);
  }
  return model;
}

}  // namespace recur
