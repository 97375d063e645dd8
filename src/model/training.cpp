// Training a Model: the checks before fit (data, options), the training loop (the batch step and
// the divergence handling), evaluate and predict, and the training state of checkpoints.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <sstream>
#include <nlohmann/json.hpp>

#include "graph_impl.hpp"
#include "recur/core/error.hpp"
#include "recur/layers/merge.hpp"
#include "recur/model/model.hpp"

namespace recur {
namespace {

// The true class of a target row, for class_weight: the label (sparse), the argmax (one-hot) or
// y > 0.5 (one binary output).
std::size_t row_class(const float* y, std::size_t classes, LossKind kind) {
  if (kind == LossKind::kSparseCategoricalCrossentropy) return static_cast<std::size_t>(*y);
  if (classes == 1) return *y > 0.5f ? 1 : 0;
  return static_cast<std::size_t>(std::max_element(y, y + classes) - y);
}

// Keeps the rows whose mask is 1.
void keep_unmasked(const Tensor& pred, const Tensor& y, std::size_t rows, std::size_t classes, const Tensor& mask,
                   std::vector<float>& p_out, std::vector<float>& y_out) {
  const std::size_t y_cols = y.size() / rows;
  p_out.clear();
  y_out.clear();
  for (std::size_t r = 0; r < rows; ++r) {
    if (mask[r] == 0.0f) continue;
    p_out.insert(p_out.end(), pred.data() + r * classes, pred.data() + (r + 1) * classes);
    y_out.insert(y_out.end(), y.data() + r * y_cols, y.data() + (r + 1) * y_cols);
  }
}

// Rows idx[begin, end) of a (N, ...) tensor as a (end - begin, ...) tensor.
Tensor gather_rows(const Tensor& t, const std::vector<std::size_t>& idx, std::size_t begin, std::size_t end) {
  Shape s = t.shape();
  const std::size_t row = t.size() / s[0];
  s[0] = end - begin;
  Tensor out(s);
  for (std::size_t i = begin; i < end; ++i) std::copy_n(t.data() + idx[i] * row, row, out.data() + (i - begin) * row);
  return out;
}

std::vector<Tensor> gather_all(const std::vector<Tensor>& ts, const std::vector<std::size_t>& idx, std::size_t begin,
                               std::size_t end) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(gather_rows(t, idx, begin, end));
  return out;
}

// The loss reads loss.target_cols(classes) target values per row of the prediction: check_y
// made sure for the output shapes it derived; this keeps a prediction of other timesteps (a
// mistake in that derivation) from reading past the targets.
void check_targets_fit(const Tensor& pred, const Tensor& y, const Loss& loss, std::size_t classes,
                       const std::string& caller) {
  if (y.size() != pred.size() / classes * loss.target_cols(classes))
    throw ShapeError(caller + ": the model's output " + pred.shape_str() + " and the targets " + y.shape_str() +
                         " (flattened per sample) hold different numbers of rows.",
                     codes::kLabelsDoNotFit);
}

std::vector<std::size_t> iota_index(std::size_t n) {
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  return all;
}

// The optimizer step of one batch, with the divergence handling of fit: a non-finite loss or
// gradient is reported before the update (callbacks may end training there), a non-finite
// weight after it is undone.
struct DivergenceGuard {
  std::vector<std::vector<float>> snapshot;
  double last_finite_loss = NAN;

  [[noreturn]] void non_finite_loss(double loss, double grad_sq, int epoch, int batch, int batches,
                                    const Optimizer& opt) const {
    std::ostringstream msg;
    msg << "fit: the " << (std::isfinite(loss) ? "gradient" : "loss") << " became "
        << (std::isnan(loss) || std::isnan(grad_sq) ? "NaN" : "infinite") << " at epoch " << epoch << ", batch "
        << batch << "/" << batches << " (last finite loss " << last_finite_loss << ", gradient norm "
        << std::sqrt(grad_sq) << "). The weights are left at their last finite values. Lower the learning_rate "
        << "(now " << opt.learning_rate() << "), e.g. to " << opt.learning_rate() / 10
        << ", scale the data, or clip the gradients (optimizer->set_clipping({.clipnorm = 1.0f}), Keras's "
           "clipnorm).";
    throw ValueError(msg.str(), codes::kDivergence);
  }

  // Steps the optimizer; undoes the step and throws when a weight became non-finite.
  void step(Optimizer& opt, const std::vector<Weight*>& weights, double loss, double grad_sq, int epoch, int batch,
            int batches) {
    snapshot.resize(weights.size());
    for (std::size_t k = 0; k < weights.size(); ++k) snapshot[k] = weights[k]->value.values();
    opt.step(weights);
    bool finite = true;
    for (Weight* w : weights)
      for (float v : w->value.values()) finite = finite && std::isfinite(v);
    if (!finite) {
      for (std::size_t k = 0; k < weights.size(); ++k) weights[k]->value.values() = snapshot[k];
      std::ostringstream msg;
      msg << "fit: the update at epoch " << epoch << ", batch " << batch << "/" << batches
          << " made a weight non-finite (loss " << loss << ", gradient norm " << std::sqrt(grad_sq)
          << "). The weights are restored to their values before that update. Lower the learning_rate (now "
          << opt.learning_rate() << "), e.g. to " << opt.learning_rate() / 10
          << ", or clip the gradients (optimizer->set_clipping({.clipnorm = 1.0f})).";
      throw ValueError(msg.str(), codes::kDivergence);
    }
    last_finite_loss = loss;
  }
};

}  // namespace

