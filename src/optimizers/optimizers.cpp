#include "recur/optimizers/optimizers.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"

namespace recur {
namespace {

void check_learning_rate(const std::string& who, float lr) {
  if (!(lr > 0.0f) || !std::isfinite(lr))
    throw ValueError(who + ": learning_rate must be a finite number > 0, got " +
                     std::to_string(lr) + ". Typical values are 1e-4 to 1e-2.",
                     codes::kBadHyperparameter);
}

void check_unit_interval(const std::string& who, const std::string& what, float v) {
  if (!(v >= 0.0f && v < 1.0f))
    throw ValueError(who + ": " + what + " must be in [0, 1), got " + std::to_string(v) + ".");
}

void check_epsilon(const std::string& who, float eps) {
  if (!(eps > 0.0f))
    throw ValueError(who + ": epsilon must be > 0, got " + std::to_string(eps) + ".");
}

}  // namespace

Optimizer::State Optimizer::state() const {
  State st;
  st.iterations = iterations_;
  st.learning_rate = learning_rate();
  for (auto* list : const_cast<Optimizer*>(this)->slot_lists()) st.slots.push_back(*list);
  return st;
}

void Optimizer::set_state(const State& st) {
  const auto lists = slot_lists();
  // An optional slot list (RMSprop's momentum without momentum) may be stored empty.
  if (st.slots.size() != lists.size())
    throw ValueError(type() + "::set_state: the state has " + std::to_string(st.slots.size()) +
                     " slot lists, this optimizer " + std::to_string(lists.size()) + ".");
  if (st.iterations < 0 || !(st.learning_rate > 0) || !std::isfinite(st.learning_rate))
    throw ValueError(type() + "::set_state: iterations must be >= 0 and the learning rate a positive number.");
  for (const auto& list : st.slots)
    for (const auto& a : list)
      for (float v : a)
        if (!std::isfinite(v)) throw ValueError(type() + "::set_state: a slot value is not finite.", codes::kNonFiniteData);
  iterations_ = st.iterations;
  set_learning_rate(st.learning_rate);
  for (std::size_t k = 0; k < lists.size(); ++k) *lists[k] = st.slots[k];
}

void Optimizer::ensure_slots(std::vector<std::vector<float>>& slots,
                             const std::vector<Weight*>& weights) {
  if (slots.empty()) {
    for (const Weight* w : weights) slots.emplace_back(w->value.size(), 0.0f);
    return;
  }
  bool same = slots.size() == weights.size();
  for (std::size_t i = 0; same && i < weights.size(); ++i)
    same = slots[i].size() == weights[i]->value.size();
  if (!same)
    throw ValueError(type() + ": the list of weights changed between steps (" +
                     std::to_string(slots.size()) + " slots, now " +
                     std::to_string(weights.size()) +
                     " weights). Use a new optimizer for a new model.");
}

void Optimizer::set_clipping(const GradientClipping& c) {
  for (const auto& [name, v] : {std::pair{"clipnorm", c.clipnorm}, std::pair{"clipvalue", c.clipvalue},
                                std::pair{"global_clipnorm", c.global_clipnorm}})
    if (v && !(*v > 0.0f && std::isfinite(*v)))
      throw ValueError(type() + ": " + name + " must be a finite number > 0, got " +
                       std::to_string(*v) + ". Typical values are 1 to 5.");
  if (c.clipnorm && c.global_clipnorm)
    throw ValueError(type() + ": clipnorm (per weight) and global_clipnorm (all weights together) "
                     "cannot both be set; choose one.");
  clipping_ = c;
}

void LearningRateSchedule::check() const {
  if (!(initial_learning_rate > 0 && std::isfinite(initial_learning_rate)) ||
      !(decay_steps > 0 && std::isfinite(decay_steps)) || !(decay_rate > 0 && decay_rate <= 1))
    throw ValueError("learning-rate schedule: needs initial_learning_rate > 0, decay_steps > 0 "
                     "and decay_rate in (0, 1]; got " + std::to_string(initial_learning_rate) +
                     ", " + std::to_string(decay_steps) + ", " + std::to_string(decay_rate) + ".");
}

double LearningRateSchedule::operator()(std::int64_t step) const {
  double p = static_cast<double>(step) / decay_steps;
  if (staircase) p = std::floor(p);
  return initial_learning_rate * std::pow(decay_rate, p);
}

LearningRateSchedule exponential_decay(double initial_learning_rate, double decay_steps,
                                       double decay_rate, bool staircase) {
  LearningRateSchedule s{initial_learning_rate, decay_steps, decay_rate, staircase};
  s.check();
  return s;
}

LearningRateSchedule step_decay(double initial_learning_rate, double drop, double steps_per_drop) {
  return exponential_decay(initial_learning_rate, steps_per_drop, drop, true);
}

void Optimizer::set_schedule(const LearningRateSchedule& schedule) {
  schedule.check();
  schedule_ = schedule;
  set_learning_rate(static_cast<float>(schedule(iterations_)));
}

void Optimizer::step(const std::vector<Weight*>& weights) {
  if (schedule_) {
    const float lr = static_cast<float>((*schedule_)(iterations_));
    // A rate that underflows to 0 stays at the smallest positive float.
    set_learning_rate(std::max(lr, std::numeric_limits<float>::min()));
  }
  const GradientClipping& c = clipping_;
  auto scale_to = [](Weight* w, double norm, double limit) {
    if (norm > limit) {
      const float s = static_cast<float>(limit / norm);
      for (float& g : w->grad.values()) g *= s;
    }
  };
  if (c.clipnorm) {
    for (Weight* w : weights) {
      double sq = 0;
      for (float g : w->grad.values()) sq += static_cast<double>(g) * g;
      scale_to(w, std::sqrt(sq), *c.clipnorm);
    }
  }
  if (c.global_clipnorm) {
    double sq = 0;
    for (Weight* w : weights)
      for (float g : w->grad.values()) sq += static_cast<double>(g) * g;
    const double norm = std::sqrt(sq);
    for (Weight* w : weights) scale_to(w, norm, *c.global_clipnorm);
  }
  if (c.clipvalue)
    for (Weight* w : weights)
      for (float& g : w->grad.values()) g = std::clamp(g, -*c.clipvalue, *c.clipvalue);
  apply(weights);
}

SGD::SGD(const SgdOptions& o) : o_(o) {
  check_learning_rate("SGD", o.learning_rate());
  check_unit_interval("SGD", "momentum", o.momentum());
}

void SGD::set_learning_rate(float lr) {
  check_learning_rate("SGD", lr);
  o_.learning_rate(lr);
}

void SGD::apply(const std::vector<Weight*>& weights) {
  ++iterations_;
  const float lr = o_.learning_rate(), mu = o_.momentum();
  if (mu == 0.0f) {
    for (Weight* w : weights)
      for (std::size_t i = 0; i < w->value.size(); ++i) w->value[i] -= lr * w->grad[i];
    return;
  }
  ensure_slots(velocity_, weights);
  for (std::size_t k = 0; k < weights.size(); ++k) {
    Weight* w = weights[k];
    float* v = velocity_[k].data();
    for (std::size_t i = 0; i < w->value.size(); ++i) {
      v[i] = mu * v[i] - lr * w->grad[i];
      w->value[i] += o_.nesterov() ? mu * v[i] - lr * w->grad[i] : v[i];
    }
  }
}

nlohmann::json SGD::get_config() const {
  return {{"learning_rate", o_.learning_rate()},
          {"momentum", o_.momentum()},
          {"nesterov", o_.nesterov()}};
}

Adam::Adam(const AdamOptions& o) : o_(o) {
  check_learning_rate("Adam", o.learning_rate());
  check_unit_interval("Adam", "beta_1", o.beta_1());
  check_unit_interval("Adam", "beta_2", o.beta_2());
  check_epsilon("Adam", o.epsilon());
}

void Adam::set_learning_rate(float lr) {
  check_learning_rate("Adam", lr);
  o_.learning_rate(lr);
}

void Adam::apply(const std::vector<Weight*>& weights) {
  ensure_slots(m_, weights);
  ensure_slots(v_, weights);
  ++iterations_;
  const double t = static_cast<double>(iterations_);
  const float b1 = o_.beta_1(), b2 = o_.beta_2(), eps = o_.epsilon();
  const float lr_t = static_cast<float>(o_.learning_rate() * std::sqrt(1.0 - std::pow(b2, t)) /
                                        (1.0 - std::pow(b1, t)));
  for (std::size_t k = 0; k < weights.size(); ++k) {
    Weight* w = weights[k];
    float* m = m_[k].data();
    float* v = v_[k].data();
    for (std::size_t i = 0; i < w->value.size(); ++i) {
      const float g = w->grad[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      w->value[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
}

nlohmann::json Adam::get_config() const {
  return {{"learning_rate", o_.learning_rate()},
          {"beta_1", o_.beta_1()},
          {"beta_2", o_.beta_2()},
          {"epsilon", o_.epsilon()}};
}

AdamW::AdamW(const AdamWOptions& o)
    : Adam(AdamOptions()
               .learning_rate(o.learning_rate())
               .beta_1(o.beta_1())
               .beta_2(o.beta_2())
               .epsilon(o.epsilon())),
      weight_decay_(o.weight_decay()) {
  if (!(o.weight_decay() >= 0.0f && std::isfinite(o.weight_decay())))
    throw ValueError("AdamW: weight_decay must be a finite number >= 0, got " +
                     std::to_string(o.weight_decay()) + ". Keras's default is 0.004.");
}

void AdamW::apply(const std::vector<Weight*>& weights) {
  const float decay = learning_rate() * weight_decay_;
  for (Weight* w : weights)
    for (float& v : w->value.values()) v -= decay * v;
  Adam::apply(weights);
}

nlohmann::json AdamW::get_config() const {
  nlohmann::json c = Adam::get_config();
  c["weight_decay"] = weight_decay_;
  return c;
}

Adagrad::Adagrad(const AdagradOptions& o) : o_(o) {
  check_learning_rate("Adagrad", o.learning_rate());
  check_epsilon("Adagrad", o.epsilon());
  if (!(o.initial_accumulator_value() >= 0.0f))
    throw ValueError("Adagrad: initial_accumulator_value must be >= 0, got " +
                     std::to_string(o.initial_accumulator_value()) + ".");
}

void Adagrad::set_learning_rate(float lr) {
  check_learning_rate("Adagrad", lr);
  o_.learning_rate(lr);
}

void Adagrad::apply(const std::vector<Weight*>& weights) {
  const bool fresh = accumulators_.empty();
  ensure_slots(accumulators_, weights);
  if (fresh)
    for (auto& a : accumulators_) std::fill(a.begin(), a.end(), o_.initial_accumulator_value());
  ++iterations_;
  const float lr = o_.learning_rate(), eps = o_.epsilon();
  for (std::size_t k = 0; k < weights.size(); ++k) {
    Weight* w = weights[k];
    float* a = accumulators_[k].data();
    for (std::size_t i = 0; i < w->value.size(); ++i) {
      const float g = w->grad[i];
      a[i] += g * g;
      w->value[i] -= lr * g / std::sqrt(a[i] + eps);
    }
  }
}

nlohmann::json Adagrad::get_config() const {
  return {{"learning_rate", o_.learning_rate()},
          {"initial_accumulator_value", o_.initial_accumulator_value()},
          {"epsilon", o_.epsilon()}};
}

RMSprop::RMSprop(const RmspropOptions& o) : o_(o) {
  check_learning_rate("RMSprop", o.learning_rate());
  check_unit_interval("RMSprop", "rho", o.rho());
  check_unit_interval("RMSprop", "momentum", o.momentum());
  check_epsilon("RMSprop", o.epsilon());
}

void RMSprop::set_learning_rate(float lr) {
  check_learning_rate("RMSprop", lr);
  o_.learning_rate(lr);
}

void RMSprop::apply(const std::vector<Weight*>& weights) {
  ensure_slots(v_, weights);
  if (o_.momentum() > 0.0f) ensure_slots(mom_, weights);
  ++iterations_;
  const float lr = o_.learning_rate(), rho = o_.rho(), eps = o_.epsilon(), mu = o_.momentum();
  for (std::size_t k = 0; k < weights.size(); ++k) {
    Weight* w = weights[k];
    float* v = v_[k].data();
    for (std::size_t i = 0; i < w->value.size(); ++i) {
      const float g = w->grad[i];
      v[i] = rho * v[i] + (1.0f - rho) * g * g;
      const float increment = lr * g / std::sqrt(v[i] + eps);
      if (mu > 0.0f) {
        float& mo = mom_[k][i];
        mo = mu * mo + increment;
        w->value[i] -= mo;
      } else {
        w->value[i] -= increment;
      }
    }
  }
}

nlohmann::json RMSprop::get_config() const {
  return {{"learning_rate", o_.learning_rate()},
          {"rho", o_.rho()},
          {"momentum", o_.momentum()},
          {"epsilon", o_.epsilon()}};
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name,
                                          std::optional<float> learning_rate) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  std::unique_ptr<Optimizer> opt;
  if (n == "sgd") opt = std::make_unique<SGD>();
  else if (n == "adam") opt = std::make_unique<Adam>();
  else if (n == "rmsprop") opt = std::make_unique<RMSprop>();
  else if (n == "adamw") opt = std::make_unique<AdamW>();
  else if (n == "adagrad") opt = std::make_unique<Adagrad>();
  else
    throw ValueError("compile: unknown optimizer \"" + name +
                     "\"; expected one of sgd, adam, adamw, rmsprop, adagrad.");
  if (learning_rate) opt->set_learning_rate(*learning_rate);
  return opt;
}

namespace {
std::unique_ptr<Optimizer> base_from_config(const std::string& type, const nlohmann::json& c);
}  // namespace

std::unique_ptr<Optimizer> optimizer_from_config(const std::string& type,
                                                 const nlohmann::json& c) {
  std::unique_ptr<Optimizer> opt = base_from_config(type, c);
  GradientClipping clip;
  if (c.contains("clipnorm")) clip.clipnorm = c.at("clipnorm").get<float>();
  if (c.contains("clipvalue")) clip.clipvalue = c.at("clipvalue").get<float>();
  if (c.contains("global_clipnorm")) clip.global_clipnorm = c.at("global_clipnorm").get<float>();
  opt->set_clipping(clip);
  if (c.contains("schedule")) {
    const nlohmann::json& s = c.at("schedule");
    opt->set_schedule(exponential_decay(s.at("initial_learning_rate").get<double>(),
                                        s.at("decay_steps").get<double>(),
                                        s.at("decay_rate").get<double>(),
                                        s.at("staircase").get<bool>()));
  }
  return opt;
}

nlohmann::json optimizer_config(const Optimizer& optimizer) {
  nlohmann::json c = optimizer.get_config();
  const GradientClipping& clip = optimizer.clipping();
  if (clip.clipnorm) c["clipnorm"] = *clip.clipnorm;
  if (clip.clipvalue) c["clipvalue"] = *clip.clipvalue;
  if (clip.global_clipnorm) c["global_clipnorm"] = *clip.global_clipnorm;
  if (const auto& s = optimizer.schedule())
    c["schedule"] = {{"class_name", "ExponentialDecay"},
                     {"initial_learning_rate", s->initial_learning_rate},
                     {"decay_steps", s->decay_steps},
                     {"decay_rate", s->decay_rate},
                     {"staircase", s->staircase}};
  return c;
}

namespace {
std::unique_ptr<Optimizer> base_from_config(const std::string& type, const nlohmann::json& c) {
  if (type == "SGD")
    return std::make_unique<SGD>(SgdOptions()
                                     .learning_rate(c.at("learning_rate").get<float>())
                                     .momentum(c.at("momentum").get<float>())
                                     .nesterov(c.at("nesterov").get<bool>()));
  if (type == "Adam")
    return std::make_unique<Adam>(AdamOptions()
                                      .learning_rate(c.at("learning_rate").get<float>())
                                      .beta_1(c.at("beta_1").get<float>())
                                      .beta_2(c.at("beta_2").get<float>())
                                      .epsilon(c.at("epsilon").get<float>()));
  if (type == "RMSprop")
    return std::make_unique<RMSprop>(RmspropOptions()
                                         .learning_rate(c.at("learning_rate").get<float>())
                                         .rho(c.at("rho").get<float>())
                                         .momentum(c.at("momentum").get<float>())
                                         .epsilon(c.at("epsilon").get<float>()));
  if (type == "AdamW")
    return std::make_unique<AdamW>(AdamWOptions()
                                       .learning_rate(c.at("learning_rate").get<float>())
                                       .weight_decay(c.at("weight_decay").get<float>())
                                       .beta_1(c.at("beta_1").get<float>())
                                       .beta_2(c.at("beta_2").get<float>())
                                       .epsilon(c.at("epsilon").get<float>()));
  if (type == "Adagrad")
    return std::make_unique<Adagrad>(
        AdagradOptions()
            .learning_rate(c.at("learning_rate").get<float>())
            .initial_accumulator_value(c.at("initial_accumulator_value").get<float>())
            .epsilon(c.at("epsilon").get<float>()));
  throw ValueError("optimizer_from_config: unknown optimizer type \"" + type +
                   "\"; expected SGD, Adam, AdamW, RMSprop or Adagrad.");
}
}  // namespace

}  // namespace recur
