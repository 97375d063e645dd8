// Cells, RNN(cell), GRU/SimpleRNN layers, Bidirectional, TimeDistributed, masking, dropout and
// stateful layers: behaviour that the kernel gradient checks and PyTorch goldens do not cover.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/data/sequences.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/sequential.hpp"
#include "support/allclose.hpp"
#include "support/layer_gradcheck.hpp"

namespace {

using recur::Shape;
using recur::Tensor;
using recur::test::expect_allclose;
using recur::test::random_values;
using recur::test::to_float;

Tensor random_tensor(Shape shape, unsigned seed, double scale = 1.0) {
  return Tensor(shape, to_float(random_values(recur::shape_size(shape), seed, scale)));
}

// Rows [t0, t1) of the time axis of a (B, T, F) tensor.
Tensor time_slice(const Tensor& x, std::size_t t0, std::size_t t1) {
  const std::size_t B = x.dim(0), T = x.dim(1), F = x.dim(2);
  Tensor out({B, t1 - t0, F});
  for (std::size_t b = 0; b < B; ++b)
    std::copy_n(x.data() + (b * T + t0) * F, (t1 - t0) * F, out.data() + b * (t1 - t0) * F);
  return out;
}

TEST(Cells, SteppingACellEqualsTheLayerOverTheSequence) {
  for (int kind = 0; kind < 3; ++kind) {
    SCOPED_TRACE(kind);
    std::unique_ptr<recur::RNN> layer;
    if (kind == 0) layer = std::make_unique<recur::LSTM>(recur::LstmOptions(5).return_sequences(true));
    if (kind == 1) layer = std::make_unique<recur::GRU>(recur::GruOptions(5).return_sequences(true));
    if (kind == 2) layer = std::make_unique<recur::SimpleRNN>(recur::SimpleRnnOptions(5).return_sequences(true));
    const Tensor x = random_tensor({3, 7, 4}, 11);
    const recur::RecurrentOutput out = layer->call(x);
    recur::RecurrentCell& cell = layer->cell();
    std::vector<Tensor> states;
    for (std::size_t t = 0; t < 7; ++t) {
      const Tensor xt = time_slice(x, t, t + 1).reshape({3, 4});
      states = cell.call(xt, states);
      for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t u = 0; u < 5; ++u)
          EXPECT_NEAR(states[0][b * 5 + u], out.output[(b * 7 + t) * 5 + u], 1e-6);
    }
    // The allocation-free streaming step gives the same final state.
    std::vector<float> h(15, 0.0f), c(15, 0.0f);
    for (std::size_t t = 0; t < 7; ++t) {
      const Tensor xt = time_slice(x, t, t + 1);
      cell.step(xt.data(), h.data(), c.data(), 3);
    }
    expect_allclose("streamed h", h.data(), out.states[0].values(), 1e-6, 1e-5);
  }
}

TEST(Cells, GruNaiveReferenceMatchesTheFusedKernel) {
  for (bool reset_after : {true, false}) {
    recur::GRU gru(recur::GruOptions(4).reset_after(reset_after).bias_initializer("ones"));
    const Tensor x = random_tensor({2, 1, 3}, 5);
    const recur::RecurrentOutput out = gru.call(x);
    std::vector<float> h(8, 0.0f);
    recur::ops::gru_cell_step_naive<float>(h.data(), x.data(), gru.cell().kernel().value.data(),
                                           gru.cell().recurrent_kernel().value.data(),
                                           gru.cell().bias().value.data(), 2, 3, 4,
                                           gru.cell().kernel_config());
    expect_allclose("h", h.data(), out.states[0].values(), 1e-6, 1e-5);
  }
}