// ---- per-output losses and metrics -------------------------------------------------------------

std::string Model::log_prefix(std::size_t k) const {
  return outputs_.size() > 1 ? output_names()[k] + "_" : std::string();
}

std::vector<Metric> Model::make_metrics(std::size_t k) const {
  std::vector<Metric> out;
  for (std::size_t i = 0; i < metrics_[k].size(); ++i) out.emplace_back(metrics_[k][i], log_prefix(k) + metric_names_[i]);
  return out;
}

bool Model::loss_row_weights(std::vector<float>& out, const Loss& loss, const float* y, std::size_t samples,
                             std::size_t rows, std::size_t classes, const std::vector<float>* sample_weight,
                             const std::map<int, double>* class_weight, const Tensor& mask) const {
  const bool masked = !mask.empty() && mask.size() == rows;
  if (!sample_weight && !class_weight && !masked) return false;
  out.assign(rows, 1.0f);
  const std::size_t per_sample = rows / samples, y_cols = loss.target_cols(classes);
  if (sample_weight)
    for (std::size_t r = 0; r < rows; ++r) out[r] *= (*sample_weight)[r / per_sample];
  if (class_weight)
    for (std::size_t r = 0; r < rows; ++r) {
      const auto it = class_weight->find(static_cast<int>(row_class(y + r * y_cols, classes, loss.kind)));
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

void Model::update_metrics(std::vector<Metric>& metrics, const Tensor& pred, const Tensor& y, std::size_t rows,
                           std::size_t classes, const Tensor& mask) const {
  if (mask.empty() || mask.size() != rows) {
    for (Metric& m : metrics) m.update(pred.data(), y.data(), rows, classes);
    return;
  }
  std::vector<float> p, t;
  keep_unmasked(pred, y, rows, classes, mask, p, t);
  for (Metric& m : metrics) m.update(p.data(), t.data(), p.size() / classes, classes);
}

// ---- checks ------------------------------------------------------------------------------------

void Model::check_x(const std::vector<Tensor>& xs, const std::string& caller) const {
  if (xs.size() != inputs_.size())
    throw ValueError(caller + ": model '" + name_ + "' has " + std::to_string(inputs_.size()) + " input" +
                         (inputs_.size() == 1 ? "" : "s") + " (" + [&] {
                           std::string s;
                           for (const auto& n : input_names()) s += (s.empty() ? "" : ", ") + n;
                           return s;
                         }() + "), got " + std::to_string(xs.size()) + " tensor" + (xs.size() == 1 ? "" : "s") + ".",
                     codes::kGraphData);
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    const Shape want = with_batch(inputs_[k].shape());
    const std::string xname = xs.size() == 1 ? "x" : "x[" + std::to_string(k) + "]";
    // A None axis (kAnyDim: the timesteps of Input({kAnyDim, F})) takes any length >= 1.
    bool ok = x.rank() == want.size(), fixed_ok = ok;
    for (std::size_t i = 1; ok && i < want.size(); ++i) {
      ok = want[i] == kAnyDim ? x.dim(i) >= 1 : x.dim(i) == want[i];
      fixed_ok = fixed_ok && (want[i] == kAnyDim || x.dim(i) == want[i]);
    }
    if (!ok) {
      std::string msg = caller + ": " + describe_input(k) + " expects " + xname + " of shape " + shape_str(want);
      if (want.size() == 3) msg += " = (batch, timesteps, features)";
      msg += ", got " + x.shape_str() + ".";
      if (want.size() == 3 && x.rank() == 2 && (want[1] == kAnyDim || x.dim(1) == want[1]) && want[2] == 1)
        msg += " Add a feature axis: reshape " + xname + " to " + shape_str({x.dim(0), x.dim(1), 1}) + ".";
      else if (want.size() == 3 && x.rank() == 3 && x.dim(2) != want[2])
        msg += " The model was built for " + std::to_string(want[2]) + " features per step; the data has " +
               std::to_string(x.dim(2)) + ". Rebuild the model for the data or select the same columns.";
      else if (fixed_ok)
        msg += " The None timesteps take any length, but at least 1.";
      throw ShapeError(msg, x.rank() != want.size() ? codes::kInputRank
                            : fixed_ok              ? codes::kShape
                                                    : codes::kFeatureCount);
    }
    if (x.dim(0) == 0) throw ValueError(caller + ": " + xname + " has no samples (shape " + x.shape_str() + ").");
    if (x.dim(0) != xs[0].dim(0))
      throw ValueError(caller + ": every input needs the same number of samples; x[0] has " + std::to_string(xs[0].dim(0)) +
                           ", " + xname + " has " + std::to_string(x.dim(0)) + ".",
                       codes::kGraphData);
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i])) {
        const std::size_t row = x.size() / x.dim(0);
        std::string where = "sample " + std::to_string(i / row);
        if (x.rank() == 3)
          where += ", timestep " + std::to_string((i % row) / x.dim(2)) + ", feature " + std::to_string(i % x.dim(2));
        else
          where += ", offset " + std::to_string(i % row);
        throw ValueError(caller + ": " + xname + " holds a non-finite value (" + std::to_string(x[i]) + ") at " + where +
                             ". Clean or impute the data before fit.",
                         codes::kNonFiniteData);
      }
    for (Layer* l : graph_->input_consumers[k]) l->check_input_values(x, caller);
  }
}

