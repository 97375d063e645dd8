// Issue 11, end to end: outputs committed as one unit (crash injection at every durable step),
// the lock against a second run, planted symlinks, files carried over, Ctrl-C, and crafted
// model files through `recur predict`.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "support/cli.hpp"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/model/sequential.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

using recur::test::CliRun;
CliRun run(const std::string& args, const std::string& prefix = "") { return recur::test::run_cli(args, prefix); }

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("recur_rel_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file of a folder (name -> bytes); empty when the folder does not exist.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = read_all(e.path());
  return files;
}

void restore(const fs::path& dir, const std::map<std::string, std::string>& files) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [name, bytes] : files) std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::size_t staging_leftovers(const fs::path& parent) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(parent))
    if (e.path().filename().string().find(".staging.") != std::string::npos) ++n;
  return n;
}

const std::string kFast = "forecast --search off --ensemble 1 --epochs 20 --quiet";

TEST(Reliability, AKillAtEveryDurableStepLeavesTheOldRunOrTheNewNeverAMix) {
  const fs::path parent = fresh_dir("crash");
  const fs::path out = parent / "out";
  ASSERT_EQ(run(kFast + " --seed 1 --output " + out.string()).code, 0);
  const auto old_run = snapshot(out);
  ASSERT_EQ(old_run.size(), 4u);  // model, CSV, two plots
  const fs::path ref = parent / "ref";
  ASSERT_EQ(run(kFast + " --seed 2 --output " + ref.string()).code, 0);
  const auto new_run = snapshot(ref);
  ASSERT_NE(old_run.at("model.recur"), new_run.at("model.recur"));

  int killed = 0;
  for (int n = 1; n < 100; ++n) {
    restore(out, old_run);
    const CliRun r = run(kFast + " --seed 2 --output " + out.string(), "RECUR_FAULT_AT=" + std::to_string(n));
    const auto left = snapshot(out);
    if (r.code == 0) {
      EXPECT_EQ(left, new_run) << "the uninterrupted run";
      break;
    }
    ASSERT_EQ(r.code, 86) << "step " << n << ": " << r.out;
    ++killed;
    EXPECT_TRUE(left == old_run || left == new_run)
        << "killed at durable step " << n << ": the output folder holds a mix of two runs";
  }
  // Every file's write, fsync and rename, the folders' fsyncs and the swap: well over 10 steps.
  EXPECT_GE(killed, 10);
  // The staging folders of killed runs are removed by the next run.
  ASSERT_EQ(run(kFast + " --seed 2 --output " + out.string(), "RECUR_FAULT_AT=3").code, 86);
  EXPECT_GE(staging_leftovers(parent), 1u);
  ASSERT_EQ(run(kFast + " --seed 2 --output " + out.string()).code, 0);
  EXPECT_EQ(staging_leftovers(parent), 0u);
  EXPECT_EQ(snapshot(out), new_run);
}

TEST(Reliability, ASecondRunIntoTheSameFolderIsRefusedWhileTheFirstHoldsIt) {
  const fs::path parent = fresh_dir("lock");
  const fs::path out = parent / "out";
  {
    recur::OutputFolder first(out.string());  // another run, in the middle of its work
    const CliRun r = run(kFast + " --output " + out.string());
    EXPECT_EQ(r.code, 4) << r.out;
    EXPECT_NE(r.out.find("another recur run is writing to"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out / "model.recur"));
  }
  EXPECT_EQ(run(kFast + " --output " + out.string()).code, 0);
  EXPECT_TRUE(fs::exists(out / "model.recur"));
  // predict writes beside the model: refused while a run holds the folder (the swap would lose
  // its file), fine otherwise.
  const std::string predict = "predict --model " + (out / "model.recur").string();
  {
    recur::OutputFolder running(out.string());
    const CliRun r = run(predict);
    EXPECT_EQ(r.code, 4) << r.out;
    EXPECT_NE(r.out.find("another recur run is writing to"), std::string::npos) << r.out;
  }
  EXPECT_EQ(run(predict).code, 0);
  EXPECT_TRUE(fs::exists(out / "predictions.csv"));
}

