// Builds and trains a tiny model through the installed headers and library; exits 0 when the
// loss went down.
#include <cstdio>

#include <recur/recur.hpp>

int main() {
  recur::Tensor x({8, 4, 1}), y({8, 1});
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t t = 0; t < 4; ++t) x.at({i, t, 0}) = 0.1f * static_cast<float>(i + t);
    y[i] = 0.1f * static_cast<float>(i + 4);
  }
  recur::Sequential model;
  model.add(recur::LSTM(recur::LstmOptions(4)));
  model.add(recur::Dense(1));
  model.build({4, 1}, 1);
  model.compile("adam", "mse");
  const auto h = model.fit(x, y, recur::FitOptions().epochs(20).batch_size(4));
  const double first = h.history.at("loss").front(), last = h.history.at("loss").back();
  std::printf("consumer: loss %.5f -> %.5f\n", first, last);
  return last < first ? 0 : 1;
}
