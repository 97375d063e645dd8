// Variable timesteps (Keras's None, recur::kAnyDim) in a model's inputs: the shapes each layer
// gives (Keras's), the same numbers as a model built for the data's fixed length (forward,
// masks, gradients), fit on one length and predict on another, the checks of x and y that print
// None, and the layers that refuse it (Flatten, Dense on ids, a Reshape no batch can satisfy).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"
#include "support/expect_error.hpp"
#include "support/gradcheck.hpp"
#include "support/tensors.hpp"
#include "support/layer_gradcheck.hpp"

namespace {

using recur::kAnyDim;
using recur::LstmOptions;
using recur::Shape;
using recur::Tensor;
using recur::test::expect_error;
constexpr std::size_t N = kAnyDim;

using recur::test::random_tensor;

void expect_same(const Tensor& a, const Tensor& b, const std::string& what, float tol = 1e-5f) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << what << " [" << i << "]";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Input(timesteps, 3) -> LSTM(5, return_sequences) -> TimeDistributed(Dense(2)).
recur::Model sequence_model(std::size_t timesteps, const std::string& name) {
  auto x = recur::Input({timesteps, 3}, "x");
  auto h = recur::shared(recur::LSTM(LstmOptions(5).return_sequences(true).name("lstm")))(x);
  auto y = recur::shared(recur::TimeDistributed(recur::Dense(2), "td"))(h);
  return recur::Model({x}, {y}, name);
}

// ---- shapes -------------------------------------------------------------------------------------

TEST(NoneTimestepsShapes, LayersKeepOrDropNoneAsKerasDoes) {
  auto x = recur::Input({N, 3});
  EXPECT_EQ(x.shape(), (Shape{N, 3}));
  auto seq = recur::shared(recur::LSTM(LstmOptions(4).return_sequences(true)))(x);
  EXPECT_EQ(seq.shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::LSTM(LstmOptions(6)))(x).shape(), (Shape{6}));
  EXPECT_EQ(recur::shared(recur::GRU(recur::GruOptions(2).return_sequences(true)))(x).shape(), (Shape{N, 2}));
  EXPECT_EQ(recur::shared(recur::Bidirectional(recur::LSTM(LstmOptions(3).return_sequences(true))))(x).shape(),
            (Shape{N, 6}));
  EXPECT_EQ(recur::shared(recur::Dense(7))(seq).shape(), (Shape{N, 7}));
  EXPECT_EQ(recur::shared(recur::TimeDistributed(recur::Dense(2)))(seq).shape(), (Shape{N, 2}));
  EXPECT_EQ(recur::shared(recur::Activation("tanh"))(seq).shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::Dropout(0.5f))(seq).shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::Masking())(x).shape(), (Shape{N, 3}));
  EXPECT_EQ(recur::shared(recur::GlobalAveragePooling1D())(seq).shape(), (Shape{4}));
  EXPECT_EQ(recur::shared(recur::GlobalMaxPooling1D())(seq).shape(), (Shape{4}));
  EXPECT_EQ(recur::shared(recur::RepeatVector(5))(recur::shared(recur::LSTM(LstmOptions(2)))(x)).shape(),
            (Shape{5, 2}));
  // Concatenate along the features: (None, 3) + (None, 4) -> (None, 7); a None timestep axis
  // agrees with a fixed one (checked per call), the output keeping the first input's (Keras's).
  EXPECT_EQ(recur::shared(recur::Concatenate())({x, seq}).shape(), (Shape{N, 7}));
  auto fixed = recur::Input({5, 4});
  EXPECT_EQ(recur::shared(recur::Concatenate())({x, fixed}).shape(), (Shape{N, 7}));
  EXPECT_EQ(recur::shared(recur::Concatenate())({fixed, x}).shape(), (Shape{5, 7}));
  // Along the timesteps: None when any is.
  EXPECT_EQ(recur::shared(recur::Concatenate(1))({seq, fixed}).shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::Add())({seq, fixed}).shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::Multiply())({fixed, seq}).shape(), (Shape{N, 4}));
  EXPECT_EQ(recur::shared(recur::Average())({seq, seq}).shape(), (Shape{N, 4}));
  // Reshape: the output's timesteps are None and a whole number per input step.
  EXPECT_EQ(recur::shared(recur::Reshape({-1, 2}))(seq).shape(), (Shape{N, 2}));
  EXPECT_EQ(recur::shared(recur::Reshape({-1, 2, 2}))(seq).shape(), (Shape{N, 2, 2}));
  // Token ids: Embedding on (None,) -> (None, output_dim).
  auto ids = recur::Input({N});
  EXPECT_EQ(recur::shared(recur::Embedding(10, 4))(ids).shape(), (Shape{N, 4}));
}

