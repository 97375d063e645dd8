#include "recur/callbacks/callbacks.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "recur/core/error.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/model/sequential.hpp"
#include "support/gradcheck.hpp"

namespace {

recur::Sequential small_model() {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(4)));
  m.add(recur::Dense(1));
  m.build({3, 1}, 2);
  m.compile("adam", "mse");
  return m;
}

void data(recur::Tensor& x, recur::Tensor& y) {
  x = recur::Tensor({32, 3, 1}, recur::test::to_float(recur::test::random_values(96, 5)));
  y = recur::Tensor({32, 1}, recur::test::to_float(recur::test::random_values(32, 6)));
}

recur::EpochLogs logs(int epoch, double val_loss) {
  recur::EpochLogs l;
  l.epoch = epoch;
  l.values = {{"loss", 1.0}, {"val_loss", val_loss}};
  return l;
}

TEST(EarlyStopping, StopsAfterPatienceAndRestoresTheBestEpoch) {
  recur::Sequential m = small_model();
  recur::EarlyStopping es(recur::EarlyStoppingOptions().patience(2).restore_best_weights(true));
  es.on_train_begin(m);
  EXPECT_TRUE(es.on_epoch_end(m, logs(1, 0.5)));
  const auto best = m.get_weights();
  auto w = best;
  w[0].values()[0] += 1.0f;
  m.set_weights(w);
  EXPECT_TRUE(es.on_epoch_end(m, logs(2, 0.6)));   // wait 1
  EXPECT_FALSE(es.on_epoch_end(m, logs(3, 0.55)));  // wait 2 >= patience: stop
  EXPECT_EQ(es.stopped_epoch(), 3);
  EXPECT_EQ(es.best_epoch(), 1);
  es.on_train_end(m);
  EXPECT_EQ(m.get_weights()[0].values(), best[0].values());
}

TEST(EarlyStopping, AccuracyIsMaximizedAndMissingKeysAreNamed) {
  recur::Sequential m = small_model();
  recur::EarlyStopping es(recur::EarlyStoppingOptions().monitor("val_accuracy").patience(1));
  es.on_train_begin(m);
  recur::EpochLogs l;
  l.epoch = 1;
  l.values = {{"val_accuracy", 0.5}};
  EXPECT_TRUE(es.on_epoch_end(m, l));
  l.epoch = 2;
  l.values["val_accuracy"] = 0.7;  // an improvement when maximizing
  EXPECT_TRUE(es.on_epoch_end(m, l));
  l.values = {{"loss", 1.0}};
  try {
    es.on_epoch_end(m, l);
    FAIL();
  } catch (const recur::ValueError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("\"val_accuracy\""), std::string::npos) << s;
    EXPECT_NE(s.find("they have: loss"), std::string::npos) << s;
    EXPECT_NE(s.find("validation_split"), std::string::npos) << s;
  }
}

TEST(ReduceLROnPlateau, HalvesTheRateAfterPatienceEpochsWithoutImprovement) {
  recur::Sequential m = small_model();
  recur::ReduceLROnPlateau cb(recur::ReduceLROnPlateauOptions().factor(0.5).patience(2));
  cb.on_train_begin(m);
  const float lr0 = m.optimizer()->learning_rate();
  cb.on_epoch_end(m, logs(1, 1.0));
  cb.on_epoch_end(m, logs(2, 1.0));
  EXPECT_EQ(m.optimizer()->learning_rate(), lr0);
  cb.on_epoch_end(m, logs(3, 1.0));
  EXPECT_FLOAT_EQ(m.optimizer()->learning_rate(), lr0 * 0.5f);
  EXPECT_EQ(cb.reductions(), 1);
  EXPECT_THROW(recur::ReduceLROnPlateau(recur::ReduceLROnPlateauOptions().factor(1.5)), recur::ValueError);
}

TEST(Callbacks, FitRunsThemCheckpointsAndLogsAndStopsEarly) {
  recur::Tensor x, y;
  data(x, y);
  recur::Sequential m = small_model();
  const auto dir = std::filesystem::temp_directory_path() / "recur_callbacks";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto ckpt = std::make_shared<recur::ModelCheckpoint>(
      recur::ModelCheckpointOptions((dir / "m-{epoch}.recur").string()));
  auto log = std::make_shared<recur::CSVLogger>((dir / "log.csv").string());
  // A user's own callback: stop after epoch 3.
  struct StopAtThree : recur::Callback {
    bool on_epoch_end(recur::TrainingTarget&, const recur::EpochLogs& l) override { return l.epoch < 3; }
  };
  const auto h = m.fit(x, y, recur::FitOptions().epochs(10).validation_split(0.25).callbacks(
                                 {ckpt, log, std::make_shared<StopAtThree>()}));
  EXPECT_EQ(h.epochs(), 3u);
  EXPECT_EQ(ckpt->saved_epochs(), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(std::filesystem::exists(dir / "m-2.recur"));
  recur::Sequential::load((dir / "m-3.recur").string());
  std::ifstream in(dir / "log.csv");
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "epoch,loss,val_loss");
  int rows = 0;
  while (std::getline(in, row)) ++rows;
  EXPECT_EQ(rows, 3);
}

}  // namespace
