// A sequence-to-sequence encoder-decoder with the Functional API: it learns to reverse a
// sequence of digits. The encoder LSTM reads the digits and hands its final states (h, c) to the
// decoder LSTM as initial_state; the decoder is trained with teacher forcing (its input at step
// t is the true digit of step t - 1, after a start symbol) and a softmax Dense layer predicts
// each output digit. At test time it decodes greedily: it feeds back its own predictions, one
// step at a time, on sequences it never saw.
//
//   build/examples/recur-example-seq2seq [--epochs 12] [--length 6] [--train 6000] [--seed 1]
//
// It prints the per-digit and whole-sequence accuracy of greedy decoding on 1000 new sequences
// and exits 1 if the per-digit accuracy is below 0.95 (README: what it reached, and in how long).
// Keras's version of the model: keras.io/examples/nlp/lstm_seq2seq/ (character-level
// translation); Sutskever et al. 2014 for the encoder-decoder.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "recur/recur.hpp"

namespace {

constexpr std::size_t kDigits = 10;          // symbols 0-9
constexpr std::size_t kStart = kDigits;      // the decoder's start symbol
constexpr std::size_t kDecoderSymbols = 11;  // digits and start

struct Data {
  recur::Tensor encoder_in, decoder_in, target;  // (n, L, 10), (n, L, 11), (n, L) class ids
  std::vector<std::vector<std::size_t>> sequences;
};

// n random digit sequences of length L, one-hot, with their reversal as the target.
Data make_data(std::size_t n, std::size_t length, std::mt19937& rng) {
  std::uniform_int_distribution<std::size_t> digit(0, kDigits - 1);
  Data d;
  d.encoder_in = recur::Tensor({n, length, kDigits});
  d.decoder_in = recur::Tensor({n, length, kDecoderSymbols});
  d.target = recur::Tensor({n, length});
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> s(length);
    for (auto& v : s) v = digit(rng);
    for (std::size_t t = 0; t < length; ++t) {
      const std::size_t out = s[length - 1 - t];
      d.encoder_in[(i * length + t) * kDigits + s[t]] = 1.0f;
      d.target[i * length + t] = static_cast<float>(out);
      // Teacher forcing: the decoder reads the previous true output (the start symbol first).
      const std::size_t prev = t == 0 ? kStart : s[length - t];
      d.decoder_in[(i * length + t) * kDecoderSymbols + prev] = 1.0f;
    }
    d.sequences.push_back(s);
  }
  return d;
}

std::size_t flag(int argc, char** argv, const char* name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return static_cast<std::size_t>(std::strtoul(argv[i + 1], nullptr, 10));
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t epochs = flag(argc, argv, "--epochs", 12), length = flag(argc, argv, "--length", 6);
  const std::size_t train_n = flag(argc, argv, "--train", 6000), seed = flag(argc, argv, "--seed", 1);
  const std::size_t units = 64;
  const auto start = std::chrono::steady_clock::now();
  std::mt19937 rng(static_cast<unsigned>(seed));
  const Data train = make_data(train_n, length, rng);
  const Data test = make_data(1000, length, rng);

  recur::set_random_seed(seed);
  auto encoder_in = recur::Input({length, kDigits}, "digits");
  auto decoder_in = recur::Input({length, kDecoderSymbols}, "previous_outputs");
  auto encoder = recur::shared(recur::LSTM(recur::LstmOptions(units).return_state(true).name("encoder")));
  auto [encoded, h, c] = encoder.call<3>(encoder_in);
  (void)encoded;
  auto decoder = recur::shared(recur::LSTM(recur::LstmOptions(units).return_sequences(true).name("decoder")));
  auto decoded = decoder(decoder_in, {.initial_state = {h, c}});
  auto probabilities =
      recur::shared(recur::Dense(recur::DenseOptions(kDigits).activation("softmax").name("digit")))(decoded);
  recur::Model model({encoder_in, decoder_in}, {probabilities}, "reverse_digits");
  model.compile(recur::make_optimizer("adam", 0.005f), "sparse_categorical_crossentropy", {"accuracy"});
  std::printf("%s\n", model.summary().c_str());

  model.fit({train.encoder_in, train.decoder_in}, {train.target},
            recur::FitOptions().epochs(static_cast<int>(epochs)).batch_size(64).validation_split(0.1).seed(seed).on_epoch_end(
                [](const recur::EpochLogs& logs) {
                  std::printf("epoch %2d: loss %.4f, accuracy %.4f (teacher forcing), val_accuracy %.4f\n", logs.epoch,
                              logs.values.at("loss"), logs.values.at("accuracy"), logs.values.at("val_accuracy"));
                  std::fflush(stdout);
                  return true;
                }));

  // Greedy decoding: step t's input is the prediction of step t - 1; outputs up to t depend only
  // on inputs up to t (the decoder runs forward in time), so one model serves every step.
  const std::size_t n = test.sequences.size();
  recur::Tensor decoder_input({n, length, kDecoderSymbols});
  for (std::size_t i = 0; i < n; ++i) decoder_input[(i * length) * kDecoderSymbols + kStart] = 1.0f;
  std::vector<std::size_t> predicted(n * length);
  for (std::size_t t = 0; t < length; ++t) {
    const recur::Tensor p = model.predict({test.encoder_in, decoder_input}, 256)[0];  // (n, L, 10)
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = p.data() + (i * length + t) * kDigits;
      std::size_t best = 0;
      for (std::size_t k = 1; k < kDigits; ++k)
        if (row[k] > row[best]) best = k;
      predicted[i * length + t] = best;
      if (t + 1 < length) decoder_input[(i * length + t + 1) * kDecoderSymbols + best] = 1.0f;
    }
  }
  std::size_t digits_right = 0, sequences_right = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bool all = true;
    for (std::size_t t = 0; t < length; ++t) {
      const bool ok = predicted[i * length + t] == static_cast<std::size_t>(test.target[i * length + t]);
      digits_right += ok;
      all = all && ok;
    }
    sequences_right += all;
  }
  const double digit_acc = static_cast<double>(digits_right) / static_cast<double>(n * length);
  const double seq_acc = static_cast<double>(sequences_right) / static_cast<double>(n);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("greedy decoding of %zu new sequences of %zu digits: per-digit accuracy %.4f, whole sequences %.4f "
              "(%.1f s in all)\n",
              n, length, digit_acc, seq_acc, seconds);
  std::printf("example: ");
  for (std::size_t t = 0; t < length; ++t) std::printf("%zu", test.sequences[0][t]);
  std::printf(" -> ");
  for (std::size_t t = 0; t < length; ++t) std::printf("%zu", predicted[t]);
  std::printf("\n");
  return digit_acc >= 0.95 ? 0 : 1;
}