TEST(NoneTimestepsShapes, SummaryShowsNone) {
  recur::Model model = sequence_model(N, "m");
  const std::string s = model.summary();
  EXPECT_TRUE(contains(s, "[(None, None, 3)]")) << s;
  EXPECT_TRUE(contains(s, "(None, None, 5)")) << s;
  EXPECT_TRUE(contains(s, "(None, None, 2)")) << s;
  // Parameter counts do not depend on the timesteps.
  EXPECT_EQ(model.count_params(), sequence_model(7, "f").count_params());

  recur::Sequential seq;
  seq.add(recur::LSTM(LstmOptions(8).return_sequences(true)));
  seq.add(recur::Dense(1));
  seq.build({N, 4});
  EXPECT_EQ(seq.input_shape(), (Shape{N, 4}));
  EXPECT_EQ(seq.output_shape(), (Shape{N, 1}));
  const std::string t = seq.summary();
  EXPECT_TRUE(contains(t, "(None, None, 8)")) << t;
  EXPECT_TRUE(contains(t, "(None, None, 1)")) << t;
  EXPECT_TRUE(contains(t, "Total params: 425")) << t;  // 4*(4*8 + 8*8 + 8) + (8 + 1)
}

TEST(NoneTimestepsShapes, RefusedWhereTheTimestepsMustBeFixed) {
  expect_error<recur::ShapeError>([] { recur::shared(recur::Flatten())(recur::Input({N, 3})); }, "RECUR-E0016",
                                  {"Flatten", "needs a fixed number of timesteps", "(None, None, 3)",
                                   "GlobalAveragePooling1D"});
  expect_error<recur::ShapeError>(
      [] {
        recur::Sequential s;
        s.add(recur::LSTM(LstmOptions(2).return_sequences(true)));
        s.add(recur::Flatten());
        s.build({N, 3});
      },
      "RECUR-E0006", {"Flatten", "needs a fixed number of timesteps", "(None, None, 2)"});
  // Dense needs fixed features: ids go through an Embedding.
  expect_error<recur::ShapeError>([] { recur::shared(recur::Dense(2))(recur::Input({N})); }, "RECUR-E0016",
                                  {"Dense", "fixed number of features", "Embedding"});
  expect_error<recur::ShapeError>([] { recur::shared(recur::RepeatVector(2))(recur::Input({N})); }, "RECUR-E0016",
                                  {"RepeatVector", "fixed number of features"});
  // A Reshape whose target no batch length can be sure to fill.
  expect_error<recur::ShapeError>([] { recur::shared(recur::Reshape({2, -1}))(recur::Input({N, 3})); },
                                  "RECUR-E0016", {"Reshape", "starts with -1", "(-1, 3)"});
  expect_error<recur::ShapeError>([] { recur::shared(recur::Reshape({-1, 2}))(recur::Input({N, 3})); },
                                  "RECUR-E0016", {"Reshape", "divides the 3 values per timestep"});
  expect_error<recur::ShapeError>([] { recur::shared(recur::Reshape({6}))(recur::Input({N, 3})); }, "RECUR-E0016",
                                  {"Reshape", "None timesteps"});
  // A recurrent layer on (None,) ids: the fix names the feature axis and the Embedding, never
  // the None extent as a number.
  try {
    recur::shared(recur::LSTM(2))(recur::Input({N}));
    ADD_FAILURE() << "LSTM on (None, None) was accepted";
  } catch (const recur::ShapeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("feature axis"), std::string::npos) << what;
    EXPECT_NE(what.find("Embedding"), std::string::npos) << what;
    EXPECT_EQ(what.find("18446744073709551615"), std::string::npos) << what;
  }
  // Only the timesteps may be None.
  expect_error<recur::ShapeError>([] { recur::Input({4, N}); }, "RECUR-E0016", {"axis 1", "only the timesteps"});
  expect_error<recur::ShapeError>([] { recur::Input({3, 0}); }, "RECUR-E0016", {"zero or unknown extent"});
  expect_error<recur::ShapeError>(
      [] {
        recur::Sequential s;
        s.add(recur::LSTM(LstmOptions(2)));
        s.build({4, N});
      },
      {"Sequential::build", "axis 1", "only the timesteps"});
  // Concatenate still refuses two fixed extents that differ.
  expect_error<recur::ShapeError>(
      [] { recur::shared(recur::Concatenate())({recur::Input({N, 5, 2}), recur::Input({N, 4, 2})}); },
      "RECUR-E0016", {"must agree"});
}