void Model::check_y(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const std::string& caller) const {
  if (ys.size() != outputs_.size()) {
    std::string names;
    for (const auto& n : output_names()) names += (names.empty() ? "" : ", ") + n;
    throw ValueError(caller + ": model '" + name_ + "' has " + std::to_string(outputs_.size()) + " output" +
                         (outputs_.size() == 1 ? "" : "s") + " (" + names + "), got " + std::to_string(ys.size()) +
                         " target tensor" + (ys.size() == 1 ? "" : "s") + ".",
                     codes::kGraphData);
  }
  const std::size_t n = xs[0].dim(0);
  const std::vector<Shape> resolved = output_shapes_for(xs);
  for (std::size_t k = 0; k < ys.size(); ++k) {
    const Tensor* y = &ys[k];
    const Loss& loss = output_config_[k].loss;
    const Shape out = outputs_[k].shape();
    const Shape& out_x = resolved[k];  // out with None timesteps as long as x makes them
    const bool any_steps = out != out_x;
    const std::size_t classes = out.back();
    const bool sparse = loss.kind == LossKind::kSparseCategoricalCrossentropy;
    const std::string yname = ys.size() == 1 ? "y" : "y[" + std::to_string(k) + "]";
    const Node& node = *outputs_[k].node();
    const std::string who = node.is_input() ? "input '" + node.name() + "'"
                                            : node.layer->type() + " '" + node.layer->name() + "'";
    if (classes == kAnyDim)
      throw ShapeError(caller + ": the model output " + shape_str(with_batch(out)) + " of " + who +
                           " has None as its last axis, so a loss has no fixed number of values per row. Give the "
                           "output a fixed last axis, e.g. with Reshape((-1, 1)) or a Dense layer.",
                       codes::kLabelsDoNotFit);
    // Accepted y shapes: (N, *out), or with a one-wide last axis dropped; sparse: (N, *out[:-1])
    // or (N, *out[:-1], 1). Messages show None timesteps; y must have the length x gives them.
    const auto targets = [&](const Shape& o) {
      Shape want{n};
      want.insert(want.end(), o.begin(), sparse ? o.end() - 1 : o.end());
      Shape alt = want;
      if (sparse) alt.push_back(1);
      else if (alt.back() == 1 && alt.size() > 1) alt.pop_back();
      return std::pair<Shape, Shape>{want, alt};
    };
    const Shape want_y = targets(out).first;
    const auto [want_x, alt_x] = targets(out_x);
    if (y->shape() != want_x && y->shape() != alt_x) {
      std::string msg = caller + ": " + yname + " must be " + shape_str(want_y) + " to match x's " + std::to_string(n) +
                        " samples and the model output " + shape_str(with_batch(out)) + " of " + who;
      if (sparse) msg += " (sparse_categorical_crossentropy takes one integer class id per output row)";
      msg += ", got " + y->shape_str() + ".";
      if (any_steps) {
        Shape out_n{n};
        out_n.insert(out_n.end(), out_x.begin(), out_x.end());
        msg += " For this x the output is " + shape_str(out_n) + ", so y must be " + shape_str(want_x) + ".";
      }
      if (loss.kind == LossKind::kCategoricalCrossentropy && y->size() * classes == n * shape_size(out_x))
        msg += " y looks like integer class ids: use sparse_categorical_crossentropy, or one-hot encode y.";
      throw ShapeError(msg, codes::kLabelsDoNotFit);
    }
    const std::size_t per_sample = y->size() / y->dim(0);
    for (std::size_t i = 0; i < y->size(); ++i) {
      const float v = (*y)[i];
      if (!std::isfinite(v))
        throw ValueError(caller + ": " + yname + " holds a non-finite value (" + std::to_string(v) + ") at sample " +
                             std::to_string(i / per_sample) + ".",
                         codes::kNonFiniteData);
      if (sparse && (v < 0 || v != std::floor(v) || v >= static_cast<float>(classes)))
        throw ValueError(caller + ": sparse_categorical_crossentropy needs integer class ids in [0, " +
                             std::to_string(classes) + ") for the " + std::to_string(classes) + "-unit output of " + who +
                             "; sample " + std::to_string(i / per_sample) + " has " + std::to_string(v) +
                             ". Give the output one unit per class.",
                         codes::kLabelsDoNotFit);
      if (loss.kind == LossKind::kBinaryCrossentropy && (v < 0 || v > 1))
        throw ValueError(caller + ": binary_crossentropy needs labels in [0, 1]; sample " +
                             std::to_string(i / per_sample) + " has " + std::to_string(v) +
                             ". For more than two classes use sparse_categorical_crossentropy with a softmax output.",
                         codes::kLabelsDoNotFit);
    }
  }
}