TEST(Reliability, PlantedSymlinksAreNeverFollowedAndUserFilesAreKept) {
  const fs::path parent = fresh_dir("symlink");
  const fs::path out = parent / "out";
  const fs::path victim = parent / "victim.txt";
  std::ofstream(victim) << "precious";
  fs::create_directories(out);
  fs::create_symlink(victim, out / "forecast.csv");
  CliRun r = run(kFast + " --output " + out.string());
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("not a plain file"), std::string::npos) << r.out;
  EXPECT_EQ(read_all(victim), "precious");

  // A user's own file in the output folder survives the run (carried over to the new folder).
  fs::remove(out / "forecast.csv");
  std::ofstream(out / "notes.txt") << "my notes";
  r = run(kFast + " --output " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_all(out / "notes.txt"), "my notes");
  EXPECT_TRUE(fs::exists(out / "model.recur"));

  // predict --output through a symlink replaces the link, never the file it points to.
  fs::create_symlink(victim, parent / "pred.csv");
  r = run("predict --model " + (out / "model.recur").string() + " --output " + (parent / "pred.csv").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_all(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(parent / "pred.csv"));

  // The working folder itself is never used as the output folder (it is replaced as a whole).
  r = run(kFast + " --output .", "cd " + out.string() + " &&");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("working folder"), std::string::npos) << r.out;
}

TEST(Reliability, CtrlCStopsTrainingWritesTheFilesAndExits130) {
  const fs::path dir = fresh_dir("sigint");
  const fs::path out = dir / "out", json = dir / "run.json";
  const std::string data = std::string(RECUR_DATA_DIR) + "/dna_splice.csv";
  const std::string cli = RECUR_CLI_PATH;
  // A long run (DNA, 200 epochs at most), interrupted after two seconds.
  std::vector<std::string> args = {cli, "classify", "--json", "--epochs", "200", "--patience", "200",
                                   "--data", data, "--label", "class", "--sequence", "sequence",
                                   "--output", out.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, json.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, cli.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto j = nlohmann::json::parse(read_all(json));
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_LT(j["epochs"].get<int>(), 200);
  EXPECT_NO_THROW(recur::Sequential::load((out / "model.recur").string()));
}

TEST(Reliability, CraftedClassifierMetadataIsRefusedBeforePredictSizesItsBuffers) {
  // A valid model file whose classifier settings lie: 12 input columns for a (3, 1) input. The
  // old predict wrote the 12 values of each row into a 3-value buffer.
  const fs::path dir = fresh_dir("metadata");
  recur::Sequential m;
  m.add(recur::LSTM(2));
  m.add(recur::Dense(recur::DenseOptions(2).activation("softmax")));
  m.build({3, 1});
  nlohmann::json columns = nlohmann::json::array(), zeros = nlohmann::json::array(), ones = nlohmann::json::array();
  std::ofstream csv(dir / "rows.csv");
  for (int c = 0; c < 12; ++c) {
    columns.push_back("c" + std::to_string(c));
    zeros.push_back(0.0);
    ones.push_back(1.0);
    csv << (c ? "," : "") << "c" << c;
  }
  csv << "\n";
  for (int r = 0; r < 50; ++r)
    for (int c = 0; c < 12; ++c) csv << (c ? "," : "") << 1e30 << (c == 11 ? "\n" : "");
  csv.close();
  nlohmann::json input = {{"form", "columns"}, {"columns", columns}, {"sequence", ""}, {"alphabet", ""},
                          {"timesteps", 3}, {"features", 1}, {"scaler", "none"}, {"offset", zeros}, {"scale", ones}};
  const nlohmann::json meta = {{"task", "classify"}, {"label", "y"}, {"classes", {"a", "b"}}, {"input", input}};
  m.save((dir / "m.recur").string(), meta.dump());
  CliRun r = run("predict --model " + (dir / "m.recur").string() + " --data " + (dir / "rows.csv").string());
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("12 columns for 3 x 1 inputs"), std::string::npos) << r.out;
  // An alphabet larger than the one-hot features (symbol k would be written at feature k).
  input = {{"form", "sequence"}, {"columns", nlohmann::json::array()}, {"sequence", "s"}, {"alphabet", "ACGTXYZ"},
           {"timesteps", 3}, {"features", 1}, {"scaler", "none"}, {"offset", nlohmann::json::array()},
           {"scale", nlohmann::json::array()}};
  m.save((dir / "m.recur").string(), nlohmann::json{{"task", "classify"}, {"label", "y"}, {"classes", {"a", "b"}},
                                                   {"input", input}}.dump());
  std::ofstream(dir / "seq.csv") << "s\nZZZ\n";
  r = run("predict --model " + (dir / "m.recur").string() + " --data " + (dir / "seq.csv").string());
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("the alphabet has 7 symbols for 1 features"), std::string::npos) << r.out;
}