// ---- the same numbers as a fixed-length model --------------------------------------------------

TEST(NoneTimestepsFunctional, PredictsAnyLengthLikeAFixedLengthModel) {
  recur::set_random_seed(3);
  recur::Model any = sequence_model(N, "any");
  for (std::size_t T : {2u, 9u}) {
    recur::Model fixed = sequence_model(T, "fixed");
    fixed.set_weights(any.get_weights());
    const Tensor x = random_tensor({4, T, 3}, 10 + static_cast<unsigned>(T));
    const Tensor y = any.predict(x);
    EXPECT_EQ(y.shape(), (Shape{4, T, 2}));
    expect_same(y, fixed.predict(x), "T=" + std::to_string(T));
    // Batches of different sizes, one length.
    expect_same(any.predict(x, 3), y, "batch_size 3, T=" + std::to_string(T));
  }
}

TEST(NoneTimestepsFunctional, GradientsEqualTheFixedLengthModelsAndFiniteDifferences) {
  recur::set_random_seed(4);
  recur::Model any = sequence_model(N, "any");
  recur::Model fixed = sequence_model(6, "fixed");
  fixed.set_weights(any.get_weights());
  Tensor x = random_tensor({3, 6, 3}, 20);
  const Tensor gy = random_tensor({3, 6, 2}, 21);
  any.zero_grad();
  any.forward(x, false);
  const Tensor dx_any = any.backward(gy);
  fixed.zero_grad();
  fixed.forward(x, false);
  const Tensor dx_fixed = fixed.backward(gy);
  expect_same(dx_any, dx_fixed, "dx");
  const auto wa = any.trainable_weights(), wf = fixed.trainable_weights();
  ASSERT_EQ(wa.size(), wf.size());
  for (std::size_t k = 0; k < wa.size(); ++k) expect_same(wa[k]->grad, wf[k]->grad, wa[k]->name);

  // Layer by layer, against central differences, on a length the layer was not built for.
  recur::Rng rng(5);
  recur::LSTM lstm(LstmOptions(3).return_sequences(true));
  lstm.build({N, 2}, rng);
  recur::test::expect_layer_gradient(lstm, random_tensor({2, 4, 2}, 22));
  recur::Dense dense(3, "tanh");
  dense.build({N, 2}, rng);
  recur::test::expect_layer_gradient(dense, random_tensor({2, 5, 2}, 23));
  // With a mask: padded steps change nothing.
  recur::LSTM masked(LstmOptions(3));
  masked.build({N, 2}, rng);
  Tensor mask({2, 5}, {1, 1, 1, 0, 0, 1, 1, 1, 1, 1});
  recur::test::expect_layer_gradient(masked, random_tensor({2, 5, 2}, 24), mask);
}