std::vector<Shape> Model::output_shapes_for(const std::vector<Tensor>& xs) const {
  // The node shapes again, with None timesteps as long as these inputs make them: most layers
  // keep their input's timesteps; a Concatenate along them adds its inputs'; a Reshape gives
  // a whole number of output steps per input step (its build made sure).
  const Graph& g = *graph_;
  std::vector<std::vector<Shape>> shapes(g.input_count + g.entries.size());
  for (std::size_t k = 0; k < g.input_count; ++k) shapes[k] = {Shape(xs[k].shape().begin() + 1, xs[k].shape().end())};
  for (std::size_t i = 0; i < g.entries.size(); ++i) {
    const Graph::Entry& e = g.entries[i];
    std::vector<Shape> in;
    for (const auto& [slot, index] : e.args) in.push_back(shapes[slot][index]);
    for (Shape s : e.node->output_shapes) {
      if (!s.empty() && s[0] == kAnyDim) {
        const Layer* layer = e.node->layer.get();
        const auto* concat = dynamic_cast<const Concatenate*>(layer);
        const long rank = static_cast<long>(s.size()) + 1;
        if (concat && (concat->axis() == 1 || rank + concat->axis() == 1)) {
          s[0] = 0;
          for (const Shape& x : in) s[0] += x[0];
        } else if (dynamic_cast<const Reshape*>(layer)) {
          s[0] = shape_size(in[0]) / shape_size(Shape(s.begin() + 1, s.end()));
        } else {
          s[0] = in[0][0];
        }
      }
      shapes[g.input_count + i].push_back(std::move(s));
    }
  }
  std::vector<Shape> out;
  for (const auto& [slot, index] : g.output_refs) out.push_back(shapes[slot][index]);
  return out;
}

void Model::check_fit_options(const FitOptions& o) const {
  if (o.epochs() < 1)
    throw ValueError("fit: epochs must be >= 1, got " + std::to_string(o.epochs()) + ".", codes::kBadHyperparameter);
  if (o.batch_size() < 1)
    throw ValueError("fit: batch_size must be >= 1, got " + std::to_string(o.batch_size()) + ".",
                     codes::kBadHyperparameter);
  if (!(o.validation_split() >= 0.0 && o.validation_split() < 1.0))
    throw ValueError("fit: validation_split must be in [0, 1), got " + std::to_string(o.validation_split()) +
                         ". It is the fraction of samples held out, e.g. 0.1.",
                     codes::kBadHyperparameter);
  if (o.verbose() < 0 || o.verbose() > 2)
    throw ValueError("fit: verbose must be 0, 1 or 2, got " + std::to_string(o.verbose()) + ".");
}

std::size_t Model::check_fit_extras(const std::vector<Tensor>& xs, const FitOptions& o) {
  const std::size_t n = xs[0].dim(0);
  if (!o.sample_weight().empty()) {
    if (o.sample_weight().size() != n || o.sample_weight().rank() != 1)
      throw ShapeError("fit: sample_weight must be (samples,) = (" + std::to_string(n) +
                       ",), one weight per sample of x, got " + o.sample_weight().shape_str() + ".");
    for (std::size_t i = 0; i < n; ++i)
      if (!(std::isfinite(o.sample_weight()[i]) && o.sample_weight()[i] >= 0))
        throw ValueError("fit: sample_weight must be finite and >= 0; sample " + std::to_string(i) + " has " +
                             std::to_string(o.sample_weight()[i]) + ".",
                         codes::kNonFiniteData);
  }
  if (!o.class_weight().empty()) {
    if (outputs_.size() != 1)
      throw ValueError("fit: class_weight applies to a model with one output (Keras's rule); this one has " +
                           std::to_string(outputs_.size()) + ". Use sample_weight instead.",
                       codes::kGraphData);
    const LossKind k = output_config_[0].loss.kind;
    if (k != LossKind::kBinaryCrossentropy && k != LossKind::kCategoricalCrossentropy &&
        k != LossKind::kSparseCategoricalCrossentropy)
      throw ValueError("fit: class_weight applies to classification losses (binary, categorical or "
                       "sparse_categorical_crossentropy), not " +
                       loss_name(k) + "; use sample_weight to weight samples of a regression.");
    const std::size_t classes = outputs_[0].shape().back();
    const std::size_t n_classes = classes == 1 ? 2 : classes;
    for (const auto& [c, w] : o.class_weight()) {
      if (c < 0 || static_cast<std::size_t>(c) >= n_classes)
        throw ValueError("fit: class_weight has class " + std::to_string(c) + ", but the model has " +
                             std::to_string(n_classes) + " classes (ids 0 to " + std::to_string(n_classes - 1) + ").",
                         codes::kLabelsDoNotFit);
      if (!(std::isfinite(w) && w >= 0))
        throw ValueError("fit: class_weight for class " + std::to_string(c) + " must be finite and >= 0, got " +
                         std::to_string(w) + ".");
    }
  }
  const bool has_vd = !o.validation_xs().empty() || !o.validation_ys().empty();
  if (has_vd) {
    check_x(o.validation_xs(), "fit (validation_data)");
    check_y(o.validation_xs(), o.validation_ys(), "fit (validation_data)");
  }
  const std::size_t n_train = has_vd ? n : static_cast<std::size_t>(static_cast<double>(n) * (1.0 - o.validation_split()));
  if (n_train == 0)
    throw ValueError("fit: validation_split " + std::to_string(o.validation_split()) +
                         " leaves no training samples out of " + std::to_string(n) + ".",
                     codes::kBadHyperparameter);
  const std::size_t bs = static_cast<std::size_t>(o.batch_size());
  for (const auto& in : inputs_)
    if (in.node()->batch_size && (*in.node()->batch_size != bs || n_train % bs != 0))
      throw ValueError("fit: input '" + in.node()->name() + "' has a fixed batch_size " +
                           std::to_string(*in.node()->batch_size) + ", so fit needs batch_size " +
                           std::to_string(*in.node()->batch_size) + " (got " + std::to_string(bs) +
                           ") and a number of training samples it divides (" + std::to_string(n_train) + ").",
                       codes::kGraphData);
  if (has_stateful_layer() && n_train % bs != 0)
    throw ValueError("fit: the model has a stateful layer, so every batch must have the same size, but batch_size " +
                         std::to_string(bs) + " does not divide the " + std::to_string(n_train) +
                         " training samples. Choose a batch_size that divides it, or drop samples.",
                     codes::kStatefulBatch);
  return n_train;
}

