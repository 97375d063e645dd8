// A Keras user's first LSTM in recur: learn to continue a sine wave.
//   build/examples/recur-example-sine
#include <cmath>
#include <cstdio>

#include "recur/recur.hpp"

int main() {
  const std::size_t samples = 256, timesteps = 20;
  recur::Tensor x({samples, timesteps, 1});  // (batch, timesteps, features)
  recur::Tensor y({samples, 1});
  for (std::size_t i = 0; i < samples; ++i) {
    for (std::size_t t = 0; t < timesteps; ++t) x.at({i, t, 0}) = std::sin(0.1f * (i + t));
    y.at({i, 0}) = std::sin(0.1f * (i + timesteps));
  }

  recur::Sequential model;
  model.add(recur::LSTM(recur::LstmOptions(16)));
  model.add(recur::Dense(1));
  model.build({timesteps, 1}, /*seed=*/7);
  model.compile("adam", "mse", {"mae"});
  std::fputs(model.summary().c_str(), stdout);

  const recur::History history =
      model.fit(x, y, recur::FitOptions().epochs(30).batch_size(32).validation_split(0.2).seed(7));
  std::printf("loss %.5f -> %.5f, val_mae %.4f\n", history.history.at("loss").front(),
              history.history.at("loss").back(), history.history.at("val_mae").back());
  const recur::Tensor y_hat = model.predict(x);  // (samples, 1)
  std::printf("sin(%.1f) = %.4f, predicted %.4f\n", 0.1 * (samples - 1 + timesteps),
              y.at({samples - 1, 0}), y_hat.at({samples - 1, 0}));
  return 0;
}