TEST(NoneTimestepsFunctional, EncoderDecoderOfDifferentLengthsTrainsAndPredicts) {
  // Keras's seq2seq: encoder and decoder inputs of their own None lengths; the encoder's
  // sequence output is unused (its gradient is zeros of this call's length).
  recur::set_random_seed(5);
  auto enc_in = recur::Input({N, 3}, "enc");
  auto dec_in = recur::Input({N, 2}, "dec");
  auto [enc_seq, h, c] =
      recur::shared(recur::LSTM(LstmOptions(4).return_sequences(true).return_state(true))).call<3>(enc_in);
  auto dec = recur::shared(recur::LSTM(LstmOptions(4).return_sequences(true)))(dec_in, {.initial_state = {h, c}});
  auto y = recur::shared(recur::Dense(1))(dec);
  recur::Model model({enc_in, dec_in}, {y});
  EXPECT_EQ(enc_seq.shape(), (Shape{N, 4}));
  EXPECT_EQ(y.shape(), (Shape{N, 1}));
  model.compile("adam", "mse");
  const Tensor xe = random_tensor({8, 5, 3}, 30), xd = random_tensor({8, 4, 2}, 31);
  const Tensor yt = random_tensor({8, 4, 1}, 32, 0.5f);
  const recur::History hist = model.fit({xe, xd}, {yt}, recur::FitOptions().epochs(3).batch_size(4).verbose(0));
  ASSERT_EQ(hist.history.at("loss").size(), 3u);
  EXPECT_TRUE(std::isfinite(hist.history.at("loss").back()));
  const std::vector<Tensor> out = model.predict({random_tensor({2, 8, 3}, 33), random_tensor({2, 3, 2}, 34)});
  EXPECT_EQ(out[0].shape(), (Shape{2, 3, 1}));
  // (samples, timesteps) targets of the decoder's length are accepted too.
  EXPECT_TRUE(model.check({xe, xd}, {yt.reshape({8, 4})}).empty());
}

TEST(NoneTimestepsFunctional, ConcatenatingAlongTheTimestepsAddsTheLengths) {
  recur::set_random_seed(6);
  auto a = recur::Input({N, 2}, "a");
  auto b = recur::Input({N, 2}, "b");
  auto joined = recur::shared(recur::Concatenate(1))({a, b});
  auto y = recur::shared(recur::TimeDistributed(recur::Dense(1)))(
      recur::shared(recur::LSTM(LstmOptions(3).return_sequences(true)))(joined));
  recur::Model model({a, b}, {y});
  model.compile("sgd", "mse");
  const Tensor xa = random_tensor({4, 2, 2}, 40), xb = random_tensor({4, 3, 2}, 41);
  // The output has 2 + 3 steps: y must have them.
  EXPECT_TRUE(model.check({xa, xb}, {random_tensor({4, 5, 1}, 42)}).empty());
  expect_error<recur::ShapeError>([&] { model.evaluate({xa, xb}, {random_tensor({4, 3, 1}, 43)}); }, "RECUR-E0010",
                                  {"(4, None, 1)", "For this x the output is (4, 5, 1)"});
  EXPECT_EQ(model.predict({xa, xb})[0].shape(), (Shape{4, 5, 1}));
}

TEST(NoneTimestepsFunctional, MergesCheckTheLengthsOfEachCall) {
  auto a = recur::Input({N, 2}, "a");
  auto b = recur::Input({4, 3}, "b");
  auto y = recur::shared(recur::Concatenate())({a, b});
  recur::Model model({a, b}, {y});
  EXPECT_EQ(model.predict({random_tensor({2, 4, 2}, 50), random_tensor({2, 4, 3}, 51)})[0].shape(), (Shape{2, 4, 5}));
  expect_error<recur::ShapeError>(
      [&] { model.predict({random_tensor({2, 6, 2}, 52), random_tensor({2, 4, 3}, 53)}); }, "RECUR-E0016",
      {"Concatenate", "must fit together", "(2, 6, 2), (2, 4, 3)", "must agree"});
}

TEST(NoneTimestepsFunctional, ReshapeGivesAWholeNumberOfStepsPerBatch) {
  auto x = recur::Input({N, 4});
  auto y = recur::shared(recur::Reshape({-1, 2}))(x);
  recur::Model model({x}, {y});
  const Tensor in = random_tensor({2, 3, 4}, 60);
  const Tensor out = model.predict(in);
  EXPECT_EQ(out.shape(), (Shape{2, 6, 2}));
  for (std::size_t i = 0; i < in.size(); ++i) EXPECT_EQ(out[i], in[i]);
}

