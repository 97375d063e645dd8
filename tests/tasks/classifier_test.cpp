// The classifier pipeline (recur/tasks/classifier.hpp): the layers it builds for each input
// form and option, training to a perfect score on a separable toy set with the majority-class
// baseline beside it, the callbacks (a stop request is reported as an interruption), and a
// checkpoint that does not fit the run refused on resume.
#include "recur/tasks/classifier.hpp"

#include <gtest/gtest.h>

#include "support/expect_error.hpp"

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"

namespace {

using recur::tasks::ClassifierInput;
using Names = std::vector<std::string>;

using recur::test::expect_error;

// 60 rows: class "x" is a run of A's, class "y" a run of C's (lengths 3 to 5); 40 x, 20 y.
recur::CsvTable toy() {
  std::string text = "label,seq\n";
  for (int i = 0; i < 60; ++i) {
    const bool x = i % 3 != 2;
    text += std::string(x ? "x," : "y,") + std::string(3 + i % 3, x ? 'A' : 'C') + "\n";
  }
  return recur::parse_csv(text, "toy.csv");
}

TEST(TaskClassifier, MakeRecurrentLayerKnowsThreeNames) {
  EXPECT_EQ(recur::tasks::make_recurrent_layer("gru", 3, false)->type(), "GRU");
  EXPECT_EQ(recur::tasks::make_recurrent_layer("simple_rnn", 3, false)->type(), "SimpleRNN");
  EXPECT_EQ(recur::tasks::make_recurrent_layer("lstm", 3, true)->type(), "Bidirectional");
  expect_error<recur::ValueError>([] { recur::tasks::make_recurrent_layer("rnn", 3, false); },
                                  {"lstm, gru or simple_rnn", "\"rnn\""});
}

TEST(TaskClassifier, BuildsTheLayersEachFormNeeds) {
  const recur::CsvTable t = toy();
  recur::tasks::ClassifierOptions o;
  o.units = 5;
  // Padded one-hot: Masking, LSTM, pooling, Dense.
  const ClassifierInput onehot = recur::tasks::sequence_input(t, "seq", 0);
  recur::tasks::Classifier a = recur::tasks::build_classifier(onehot, 2, o);
  EXPECT_EQ(a.architecture, "LSTM(5) + average pooling");
  ASSERT_EQ(a.model.size(), 4u);
  EXPECT_EQ(a.model.layer(0).type(), "Masking");
  EXPECT_EQ(a.model.layer(2).type(), "GlobalAveragePooling1D");
  EXPECT_EQ(a.model.input_shape(), (recur::Shape{5, 2}));
  EXPECT_EQ(a.model.output_shape(), (recur::Shape{2}));
  // Ids: an Embedding; Bidirectional GRU from the last output.
  o.layer = "gru";
  o.bidirectional = true;
  o.pooling = "none";
  recur::tasks::Classifier b = recur::tasks::build_classifier(recur::tasks::sequence_input(t, "seq", 3), 2, o);
  EXPECT_EQ(b.architecture, "Bidirectional(GRU(5))");
  ASSERT_EQ(b.model.size(), 3u);
  EXPECT_EQ(b.model.layer(0).type(), "Embedding");
  EXPECT_EQ(b.model.input_shape(), (recur::Shape{5}));
  o.pooling = "mean";
  expect_error<recur::ValueError>([&] { recur::tasks::build_classifier(onehot, 2, o); },
                                  {"pooling must be none, max or average", "\"mean\""});
}

TEST(TaskClassifier, LearnsASeparableSetAndScoresItBesideTheMajorityClass) {
  const recur::CsvTable t = toy();
  const auto labels = recur::tasks::read_class_labels(t, "label");
  ClassifierInput in = recur::tasks::sequence_input(t, "seq", 0);
  const auto split = recur::tasks::split_rows(t, &in, labels.ids, 3, 0.25);
  recur::tasks::ClassifierOptions o;
  o.units = 6;
  o.dropout = 0;
  o.learning_rate = 0.05f;
  o.seed = 3;
  recur::tasks::Classifier c = recur::tasks::build_classifier(in, 2, o);
  recur::tasks::ClassifierTrainOptions to;
  to.epochs = 40;
  to.patience = 40;
  to.batch_size = 8;
  to.validation_split = 0;
  int epochs_seen = 0;
  to.on_epoch_end = [&](const recur::EpochLogs&) { return ++epochs_seen < 40; };
  const auto tr = recur::tasks::train_classifier(c.model, split.x_train, split.y_train, to);
  EXPECT_EQ(tr.epochs_run, epochs_seen);
  EXPECT_EQ(tr.history.train_samples, split.n_train);
  EXPECT_TRUE(std::isfinite(tr.final_loss));
  EXPECT_EQ(tr.final_val_loss, 0.0);  // no validation rows
  const auto e = recur::tasks::evaluate_classifier(c.model, split, 2);
  EXPECT_EQ(e.accuracy, 1.0);
  EXPECT_EQ(e.majority, 0u);  // "x" is two thirds of the rows
  std::size_t x_rows = 0, total = 0;
  for (std::size_t i = 0; i < split.n_test; ++i) x_rows += split.y_test[i] == 0.0f;
  EXPECT_DOUBLE_EQ(e.majority_accuracy, static_cast<double>(x_rows) / static_cast<double>(split.n_test));
  for (const auto& row : e.confusion)
    for (std::size_t n : row) total += n;
  EXPECT_EQ(total, split.n_test);
  EXPECT_EQ(e.confusion[0][1] + e.confusion[1][0], 0u);
  ASSERT_EQ(e.predicted.size(), split.n_test);
  EXPECT_EQ(e.probabilities.shape(), (recur::Shape{split.n_test, 2}));
  expect_error<recur::ShapeError>([&] { recur::tasks::evaluate_classifier(c.model, split, 3); },
                                  {"expected (3,)"});
}

TEST(TaskClassifier, AStopRequestIsAnInterruptionAndAForeignCheckpointIsRefused) {
  const recur::CsvTable t = toy();
  const auto labels = recur::tasks::read_class_labels(t, "label");
  ClassifierInput in = recur::tasks::sequence_input(t, "seq", 0);
  const auto split = recur::tasks::split_rows(t, &in, labels.ids, 3, 0.25);
  recur::tasks::ClassifierOptions o;
  o.units = 3;
  recur::tasks::Classifier c = recur::tasks::build_classifier(in, 2, o);
  recur::tasks::ClassifierTrainOptions to;
  to.epochs = 10;
  to.checkpoint_path = testing::TempDir() + "classifier_test_checkpoint.recur";
  std::filesystem::remove(to.checkpoint_path);
  to.on_epoch_end = [](const recur::EpochLogs& logs) { return logs.epoch < 3; };
  const auto tr = recur::tasks::train_classifier(c.model, split.x_train, split.y_train, to);
  EXPECT_TRUE(tr.interrupted);
  EXPECT_EQ(tr.epochs_run, 3);
  ASSERT_TRUE(std::filesystem::exists(to.checkpoint_path));
  // The checkpoint holds 3 epochs; a run of 2 cannot continue it.
  recur::tasks::Classifier fresh = recur::tasks::build_classifier(in, 2, o);
  to.epochs = 2;
  to.resume = true;
  to.on_epoch_end = nullptr;
  expect_error<recur::ModelFormatError>(
      [&] { recur::tasks::train_classifier(fresh.model, split.x_train, split.y_train, to); },
      {"does not fit this run", "3 epochs done of 2"});
  std::filesystem::remove(to.checkpoint_path);
}

}  // namespace