TEST(Cells, CellErrorsSayWhatToUse) {
  recur::LSTMCell cell(4);
  try {
    cell.call(Tensor({2, 5, 3}));
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("one timestep"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("RNN(cell)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recur::GRUCell(recur::GruCellOptions(3).dropout(1.0f)), recur::ValueError);
  EXPECT_THROW(recur::SimpleRNNCell(0), recur::ValueError);
}

TEST(Rnn, RnnOfACellEqualsTheMatchingLayerWithTheSameWeights) {
  recur::LSTM lstm(recur::LstmOptions(6).return_sequences(true));
  recur::RNN rnn(recur::LSTMCell(6), recur::RnnOptions().return_sequences(true));
  recur::Rng r1(3), r2(3);
  lstm.build({5, 2}, r1);
  rnn.build({5, 2}, r2);
  EXPECT_EQ(rnn.type(), "RNN");
  EXPECT_EQ(rnn.get_config().at("cell").at("class_name"), "LSTMCell");
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(lstm.weights()[i]->value.values(), rnn.weights()[i]->value.values());
  const Tensor x = random_tensor({4, 5, 2}, 8);
  EXPECT_EQ(lstm.forward(x, false).values(), rnn.forward(x, false).values());
}

TEST(Rnn, GruWeightShapesFollowKeras) {
  recur::Sequential m;
  m.add(recur::GRU(8));
  m.add(recur::GRU(recur::GruOptions(8).reset_after(false)));  // rank error: needs sequences
  EXPECT_THROW(m.build({10, 3}), recur::ShapeError);
  recur::Sequential ok;
  ok.add(recur::GRU(recur::GruOptions(8).return_sequences(true)));
  ok.add(recur::GRU(recur::GruOptions(4).reset_after(false)));
  ok.add(recur::SimpleRNN(recur::SimpleRnnOptions(3).return_sequences(false)));
  EXPECT_THROW(ok.build({10, 3}), recur::ShapeError);  // SimpleRNN after a rank-2 output
  recur::Sequential m2;
  m2.add(recur::GRU(recur::GruOptions(8).return_sequences(true)));
  m2.add(recur::GRU(recur::GruOptions(4).reset_after(false)));
  m2.build({10, 3});
  const auto w = m2.get_weights();
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[0].shape(), (Shape{3, 24}));
  EXPECT_EQ(w[1].shape(), (Shape{8, 24}));
  EXPECT_EQ(w[2].shape(), (Shape{2, 24}));  // reset_after: input and recurrent bias
  EXPECT_EQ(w[5].shape(), (Shape{12}));
  // Keras's parameter counts: GRU(8) on 3 features = 3*(3*8 + 8*8 + 2*8) = 312.
  EXPECT_EQ(m2.layer(0).count_params(), 312u);
}

TEST(Bidirectional, ConcatIsForwardThenTimeAlignedBackward) {
  recur::Bidirectional bi(recur::LSTM(recur::LstmOptions(3).return_sequences(true)));
  recur::Rng rng(4);
  bi.build({6, 2}, rng);
  EXPECT_EQ(bi.output_shape(), (Shape{6, 6}));
  ASSERT_EQ(bi.weights().size(), 6u);
  EXPECT_EQ(bi.weights()[0]->name, "forward_lstm/kernel");
  EXPECT_EQ(bi.weights()[3]->name, "backward_lstm/kernel");
  const Tensor x = random_tensor({2, 6, 2}, 9);
  const Tensor y = bi.forward(x, false);
  const Tensor yf = bi.forward_layer().forward(x, false);
  const Tensor yb = bi.backward_layer().forward(x, false);  // processing order: last step first
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < 6; ++t)
      for (std::size_t u = 0; u < 3; ++u) {
        EXPECT_EQ(y[(b * 6 + t) * 6 + u], yf[(b * 6 + t) * 3 + u]);
        EXPECT_EQ(y[(b * 6 + t) * 6 + 3 + u], yb[(b * 6 + (5 - t)) * 3 + u]);
      }
}

TEST(Bidirectional, EveryMergeModeHasTheRightGradient) {
  for (const char* mode : {"concat", "sum", "mul", "ave"}) {
    for (bool seq : {true, false}) {
      SCOPED_TRACE(std::string(mode) + (seq ? " sequences" : " last"));
      recur::Bidirectional bi(recur::GRU(recur::GruOptions(3).return_sequences(seq)), mode);
      recur::Rng rng(2);
      bi.build({4, 2}, rng);
      recur::test::expect_layer_gradient(bi, random_tensor({2, 4, 2}, 6));
    }
  }
  EXPECT_THROW(recur::Bidirectional(recur::LSTM(3), "max"), recur::ValueError);
  // return_state is for Functional models (Keras's [output, h_f, c_f, h_b, c_b]); a Sequential
  // model refuses it.
  recur::Sequential s;
  EXPECT_THROW(s.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(3).return_state(true)))), recur::ValueError);
}

