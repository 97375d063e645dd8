// End-to-end tests of the `recur` binary: exit codes, files written, the baseline comparison,
// and the errors a user sees.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int code;
  std::string out;  // stdout and stderr together
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(RECUR_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("recur_cli_" + name);
  fs::remove_all(d);
  return d;
}

TEST(Cli, ForecastOnBundledDataBeatsBothBaselinesAndWritesFiles) {
  const fs::path dir = fresh_dir("forecast");
  const CliRun r = run("forecast --json --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["test_points"], 24);
  EXPECT_EQ(j["season"], 12);
  // The baselines are fixed by the data: naive 51.8, seasonal naive 50.0 (issue 2).
  EXPECT_NEAR(j["naive"]["rmse"].template get<double>(), 51.78, 0.01);
  EXPECT_NEAR(j["seasonal_naive"]["rmse"].template get<double>(), 49.99, 0.01);
  const double lstm = j["lstm"]["rmse"];
  EXPECT_LE(lstm, 35.0) << "the default LSTM must beat both baselines by 30%";
  EXPECT_TRUE(fs::exists(dir / "model.recur"));
  EXPECT_TRUE(fs::exists(dir / "forecast.svg"));
  std::ifstream csv(dir / "forecast.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "month,actual,lstm,naive,seasonal_naive");
  int lines = 0;
  for (std::string l; std::getline(csv, l);) ++lines;
  EXPECT_EQ(lines, 24);

  // Same seed, same result; the saved model predicts and summarizes.
  const CliRun again = run("forecast --json --output " + (dir / "again").string());
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(nlohmann::json::parse(again.out)["lstm"], j["lstm"]);
  const CliRun p = run("predict --model " + (dir / "model.recur").string() + " --output " +
                    (dir / "pred.csv").string());
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_NE(p.out.find("Wrote"), std::string::npos);
  const CliRun s = run("summary --model " + (dir / "model.recur").string());
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("lstm (LSTM)"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("lookback 12"), std::string::npos) << s.out;
}

TEST(Cli, HumanReportShowsBaselinesAndProgress) {
  const fs::path dir = fresh_dir("report");
  const CliRun r = run("forecast --epochs 3 --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  // Keras's progress format, one line per epoch when not on a terminal.
  EXPECT_NE(r.out.find("Epoch 1/3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12/12 [==============================] - "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" - loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" - val_loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("naive (last value)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seasonal naive (season 12, guessed)"), std::string::npos) << r.out;
}

TEST(Cli, BadCellIsAParseErrorWithExitCode3AndNoStackTrace) {
  const fs::path dir = fresh_dir("badcell");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "bad.csv");
    f << "t,y\n";
    for (int i = 0; i < 40; ++i) f << i << "," << (i == 17 ? std::string("N/A") : std::to_string(i)) << "\n";
  }
  const CliRun r = run("forecast --data " + (dir / "bad.csv").string() + " --target y --output " + dir.string());
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("bad.csv:19:4 (column \"y\"): expected a number, got \"N/A\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("terminate called"), std::string::npos);
  // The same file trains with --missing interpolate.
  const CliRun ok = run("forecast --quiet --epochs 2 --lookback 4 --test-size 5 --missing interpolate --data " +
                     (dir / "bad.csv").string() + " --target y --output " + dir.string());
  EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST(Cli, UnknownColumnAndBadOptionsAreValueErrors) {
  const fs::path dir = fresh_dir("badopts");
  const std::string data = std::string(RECUR_DATA_DIR) + "/airpassengers.csv";
  CliRun r = run("forecast --data " + data + " --target pasengers --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("Did you mean \"passengers\"?"), std::string::npos) << r.out;
  r = run("forecast --lookback 500 --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("lookback is too long"), std::string::npos) << r.out;
  r = run("forecast --learning-rate -1 --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--learning-rate must be > 0"), std::string::npos) << r.out;
  r = run("forecast --data " + data + " --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--target is required"), std::string::npos) << r.out;
  r = run("forecast --no-such-flag");
  EXPECT_EQ(r.code, 109) << r.out;  // CLI11's code for an unknown argument
}

TEST(Cli, CorruptModelIsAModelFormatErrorWithExitCode5) {
  const fs::path dir = fresh_dir("corrupt");
  fs::create_directories(dir);
  std::ofstream(dir / "m.recur") << "RECURMDL garbage";
  const CliRun r = run("summary --model " + (dir / "m.recur").string());
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("ModelFormatError"), std::string::npos) << r.out;
}

}  // namespace

