// Checkpoints and resume (issue 11): a fit resumed from the checkpoint of any epoch ends with the
// weights of the uninterrupted run, bit for bit - dropout masks, shuffling, Adam's moments,
// ReduceLROnPlateau's reductions and EarlyStopping's best weights included.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "recur/callbacks/callbacks.hpp"
#include "recur/core/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/model/sequential.hpp"
#include "support/gradcheck.hpp"

namespace {

namespace fs = std::filesystem;
using recur::Tensor;

void make_data(Tensor& x, Tensor& y) {
  const std::size_t n = 80, t = 6, f = 2;
  x = Tensor({n, t, f}, recur::test::to_float(recur::test::random_values(n * t * f, 7)));
  y = Tensor({n, 1});
  for (std::size_t i = 0; i < n; ++i) y[i] = x.at({i, t - 1, 0}) - 0.5f * x.at({i, 0, 1});
}

recur::Sequential make_model() {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(8).dropout(0.1f).recurrent_dropout(0.1f)));
  m.add(recur::Dropout(0.2f));
  m.add(recur::Dense(1));
  m.build({6, 2}, 3);
  m.compile("adam", "mse");
  return m;
}

// The run's callbacks, fresh: early stopping with best weights, learning-rate reductions, and a
// checkpoint with the training state after every epoch.
std::vector<std::shared_ptr<recur::Callback>> callbacks(const std::string& pattern) {
  return {std::make_shared<recur::EarlyStopping>(
              recur::EarlyStoppingOptions().patience(4).restore_best_weights(true)),
          std::make_shared<recur::ReduceLROnPlateau>(recur::ReduceLROnPlateauOptions().patience(1).factor(0.5)),
          std::make_shared<recur::ModelCheckpoint>(recur::ModelCheckpointOptions(pattern).save_training_state(true))};
}

recur::FitOptions options(const std::string& pattern) {
  return recur::FitOptions().epochs(25).batch_size(16).validation_split(0.25).seed(11).callbacks(callbacks(pattern));
}

bool bit_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

TEST(Resume, FromEveryEpochsCheckpointTheWeightsAreBitIdentical) {
  const fs::path dir = fs::temp_directory_path() / "recur_resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string pattern = (dir / "ckpt-{epoch}.recur").string();
  Tensor x, y;
  make_data(x, y);
  recur::Sequential full = make_model();
  const recur::History h = full.fit(x, y, options(pattern));
  const int epochs = static_cast<int>(h.epochs());
  ASSERT_GE(epochs, 5);
  const std::vector<Tensor> want = full.get_weights();

  for (int k = 1; k <= epochs; ++k) {
    recur::TrainingState state;
    recur::Sequential m = recur::Sequential::load((dir / ("ckpt-" + std::to_string(k) + ".recur")).string(), nullptr, &state);
    EXPECT_EQ(state.epochs_done, k);
    const recur::History resumed =
        m.fit(x, y, options((dir / "again-{epoch}.recur").string()).resume_from(std::make_shared<recur::TrainingState>(state)));
    EXPECT_TRUE(bit_equal(m.get_weights(), want)) << "resumed after epoch " << k << " of " << epochs;
    EXPECT_EQ(resumed.history, h.history) << "resumed after epoch " << k;
  }
  fs::remove_all(dir);
}

TEST(Resume, AStateThatDoesNotFitIsRefused) {
  const fs::path dir = fs::temp_directory_path() / "recur_resume_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string pattern = (dir / "c-{epoch}.recur").string();
  Tensor x, y;
  make_data(x, y);
  recur::Sequential m = make_model();
  m.fit(x, y, options(pattern).epochs(2));
  recur::TrainingState state;
  const std::string path = (dir / "c-2.recur").string();
  recur::Sequential loaded = recur::Sequential::load(path, nullptr, &state);
  // Other callbacks than the run had.
  try {
    loaded.fit(x, y, recur::FitOptions().epochs(3).resume_from(std::make_shared<recur::TrainingState>(state)));
    ADD_FAILURE() << "resumed with no callbacks";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the state has 3 callbacks, fit was given 0"), std::string::npos) << e.what();
  }
  // A damaged state: a slot tensor renamed. The checksum is valid, the state is not.
  recur::ModelFileContents c = recur::read_model_file(path);
  for (auto& t : c.tensors)
    if (t.name == "training/optimizer/1/0") t.name = "training/optimizer/1/9";
  recur::write_model_file(path, c);
  try {
    recur::Sequential::load(path, nullptr, &state);
    ADD_FAILURE() << "a damaged state loaded";
  } catch (const recur::ModelFormatError& e) {
    EXPECT_NE(std::string(e.what()).find("training state is damaged"), std::string::npos) << e.what();
  }
  // A plain model is not a checkpoint; a checkpoint is a plain model to load and load_weights.
  EXPECT_NO_THROW(recur::Sequential::load(path));
  EXPECT_NO_THROW(m.load_weights(path));
  m.save(path);
  EXPECT_THROW(recur::Sequential::load(path, nullptr, &state), recur::ModelFormatError);
  fs::remove_all(dir);
}

}  // namespace