TEST(TimeDistributed, AppliesTheLayerAtEveryStep) {
  recur::TimeDistributed td(recur::Dense(2, "tanh"));
  recur::Rng rng(1);
  td.build({5, 3}, rng);
  EXPECT_EQ(td.output_shape(), (Shape{5, 2}));
  const Tensor x = random_tensor({2, 5, 3}, 3);
  const Tensor y = td.forward(x, false);
  auto& dense = static_cast<recur::Dense&>(td.layer());
  const Tensor step = dense.forward(time_slice(x, 2, 3).reshape({2, 3}), false);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t k = 0; k < 2; ++k) EXPECT_EQ(y[(b * 5 + 2) * 2 + k], step[b * 2 + k]);
  recur::test::expect_layer_gradient(td, x);
  recur::Rng rng2(1);
  recur::TimeDistributed bad(recur::Dense(2));
  EXPECT_THROW(bad.build({3}, rng2), recur::ShapeError);
}

TEST(Masking, MaskedRecurrentLayersHaveTheRightGradient) {
  Tensor mask({3, 5}, {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1});
  for (bool seq : {true, false}) {
    recur::LSTM lstm(recur::LstmOptions(3).return_sequences(seq));
    recur::Rng rng(5);
    lstm.build({5, 2}, rng);
    recur::test::expect_layer_gradient(lstm, random_tensor({3, 5, 2}, 4), mask);
    recur::Bidirectional bi(recur::SimpleRNN(recur::SimpleRnnOptions(2).return_sequences(seq)));
    bi.build({5, 2}, rng);
    recur::test::expect_layer_gradient(bi, random_tensor({3, 5, 2}, 4), mask);
  }
}

// A model trained on padded data gives the same output for a sequence whatever padding
// surrounds it (the end-to-end requirement).
TEST(Masking, OutputDoesNotDependOnPadding) {
  recur::Sequential m;
  m.add(recur::Masking(0.0f));
  m.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(4).return_sequences(true))));
  m.add(recur::GRU(3));
  m.add(recur::Dense(1));
  m.build({9, 2}, 7);
  m.compile("adam", "mse");
  // Train briefly on padded sequences of lengths 3..9 so the weights are not the initial ones.
  std::vector<std::vector<std::vector<float>>> seqs;
  std::vector<float> targets;
  for (std::size_t i = 0; i < 32; ++i) {
    const std::size_t len = 3 + i % 7;
    std::vector<std::vector<float>> s;
    const auto v = random_values(len * 2, 100 + static_cast<unsigned>(i));
    float sum = 0;
    for (std::size_t t = 0; t < len; ++t) {
      s.push_back({static_cast<float>(v[2 * t]) + 2.0f, static_cast<float>(v[2 * t + 1])});
      sum += s.back()[1];
    }
    seqs.push_back(s);
    targets.push_back(sum);
  }
  const recur::PaddedSequences padded = recur::pad_sequences(seqs, recur::PadOptions().padding("post"));
  ASSERT_EQ(padded.x.shape(), (Shape{32, 9, 2}));
  m.fit(padded.x, Tensor({32, 1}, targets), recur::FitOptions().epochs(3).batch_size(8));

  const std::vector<std::vector<std::vector<float>>> one{seqs[2]};  // 5 steps
  const Tensor pre = recur::pad_sequences(one, recur::PadOptions().maxlen(9)).x;
  const Tensor post = recur::pad_sequences(one, recur::PadOptions().maxlen(9).padding("post")).x;
  const float a = m.predict(pre)[0], b = m.predict(post)[0];
  EXPECT_NEAR(a, b, 1e-5);
  // Unmasked, the padding would change the output: the test can fail.
  recur::Sequential plain;
  plain.add(recur::LSTM(4));
  plain.add(recur::Dense(1));
  plain.build({9, 2}, 7);
  EXPECT_GT(std::fabs(plain.predict(pre)[0] - plain.predict(post)[0]), 1e-4);
}