TEST(NoneTimestepsFunctional, ASharedLayerBuiltForNoneRunsOnAFixedLength) {
  recur::set_random_seed(7);
  auto a = recur::Input({N, 3}, "a");
  auto b = recur::Input({5, 3}, "b");
  auto lstm = recur::shared(recur::LSTM(LstmOptions(2)));
  auto y = recur::shared(recur::Add())({lstm(a), lstm(b)});
  recur::Model model({a, b}, {y});
  const Tensor xb = random_tensor({2, 5, 3}, 70);
  const std::vector<Tensor> out = model.predict({xb, xb});
  const std::vector<Tensor> twice = model.predict({xb, xb});
  expect_same(out[0], twice[0], "deterministic");
  // Built for (5, 3), a layer does not take (None, 3).
  auto fixed = recur::shared(recur::LSTM(LstmOptions(2)));
  fixed(b);
  expect_error<recur::ShapeError>([&] { fixed(a); }, "RECUR-E0016", {"was built for input (None, 5, 3)"});
}

// ---- Sequential ---------------------------------------------------------------------------------

TEST(NoneTimestepsSequential, FitsOnOneLengthAndPredictsOnAnother) {
  recur::Sequential model;
  model.add(recur::LSTM(LstmOptions(8)));
  model.add(recur::Dense(1));
  model.build({N, 4}, 1);
  model.compile("adam", "mse");
  const Tensor x5 = random_tensor({16, 5, 4}, 80), y = random_tensor({16, 1}, 81, 0.5f);
  const recur::History h = model.fit(x5, y, recur::FitOptions().epochs(3).batch_size(8).verbose(0));
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  const Tensor x7 = random_tensor({3, 7, 4}, 82);
  const Tensor p = model.predict(x7);
  EXPECT_EQ(p.shape(), (Shape{3, 1}));
  // The same as a model built for 7 timesteps with these weights.
  recur::Sequential fixed;
  fixed.add(recur::LSTM(LstmOptions(8)));
  fixed.add(recur::Dense(1));
  fixed.build({7, 4});
  fixed.set_weights(model.get_weights());
  expect_same(p, fixed.predict(x7), "T=7");
  // evaluate and validation data of yet other lengths.
  EXPECT_TRUE(std::isfinite(model.evaluate(random_tensor({4, 2, 4}, 83), random_tensor({4, 1}, 84)).at("loss")));
  const recur::History hv = model.fit(
      x5, y,
      recur::FitOptions().epochs(1).verbose(0).validation_data(random_tensor({4, 9, 4}, 85), random_tensor({4, 1}, 86)));
  EXPECT_EQ(hv.history.count("val_loss"), 1u);
}

TEST(NoneTimestepsSequential, SequenceTargetsFollowTheLengthOfX) {
  recur::Sequential model;
  model.add(recur::LSTM(LstmOptions(4).return_sequences(true)));
  model.add(recur::Dense(1));
  model.build({N, 2});
  model.compile("adam", "mse");
  const Tensor x = random_tensor({6, 5, 2}, 90);
  model.fit(x, random_tensor({6, 5, 1}, 91), recur::FitOptions().epochs(1).verbose(0));
  model.fit(x, random_tensor({6, 5}, 92), recur::FitOptions().epochs(1).verbose(0));  // the 1-wide axis dropped
  expect_error<recur::ShapeError>([&] { model.fit(x, random_tensor({6, 6, 1}, 93), recur::FitOptions().verbose(0)); },
                                  "RECUR-E0010",
                                  {"y must be (6, None, 1)", "model output (None, None, 1)",
                                   "For this x the output is (6, 5, 1), so y must be (6, 5, 1)", "got (6, 6, 1)"});
  EXPECT_EQ(model.predict(random_tensor({2, 11, 2}, 94)).shape(), (Shape{2, 11, 1}));
}

