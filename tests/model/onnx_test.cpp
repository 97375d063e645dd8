// ONNX export and import (src/model/onnx_*.cpp, docs/onnx.md): every layer type through
// recur -> .onnx -> recur with the same predictions (1e-6), the refusals of both directions
// (RECUR-E0021 naming the layer or node, its class and the option), and hostile files (a clean
// ModelFormatError naming what is wrong, nothing allocated from what a file merely declares).
#include <gtest/gtest.h>

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <nlohmann/json.hpp>

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

namespace {

using recur::Tensor;
using recur::test::expect_error;

Tensor random_tensor(recur::Shape shape, unsigned seed, float scale = 1.0f) {
  const std::size_t n = recur::shape_size(shape);
  std::vector<float> v = recur::test::to_float(recur::test::random_values(n, seed));
  for (float& x : v) x *= scale;
  return Tensor(std::move(shape), std::move(v));
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("recur_onnx_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Every weight random (biases too, so that their mapping is tested).
void randomize(recur::Model& m, unsigned seed) {
  std::vector<Tensor> ws = m.get_weights();
  for (Tensor& w : ws) w = random_tensor(w.shape(), seed++, 0.6f);
  m.set_weights(ws);
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

recur::Sequential sequential(std::vector<std::unique_ptr<recur::Layer>> layers, const recur::Shape& input,
                             unsigned seed) {
  recur::Sequential s;
  for (auto& l : layers) s.add(std::move(l));
  s.build(input);
  randomize(s, seed);
  return s;
}

template <class... L>
std::vector<std::unique_ptr<recur::Layer>> layers(L... l) {
  std::vector<std::unique_ptr<recur::Layer>> v;
  (v.push_back(std::make_unique<L>(std::move(l))), ...);
  return v;
}

// A model and the inputs it is checked on.
struct Case {
  std::string name;
  std::shared_ptr<recur::Model> model;
  std::vector<Tensor> xs;
};

Case make_case(std::string name, recur::Sequential s, Tensor x) {
  return {std::move(name), std::make_shared<recur::Sequential>(std::move(s)), {std::move(x)}};
}
Case make_case(std::string name, recur::Model m, std::vector<Tensor> xs) {
  return {std::move(name), std::make_shared<recur::Model>(std::move(m)), std::move(xs)};
}

// ---- the models: every layer type and option ONNX export knows ---------------------------------

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

const std::vector<std::string> kLayerActivationNames = {
    "linear", "relu", "tanh",     "sigmoid",  "softmax",    "hard_sigmoid", "legacy_hard_sigmoid",
    "elu",    "selu", "softplus", "softsign", "exponential"};
// The activations a recurrent cell can use that ONNX's recurrent nodes take.
const std::vector<std::string> kCellActivationNames = {
    "sigmoid", "tanh", "relu", "linear", "hard_sigmoid", "legacy_hard_sigmoid", "elu", "softsign", "softplus"};

std::vector<Case> activation_cases() {
  std::vector<Case> c;
  for (const std::string& a : kLayerActivationNames) {
    if (!activation_exists(a)) continue;
    c.push_back(
        make_case("dense_" + a,
                  sequential(layers(recur::Dense(recur::DenseOptions(4).activation(a)), recur::Activation(a)), {3}, 27),
                  random_tensor({5, 3}, 28, 2.0f)));
  }
  for (const std::string& a : kCellActivationNames) {
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

std::vector<Case> all_cases() {
  std::vector<Case> all;
  for (auto f : {lstm_cases, gru_cases, simple_rnn_cases, go_backwards_cases, bidirectional_cases, state_cases,
                 embedding_cases, merge_cases, masking_cases, activation_cases, any_length_cases, shared_layer_cases})
    for (Case& c : f()) all.push_back(std::move(c));
  return all;
}

// recur -> .onnx -> recur: the same predictions, and the reloaded model exports again.
void round_trip(const Case& c, float tol = 1e-6f) {
  SCOPED_TRACE(c.name);
  recur::Model& model = *c.model;
  const std::vector<Tensor> want = model.predict(c.xs);
  const std::string path = temp_path(c.name + ".onnx");
  model.save(path);
  recur::Model back = recur::load_model(path);
  const std::vector<Tensor> got = back.predict(c.xs);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_LE(max_abs_diff(got[k], want[k]), tol) << "output " << k;
  EXPECT_EQ(back.input_names(), model.input_names());
  EXPECT_EQ(back.output_names(), model.output_names());
  const std::string again = temp_path(c.name + "_again.onnx");
  back.save(again);
  recur::Model third = recur::load_model(again);
  const std::vector<Tensor> got3 = third.predict(c.xs);
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_LE(max_abs_diff(got3[k], want[k]), tol) << "output " << k;
  std::filesystem::remove(path);
  std::filesystem::remove(again);
}

void round_trips(const std::vector<Case>& cases) {
  for (const Case& c : cases) round_trip(c);
}

// ---- round trips -------------------------------------------------------------------------------

TEST(OnnxRoundTrip, Lstm) { round_trips(lstm_cases()); }
TEST(OnnxRoundTrip, GruBothResetAfter) { round_trips(gru_cases()); }
TEST(OnnxRoundTrip, SimpleRnnAndRnnOfCell) { round_trips(simple_rnn_cases()); }
TEST(OnnxRoundTrip, GoBackwards) { round_trips(go_backwards_cases()); }
TEST(OnnxRoundTrip, BidirectionalEveryMergeMode) { round_trips(bidirectional_cases()); }
TEST(OnnxRoundTrip, InitialStateAndReturnState) { round_trips(state_cases()); }
TEST(OnnxRoundTrip, EmbeddingAndDropout) { round_trips(embedding_cases()); }
TEST(OnnxRoundTrip, MergesRepeatVectorReshapeFlattenPooling) { round_trips(merge_cases()); }
TEST(OnnxRoundTrip, MaskingWhoseMaskReachesNoRecurrentLayer) { round_trips(masking_cases()); }
TEST(OnnxRoundTrip, SharedLayers) { round_trips(shared_layer_cases()); }
TEST(OnnxRoundTrip, NoneTimesteps) {
  std::vector<Case> c = any_length_cases();
  round_trip(c[0]);
  // The reloaded model takes any length, as the original.
  const std::string path = temp_path("any_length.onnx");
  c[0].model->save(path);
  recur::Model back = recur::load_model(path);
  const Tensor x = random_tensor({3, 4, 3}, 40);
  EXPECT_LE(max_abs_diff(back.predict(x), c[0].model->predict(x)), 1e-6f);
  std::filesystem::remove(path);
}
TEST(OnnxRoundTrip, EveryActivation) {
  for (const auto& names : {kLayerActivationNames, kCellActivationNames})
    for (const std::string& a : names)
      if (!activation_exists(a)) ADD_FAILURE() << "recur has no activation \"" << a << "\" to export";
  round_trips(activation_cases());
}

// Not a test of its own: with RECUR_ONNX_EXPORT_DIR set, writes every case as <name>.onnx and
// <name>.json (its inputs and recur's outputs) for scripts/onnx_runtime_check.sh, which runs
// them in onnxruntime.
TEST(OnnxRuntimeCases, WriteForOnnxRuntime) {
  const char* dir = std::getenv("RECUR_ONNX_EXPORT_DIR");
  if (!dir || !*dir) GTEST_SKIP() << "set RECUR_ONNX_EXPORT_DIR to write the onnxruntime cases";
  std::filesystem::create_directories(dir);
  auto array = [](const Tensor& t) {
    nlohmann::json j = {{"dims", t.shape()}, {"values", t.values()}};
    return j;
  };
  for (const Case& c : all_cases()) {
    recur::Model& m = *c.model;
    m.save(std::string(dir) + "/" + c.name + ".onnx");
    const std::vector<Tensor> ys = m.predict(c.xs);
    nlohmann::json j = {{"inputs", nlohmann::json::object()}, {"outputs", nlohmann::json::object()}};
    for (std::size_t k = 0; k < c.xs.size(); ++k) j["inputs"][m.input_names()[k]] = array(c.xs[k]);
    for (std::size_t k = 0; k < ys.size(); ++k) j["outputs"][m.output_names()[k]] = array(ys[k]);
    std::ofstream(std::string(dir) + "/" + c.name + ".json") << j.dump();
  }
}

TEST(OnnxRoundTrip, MetadataSurvives) {
  auto m = sequential(layers(recur::LSTM(3), recur::Dense(1)), {4, 2}, 33);
  const std::string path = temp_path("metadata.onnx");
  m.save(path, R"({"task": "forecast", "lookback": 4})");
  std::string meta;
  recur::Model back = recur::Model::load(path, &meta);
  const auto j = nlohmann::json::parse(meta);
  EXPECT_EQ(j.at("task"), "forecast");
  EXPECT_EQ(j.at("lookback"), 4);
  EXPECT_EQ(j.at("onnx").at("inputs").at(0).at("name"), "lstm_input");
  std::filesystem::remove(path);
}

// The ONNX graph recur writes: opset 14, one native node per recurrent layer, layout 0, named
// inputs and outputs with a dynamic batch.
TEST(OnnxExport, GraphShape) {
  auto m = sequential(layers(recur::Bidirectional(recur::LSTM(recur::LstmOptions(4).return_sequences(true))),
                             recur::GRU(recur::GruOptions(3).go_backwards(true)), recur::Dense(2)),
                      {5, 3}, 34);
  const std::string path = temp_path("graph.onnx");
  m.save(path);
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromIstream(&in));
  EXPECT_EQ(model.opset_import(0).version(), 14);
  const auto& g = model.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), m.input_names()[0]);
  EXPECT_EQ(g.input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), m.layers().back()->name());
  int lstm = 0, gru = 0;
  for (const auto& n : g.node()) {
    if (n.op_type() == "LSTM") ++lstm;
    if (n.op_type() == "GRU") ++gru;
    for (const auto& a : n.attribute()) {
      if (a.name() == "layout") EXPECT_EQ(a.i(), 0);
      if (a.name() == "direction" && n.op_type() == "LSTM") EXPECT_EQ(a.s(), "bidirectional");
      if (a.name() == "direction" && n.op_type() == "GRU") EXPECT_EQ(a.s(), "reverse");
    }
  }
  EXPECT_EQ(lstm, 1);
  EXPECT_EQ(gru, 1);
  std::filesystem::remove(path);
}

// ---- export refusals ---------------------------------------------------------------------------

TEST(OnnxExport, RefusesWhatOnnxCannotExpress) {
  const std::string path = temp_path("refused.onnx");
  {
    auto x = recur::Input({4, 3}, "x", 2);
    auto y = recur::shared(recur::LSTM(recur::LstmOptions(3).stateful(true).name("memory")))(x);
    recur::Model m({x}, {y});
    expect_error<recur::ModelFormatError>([&] { m.save(path); }, recur::codes::kUnsupportedImport,
                                          {"LSTM 'memory'", "stateful", "initial_state"});
  }
  {
    auto m =
        sequential(layers(recur::Masking(0.0f, "pad"), recur::GRU(recur::GruOptions(3).name("reader"))), {4, 3}, 35);
    expect_error<recur::ModelFormatError>([&] { m.save(path); }, recur::codes::kUnsupportedImport,
                                          {"GRU 'reader'", "mask", "Masking 'pad'", "sequence_lens"});
  }
  {
    auto m = sequential(layers(recur::Embedding(recur::EmbeddingOptions(9, 3).mask_zero(true).name("ids")),
                               recur::Bidirectional(recur::LSTM(3), "concat", "both")),
                        {5}, 36);
    expect_error<recur::ModelFormatError>([&] { m.save(path); }, recur::codes::kUnsupportedImport,
                                          {"Bidirectional 'both'", "Embedding 'ids'", "mask_zero"});
  }
  {
    auto m = sequential(layers(recur::Masking(0.0f), recur::GlobalAveragePooling1D("pool")), {4, 3}, 37);
    expect_error<recur::ModelFormatError>([&] { m.save(path); }, recur::codes::kUnsupportedImport,
                                          {"GlobalAveragePooling1D 'pool'", "mask"});
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---- import: what recur refuses, and hostile files ---------------------------------------------

// A hand-made ModelProto: X (batch 2, T 3, F 2) -> one node -> Y.
struct OnnxBuilder {
  ::onnx::ModelProto model;
  ::onnx::GraphProto* g;
  OnnxBuilder() {
    model.set_ir_version(7);
    auto* op = model.add_opset_import();
    op->set_version(14);
    g = model.mutable_graph();
    g->set_name("hand_made");
  }
  void input(const std::string& name, std::vector<std::int64_t> dims) {
    auto* v = g->add_input();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    for (auto d : dims) v->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void output(const std::string& name) {
    auto* v = g->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  }
  ::onnx::TensorProto* init(const std::string& name, std::vector<std::int64_t> dims, float value = 0.1f) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(1);
    std::int64_t n = 1;
    for (auto d : dims) {
      t->add_dims(d);
      n *= d;
    }
    for (std::int64_t k = 0; k < n; ++k) t->add_float_data(value);
    return t;
  }
  ::onnx::NodeProto* node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                          const std::string& name) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : in) n->add_input(i);
    for (auto& o : out) n->add_output(o);
    return n;
  }
  static void attr_i(::onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_f(::onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  // X (T 3, batch 2, F 2) -> LSTM(hidden 4) -> Y_h.
  ::onnx::NodeProto* lstm(const std::string& name = "the_lstm") {
    input("X", {3, 2, 2});
    init("W", {1, 16, 2});
    init("R", {1, 16, 4});
    output("Y_h");
    return node("LSTM", {"X", "W", "R"}, {"", "Y_h"}, name);
  }
  std::string save(const std::string& name) const {
    const std::string path = temp_path(name);
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path;
  }
};

TEST(OnnxImport, ReadsAHandMadeLstm) {
  OnnxBuilder b;
  b.lstm();
  recur::Model m = recur::load_model(b.save("hand_lstm.onnx"));
  EXPECT_EQ(m.input_names(), std::vector<std::string>{"X"});
  const Tensor y = m.predict(random_tensor({2, 3, 2}, 40));
  EXPECT_EQ(y.shape(), (recur::Shape{2, 4}));
}

TEST(OnnxImport, RefusesWhatRecurCannotExpress) {
  const std::string E21 = recur::codes::kUnsupportedImport;
  {
    OnnxBuilder b;
    auto* n = b.lstm();
    b.init("B", {1, 32});
    b.init("P", {1, 12});
    n->add_input("B");
    n->add_input("");
    n->add_input("");
    n->add_input("");
    n->add_input("P");
    const std::string p = b.save("peephole.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"'the_lstm' (LSTM)", "peephole"});
  }
  {
    OnnxBuilder b;
    OnnxBuilder::attr_f(b.lstm(), "clip", 3.0f);
    const std::string p = b.save("clip.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"(LSTM)", "clip"});
  }
  {
    OnnxBuilder b;
    OnnxBuilder::attr_i(b.lstm(), "input_forget", 1);
    const std::string p = b.save("input_forget.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"input_forget"});
  }
  {
    OnnxBuilder b;
    auto* n = b.lstm();
    b.input("lens", {2});
    n->add_input("");
    n->add_input("lens");
    const std::string p = b.save("seq_lens.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"sequence_lens", "right-padded"});
  }
  {
    OnnxBuilder b;
    auto* n = b.lstm();
    auto* a = n->add_attribute();
    a->set_name("activations");
    a->set_type(::onnx::AttributeProto::STRINGS);
    for (const char* s : {"Sigmoid", "LeakyRelu", "LeakyRelu"}) a->add_strings(s);
    const std::string p = b.save("leaky.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"LeakyRelu", "Sigmoid, Tanh"});
  }
  {
    // A reverse LSTM's sequence output in input order: recur's go_backwards gives it reversed.
    OnnxBuilder b;
    b.input("X", {3, 2, 2});
    b.init("W", {1, 16, 2});
    b.init("R", {1, 16, 4});
    b.output("Y");
    auto* n = b.node("LSTM", {"X", "W", "R"}, {"Y"}, "back");
    auto* a = n->add_attribute();
    a->set_name("direction");
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s("reverse");
    const std::string p = b.save("reverse_y.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"graph output 'Y'", "go_backwards", "Slice"});
  }
  {
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    b.node("FooBar", {"X"}, {"Y"}, "mystery");
    const std::string p = b.save("unknown_op.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"'mystery' (FooBar)", "cannot express", "LSTM, GRU and RNN"});
  }
  {
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    auto* n = b.node("Loop", {"", "", "X"}, {"Y"}, "scan_loop");
    auto* a = n->add_attribute();
    a->set_name("body");
    a->set_type(::onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name("body");
    const std::string p = b.save("loop.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"'scan_loop' (Loop)", "subgraph", "control flow"});
  }
}

TEST(OnnxImport, HostileFiles) {
  const std::string E500 = recur::codes::kModelFormat;
  {
    // Truncated: the first 60% of a valid file.
    auto m = sequential(layers(recur::LSTM(4), recur::Dense(2)), {5, 3}, 41);
    const std::string path = temp_path("whole.onnx");
    m.save(path);
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = temp_path("truncated.onnx");
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() * 6 / 10);
    expect_error<recur::ModelFormatError>([&] { recur::load_model(cut); }, E500,
                                          {"truncated.onnx", "does not parse", "truncated"});
  }
  {
    // An initializer that claims 10^12 values and holds 4 bytes: refused before allocating.
    OnnxBuilder b;
    b.lstm();
    auto* t = b.g->add_initializer();
    t->set_name("huge");
    t->set_data_type(1);
    t->add_dims(1000000);
    t->add_dims(1000000);
    t->set_raw_data(std::string(4, '\0'));
    const std::string p = b.save("huge.onnx");
    expect_error<recur::ModelFormatError>(
        [&] { recur::load_model(p); }, E500,
        {"initializer 'huge'", "(1000000, 1000000)", "1000000000000 values", "4 bytes"});
  }
  {
    OnnxBuilder b;
    b.lstm();
    auto* t = b.g->mutable_initializer(0);
    t->clear_float_data();
    t->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* e = t->add_external_data();
    e->set_key("location");
    e->set_value("weights.bin");
    const std::string p = b.save("external.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, recur::codes::kUnsupportedImport,
                                          {"initializer 'W'", "external"});
  }
  {
    OnnxBuilder b;
    b.lstm();
    b.g->mutable_initializer(0)->set_float_data(3, NAN);
    const std::string p = b.save("nan.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, recur::codes::kNonFiniteData,
                                          {"non-finite", "LSTM"});
  }
  {
    OnnxBuilder b;
    b.lstm();
    auto* t = b.g->mutable_initializer(0);
    t->add_dims(-5);
    const std::string p = b.save("negative.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"initializer 'W'", "negative"});
  }
  {
    // Messages nested deeper than recur's limit (a graph attribute in a graph attribute ...).
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    ::onnx::GraphProto* g = b.g;
    for (int depth = 0; depth < 40; ++depth) {
      auto* n = g->add_node();
      n->set_op_type("If");
      auto* a = n->add_attribute();
      a->set_name("then_branch");
      a->set_type(::onnx::AttributeProto::GRAPH);
      g = a->mutable_g();
    }
    const std::string p = b.save("deep.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"nests messages", "64"});
  }
  {
    // Too many nodes.
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("X100000");
    for (int k = 0; k <= 100000; ++k)
      b.node("Identity", {"X" + (k ? std::to_string(k - 1) : std::string())}, {"X" + std::to_string(k)}, "");
    const std::string p = b.save("many.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"100001 nodes", "at most 100000"});
  }
  {
    // A node that reads a value nothing makes.
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    b.node("Relu", {"nowhere"}, {"Y"}, "lost");
    const std::string p = b.save("dangling.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500,
                                          {"'lost' (Relu)", "'nowhere'", "topological"});
  }
  {
    // Found by mutation: a Sum of nothing, a node with no output.
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    b.node("Sum", {}, {"Y"}, "empty_sum");
    const std::string p = b.save("empty_sum.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"'empty_sum' (Sum)", "0 inputs"});
    OnnxBuilder c;
    c.input("X", {2, 3});
    c.output("X");
    c.node("Relu", {"X"}, {}, "silent");
    const std::string q = c.save("no_output.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(q); }, E500, {"'silent' (Relu)", "no output"});
  }
  {
    // Not ONNX at all, though its first byte is a plausible field key.
    const std::string p = temp_path("junk.onnx");
    std::ofstream(p, std::ios::binary) << std::string("\x08\x07junk that is no protobuf at all \xff\xff\xff", 36);
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"not a recur model file"});
  }
  EXPECT_NO_THROW((void)0);
}

TEST(OnnxImport, LoadWeightsFromOnnxIsRefusedWithAHint) {
  auto m = sequential(layers(recur::LSTM(3)), {4, 2}, 42);
  const std::string path = temp_path("weights.onnx");
  m.save(path);
  expect_error<recur::ModelFormatError>([&] { m.load_weights(path); }, {"load an ONNX model whole", "load_model"});
  std::filesystem::remove(path);
}

}  // namespace
