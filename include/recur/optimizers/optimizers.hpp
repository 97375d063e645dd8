#pragma once
// Optimizers with Keras's update rules and defaults (keras.io/api/optimizers).
//   SGD      v = momentum*v - lr*g;  w += v                      (nesterov: w += momentum*v - lr*g)
//   Adam     (Kingma & Ba 2015) m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//            w -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
//   RMSprop  (Hinton 2012) v = rho v + (1-rho) g^2;  w -= lr * g / sqrt(v + eps)
//            (momentum > 0: mom = momentum*mom + that step; w -= mom)
//   AdamW    (Loshchilov & Hutter 2019) w -= lr * weight_decay * w, then the Adam step
//   Adagrad  (Duchi et al. 2011) a += g^2 (a starts at initial_accumulator_value);
//            w -= lr * g / sqrt(a + eps)
#include <cstdint>
#include <memory>
#include <optional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "recur/core/options.hpp"
#include "recur/layers/layer.hpp"

namespace recur {

/// Gradient clipping applied before every update, as Keras's optimizer arguments:
///   clipnorm         each weight's gradient is scaled so that its L2 norm is <= clipnorm
///   global_clipnorm  all gradients are scaled together so that their joint L2 norm is <= it
///   clipvalue        each gradient element is clipped to [-clipvalue, clipvalue]
/// clipnorm and global_clipnorm exclude each other; clipvalue combines with either.
struct GradientClipping {
  std::optional<float> clipnorm;
  std::optional<float> clipvalue;
  std::optional<float> global_clipnorm;
};

/// A learning rate that follows the step count (Keras's ExponentialDecay):
///   lr(step) = initial_learning_rate * decay_rate ^ (step / decay_steps)
/// with the exponent floored when staircase is true - step decay: the rate drops by decay_rate
/// every decay_steps steps. `step` is the number of updates made before this one.
struct LearningRateSchedule {
  double initial_learning_rate = 0.001;
  double decay_steps = 1000;
  double decay_rate = 0.96;
  bool staircase = false;
  /// Throws ValueError unless initial_learning_rate > 0, decay_steps > 0 and decay_rate in (0, 1].
  void check() const;
  double operator()(std::int64_t step) const;
};
/// ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase).
LearningRateSchedule exponential_decay(double initial_learning_rate, double decay_steps,
                                       double decay_rate, bool staircase = false);
/// Step decay: multiply the rate by `drop` every `steps_per_drop` updates (a staircase
/// exponential decay).
LearningRateSchedule step_decay(double initial_learning_rate, double drop, double steps_per_drop);

/// Base optimizer: step() clips the accumulated gradients and updates every weight.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Keras class name: "SGD", "Adam", "RMSprop".
  virtual std::string type() const = 0;
  /// Clips the gradients of `weights` (in place) by clipping(), then applies one update. The
  /// list must be the same, in the same order, on every call; slot variables are created on
  /// the first call.
  void step(const std::vector<Weight*>& weights);
  /// Throws ValueError for a value that is not > 0, or clipnorm together with global_clipnorm.
  void set_clipping(const GradientClipping& clipping);
  const GradientClipping& clipping() const noexcept { return clipping_; }
  /// Follows `schedule` from now on: before every update the learning rate is set to
  /// schedule(iterations()). Throws ValueError for an invalid schedule.
  void set_schedule(const LearningRateSchedule& schedule);
  const std::optional<LearningRateSchedule>& schedule() const noexcept { return schedule_; }
  virtual float learning_rate() const = 0;
  virtual void set_learning_rate(float learning_rate) = 0;
  virtual nlohmann::json get_config() const = 0;
  /// Number of step() calls so far.
  std::int64_t iterations() const noexcept { return iterations_; }

  /// What a checkpoint stores to continue training exactly: the step count (which also fixes
  /// the schedule position and Adam's bias correction), the learning rate (ReduceLROnPlateau
  /// may have changed it) and every slot array (moments, velocities, accumulators), each list
  /// one array per weight in step() order.
  struct State {
    std::int64_t iterations = 0;
    float learning_rate = 0;
    std::vector<std::vector<std::vector<float>>> slots;
  };
  State state() const;
  /// Restores a state() of an optimizer of the same type for the same weights. Throws
  /// ValueError when the number of slot lists differs or a value is not finite.
  void set_state(const State& state);

 protected:
  /// The optimizer's own update rule, on already clipped gradients.
  virtual void apply(const std::vector<Weight*>& weights) = 0;
  /// Creates zeroed slots shaped like `weights` on first use; throws ValueError if the weight
  /// list changed between calls.
  void ensure_slots(std::vector<std::vector<float>>& slots, const std::vector<Weight*>& weights);
  /// The optimizer's slot lists (e.g. Adam's m and v), for state() and set_state().
  virtual std::vector<std::vector<std::vector<float>>*> slot_lists() { return {}; }
  std::int64_t iterations_ = 0;

 private:
  GradientClipping clipping_;
  std::optional<LearningRateSchedule> schedule_;
};