TEST(NoneTimestepsSequential, DataChecksPrintNone) {
  recur::Sequential model;
  model.add(recur::LSTM(LstmOptions(3)));
  model.build({N, 3});
  model.compile("adam", "mse");
  // A wrong feature count: the existing RECUR-E0002 message, with None timesteps.
  expect_error<recur::ShapeError>([&] { model.predict(random_tensor({2, 5, 4}, 100)); }, "RECUR-E0002",
                                  {"expects x of shape (None, None, 3) = (batch, timesteps, features)",
                                   "got (2, 5, 4)", "built for 3 features per step; the data has 4"});
  // Rank 2 with one feature expected: the reshape fix, whatever the length.
  recur::Sequential one;
  one.add(recur::LSTM(LstmOptions(2)));
  one.build({N, 1});
  expect_error<recur::ShapeError>([&] { one.predict(random_tensor({2, 6}, 101)); }, "RECUR-E0001",
                                  {"(None, None, 1)", "reshape x to (2, 6, 1)"});
  // No timesteps at all.
  expect_error<recur::ShapeError>([&] { model.predict(Tensor(Shape{2, 0, 3})); }, "RECUR-E0100",
                                  {"(None, None, 3)", "at least 1"});
  const auto problems = model.check(random_tensor({2, 5, 4}, 102), random_tensor({2, 3}, 103));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, "RECUR-E0002");
  EXPECT_TRUE(model.check(random_tensor({2, 8, 3}, 104), random_tensor({2, 3}, 105)).empty());
}

// ---- token ids and masks ------------------------------------------------------------------------

TEST(NoneTimestepsMasks, EmbeddingOnIdsOfAnyLengthIgnoresPadding) {
  recur::set_random_seed(8);
  auto ids = recur::Input({N}, "ids");
  auto e = recur::shared(recur::Embedding(recur::EmbeddingOptions(10, 4).mask_zero(true)))(ids);
  auto h = recur::shared(recur::LSTM(LstmOptions(3)))(e);
  auto y = recur::shared(recur::Dense(1))(h);
  recur::Model model({ids}, {y});
  EXPECT_EQ(e.shape(), (Shape{N, 4}));
  const Tensor short_ids({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor padded({2, 6}, {1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0, 0});
  expect_same(model.predict(short_ids), model.predict(padded), "padding masked");
  expect_error<recur::ValueError>([&] { model.predict(Tensor({1, 4}, {1, 2, 12, 3})); }, "RECUR-E0200",
                                  {"integer ids in [0, 10)", "timestep 2"});
  model.compile("adam", "mse");
  model.fit(padded, random_tensor({2, 1}, 110), recur::FitOptions().epochs(1).verbose(0));
}

TEST(NoneTimestepsMasks, MaskingKeepsTheMaskThroughNoneTimesteps) {
  recur::set_random_seed(9);
  auto x = recur::Input({N, 2});
  auto m = recur::shared(recur::Masking(0.0f))(x);
  auto seq = recur::shared(recur::LSTM(LstmOptions(3).return_sequences(true)))(m);
  auto d = recur::shared(recur::TimeDistributed(recur::Dense(2)))(seq);
  auto last = recur::shared(recur::LSTM(LstmOptions(2)))(d);
  recur::Model model({x}, {last});
  Tensor base = random_tensor({2, 3, 2}, 120);
  Tensor padded({2, 5, 2});
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 6; ++i) padded[b * 10 + i] = base[b * 6 + i];
  expect_same(model.predict(base), model.predict(padded), "masked tail");
  // The sequence output's mask has this call's length; masked steps leave the loss.
  recur::Model seq_model({x}, {d});
  seq_model.forward(padded, false);
  ASSERT_EQ(seq_model.output_mask().shape(), (Shape{2, 5}));
  EXPECT_EQ(seq_model.output_mask()[3], 0.0f);
  seq_model.compile("sgd", "mse");
  const double l_short = seq_model.evaluate(base, Tensor(Shape{2, 3, 2})).at("loss");
  const double l_padded = seq_model.evaluate(padded, Tensor(Shape{2, 5, 2})).at("loss");
  EXPECT_NEAR(l_short, l_padded, 1e-5);
}

}  // namespace
