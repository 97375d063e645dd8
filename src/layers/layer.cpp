#include "recur/layers/layer.hpp"

#include "recur/core/error.hpp"

namespace recur {

std::vector<const Weight*> Layer::weights() const {
  auto ws = const_cast<Layer*>(this)->weights();
  return {ws.begin(), ws.end()};
}

std::size_t Layer::count_params() const {
  std::size_t n = 0;
  for (const Weight* w : weights()) n += w->value.size();
  return n;
}

void Layer::zero_grad() {
  for (Weight* w : weights()) w->grad.zero();
}

Tensor Layer::compute_mask(const Tensor& /*x*/, const Tensor& mask) const {
  if (mask.empty()) return {};
  const Shape out = output_shape();
  // A None timestep axis (kAnyDim) is the input's, so the mask's length fits it.
  if (out.size() >= 2 && mask.rank() == 2 && (out[0] == kAnyDim || out[0] == mask.dim(1))) return mask;
  return {};
}

void Layer::check_input(const Tensor& x) const {
  const Shape& s = x.shape();
  bool ok = s.size() == input_shape_.size() + 1;
  // A None axis (kAnyDim: any number of timesteps) takes any extent >= 1.
  for (std::size_t i = 0; ok && i < input_shape_.size(); ++i)
    ok = input_shape_[i] == kAnyDim ? s[i + 1] >= 1 : s[i + 1] == input_shape_[i];
  if (!ok) {
    throw ShapeError(label() + " was built for input of shape " + shape_str(with_batch(input_shape_)) +
                     ", got " + x.shape_str() + ".");
  }
}

}  // namespace recur