struct SgdOptions {
  RECUR_ARG(float, learning_rate) = 0.01f;
  RECUR_ARG(float, momentum) = 0.0f;
  RECUR_ARG(bool, nesterov) = false;
};
struct AdamOptions {
  RECUR_ARG(float, learning_rate) = 0.001f;
  RECUR_ARG(float, beta_1) = 0.9f;
  RECUR_ARG(float, beta_2) = 0.999f;
  RECUR_ARG(float, epsilon) = 1e-7f;
};
struct RmspropOptions {
  RECUR_ARG(float, learning_rate) = 0.001f;
  RECUR_ARG(float, rho) = 0.9f;
  RECUR_ARG(float, momentum) = 0.0f;
  RECUR_ARG(float, epsilon) = 1e-7f;
};

struct AdamWOptions {
  RECUR_ARG(float, learning_rate) = 0.001f;
  /// Decoupled weight decay per step, times the learning rate; >= 0.
  RECUR_ARG(float, weight_decay) = 0.004f;
  RECUR_ARG(float, beta_1) = 0.9f;
  RECUR_ARG(float, beta_2) = 0.999f;
  RECUR_ARG(float, epsilon) = 1e-7f;
};
struct AdagradOptions {
  RECUR_ARG(float, learning_rate) = 0.001f;
  /// Starting value of every accumulator; >= 0.
  RECUR_ARG(float, initial_accumulator_value) = 0.1f;
  RECUR_ARG(float, epsilon) = 1e-7f;
};
/// Stochastic gradient descent with optional (Nesterov) momentum. Throws ValueError for
/// learning_rate <= 0 or momentum outside [0, 1).
class SGD : public Optimizer {
 public:
  explicit SGD(const SgdOptions& options = {});
  std::string type() const override { return "SGD"; }
  float learning_rate() const override { return o_.learning_rate(); }
  void set_learning_rate(float lr) override;
  nlohmann::json get_config() const override;

 protected:
  void apply(const std::vector<Weight*>& weights) override;
  std::vector<std::vector<std::vector<float>>*> slot_lists() override { return {&velocity_}; }

 private:
  SgdOptions o_;
  std::vector<std::vector<float>> velocity_;
};

/// Adam. Throws ValueError for learning_rate <= 0, betas outside [0, 1) or epsilon <= 0.
class Adam : public Optimizer {
 public:
  explicit Adam(const AdamOptions& options = {});
  std::string type() const override { return "Adam"; }
  float learning_rate() const override { return o_.learning_rate(); }
  void set_learning_rate(float lr) override;
  nlohmann::json get_config() const override;

 protected:
  void apply(const std::vector<Weight*>& weights) override;
  std::vector<std::vector<std::vector<float>>*> slot_lists() override { return {&m_, &v_}; }

 private:
  AdamOptions o_;
  std::vector<std::vector<float>> m_, v_;
};

/// RMSprop. Throws ValueError for learning_rate <= 0, rho outside [0, 1), momentum outside
/// [0, 1) or epsilon <= 0.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(const RmspropOptions& options = {});
  std::string type() const override { return "RMSprop"; }
  float learning_rate() const override { return o_.learning_rate(); }
  void set_learning_rate(float lr) override;
  nlohmann::json get_config() const override;

 protected:
  void apply(const std::vector<Weight*>& weights) override;
  std::vector<std::vector<std::vector<float>>*> slot_lists() override { return {&v_, &mom_}; }

 private:
  RmspropOptions o_;
  std::vector<std::vector<float>> v_, mom_;
};

/// Adam with decoupled weight decay (Keras AdamW). Throws as Adam, and ValueError for a
/// weight_decay < 0.
class AdamW : public Adam {
 public:
  explicit AdamW(const AdamWOptions& options = {});
  std::string type() const override { return "AdamW"; }
  nlohmann::json get_config() const override;
  float weight_decay() const noexcept { return weight_decay_; }

 protected:
  void apply(const std::vector<Weight*>& weights) override;

 private:
  float weight_decay_;
};

/// Adagrad. Throws ValueError for learning_rate <= 0, initial_accumulator_value < 0 or
/// epsilon <= 0.
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(const AdagradOptions& options = {});
  std::string type() const override { return "Adagrad"; }
  float learning_rate() const override { return o_.learning_rate(); }
  void set_learning_rate(float lr) override;
  nlohmann::json get_config() const override;

 protected:
  void apply(const std::vector<Weight*>& weights) override;
  std::vector<std::vector<std::vector<float>>*> slot_lists() override { return {&accumulators_}; }

 private:
  AdagradOptions o_;
  std::vector<std::vector<float>> accumulators_;
};

/// An optimizer by Keras name ("sgd", "adam", "adamw", "rmsprop", "adagrad", any case) with its defaults and the
/// given learning rate (none: the optimizer's default). Throws ValueError for an unknown name
/// or a learning rate that is not > 0.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name,
                                          std::optional<float> learning_rate = std::nullopt);
/// Rebuilds an optimizer from type() and get_config(); optional "clipnorm", "clipvalue",
/// "global_clipnorm" keys set its clipping. Throws ValueError on an unknown type.
std::unique_ptr<Optimizer> optimizer_from_config(const std::string& type,
                                                 const nlohmann::json& config);
/// get_config() plus the clipping keys that are set and the schedule: what
/// optimizer_from_config reads back.
nlohmann::json optimizer_config(const Optimizer& optimizer);

}  // namespace recur
