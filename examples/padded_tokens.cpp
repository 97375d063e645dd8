// Classify token sequences of different lengths: pad_sequences, Embedding(mask_zero),
// Bidirectional(LSTM), GRU, AdamW. The task (synthetic, seeded): is token 1 more frequent than
// token 2 in the sequence?
#include <cstdio>
#include <recur/recur.hpp>

int main() {
  recur::Rng rng(3);
  std::vector<std::vector<float>> tokens;
  std::vector<float> labels;
  for (int i = 0; i < 600; ++i) {
    std::vector<float> seq(3 + rng.below(10));  // 3 to 12 tokens, ids 1..4 (0 is padding)
    int balance = 0;
    for (float& t : seq) {
      t = static_cast<float>(1 + rng.below(4));
      balance += t == 1 ? 1 : t == 2 ? -1 : 0;
    }
    tokens.push_back(seq);
    labels.push_back(balance > 0 ? 1.0f : 0.0f);
  }
  const recur::PaddedSequences padded = recur::pad_sequences(tokens);  // (600, 12), pre-padded
  const recur::Tensor y({labels.size()}, labels);

  recur::Sequential model;
  model.add(recur::Embedding(recur::EmbeddingOptions(5, 8).mask_zero(true)));
  model.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(16).return_sequences(true))));
  model.add(recur::GRU(recur::GruOptions(8)));
  model.add(recur::Dense(2, "softmax"));
  model.build({padded.x.dim(1)}, /*seed=*/1);  // (timesteps,) of token ids
  model.compile("adamw", "sparse_categorical_crossentropy", {"accuracy"});
  std::fputs(model.summary().c_str(), stdout);
  const recur::History h = model.fit(
      padded.x, y, recur::FitOptions().epochs(15).batch_size(32).validation_split(0.2).seed(1));
  std::printf("val_accuracy %.3f after %zu epochs\n", h.history.at("val_accuracy").back(), h.epochs());
  return 0;
}