namespace {

TEST(CliClassify, DigitsReachTheTargetAndThePredictRoundTrip) {
  const fs::path dir = fresh_dir("digits");
  const std::string data = std::string(RECUR_DATA_DIR) + "/digits.csv";
  const CliRun r = run("classify --json --data " + data + " --label label --timesteps 8 --features 8 --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["accuracy"].get<double>(), 0.95) << "issue 3: digits test accuracy at least 0.95";
  EXPECT_LT(j["majority_accuracy"].get<double>(), 0.2);
  EXPECT_EQ(j["classes"].size(), 10u);
  std::size_t total = 0;
  for (const auto& row : j["confusion"]) for (const auto& v : row) total += v.get<std::size_t>();
  EXPECT_EQ(total, j["test_rows"].get<std::size_t>());
  EXPECT_TRUE(fs::exists(dir / "training.svg"));
  EXPECT_TRUE(fs::exists(dir / "test_predictions.csv"));
  const CliRun p = run("predict --model " + (dir / "model.recur").string() + " --data " + data +
                       " --output " + (dir / "p.csv").string());
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_NE(p.out.find("Wrote 1797"), std::string::npos) << p.out;
  std::ifstream csv(dir / "p.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "line,predicted,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9");
  const CliRun s = run("summary --model " + (dir / "model.recur").string());
  EXPECT_NE(s.out.find("8 timesteps x 8 features"), std::string::npos) << s.out;
}

TEST(CliClassify, DnaSpliceReachesTheTargetWithDefaults) {
  const fs::path dir = fresh_dir("dna");
  const CliRun r = run("classify --json --data " + std::string(RECUR_DATA_DIR) +
                       "/dna_splice.csv --label class --sequence sequence --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["accuracy"].get<double>(), 0.93) << "issue 3: DNA splice test accuracy at least 0.93";
  EXPECT_EQ(j["features"], 4);
  EXPECT_EQ(j["timesteps"], 60);
}

TEST(CliClassify, BadShapesAndUnknownSymbolsAreClearErrors) {
  const fs::path dir = fresh_dir("classify_errors");
  fs::create_directories(dir);
  const std::string digits = std::string(RECUR_DATA_DIR) + "/digits.csv";
  CliRun r = run("classify --data " + digits + " --label label --timesteps 7 --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("timesteps x features must equal 64"), std::string::npos) << r.out;
  r = run("classify --data " + digits + " --label lable --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("Did you mean \"label\"?"), std::string::npos) << r.out;
  {
    std::ofstream f(dir / "seq.csv");
    f << "class,sequence\n";
    for (int i = 0; i < 20; ++i) f << (i % 2 ? "a" : "b") << "," << (i == 13 ? "ACGN" : "ACGT") << "\n";
  }
  r = run("classify --epochs 1 --data " + (dir / "seq.csv").string() + " --label class --sequence sequence --output " + dir.string());
  EXPECT_EQ(r.code, 0) << r.out;  // N is simply a fifth symbol when it is in the training data
  {
    std::ofstream f(dir / "new.csv");
    f << "class,sequence\na,ACGX\n";
  }
  r = run("predict --model " + (dir / "model.recur").string() + " --data " + (dir / "new.csv").string() +
          " --output " + (dir / "p.csv").string());
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("new.csv:2:6 (column \"sequence\"): unknown symbol 'X' at position 4"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// Symbol sequences of lengths 2 to 9: class "more_a" when 'a' outnumbers 'b'. The input must be
// padded and masked; --embed uses Embedding(mask_zero) instead of one-hot + Masking.
TEST(CliClassify, SequencesOfDifferentLengthsArePaddedAndMasked) {
  const fs::path dir = fresh_dir("padded");
  fs::create_directories(dir);
  const fs::path csv = dir / "ab.csv";
  {
    std::ofstream out(csv);
    out << "id,seq,label\n";
    unsigned s = 7;
    for (int i = 0; i < 160; ++i) {
      s = s * 1103515245u + 12345u;
      const int len = 2 + static_cast<int>((s >> 16) % 8);
      std::string seq;
      int a = 0;
      for (int k = 0; k < len; ++k) {
        s = s * 1103515245u + 12345u;
        const bool is_a = ((s >> 16) & 1) != 0;
        seq += is_a ? 'a' : 'b';
        a += is_a ? 1 : -1;
      }
      out << i << "," << seq << "," << (a > 0 ? "more_a" : "not_more_a") << "\n";
    }
  }
  for (const std::string extra : {"", " --embed 4 --layer gru"}) {
    SCOPED_TRACE(extra);
    const CliRun r = run("classify --json --data " + csv.string() + " --label label --sequence seq"
                         " --units 16 --epochs 40 --output " + dir.string() + extra);
    ASSERT_EQ(r.code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["timesteps"], 9);
    EXPECT_GT(j["accuracy"].get<double>(), j["majority_accuracy"].get<double>() + 0.1) << r.out;
    const CliRun s = run("summary --model " + (dir / "model.recur").string());
    EXPECT_NE(s.out.find("pre-padded and masked"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find(extra.empty() ? "Masking" : "Embedding"), std::string::npos) << s.out;
    // predict pads new rows the same way; a row longer than the longest trained on is refused.
    std::ofstream(dir / "new.csv") << "seq\naaab\nb\n";
    const CliRun p = run("predict --model " + (dir / "model.recur").string() + " --data " +
                         (dir / "new.csv").string() + " --output " + (dir / "p.csv").string());
    EXPECT_EQ(p.code, 0) << p.out;
    std::ofstream(dir / "long.csv") << "seq\naaaaabbbbb\n";
    const CliRun bad = run("predict --model " + (dir / "model.recur").string() + " --data " +
                           (dir / "long.csv").string() + " --output " + (dir / "q.csv").string());
    EXPECT_EQ(bad.code, 3) << bad.out;
    EXPECT_NE(bad.out.find("1 to 9 symbols"), std::string::npos) << bad.out;
  }
}

}  // namespace

namespace {

TEST(CliCheck, ReportsEveryOptionProblemAndTrainsNothing) {
  const CliRun ok = run("check forecast");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("No problems found"), std::string::npos) << ok.out;
  const CliRun bad = run("check forecast --units 0 --epochs 0 --transform x");
  EXPECT_EQ(bad.code, 6) << bad.out;
  EXPECT_NE(bad.out.find("3 problems found"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("[RECUR-E0013]: --units must be > 0"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("--epochs must be > 0"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("--transform: unknown value"), std::string::npos) << bad.out;
  // Data problems: an unknown column, with the closest match, as JSON.
  const CliRun col = run("check classify --json --data " + std::string(RECUR_DATA_DIR) +
                         "/dna_splice.csv --label clas --sequence sequence");
  EXPECT_EQ(col.code, 6) << col.out;
  const auto j = nlohmann::json::parse(col.out.substr(col.out.find('{')));
  ASSERT_EQ(j["problems"].size(), 1u);
  EXPECT_EQ(j["problems"][0]["code"], "RECUR-E0014");
  EXPECT_NE(j["problems"][0]["message"].get<std::string>().find("Did you mean \"class\""),
            std::string::npos);
}

}  // namespace
