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
#include <limits>
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
#include "support/model_cases.hpp"
#include "support/tensors.hpp"

namespace {

using recur::Tensor;
using recur::test::expect_error;

using recur::test::activation_exists;
using recur::test::layers;
using recur::test::max_abs_diff;
using recur::test::random_tensor;
using recur::test::sequential;
using Case = recur::test::ModelCase;
using namespace recur::test;  // the case lists

std::string temp_path(const std::string& name) { return recur::test::temp_path("onnx", name); }

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
  for (const auto& names : {layer_activation_names(), cell_activation_names()})
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
  for (const Case& c : all_model_cases()) {
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
  // A FLOAT initializer declaring `dims`, with no values yet (hostile cases add what they lie with).
  ::onnx::TensorProto* bare_init(const std::string& name, std::vector<std::int64_t> dims) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(1);
    for (auto d : dims) t->add_dims(d);
    return t;
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
    b.bare_init("huge", {1000000, 1000000})->set_raw_data(std::string(4, '\0'));
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

// Graphs that fuzz_onnx (fuzz/fuzz_foreign_model.cpp) found reaching undefined behaviour, and
// their kin: extents from the file that would overflow int64 arithmetic.
::onnx::TensorProto* int64_init(OnnxBuilder& b, const std::string& name, std::vector<std::int64_t> values) {
  auto* t = b.g->add_initializer();
  t->set_name(name);
  t->set_data_type(7);  // INT64
  t->add_dims(static_cast<std::int64_t>(values.size()));
  for (std::int64_t v : values) t->add_int64_data(v);
  return t;
}

TEST(OnnxImport, HostileExtentsAreRefusedBeforeTheyOverflow) {
  const std::string E500 = recur::codes::kModelFormat, E21 = recur::codes::kUnsupportedImport;
  {
    // Found by fuzz_onnx: Tile repeats of 2^62 on a data axis (the product with the extent
    // overflowed). Only a unit axis can grow into a RepeatVector.
    OnnxBuilder b;
    b.input("X", {2, 3, 2});
    b.output("Y");
    int64_init(b, "repeats", {1, 1, std::int64_t{1} << 62});
    b.node("Tile", {"X", "repeats"}, {"Y"}, "tile");
    const std::string p = b.save("tile_overflow.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"'tile' (Tile)", "RepeatVector"});
  }
  {
    // A unit axis repeated 2^40 times: beyond what a RepeatVector may repeat.
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    int64_init(b, "axes", {1});
    int64_init(b, "repeats", {1, std::int64_t{1} << 40, 1});
    b.node("Unsqueeze", {"X", "axes"}, {"U"}, "unsqueeze");
    b.node("Tile", {"U", "repeats"}, {"Y"}, "tile");
    const std::string p = b.save("tile_huge.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"'tile' (Tile)", "1099511627776 times", "at most 1048576"});
  }
  {
    // Flatten of extents whose product is 2^72.
    OnnxBuilder b;
    b.input("X", {2, 1 << 24, 1 << 24, 1 << 24});
    b.output("Y");
    b.node("Flatten", {"X"}, {"Y"}, "flat");
    const std::string p = b.save("flatten_overflow.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"'flat' (Flatten)", "more than 2147483648 features"});
  }
  {
    // A constant of a negative or huge extent (the folds add and subtract extents).
    for (std::int64_t extent : {std::int64_t{-5}, std::int64_t{1} << 62}) {
      OnnxBuilder b;
      b.input("X", {2, 3});
      b.output("Y");
      int64_init(b, "shape", {extent});
      b.node("ConstantOfShape", {"shape"}, {"Z"}, "zeros");
      b.node("Concat", {"Z", "Z"}, {"Y"}, "cat");
      const std::string p = b.save("const_extent.onnx");
      if (extent < 0)
        expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"'zeros' (ConstantOfShape)", "negative"});
      else
        expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                              {"'zeros' (ConstantOfShape)", "extents up to 2147483648"});
    }
  }
}

// Found by reading onnx_import.cpp after the fuzz findings (a helper's audit): inputs that
// reached an uncaught std::length_error, an erase(end()), an out-of-range index, a float cast
// beyond int64, and allocations a small file could multiply.
TEST(OnnxImport, HostileGraphsFromTheAuditAreRefused) {
  const std::string E500 = recur::codes::kModelFormat, E21 = recur::codes::kUnsupportedImport;
  {
    // 2^62 floats declared, 0 bytes of raw_data: count x width wrapped to 0 and matched.
    OnnxBuilder b;
    b.lstm();
    b.bare_init("wraps", {std::int64_t{1} << 62})->set_raw_data(std::string());
    const std::string p = b.save("wrapping_raw_data.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500,
                                          {"initializer 'wraps'", "values of 4 bytes", "holds 0 bytes"});
  }
  {
    // A 0 extent hiding 2^93 others (the folds compute strides from them).
    OnnxBuilder b;
    b.lstm();
    b.bare_init("hidden", {0, std::int64_t{1} << 31, std::int64_t{1} << 31, std::int64_t{1} << 31});
    const std::string p = b.save("zero_extent.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500,
                                          {"initializer 'hidden'", "more values than any file can hold"});
  }
  {
    // Zeros of 2^31 x 2^31 as a MatMul's weights: refused before the tensor is allocated.
    OnnxBuilder b;
    b.input("X", {2, 4});
    b.output("Y");
    int64_init(b, "shape", {std::int64_t{1} << 31, std::int64_t{1} << 31});
    b.node("ConstantOfShape", {"shape"}, {"W"}, "zeros");
    b.node("MatMul", {"X", "W"}, {"Y"}, "matmul");
    const std::string p = b.save("huge_zero_weights.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21,
                                          {"'zeros' (ConstantOfShape)", "values recur folds for this file"});
  }
  {
    // A float beyond int64 cast to INT64.
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    auto* c = b.node("Constant", {}, {"big"}, "big");
    auto* a = c->add_attribute();
    a->set_name("value_float");
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(1e30f);
    auto* cast = b.node("Cast", {"big"}, {"as_int"}, "cast");
    OnnxBuilder::attr_i(cast, "to", 7);
    b.node("Reshape", {"X", "as_int"}, {"Y"}, "reshape");
    const std::string p = b.save("cast_overflow.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E500, {"'cast' (Cast)", "cannot hold it"});
  }
  {
    // Zeros whose shape holds the batch placeholder twice, reshaped by a spec naming the
    // timesteps placeholder (libstdc++'s erase(end()) on the placeholders it matched).
    const std::int64_t B = std::numeric_limits<std::int64_t>::min() + 4099, T = B + 1;
    OnnxBuilder b;
    b.input("X", {2, 3});
    b.output("Y");
    int64_init(b, "shape", {B, B});
    int64_init(b, "spec", {T, -1});
    b.node("ConstantOfShape", {"shape"}, {"Z"}, "zeros");
    b.node("Reshape", {"Z", "spec"}, {"Y"}, "reshape");
    const std::string p = b.save("placeholder_reshape.onnx");
    EXPECT_THROW(recur::load_model(p), recur::ModelFormatError);
  }
  {
    // The final states of a bidirectional LSTM, unsqueezed and stacked, then one direction
    // taken: the stack kept the direction axis but not which node it belongs to.
    OnnxBuilder b;
    b.input("X", {3, 2, 1});
    b.init("W", {2, 16, 1});
    b.init("R", {2, 16, 4});
    b.output("Y");
    auto* lstm = b.node("LSTM", {"X", "W", "R"}, {"", "Y_h"}, "bilstm");
    auto* dir = lstm->add_attribute();
    dir->set_name("direction");
    dir->set_type(::onnx::AttributeProto::STRING);
    dir->set_s("bidirectional");
    OnnxBuilder::attr_i(lstm, "hidden_size", 4);
    int64_init(b, "axes", {0});
    int64_init(b, "index", {0});
    b.node("Unsqueeze", {"Y_h", "axes"}, {"U"}, "unsqueeze");
    b.node("Concat", {"U"}, {"C"}, "stack");
    OnnxBuilder::attr_i(b.g->mutable_node(b.g->node_size() - 1), "axis", 0);
    b.node("Gather", {"C", "index"}, {"Y"}, "gather");
    OnnxBuilder::attr_i(b.g->mutable_node(b.g->node_size() - 1), "axis", 1);
    const std::string p = b.save("stacked_directions.onnx");
    expect_error<recur::ModelFormatError>([&] { recur::load_model(p); }, E21, {"'stack' (Concat)", "directions"});
  }
}

// A producer name that is not UTF-8 (Latin-1 "café"; ONNX's protobuf is proto2, whose strings
// are not checked), kept in the model's notes of where it came from, does not stop the load.
TEST(OnnxImport, AProducerNameThatIsNotUtf8StillLoads) {
  OnnxBuilder b;
  b.lstm();
  b.model.set_producer_name("caf\xe9");
  b.model.set_producer_version("1.0\xff");
  const std::string path = b.save("latin1_producer.onnx");
  recur::Model m = recur::load_model(path);
  EXPECT_EQ(m.predict(random_tensor({2, 3, 2}, 40)).shape(), (recur::Shape{2, 4}));
}

TEST(OnnxImport, LoadWeightsFromOnnxIsRefusedWithAHint) {
  auto m = sequential(layers(recur::LSTM(3)), {4, 2}, 42);
  const std::string path = temp_path("weights.onnx");
  m.save(path);
  expect_error<recur::ModelFormatError>([&] { m.load_weights(path); }, {"load an ONNX model whole", "load_model"});
  std::filesystem::remove(path);
}

}  // namespace
