#pragma once
// Inverted dropout (Srivastava et al. 2014; Keras Dropout): in training each element is zeroed
// with probability `rate` and the rest scaled by 1 / (1 - rate); at inference it is identity.
#include <string>

#include "recur/layers/layer.hpp"

namespace recur {

/// Dropout layer. Input and output (batch, ...), any shape. rate in [0, 1).
/// Throws ValueError for a rate outside [0, 1). The mask stream is seeded at build().
class Dropout : public Layer {
 public:
  explicit Dropout(float rate, std::string name = "");
  std::string type() const override { return "Dropout"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return input_shape(); }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  nlohmann::json get_config() const override;
  float rate() const noexcept { return rate_; }
  std::vector<Rng*> random_generators() override { return {&rng_}; }

 private:
  float rate_;
  Rng rng_;
  Tensor mask_;  // scaled keep-mask of the last training forward
  bool masked_ = false;
};

}  // namespace recur