TEST(Masking, EmbeddingMaskZeroSkipsPaddingIds) {
  recur::Sequential m;
  m.add(recur::Embedding(recur::EmbeddingOptions(6, 4).mask_zero(true)));
  m.add(recur::LSTM(recur::LstmOptions(3).return_sequences(true)));
  m.add(recur::TimeDistributed(recur::Dense(2)));
  m.build({6}, 3);
  const Tensor pre({1, 6}, {0, 0, 0, 3, 1, 5}), post({1, 6}, {3, 1, 5, 0, 0, 0});
  const Tensor a = m.predict(pre), b = m.predict(post);
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t j = 0; j < 2; ++j) {
      EXPECT_NEAR(a[(3 + k) * 2 + j], b[k * 2 + j], 1e-6);
    }
  m.forward(pre, false);
  EXPECT_EQ(m.output_mask().values(), (std::vector<float>{0, 0, 0, 1, 1, 1}));
  // Ids outside [0, input_dim) are refused before anything runs, naming sample and timestep.
  m.compile("adam", "mse");
  try {
    m.fit(Tensor({1, 6}, {1, 2, 6, 0, 0, 0}), Tensor({1, 6, 2}));
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("timestep 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[0, 6)"), std::string::npos) << msg;
  }
}

TEST(PadSequences, KerasOptionsAndFloatValues) {
  const std::vector<std::vector<float>> s{{1.5f, 2.5f}, {1, 2, 3, 4}};
  const auto pre = recur::pad_sequences(s, recur::PadOptions().maxlen(3));
  EXPECT_EQ(pre.x.values(), (std::vector<float>{0, 1.5f, 2.5f, 2, 3, 4}));  // floats kept
  EXPECT_EQ(pre.mask.values(), (std::vector<float>{0, 1, 1, 1, 1, 1}));
  const auto post = recur::pad_sequences(s, recur::PadOptions().maxlen(3).padding("post").truncating("post").value(-1));
  EXPECT_EQ(post.x.values(), (std::vector<float>{1.5f, 2.5f, -1, 1, 2, 3}));
  EXPECT_THROW(recur::pad_sequences(s, recur::PadOptions().padding("left")), recur::ValueError);
  try {
    recur::pad_sequences(std::vector<std::vector<std::vector<float>>>{{{1, 2}, {3}}});
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 0, step 1"), std::string::npos) << e.what();
  }
}

TEST(Dropout, RecurrentDropoutIsSeededAndOnlyInTraining) {
  auto make = [] {
    recur::Sequential m;
    m.add(recur::LSTM(recur::LstmOptions(6).dropout(0.3f).recurrent_dropout(0.3f)));
    m.add(recur::Dense(1));
    m.build({5, 3}, 11);
    return m;
  };
  recur::Sequential a = make(), b = make();
  const Tensor x = random_tensor({4, 5, 3}, 2);
  const Tensor inf1 = a.forward(x, false), inf2 = a.forward(x, false);
  EXPECT_EQ(inf1.values(), inf2.values());
  const Tensor t1 = a.forward(x, true), t2 = b.forward(x, true);
  EXPECT_EQ(t1.values(), t2.values());  // same seed, same masks
  EXPECT_NE(t1.values(), inf1.values());
  EXPECT_NE(a.forward(x, true).values(), t1.values());  // a new mask per batch
  // The gradient through the input dropout mask is right (fixed masks: one forward, backward).
  recur::LSTM lstm(recur::LstmOptions(3).dropout(0.4f));
  recur::Rng rng(1);
  lstm.build({4, 3}, rng);
  Tensor xin = random_tensor({2, 4, 3}, 5);
  const Tensor y = lstm.forward(xin, true);
  const Tensor dx = lstm.backward(Tensor::full(y.shape(), 1.0f));
  // Features dropped for a sample have zero gradient at every timestep.
  std::size_t zero_columns = 0;
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t f = 0; f < 3; ++f) {
      bool all_zero = true;
      for (std::size_t t = 0; t < 4; ++t) all_zero = all_zero && dx[(b * 4 + t) * 3 + f] == 0.0f;
      zero_columns += all_zero;
    }
  EXPECT_GT(zero_columns, 0u);
}

