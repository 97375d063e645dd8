// The models of model_cases.hpp: every layer type and option recur has, small and seeded.
#include "support/model_cases.hpp"

#include "recur/core/error.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "support/tensors.hpp"

namespace recur::test {

namespace {
using Case = ModelCase;

Case make_case(std::string name, Sequential s, Tensor x) {
  return {std::move(name), std::make_shared<Sequential>(std::move(s)), {std::move(x)}};
}
Case make_case(std::string name, Model m, std::vector<Tensor> xs) {
  return {std::move(name), std::make_shared<Model>(std::move(m)), std::move(xs)};
}
}  // namespace

void randomize(Model& m, unsigned seed) {
  std::vector<Tensor> ws = m.get_weights();
  for (Tensor& w : ws) w = random_tensor(w.shape(), seed++, 0.6f);
  m.set_weights(ws);
}

Sequential sequential(std::vector<std::unique_ptr<Layer>> layers, const Shape& input, unsigned seed) {
  Sequential s;
  for (auto& l : layers) s.add(std::move(l));
  s.build(input);
  randomize(s, seed);
  return s;
}

// ---- the models: every layer type and option ---------------------------------

std::vector<Case> lstm_cases() {
  std::vector<Case> c;
  c.push_back(make_case("lstm_dense",
                        sequential(layers(recur::LSTM(recur::LstmOptions(7)), recur::Dense(3)), {6, 4}, 1),
                        random_tensor({5, 6, 4}, 2)));
  c.push_back(make_case("lstm_seq_nobias",
                        sequential(layers(recur::LSTM(recur::LstmOptions(5).return_sequences(true).use_bias(false)),
                                          recur::LSTM(recur::LstmOptions(3).return_sequences(true))),
                                   {4, 3}, 3),
                        random_tensor({2, 4, 3}, 4)));
  return c;
}

std::vector<Case> gru_cases() {
  std::vector<Case> c;
  for (bool reset_after : {true, false})
    c.push_back(
        make_case(reset_after ? "gru_reset_after" : "gru_reset_before",
                  sequential(layers(recur::GRU(recur::GruOptions(6).reset_after(reset_after).return_sequences(true)),
                                    recur::GRU(recur::GruOptions(4).reset_after(reset_after))),
                             {5, 3}, 5),
                  random_tensor({3, 5, 3}, 6)));
  c.push_back(make_case("gru_nobias", sequential(layers(recur::GRU(recur::GruOptions(4).use_bias(false))), {5, 3}, 7),
                        random_tensor({3, 5, 3}, 8)));
  return c;
}

std::vector<Case> simple_rnn_cases() {
  std::vector<Case> c;
  c.push_back(make_case(
      "simple_rnn_and_rnn_cell",
      sequential(layers(recur::SimpleRNN(recur::SimpleRnnOptions(5).activation("relu").return_sequences(true)),
                        recur::RNN(recur::LSTMCell(4))),
                 {6, 2}, 9),
      random_tensor({4, 6, 2}, 10)));
  return c;
}

std::vector<Case> go_backwards_cases() {
  // Sequences in processing order (ONNX's reverse direction gives them in input order).
  std::vector<Case> c;
  c.push_back(make_case("backwards_seq",
                        sequential(layers(recur::LSTM(recur::LstmOptions(5).go_backwards(true).return_sequences(true)),
                                          recur::GRU(recur::GruOptions(3).go_backwards(true).return_sequences(true)),
                                          recur::SimpleRNN(recur::SimpleRnnOptions(2).return_sequences(true))),
                                   {7, 3}, 11),
                        random_tensor({3, 7, 3}, 12)));
  c.push_back(
      make_case("backwards_last",
                sequential(layers(recur::LSTM(recur::LstmOptions(5).go_backwards(true)), recur::Dense(2)), {7, 3}, 13),
                random_tensor({3, 7, 3}, 14)));
  return c;
}

std::vector<Case> bidirectional_cases() {
  std::vector<Case> c;
  for (const char* mode : {"concat", "sum", "mul", "ave"})
    for (bool seq : {true, false})
      c.push_back(make_case(
          std::string("bidi_") + mode + (seq ? "_seq" : ""),
          sequential(layers(recur::Bidirectional(recur::LSTM(recur::LstmOptions(4).return_sequences(seq)), mode),
                            recur::Dense(2)),
                     {5, 3}, 13),
          random_tensor({3, 5, 3}, 14)));
  c.push_back(make_case("bidi_gru_rnn",
                        sequential(layers(recur::Bidirectional(recur::GRU(recur::GruOptions(3).return_sequences(true))),
                                          recur::Bidirectional(recur::SimpleRNN(4), "sum")),
                                   {5, 2}, 15),
                        random_tensor({2, 5, 2}, 16)));
  return c;
}

std::vector<Case> state_cases() {
  std::vector<Case> c;
  {
    auto enc_in = recur::Input({5, 3}, "encoder_input");
    auto dec_in = recur::Input({4, 2}, "decoder_input");
    auto [_, h, cs] =
        recur::shared(recur::LSTM(recur::LstmOptions(6).return_state(true).name("encoder"))).call<3>(enc_in);
    auto seq = recur::shared(recur::LSTM(recur::LstmOptions(6).return_sequences(true).name("decoder")))(
        dec_in, {.initial_state = {h, cs}});
    auto y =
        recur::shared(recur::TimeDistributed(recur::Dense(recur::DenseOptions(3).activation("softmax")), "digit"))(seq);
    recur::Model model({enc_in, dec_in}, {y, h}, "seq2seq");
    randomize(model, 17);
    c.push_back(make_case("seq2seq", std::move(model), {random_tensor({3, 5, 3}, 18), random_tensor({3, 4, 2}, 19)}));
  }
  {
    // A GRU's sequence and state into another GRU; both returned.
    auto a = recur::Input({5, 3}, "a");
    auto [ga, gh] =
        recur::shared(recur::GRU(recur::GruOptions(4).return_state(true).return_sequences(true))).call<2>(a);
    auto gy = recur::shared(recur::GRU(recur::GruOptions(4)))(ga, {.initial_state = {gh}});
    recur::Model gru({a}, {gy, gh}, "gru_states");
    randomize(gru, 20);
    c.push_back(make_case("gru_states", std::move(gru), {random_tensor({2, 5, 3}, 21)}));
  }
  {
    // Keras's Bidirectional encoder: [output, h_f, c_f, h_b, c_b]; the states concatenated
    // start a decoder. And a Bidirectional GRU fed initial states from inputs.
    auto enc_in = recur::Input({recur::kAnyDim, 3}, "encoder_input");
    auto dec_in = recur::Input({4, 2}, "decoder_input");
    auto outs = recur::shared(recur::Bidirectional(recur::LSTM(recur::LstmOptions(4).return_state(true))))
                    .call<5>(enc_in);
    auto h = recur::shared(recur::Concatenate())({outs[1], outs[3]});
    auto cs = recur::shared(recur::Concatenate())({outs[2], outs[4]});
    auto seq = recur::shared(recur::LSTM(recur::LstmOptions(8).return_sequences(true)))(dec_in, {.initial_state = {h, cs}});
    auto y = recur::shared(recur::TimeDistributed(recur::Dense(recur::DenseOptions(3).activation("softmax"))))(seq);
    recur::Model model({enc_in, dec_in}, {y, outs[0]}, "bidi_encoder_states");
    randomize(model, 40);
    c.push_back(make_case("bidi_encoder_states", std::move(model),
                          {random_tensor({3, 6, 3}, 41), random_tensor({3, 4, 2}, 42)}));
  }
  {
    auto x = recur::Input({5, 3}, "x");
    auto hf = recur::Input({4}, "h_forward");
    auto hb = recur::Input({4}, "h_backward");
    auto outs = recur::shared(recur::Bidirectional(
                                  recur::GRU(recur::GruOptions(4).return_sequences(true).return_state(true)), "sum"))
                    .call<3>(x, {.initial_state = {hf, hb}});
    recur::Model model({x, hf, hb}, {outs[0], outs[1], outs[2]}, "bidi_gru_states_in");
    randomize(model, 43);
    c.push_back(make_case("bidi_gru_states_in", std::move(model),
                          {random_tensor({3, 5, 3}, 44), random_tensor({3, 4}, 45), random_tensor({3, 4}, 46)}));
  }
  return c;
}

std::vector<Case> embedding_cases() {
  Tensor ids({4, 6});
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<float>((i * 7 + 3) % 11);
  std::vector<Case> c;
  c.push_back(make_case(
      "embedding",
      sequential(layers(recur::Embedding(recur::EmbeddingOptions(11, 4)), recur::Dropout(0.3f),
                        recur::LSTM(recur::LstmOptions(5)), recur::Dense(recur::DenseOptions(3).activation("softmax"))),
                 {6}, 22),
      ids));
  return c;
}

std::vector<Case> merge_cases() {
  auto x = recur::Input({6, 4}, "series");
  auto s1 = recur::shared(recur::LSTM(recur::LstmOptions(5).return_sequences(true)))(x);
  auto s2 = recur::shared(recur::GRU(recur::GruOptions(5).return_sequences(true)))(x);
  auto cat = recur::shared(recur::Concatenate())({s1, s2});
  auto add = recur::shared(recur::Add())({s1, s2});
  auto mul = recur::shared(recur::Multiply())({s1, s2, add});
  auto ave = recur::shared(recur::Average())({s1, s2, mul});
  auto avg_pool = recur::shared(recur::GlobalAveragePooling1D())(ave);
  auto max_pool = recur::shared(recur::GlobalMaxPooling1D())(cat);
  auto time_cat = recur::shared(recur::Concatenate(1))({s1, s2});
  auto flat = recur::shared(recur::Flatten())(time_cat);
  auto v = recur::shared(recur::Concatenate())({avg_pool, max_pool, flat});
  auto rep = recur::shared(recur::RepeatVector(3))(v);
  auto dec = recur::shared(recur::LSTM(recur::LstmOptions(4).return_sequences(true)))(rep);
  auto reshaped = recur::shared(recur::Reshape({2, -1}))(dec);
  auto y = recur::shared(recur::Dense(2))(reshaped);
  recur::Model model({x}, {y, avg_pool}, "merges");
  randomize(model, 23);
  std::vector<Case> c;
  c.push_back(make_case("merges_repeat_reshape_pool", std::move(model), {random_tensor({3, 6, 4}, 24)}));
  return c;
}

std::vector<Case> masking_cases() {
  Tensor x = random_tensor({2, 4, 3}, 26);
  for (std::size_t f = 0; f < 3; ++f) x[(0 * 4 + 2) * 3 + f] = 0.0f;  // one masked step
  std::vector<Case> c;
  c.push_back(make_case(
      "masking_dense",
      sequential(layers(recur::Masking(0.0f), recur::TimeDistributed(recur::Dense(3)), recur::Flatten()), {4, 3}, 25),
      x));
  return c;
}

bool activation_exists(const std::string& name) {
  try {
    recur::Dense d(recur::DenseOptions(2).activation(name));
    return true;
  } catch (const recur::ValueError&) {
    return false;
  }
}

const std::vector<std::string>& layer_activation_names() {
  static const std::vector<std::string> names = {
    "linear", "relu", "tanh",     "sigmoid",  "softmax",    "hard_sigmoid", "legacy_hard_sigmoid",
    "elu",    "selu", "softplus", "softsign", "exponential"};
  return names;
}
// The activations a recurrent cell can use that ONNX's recurrent nodes take.
const std::vector<std::string>& cell_activation_names() {
  static const std::vector<std::string> names = {
    "sigmoid", "tanh", "relu", "linear", "hard_sigmoid", "legacy_hard_sigmoid", "elu", "softsign", "softplus"};
  return names;
}

std::vector<Case> activation_cases() {
  std::vector<Case> c;
  for (const std::string& a : layer_activation_names()) {
    if (!activation_exists(a)) continue;
    c.push_back(
        make_case("dense_" + a,
                  sequential(layers(recur::Dense(recur::DenseOptions(4).activation(a)), recur::Activation(a)), {3}, 27),
                  random_tensor({5, 3}, 28, 2.0f)));
  }
  for (const std::string& a : cell_activation_names()) {
    if (!activation_exists(a)) continue;
    // As a gate (recurrent_activation) only the squashing ones: an unbounded gate makes the
    // cell state grow without limit (onnxruntime's softplus then overflows to NaN).
    const bool gate =
        a == "sigmoid" || a == "hard_sigmoid" || a == "legacy_hard_sigmoid" || a == "softsign" || a == "tanh";
    c.push_back(make_case(
        "cell_" + a,
        sequential(
            layers(recur::LSTM(recur::LstmOptions(4)
                                   .activation(a)
                                   .recurrent_activation(gate ? a : "sigmoid")
                                   .return_sequences(true)),
                   recur::GRU(recur::GruOptions(3).activation(a).recurrent_activation(gate ? a : "hard_sigmoid")),
                   recur::Dense(2)),
            {5, 3}, 29),
        random_tensor({3, 5, 3}, 30)));
    c.push_back(make_case("rnn_" + a,
                          sequential(layers(recur::SimpleRNN(recur::SimpleRnnOptions(4).activation(a))), {5, 3}, 31),
                          random_tensor({3, 5, 3}, 32)));
  }
  return c;
}

// A layer called twice (shared weights): ONNX gets one node per call, each with the weights.
std::vector<Case> shared_layer_cases() {
  auto a = recur::Input({4, 3}, "left");
  auto b = recur::Input({4, 3}, "right");
  auto encoder = recur::shared(recur::LSTM(recur::LstmOptions(5)));
  auto head = recur::shared(recur::Dense(recur::DenseOptions(2).activation("tanh")));
  auto y = recur::shared(recur::Concatenate())({head(encoder(a)), head(encoder(b))});
  recur::Model model({a, b}, {y}, "siamese");
  randomize(model, 36);
  std::vector<Case> c;
  c.push_back(
      make_case("shared_layers", std::move(model), {random_tensor({3, 4, 3}, 37), random_tensor({3, 4, 3}, 38)}));
  return c;
}

// Inputs with None timesteps: the ONNX input's time axis is dynamic ("timesteps").
std::vector<Case> any_length_cases() {
  auto x = recur::Input({recur::kAnyDim, 3}, "sequence");
  auto seq = recur::shared(recur::Bidirectional(recur::GRU(recur::GruOptions(4).return_sequences(true))))(x);
  auto back = recur::shared(recur::LSTM(recur::LstmOptions(3).go_backwards(true).return_sequences(true)))(seq);
  auto pooled = recur::shared(recur::GlobalMaxPooling1D())(back);
  auto last = recur::shared(recur::SimpleRNN(recur::SimpleRnnOptions(2)))(back);
  auto y = recur::shared(recur::Concatenate())({pooled, last});
  recur::Model model({x}, {y}, "any_length");
  randomize(model, 38);
  std::vector<Case> c;
  c.push_back(make_case("any_length_7", std::move(model), {random_tensor({2, 7, 3}, 39)}));
  return c;
}

std::vector<Case> all_model_cases() {
  std::vector<Case> all;
  for (auto f : {lstm_cases, gru_cases, simple_rnn_cases, go_backwards_cases, bidirectional_cases, state_cases,
                 embedding_cases, merge_cases, masking_cases, activation_cases, any_length_cases, shared_layer_cases})
    for (Case& c : f()) all.push_back(std::move(c));
  return all;
}

}  // namespace recur::test