// Settings that make training diverge whatever the data, so that check() says so before fit
// turns the loss into NaN (E0011). Adam, AdamW, RMSprop and Adagrad move each weight by about
// the learning rate per step whatever the gradient's scale (Kingma & Ba 2015, section 2.1: the
// step is bounded by the learning rate), so a rate of 1 or more pushes an LSTM's gates into
// saturation or overflow within a few steps; Keras's defaults are 0.001. Plain SGD's step
// scales with the gradient: an effective rate lr / (1 - momentum) of 10 or more without
// gradient clipping is flagged.
void Model::check_optimizer_settings() const {
  if (!optimizer_) return;
  const std::string type = optimizer_->type();
  const double lr = optimizer_->schedule() ? optimizer_->schedule()->initial_learning_rate
                                           : static_cast<double>(optimizer_->learning_rate());
  auto number = [](double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  if ((type == "Adam" || type == "AdamW" || type == "RMSprop" || type == "Adagrad") && lr >= 1.0)
    throw ValueError("check: " + type + " with learning_rate " + number(lr) + " diverges: it moves every weight by about " +
                         number(lr) + " per step whatever the gradient's size, which saturates or overflows the "
                         "recurrent gates within a few steps (the loss turns NaN). Use 0.001 (Keras's default) to 0.01.",
                     codes::kDivergence);
  if (type == "SGD") {
    const double momentum = optimizer_->get_config().value("momentum", 0.0);
    const double effective = momentum < 1.0 ? lr / (1.0 - momentum) : lr;
    const GradientClipping& c = optimizer_->clipping();
    const bool clipped = c.clipnorm || c.clipvalue || c.global_clipnorm;
    if (effective >= 10.0 && !clipped)
      throw ValueError("check: SGD with learning_rate " + number(lr) +
                           (momentum > 0 ? " and momentum " + number(momentum) + " (an effective rate of " + number(effective) + ")"
                                         : std::string()) +
                           " and no gradient clipping diverges on all but tiny gradients (the loss turns NaN). Use "
                           "0.01 (Keras's default) to 1, or clip the gradients (optimizer->set_clipping({.clipnorm = 1.0f})).",
                       codes::kDivergence);
  }
}

std::vector<Problem> Model::check(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const FitOptions& o) {
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
  if (compiled) run([&] { check_optimizer_settings(); });
  bool ready = built_;
  if (!built_ && xs.size() == 1 && xs[0].rank() >= 2) ready = run([&] { build_from(xs[0], o.seed()); });
  if (!ready) return problems;
  const bool x_ok = run([&] { check_x(xs, "check"); });
  if (!x_ok || !compiled) return problems;
  const bool y_ok = run([&] { check_y(xs, ys, "check"); });
  if (y_ok && options_ok) run([&] { check_fit_extras(xs, o); });
  return problems;
}

std::vector<Problem> Model::check(const Tensor& x, const Tensor& y, const FitOptions& o) {
  return check(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

void Model::build_from(const Tensor& x, std::uint64_t /*seed*/) {
  throw ValueError("model '" + name_ + "' is not built; got x " + x.shape_str() + ".");
}

std::vector<Tensor> Model::by_name(const std::map<std::string, Tensor>& m, const std::vector<std::string>& names,
                                   const char* what, const std::string& caller) const {
  std::vector<Tensor> out;
  for (const auto& n : names) {
    const auto it = m.find(n);
    if (it == m.end()) {
      std::string all;
      for (const auto& x : names) all += (all.empty() ? "" : ", ") + x;
      throw ValueError(caller + ": no " + what + " named '" + n + "' was given; model '" + name_ + "' needs " + all + ".",
                       codes::kGraphData);
    }
    out.push_back(it->second);
  }
  for (const auto& [key, value] : m)
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      std::string all;
      for (const auto& x : names) all += (all.empty() ? "" : ", ") + x;
      throw ValueError(caller + ": model '" + name_ + "' has no " + what + " named '" + key + "'; its " + what +
                           "s are " + all + ".",
                       codes::kGraphData);
    }
  return out;
}

// ---- fit ---------------------------------------------------------------------------------------

TrainingState Model::training_state(int epochs_done, bool stopped, const Rng& shuffle,
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

void Model::resume(const TrainingState& st, const std::vector<std::shared_ptr<Callback>>& callbacks, Rng& shuffle) {
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

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& o) {
  return fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

History Model::fit(const NamedTensors& xs, const NamedTensors& ys, const FitOptions& o) {
  require_built("fit");
  return fit(by_name(xs.map, input_names(), "input", "fit"), by_name(ys.map, output_names(), "output", "fit"), o);
}

// fit's data after the checks: targets flattened to (samples, values), the validation part
// (validation_data, or the last rows taken before shuffling, as Keras does).
struct Model::FitData {
  std::vector<Tensor> xs, ys, x_val, y_val;
  std::size_t n = 0, n_train = 0;
  bool has_val = false;
  std::vector<std::size_t> classes;  // per output: the last axis
};

// One batch's results: its targets, every output's prediction and loss, the weighted total, the gradient's
// squared norm.
struct Model::BatchResult {
  std::vector<Tensor> targets, preds;
  std::vector<float> output_loss;
  float loss = 0.0f;
  double grad_sq = 0.0;
};

Model::FitData Model::prepare_fit(const std::vector<Tensor>& x_in, const std::vector<Tensor>& y_in, const FitOptions& o) {
  require_compiled("fit");
  check_fit_options(o);
  if (!built_ && x_in.size() == 1 && x_in[0].rank() >= 2) build_from(x_in[0], o.seed());
  require_built("fit");
  check_x(x_in, "fit");
  check_y(x_in, y_in, "fit");
  FitData d;
  d.n_train = check_fit_extras(x_in, o);
  d.n = x_in[0].dim(0);
  d.xs = x_in;
  for (const Tensor& y : y_in) d.ys.push_back(y.reshape({d.n, y.size() / d.n}));
  const bool has_vd = !o.validation_xs().empty() || !o.validation_ys().empty();
  d.has_val = has_vd || d.n_train < d.n;
  if (has_vd) {
    d.x_val = o.validation_xs();
    const std::size_t nv = d.x_val[0].dim(0);
    for (const Tensor& y : o.validation_ys()) d.y_val.push_back(y.reshape({nv, y.size() / nv}));
  } else if (d.has_val) {
    const std::vector<std::size_t> all = iota_index(d.n);
    d.x_val = gather_all(d.xs, all, d.n_train, d.n);
    d.y_val = gather_all(d.ys, all, d.n_train, d.n);
  }
  for (const auto& y : outputs_) d.classes.push_back(y.shape().back());
  return d;
}

Model::BatchResult Model::batch_step(const FitData& d, const std::vector<std::size_t>& order, std::size_t begin,
                                     std::size_t end, const FitOptions& o) {
  const std::size_t outs = outputs_.size();
  const std::vector<Tensor> xb = gather_all(d.xs, order, begin, end);
  BatchResult r;
  r.targets = gather_all(d.ys, order, begin, end);
  const std::vector<Tensor>& yb = r.targets;
  zero_grad();
  r.preds = forward(xb, true);
  std::vector<float> sample_w, row_w;
  const bool has_sw = !o.sample_weight().empty(), has_cw = !o.class_weight().empty();
  if (has_sw) {
    sample_w.resize(end - begin);
    for (std::size_t i = begin; i < end; ++i) sample_w[i - begin] = o.sample_weight()[order[i]];
  }
  std::vector<Tensor> dys(outs);
  r.output_loss.resize(outs);
  for (std::size_t k = 0; k < outs; ++k) {
    const Loss& lk = output_config_[k].loss;
    const std::size_t rows = r.preds[k].size() / d.classes[k];
    const bool weighted = loss_row_weights(row_w, lk, yb[k].data(), end - begin, rows, d.classes[k],
                                           has_sw ? &sample_w : nullptr, has_cw ? &o.class_weight() : nullptr,
                                           output_masks_[k]);
    const float* rw = weighted ? row_w.data() : nullptr;
    check_targets_fit(r.preds[k], yb[k], lk, d.classes[k], "fit");
    r.output_loss[k] = loss_value<float>(lk, r.preds[k].data(), yb[k].data(), rows, d.classes[k], rw);
    r.loss += static_cast<float>(output_config_[k].weight) * r.output_loss[k];
    dys[k] = Tensor(r.preds[k].shape());
    loss_gradient<float>(lk, dys[k].data(), r.preds[k].data(), yb[k].data(), rows, d.classes[k], rw);
    if (output_config_[k].weight != 1.0) {
      const float w = static_cast<float>(output_config_[k].weight);
      for (std::size_t i = 0; i < dys[k].size(); ++i) dys[k][i] *= w;
    }
  }
  {
    // Neither the inputs' gradients nor the loss's are needed past here: their storage goes
    // to the pool for the next batch.
    std::vector<Tensor> dxs = backward(dys);
    TensorPoolScope scope(&graph_->pool);
    for (Tensor& t : dxs) recycle(std::move(t));
    for (Tensor& t : dys) recycle(std::move(t));
  }
  for (Weight* w : trainable_weights())
    for (float g : w->grad.values()) r.grad_sq += static_cast<double>(g) * g;
  return r;
}

History Model::fit(const std::vector<Tensor>& x_in, const std::vector<Tensor>& y_in, const FitOptions& o) {
  const FitData d = prepare_fit(x_in, y_in, o);
  const std::size_t outs = outputs_.size(), bs = static_cast<std::size_t>(o.batch_size());
  Rng rng(o.seed());
  History history;
  history.train_samples = d.n_train;
  history.validation_samples = d.has_val ? d.x_val[0].dim(0) : 0;
  const int num_batches = static_cast<int>((d.n_train + bs - 1) / bs);
  const std::vector<Weight*> weights = trainable_weights();
  std::vector<std::vector<Metric>> metrics(outs);
  for (std::size_t k = 0; k < outs; ++k) metrics[k] = make_metrics(k);
  std::vector<std::shared_ptr<Callback>> callbacks = o.callbacks();
  if (o.verbose() > 0) callbacks.insert(callbacks.begin(), std::make_shared<ProgressBar>(o.verbose()));
  DivergenceGuard guard;
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
                          std::any_of(callbacks.begin(), callbacks.end(), [](const auto& cb) { return cb->wants_training_state(); });
  std::vector<double> output_loss_sum(outs);
  for (int epoch = first_epoch; epoch <= o.epochs() && !stop; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::size_t> order = o.shuffle() ? rng.permutation(d.n_train) : iota_index(d.n_train);
    for (auto& ms : metrics)
      for (Metric& m : ms) m.reset();
    double loss_sum = 0.0;
    std::fill(output_loss_sum.begin(), output_loss_sum.end(), 0.0);
    std::size_t seen = 0;
    for (int b = 0; b < num_batches && !stop; ++b) {
      const std::size_t begin = static_cast<std::size_t>(b) * bs, end = std::min(d.n_train, begin + bs);
      const BatchResult r = batch_step(d, order, begin, end, o);
      BatchLogs blogs;
      blogs.epoch = epoch;
      blogs.epochs = o.epochs();
      blogs.batch = b + 1;
      blogs.batches = num_batches;
      blogs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!std::isfinite(r.loss) || !std::isfinite(r.grad_sq)) {
        // Divergence: callbacks see the batch before any update (TerminateOnNaN ends training
        // here); otherwise fit stops with the weights of the last finite step.
        blogs.values["loss"] = std::isfinite(r.loss) ? static_cast<double>(NAN) : r.loss;
        bool keep_going = true;
        for (const auto& cb : callbacks) keep_going = cb->on_batch_end(*this, blogs) && keep_going;
        if (!keep_going) {
          history.terminated_on_nan = true;
          stop = true;
          break;
        }
        guard.non_finite_loss(r.loss, r.grad_sq, epoch, b + 1, num_batches, *optimizer_);
      }
      guard.step(*optimizer_, weights, r.loss, r.grad_sq, epoch, b + 1, num_batches);
      const double samples = static_cast<double>(end - begin);
      loss_sum += static_cast<double>(r.loss) * samples;
      for (std::size_t k = 0; k < outs; ++k) output_loss_sum[k] += static_cast<double>(r.output_loss[k]) * samples;
      seen += end - begin;
      for (std::size_t k = 0; k < outs; ++k)
        update_metrics(metrics[k], r.preds[k], r.targets[k], r.preds[k].size() / d.classes[k], d.classes[k], output_masks_[k]);
      if (o.on_batch_end()) o.on_batch_end()(b + 1, num_batches, loss_sum / static_cast<double>(seen));
      blogs.values["loss"] = loss_sum / static_cast<double>(seen);
      for (const auto& ms : metrics)
        for (const Metric& m : ms) blogs.values[m.name()] = m.result();
      for (const auto& cb : callbacks) stop = !cb->on_batch_end(*this, blogs) || stop;
    }
    if (seen == 0) break;  // terminated in the first batch of an epoch: nothing to log
    // The epoch's logs, in Keras's order: loss, the outputs' losses, the metrics; then the same
    // on the validation data with "val_".
    EpochLogs logs;
    logs.epoch = epoch;
    logs.epochs = o.epochs();
    std::vector<std::string> keys{"loss"};
    logs.values["loss"] = loss_sum / static_cast<double>(seen);
    if (outs > 1)
      for (std::size_t k = 0; k < outs; ++k) {
        keys.push_back(log_prefix(k) + "loss");
        logs.values[keys.back()] = output_loss_sum[k] / static_cast<double>(seen);
      }
    for (const auto& ms : metrics)
      for (const Metric& m : ms) {
        keys.push_back(m.name());
        logs.values[m.name()] = m.result();
      }
    for (const auto& k : keys) history.record(k, logs.values[k]);
    if (d.has_val) {
      const auto val = evaluate_checked(d.x_val, d.y_val, o.batch_size());
      for (const auto& k : keys) {
        logs.values["val_" + k] = val.at(k);
        history.record("val_" + k, val.at(k));
      }
    }
    logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool keep_going = true;
    for (const auto& cb : callbacks) keep_going = cb->on_epoch_end(*this, logs) && keep_going;
    if (want_state) {
      // The state after this epoch: what a fit resumed from here needs (a stop by a callback is
      // part of it; a stop asked by on_epoch_end, e.g. Ctrl-C, is not).
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

// ---- evaluate / predict ------------------------------------------------------------------------

std::map<std::string, double> Model::evaluate(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                              int batch_size) {
  require_compiled("evaluate");
  if (batch_size < 1) throw ValueError("evaluate: batch_size must be >= 1, got " + std::to_string(batch_size) + ".");
  if (!built_) throw ValueError("evaluate: the model is not built; fit or build it first.");
  check_x(xs, "evaluate");
  check_y(xs, ys, "evaluate");
  std::vector<Tensor> flat;
  for (const Tensor& y : ys) flat.push_back(y.reshape({y.dim(0), y.size() / y.dim(0)}));
  return evaluate_checked(xs, flat, batch_size);
}

std::map<std::string, double> Model::evaluate(const Tensor& x, const Tensor& y, int batch_size) {
  return evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, batch_size);
}

std::map<std::string, double> Model::evaluate_checked(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                                      int batch_size) {
  const std::size_t n = xs[0].dim(0), bs = static_cast<std::size_t>(batch_size);
  std::vector<Tensor> masks;
  const std::vector<Tensor> preds = predict_checked(xs, batch_size, &masks);
  std::map<std::string, double> out;
  double total = 0.0;
  std::vector<float> row_w;
  for (std::size_t k = 0; k < preds.size(); ++k) {
    const Tensor& pred = preds[k];
    const Tensor& y = ys[k];
    const Loss& lk = output_config_[k].loss;
    // Keras's evaluate: mean over batches of the per-batch loss, weighted by batch size.
    double loss_sum = 0.0;
    const std::size_t classes = outputs_[k].shape().back();
    check_targets_fit(pred, y, lk, classes, "evaluate");
    const std::size_t pred_row = pred.size() / n, y_row = y.size() / n;
    const std::size_t rows_per_sample = pred_row / classes;
    for (std::size_t begin = 0; begin < n; begin += bs) {
      const std::size_t end = std::min(n, begin + bs), rows = (end - begin) * rows_per_sample;
      Tensor mask;
      if (!masks[k].empty()) {
        mask = Tensor({end - begin, rows_per_sample});
        std::copy_n(masks[k].data() + begin * rows_per_sample, rows, mask.data());
      }
      const float* yb = y.data() + begin * y_row;
      const bool weighted = loss_row_weights(row_w, lk, yb, end - begin, rows, classes, nullptr, nullptr, mask);
      loss_sum += static_cast<double>(loss_value<float>(lk, pred.data() + begin * pred_row, yb, rows, classes,
                                                        weighted ? row_w.data() : nullptr)) *
                  static_cast<double>(end - begin);
    }
    const double loss_k = loss_sum / static_cast<double>(n);
    total += output_config_[k].weight * loss_k;
    if (preds.size() > 1) out[log_prefix(k) + "loss"] = loss_k;
    std::vector<Metric> metrics = make_metrics(k);
    update_metrics(metrics, pred, y, n * rows_per_sample, classes, masks[k]);
    for (const Metric& m : metrics) out[m.name()] = m.result();
  }
  out["loss"] = total;
  return out;
}

std::vector<Tensor> Model::predict(const std::vector<Tensor>& xs, int batch_size) {
  if (batch_size < 1) throw ValueError("predict: batch_size must be >= 1, got " + std::to_string(batch_size) + ".");
  if (!built_)
    throw ValueError("predict: the model is not built; call build({timesteps, features}), fit, or load a saved "
                     "model first.");
  check_x(xs, "predict");
  return predict_checked(xs, batch_size);
}

std::map<std::string, Tensor> Model::predict(const NamedTensors& xs, int batch_size) {
  require_built("predict");
  const std::vector<Tensor> out = predict(by_name(xs.map, input_names(), "input", "predict"), batch_size);
  std::map<std::string, Tensor> named;
  const std::vector<std::string> names = output_names();
  for (std::size_t k = 0; k < out.size(); ++k) named[names[k]] = out[k];
  return named;
}

Tensor Model::predict(const Tensor& x, int batch_size) {
  if (built_ && (inputs_.size() != 1 || outputs_.size() != 1))
    throw ValueError("predict: model '" + name_ + "' has " + std::to_string(inputs_.size()) + " inputs and " +
                         std::to_string(outputs_.size()) + " outputs; pass a vector (or a map by name) of inputs.",
                     codes::kGraphData);
  return predict(std::vector<Tensor>{x}, batch_size).at(0);
}

std::vector<Tensor> Model::predict_checked(const std::vector<Tensor>& xs, int batch_size, std::vector<Tensor>* masks) {
  const std::size_t n = xs[0].dim(0), bs = static_cast<std::size_t>(batch_size);
  // Each output is (n, *shape) with the shape of the first batch's output: None timesteps have
  // the length this x gives them, the same in every batch.
  std::vector<Tensor> out(outputs_.size());
  if (masks) masks->assign(outputs_.size(), {});
  const std::vector<std::size_t> idx = iota_index(n);
  for (std::size_t begin = 0; begin < n; begin += bs) {
    const std::size_t end = std::min(n, begin + bs);
    const std::vector<Tensor> yb = forward(gather_all(xs, idx, begin, end), false);
    for (std::size_t k = 0; k < yb.size(); ++k) {
      if (begin == 0) {
        Shape s = yb[k].shape();
        s[0] = n;
        out[k] = Tensor(s);
      }
      const std::size_t row = out[k].size() / n;
      if (yb[k].size() != row * (end - begin))
        throw ShapeError("predict: output " + std::to_string(k) + " of model '" + name_ + "' is " + yb[k].shape_str() +
                         " for samples " + std::to_string(begin) + " to " + std::to_string(end - 1) +
                         ", but the first batch gave " + shape_str(out[k].shape()) + " for all samples.");
      std::copy_n(yb[k].data(), yb[k].size(), out[k].data() + begin * row);
      if (masks && !output_masks_[k].empty()) {
        const std::size_t steps = output_masks_[k].size() / (end - begin);
        if ((*masks)[k].empty()) (*masks)[k] = Tensor({n, steps});
        std::copy_n(output_masks_[k].data(), output_masks_[k].size(), (*masks)[k].data() + begin * steps);
      }
    }
  }
  return out;
}

}  // namespace recur