TEST(Reliability, FoldersAndDevicesAsDataOrModelAreIoErrorsNotInternalErrors) {
  const fs::path dir = fresh_dir("folders");
  const std::vector<std::string> commands = {
      "forecast --data " + dir.string() + " --target y --output " + (dir / "o").string(),
      "predict --model " + dir.string(), "summary --model /dev/zero", "predict --model /dev/zero"};
  for (const std::string& args : commands) {
    const CliRun r = run(args);
    EXPECT_EQ(r.code, 4) << args << ": " << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
  }
}

TEST(Reliability, AClassifyRunKilledMidTrainingAndResumedEndsBitIdentical) {
  const fs::path dir = fresh_dir("resume_classify");
  const std::string args = "classify --data " + std::string(RECUR_DATA_DIR) +
                           "/digits.csv --label label --timesteps 8 --features 8 --epochs 8 --quiet --output ";
  ASSERT_EQ(run(args + (dir / "ref").string()).code, 0);
  const auto want = snapshot(dir / "ref");
  EXPECT_FALSE(fs::exists(dir / "ref.checkpoint")) << "a finished run leaves no checkpoint";
  // Killed at the 14th durable step: inside the checkpoint writes of the epochs (4 steps each).
  const fs::path out = dir / "out";
  ASSERT_EQ(run(args + out.string(), "RECUR_FAULT_AT=14").code, 86);
  ASSERT_TRUE(fs::exists(dir / "out.checkpoint" / "checkpoint.recur"));
  // The same command with --resume ends with the same files, byte for byte.
  const CliRun r = run(args + out.string() + " --resume " + (dir / "out.checkpoint").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(snapshot(out), want);
  EXPECT_FALSE(fs::exists(dir / "out.checkpoint"));
  // Another command cannot resume it.
  ASSERT_EQ(run(args + out.string(), "RECUR_FAULT_AT=14").code, 86);
  const CliRun other = run(args + out.string() + " --seed 3 --resume " + (dir / "out.checkpoint").string());
  EXPECT_EQ(other.code, 6) << other.out;
  EXPECT_NE(other.out.find("resume it with the same options"), std::string::npos) << other.out;
}

TEST(Reliability, AForecastRunKilledMidSearchAndResumedEndsBitIdentical) {
  const fs::path dir = fresh_dir("resume_forecast");
  const std::string args = "forecast --ensemble 2 --epochs 30 --quiet --output ";
  ASSERT_EQ(run(args + (dir / "ref").string()).code, 0);
  const auto want = snapshot(dir / "ref");
  // Killed after a few journaled trainings (each is a model file: 4 durable steps).
  const fs::path out = dir / "out";
  ASSERT_EQ(run(args + out.string(), "RECUR_FAULT_AT=23").code, 86);
  std::size_t journaled = 0;
  for (const auto& e : fs::directory_iterator(dir / "out.checkpoint"))
    journaled += e.path().filename().string().rfind("training-", 0) == 0;
  EXPECT_GE(journaled, 4u);
  // A damaged journal entry is trained again, not trusted and not fatal.
  for (const auto& e : fs::directory_iterator(dir / "out.checkpoint"))
    if (e.path().filename().string().rfind("training-", 0) == 0) {
      fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
      break;
    }
  const CliRun r = run(args + out.string() + " --resume " + (dir / "out.checkpoint").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(snapshot(out), want);
  EXPECT_FALSE(fs::exists(dir / "out.checkpoint"));
}

TEST(Reliability, APublishThatCannotSwapKeepsTheRunsFilesAndLosesNothing) {
  const fs::path parent = fresh_dir("publish_fail");
  const fs::path out = parent / "out";
  fs::create_directories(out);
  std::ofstream(out / "old.csv") << "old";
  {
    recur::OutputFolder folder(out.string());
    std::ofstream(folder.staged("model.recur")) << "new model";
    // Something that cannot be carried over appears during the run: a subfolder of the user's.
    fs::create_directories(out / "made_meanwhile");
    std::ofstream(out / "made_meanwhile" / "keep.txt") << "mine";
    try {
      folder.publish();
      ADD_FAILURE() << "published over a subfolder";
    } catch (const recur::IoError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("not a plain file"), std::string::npos) << m;
      EXPECT_NE(m.find("kept in"), std::string::npos) << m;
      EXPECT_TRUE(fs::exists(folder.staged("model.recur"))) << "the run's files are kept";
    }
  }
  EXPECT_EQ(read_all(out / "made_meanwhile" / "keep.txt"), "mine");
  EXPECT_EQ(read_all(out / "old.csv"), "old");
}

TEST(Reliability, AnOutputFolderMovedAsideByACrashIsMovedBack) {
  // The fallback publish (no RENAME_EXCHANGE) moves the old folder aside first; a crash right
  // then leaves no output folder. The next run moves it back instead of deleting it.
  const fs::path parent = fresh_dir("previous");
  fs::create_directories(parent / ".out.previous.Ab12Cd");
  std::ofstream(parent / ".out.previous.Ab12Cd" / "model.recur") << "last good";
  { recur::OutputFolder folder((parent / "out").string()); }
  EXPECT_EQ(read_all(parent / "out" / "model.recur"), "last good");
}

TEST(Reliability, ThePublishedFolderKeepsItsModeAndFilesFollowTheUmask) {
  const fs::path parent = fresh_dir("mode");
  const fs::path out = parent / "out";
  fs::create_directories(out);
  fs::permissions(out, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ASSERT_EQ(run(kFast + " --output " + out.string(), "umask 027 &&").code, 0);
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  EXPECT_EQ(fs::status(out / "model.recur").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST(Reliability, ArgumentsThatAreNotUtf8AndCellsThatLookLikeFormulas) {
  const fs::path dir = fresh_dir("bytes");
  // A Latin-1 folder name (not UTF-8): the checkpoint's job file must still be written.
  const CliRun r = run(kFast + " --output '" + (dir / "caf\xe9").string() + "'");
  EXPECT_EQ(r.code, 0) << r.out;
  // Classifier labels that a spreadsheet would run, or that hold a comma.
  std::ofstream csv(dir / "labels.csv");
  csv << "a,b,label\n";
  for (int i = 0; i < 60; ++i) csv << i % 7 << "," << (i * 3) % 5 << "," << (i % 2 ? "=1+HYPERLINK(\"x\")" : "\"x,y\"") << "\n";
  csv.close();
  const CliRun c = run("classify --data " + (dir / "labels.csv").string() +
                       " --label label --epochs 2 --quiet --output " + (dir / "c").string());
  ASSERT_EQ(c.code, 0) << c.out;
  const std::string text = read_all(dir / "c" / "test_predictions.csv");
  EXPECT_EQ(text.find(",=1"), std::string::npos) << text;
  EXPECT_NE(text.find("'=1+HYPERLINK"), std::string::npos) << text;
  EXPECT_NE(text.find("\"x,y\""), std::string::npos) << text;
  // Octal and negative values for integer flags are refused.
  EXPECT_EQ(run(kFast + " --epochs 010 --output " + (dir / "o").string()).code, 105);
  EXPECT_EQ(run(kFast + " --seed -1 --output " + (dir / "o").string()).code, 105);
}

TEST(Reliability, MetadataOfTheWrongTypeIsAModelFormatError) {
  const fs::path dir = fresh_dir("meta_types");
  recur::Sequential m;
  m.add(recur::LSTM(2));
  m.add(recur::Dense(1));
  m.build({3, 1});
  for (const std::string& meta : {std::string(R"({"task": 5})"), std::string(R"({"task": "forecast", "format_version": "2"})")}) {
    m.save((dir / "m.recur").string(), meta);
    for (const std::string& cmd : {"predict --model " + (dir / "m.recur").string(), "summary --model " + (dir / "m.recur").string()}) {
      const CliRun r = run(cmd);
      EXPECT_EQ(r.code, 5) << cmd << " with " << meta << ": " << r.out;
      EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
    }
  }
}

}  // namespace