TEST(Stateful, CarriesStateAcrossBatchesUntilReset) {
  recur::LSTM whole(recur::LstmOptions(4).return_sequences(true));
  recur::LSTM parts(recur::LstmOptions(4).return_sequences(true).stateful(true));
  recur::Rng r1(6), r2(6);
  whole.build({8, 2}, r1);
  parts.build({4, 2}, r2);
  const Tensor x = random_tensor({3, 8, 2}, 1);
  const Tensor full = whole.forward(x, false);
  parts.forward(time_slice(x, 0, 4), false);
  const Tensor second = parts.forward(time_slice(x, 4, 8), false);
  expect_allclose("second half", second.data(), time_slice(full, 4, 8).values(), 1e-6, 1e-5);
  try {
    parts.forward(random_tensor({2, 4, 2}, 3), false);
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("batch size 3"), std::string::npos) << e.what();
  }
  parts.reset_states();
  const Tensor first = parts.forward(time_slice(x, 0, 4), false);
  expect_allclose("after reset", first.data(), time_slice(full, 0, 4).values(), 1e-6, 1e-5);
}

TEST(SaveLoad, EveryLayerRoundTrips) {
  recur::Sequential m;
  m.add(recur::Masking(-1.0f));
  m.add(recur::Bidirectional(recur::GRU(recur::GruOptions(4).return_sequences(true)), "sum"));
  m.add(recur::RNN(recur::SimpleRNNCell(3), recur::RnnOptions().return_sequences(true)));
  m.add(recur::TimeDistributed(recur::Dense(2)));
  m.add(recur::Activation("softmax"));
  m.add(recur::Flatten());
  m.add(recur::Dense(1));
  m.build({5, 2}, 4);
  const std::string path =
      (std::filesystem::temp_directory_path() / "recur_test_all_layers.recur").string();
  m.save(path);
  recur::Sequential back = recur::Sequential::load(path);
  std::filesystem::remove(path);
  const Tensor x = random_tensor({3, 5, 2}, 8);
  EXPECT_EQ(m.predict(x).values(), back.predict(x).values());
  EXPECT_EQ(back.summary(), m.summary());
}

}  // namespace

namespace {

TEST(GlobalPooling, MaxAndMeanOverKeptTimesteps) {
  const Tensor x({1, 3, 2}, {1, -5, 7, 2, 3, 4});
  const Tensor mask({1, 3}, {1, 0, 1});
  recur::Rng rng(0);
  recur::GlobalMaxPooling1D mx;
  recur::GlobalAveragePooling1D avg;
  mx.build({3, 2}, rng);
  avg.build({3, 2}, rng);
  EXPECT_EQ(mx.forward(x, false).values(), (std::vector<float>{7, 4}));
  EXPECT_EQ(mx.forward_masked(x, mask, false).values(), (std::vector<float>{3, 4}));
  const Tensor mean = avg.forward(x, false);
  EXPECT_NEAR(mean[0], 11.0f / 3, 1e-6);
  EXPECT_NEAR(mean[1], 1.0f / 3, 1e-6);
  EXPECT_EQ(avg.forward_masked(x, mask, false).values(), (std::vector<float>{2, -0.5f}));
  // Values 0.2 apart along time (plus small noise), so a +-0.01 probe never swaps the maximum.
  Tensor big = random_tensor({3, 5, 4}, 12, 0.01);
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < 5; ++t)
      for (std::size_t f = 0; f < 4; ++f)
        big[(b * 5 + t) * 4 + f] += 0.2f * static_cast<float>((b + 7 * t + 3 * f) % 5);
  const Tensor big_mask({3, 5}, {1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  for (recur::Layer* l : std::vector<recur::Layer*>{&mx, &avg}) {
    recur::Rng r(1);
    l->build({5, 4}, r);
    recur::test::expect_layer_gradient(*l, big);
    recur::test::expect_layer_gradient(*l, big, big_mask);
  }
  recur::Rng r(2);
  EXPECT_THROW(mx.build({4}, r), recur::ShapeError);
}

}  // namespace
