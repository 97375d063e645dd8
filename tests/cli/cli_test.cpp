// End-to-end tests of the `recur` binary: exit codes, files written, the baseline comparison,
// and the errors a user sees.
#include <gtest/gtest.h>

#include "recur/ops/cpu.hpp"
#include "support/cli.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;

using recur::test::CliRun;
CliRun run(const std::string& args) { return recur::test::run_cli(args); }

// The lines of a text file written by the CLI (header first).
std::vector<std::string> file_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The cells of a CSV line without quoted fields (the numbers and dates the CLI writes).
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells(1);
  for (char ch : line) {
    if (ch == ',') cells.emplace_back();
    else cells.back() += ch;
  }
  return cells;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("recur_cli_" + name);
  fs::remove_all(d);
  return d;
}

TEST(Cli, ForecastOnBundledDataBeatsTheNaiveBaselinesAndWritesFiles) {
  const fs::path dir = fresh_dir("forecast");
  const CliRun r = run("forecast --json --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["test_points"], 24);
  EXPECT_EQ(j["season"], 12);
  EXPECT_EQ(j["season_source"], "time column, monthly");
  EXPECT_EQ(j["time_column"], "month");
  // The baselines are fixed by the data: naive 51.8, seasonal naive 50.0 (issue 2).
  EXPECT_NEAR(j["baselines"]["naive"]["rmse"].get<double>(), 51.78, 0.01);
  EXPECT_NEAR(j["baselines"]["seasonal_naive"]["rmse"].get<double>(), 49.99, 0.01);
  EXPECT_NEAR(j["baselines"]["drift"]["rmse"].get<double>(), 51.86, 0.01);
  EXPECT_LT(j["baselines"]["holt_winters"]["rmse"].get<double>(), 30.0);
  // Far below what every CPU gives (17-23 measured); the target (17) is checked by
  // scripts/report_forecast.py, not here.
  const double recur_rmse = j["recur"]["rmse"];
  EXPECT_LE(recur_rmse, 35.0) << "the default forecaster must beat both naive baselines by 30%";
  EXPECT_EQ(j["model"]["name"], "recur LSTM");
  EXPECT_EQ(j["model"]["ensemble"], 5);
  EXPECT_GE(j["model"]["search"].size(), 7u);  // at least every transform was tried
  EXPECT_GE(j["recur"]["coverage95"].get<double>(), 0.5);
  EXPECT_EQ(j["future"][0]["time"], "1961-01");
  for (const char* file : {"model.recur", "forecast.svg", "loss.svg"}) EXPECT_TRUE(fs::exists(dir / file)) << file;
  const auto lines = file_lines(dir / "forecast.csv");
  ASSERT_EQ(lines.size(), 26u);  // the header, 24 test points and the next month
  EXPECT_EQ(lines.front(), "month,origin,step,actual,recur,lower80,upper80,lower95,upper95,naive,seasonal_naive,drift,holt_winters");
  EXPECT_EQ(lines.back().substr(0, 17), "1961-01,1960-12,1");

  // Same seed, same result; the saved model predicts (beside itself by default) and summarizes.
  const CliRun again = run("forecast --json --output " + (dir / "again").string());
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(nlohmann::json::parse(again.out)["recur"], j["recur"]);
  const CliRun p = run("predict --model " + (dir / "model.recur").string());
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_NE(p.out.find("Wrote"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "predictions.csv")) << "predict writes beside the model, not into the current folder";
  const CliRun s = run("summary --model " + (dir / "model.recur").string());
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("lstm (LSTM)"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("ensemble of 5 models"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("configuration: " + j["model"]["configuration"].get<std::string>()), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("chosen by rolling-origin validation"), std::string::npos) << s.out;
}

TEST(Cli, HumanReportShowsTheSearchBaselinesAndIntervals) {
  const fs::path dir = fresh_dir("report");
  const CliRun r = run("forecast --epochs 3 --ensemble 3 --layer gru --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("transform 1/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ensemble  3/3"), std::string::npos) << r.out;  // member 1 comes from the search
  EXPECT_NE(r.out.find("Season: 12 (time column, monthly)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recur GRU "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("recur LSTM"), std::string::npos) << r.out;
  for (const char* row : {"naive (last value)", "seasonal naive (season 12)", "drift", "Holt-Winters",
                          "Prediction intervals on the test points: the 80% interval covered", "Next 1 step: 1961-01"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  const CliRun s = run("summary --model " + (dir / "model.recur").string());
  EXPECT_NE(s.out.find("(GRU)"), std::string::npos) << s.out;
}

TEST(Cli, HorizonGivesPathsWithPerStepMetricsAndDatedFutureRows) {
  const fs::path dir = fresh_dir("horizon");
  const CliRun r = run("forecast --json --horizon 3 --search off --ensemble 1 --epochs 20 --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["recur"]["per_step"].size(), 3u);
  ASSERT_EQ(j["baselines"]["naive"]["per_step"].size(), 3u);
  // Naive gets worse with the step on this trending series.
  EXPECT_LT(j["baselines"]["naive"]["per_step"][0]["rmse"].get<double>(),
            j["baselines"]["naive"]["per_step"][2]["rmse"].get<double>());
  ASSERT_EQ(j["future"].size(), 3u);
  EXPECT_EQ(j["future"][2]["time"], "1961-03");
  EXPECT_EQ(file_lines(dir / "forecast.csv").size(), 1u + 24 * 3 + 3);  // header, test paths, future
  // predict writes every origin's path and the 3 dated steps past the end.
  const CliRun p = run("predict --model " + (dir / "model.recur").string() + " --output " + (dir / "p.csv").string());
  ASSERT_EQ(p.code, 0) << p.out;
  const auto lines = file_lines(dir / "p.csv");
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front(), "month,origin,step,actual,passengers_forecast,lower80,upper80,lower95,upper95");
  EXPECT_EQ(lines.back().substr(0, 17), "1961-03,1960-12,3");
  // predict gives the forecast's own numbers on the test paths: the same ensemble, combined with
  // the same Holt-Winters model (log-diff, the first candidate, is combined by default).
  const double w = j["model"]["holt_winters_weight"];
  EXPECT_TRUE(w >= 0 && w <= 1) << w;
  EXPECT_NE(j["model"]["combined_with"].get<std::string>().find("Holt-Winters"), std::string::npos);
  std::map<std::string, std::string> forecast;  // "time,origin,step" -> the forecast cell
  for (const auto& line : file_lines(dir / "forecast.csv")) {
    const auto cells = split_csv_line(line);
    if (cells.size() > 4) forecast[cells[0] + "," + cells[1] + "," + cells[2]] = cells[4];
  }
  std::size_t compared = 0;
  for (const auto& line : lines) {
    const auto cells = split_csv_line(line);
    const auto it = cells.size() > 4 ? forecast.find(cells[0] + "," + cells[1] + "," + cells[2]) : forecast.end();
    if (it == forecast.end() || cells[0] == "month") continue;
    EXPECT_NEAR(std::stod(cells[4]), std::stod(it->second), 1e-3 * std::fabs(std::stod(it->second))) << line;
    ++compared;
  }
  EXPECT_GE(compared, 24u * 3u);
}

TEST(Cli, BadCellIsAParseErrorWithExitCode3AndNoStackTrace) {
  const fs::path dir = fresh_dir("badcell");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "bad.csv");
    f << "t,y\n";
    for (int i = 0; i < 40; ++i) f << i << "," << (i == 17 ? std::string("N/A") : std::to_string(i % 5 + i)) << "\n";
  }
  const CliRun r = run("forecast --data " + (dir / "bad.csv").string() + " --target y --output " + dir.string());
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("bad.csv:19:4 (column \"y\"): expected a number, got \"N/A\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("terminate called"), std::string::npos);
  // The same file trains with --missing interpolate.
  const CliRun ok = run("forecast --quiet --epochs 2 --search off --ensemble 1 --lookback 4 --test-size 5 "
                        "--missing interpolate --data " + (dir / "bad.csv").string() + " --target y --output " + dir.string());
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
  EXPECT_NE(r.out.find("--lookback 500 is too long"), std::string::npos) << r.out;
  r = run("forecast --test-size 140 --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--test-size 140 leaves 4 of the 144 rows"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("lookback"), std::string::npos) << "the test size is the problem, not the lookback: " << r.out;
  r = run("forecast --learning-rate -1 --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--learning-rate must be > 0"), std::string::npos) << r.out;
  r = run("forecast --data " + data + " --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--target is required"), std::string::npos) << r.out;
  r = run("forecast --search maybe --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--search must be on or off"), std::string::npos) << r.out;
  r = run("forecast --combine maybe --output " + dir.string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("--combine must be on or off"), std::string::npos) << r.out;
  r = run("forecast --no-such-flag");
  EXPECT_EQ(r.code, 109) << r.out;  // CLI11's code for an unknown argument
}

// A monthly series written as a user's spreadsheet might: `;` separated, newest first, with a
// numeric year column that must not become a feature.
void write_monthly(const fs::path& path, const std::string& sep, bool newest_first, const std::string& decimal = ".") {
  std::vector<std::string> rows;
  for (int i = 0; i < 72; ++i) {
    const int year = 2000 + i / 12, month = i % 12 + 1;
    const double v = 100 + i + 10 * std::sin(2 * M_PI * i / 12);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%d-%02d%s%d%s%.1f", year, month, sep.c_str(), year, sep.c_str(), v);
    std::string line = buf;
    if (decimal != ".") line.replace(line.rfind('.'), 1, decimal);
    rows.push_back(line);
  }
  if (newest_first) std::reverse(rows.begin(), rows.end());
  std::ofstream f(path);
  f << "month" << sep << "year" << sep << "sales\n";
  for (const auto& r : rows) f << r << "\n";
}

TEST(Cli, CsvDialectsTimeOrderAndTheTimeColumn) {
  const fs::path dir = fresh_dir("dialects");
  fs::create_directories(dir);
  const std::string quick = " --search off --ensemble 1 --epochs 5 --test-size 12 --target sales --json";
  write_monthly(dir / "semi.csv", ";", true);
  CliRun r = run("forecast --data " + (dir / "semi.csv").string() + quick + " --features all --output " + (dir / "o").string());
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["time_column"], "month");
  EXPECT_EQ(j["features"], nlohmann::json({"sales", "year"}));  // the numeric year is a feature here
  EXPECT_EQ(j["season"], 12);
  EXPECT_EQ(j["test_from"], "2005-01") << "rows newest-first are put oldest first";
  EXPECT_NE(r.out.find("runs backwards"), std::string::npos) << r.out;
  // A numeric YYYYMMDD column is the time column (daily: seasons 7 and 365) and never a feature;
  // the future rows are dated in its format.
  {
    std::ofstream f(dir / "daily.csv");
    f << "date\tsales\n";
    int y = 2019, m = 12, d = 1;
    const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < 70; ++i) {
      f << y * 10000 + m * 100 + d << "\t" << 50 + 5 * (i % 7 == 5) + 0.1 * i << "\n";
      if (++d > (m == 2 ? 29 : days[m - 1])) { d = 1; if (++m > 12) { m = 1; ++y; } }
    }
  }
  r = run("forecast --data " + (dir / "daily.csv").string() + quick + " --features all --output " + (dir / "o").string());
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["features"], nlohmann::json({"sales"}));
  EXPECT_EQ(j["time_column"], "date");
  EXPECT_EQ(j["frequency"], "daily");
  EXPECT_EQ(j["season"], 7);
  EXPECT_EQ(j["future"][0]["time"], "20200209");  // the last row is 2020-02-08
  // A decimal comma says so.
  write_monthly(dir / "comma.csv", ";", false, ",");
  r = run("forecast --data " + (dir / "comma.csv").string() + quick + " --output " + (dir / "o").string());
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("decimal comma"), std::string::npos) << r.out;
  // A forced delimiter that does not fit the file: the target is not found.
  r = run("forecast --data " + (dir / "semi.csv").string() + quick + " --delimiter tab --output " + (dir / "o").string());
  EXPECT_EQ(r.code, 6) << r.out;
  // Times out of order in the middle are refused, naming the line.
  {
    std::ifstream in(dir / "semi.csv");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::swap(lines[10], lines[11]);
    std::ofstream out(dir / "shuffled.csv");
    for (const auto& l : lines) out << l << "\n";
  }
  r = run("forecast --data " + (dir / "shuffled.csv").string() + quick + " --output " + (dir / "o").string());
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("goes back or repeats"), std::string::npos) << r.out;
  // A header that looks like data is a warning, not a silent column name.
  {
    std::ofstream f(dir / "noheader.csv");
    for (int i = 0; i < 60; ++i) f << 100 + i % 7 + i << "\n";
  }
  r = run("forecast --data " + (dir / "noheader.csv").string() + " --target 100 --search off --ensemble 1 --epochs 3 --test-size 10 --output " + (dir / "o").string());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("looks like data, not a header"), std::string::npos) << r.out;
}

TEST(Cli, YearAndQuarterColumnsAreOneTimeColumnAndNeverFeatures) {
  const fs::path dir = fresh_dir("macro");
  const CliRun r = run("forecast --json --data " + std::string(RECUR_DATA_DIR) + "/macrodata.csv --target realgdp "
                       "--features all --search off --ensemble 1 --epochs 3 --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["time_column"], "year_quarter");
  EXPECT_EQ(j["frequency"], "quarterly");
  EXPECT_EQ(j["season"], 4);
  EXPECT_EQ(j["test_to"], "2009-Q3");
  EXPECT_EQ(j["future"][0]["time"], "2009-Q4");
  for (const auto& f : j["features"]) EXPECT_TRUE(f != "year" && f != "quarter") << j["features"];
  EXPECT_EQ(j["features"].size(), 12u);
  // predict rebuilds the same time column from the file.
  const CliRun p = run("predict --model " + (dir / "model.recur").string() + " --data " + std::string(RECUR_DATA_DIR) +
                       "/macrodata.csv --output " + (dir / "p.csv").string());
  ASSERT_EQ(p.code, 0) << p.out;
  const auto lines = file_lines(dir / "p.csv");
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front().substr(0, 13), "year_quarter,");
  EXPECT_EQ(lines.back().substr(0, 17), "2009-Q4,2009-Q3,1");
}

TEST(Cli, OutputCsvCellsAreQuotedAndNeverSpreadsheetFormulas) {
  // A time column whose name holds a comma and starts like a formula.
  const fs::path dir = fresh_dir("quoting");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "q.csv");
    f << "\"=when, local\",y\n";
    for (int i = 0; i < 50; ++i) f << 1950 + i << "," << 10 + (i * 7) % 5 + 0.1 * i << "\n";
  }
  const CliRun r = run("forecast --data " + (dir / "q.csv").string() + " --target y --search off --ensemble 1 "
                       "--epochs 3 --test-size 5 --output " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto lines = file_lines(dir / "forecast.csv");
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0].substr(0, 22), "\"'=when, local\",origin") << lines[0];
  EXPECT_EQ(lines[1].substr(0, 10), "1995,1994,") << lines[1];
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
  // The issue-3 target (0.95 with the defaults) is checked by scripts/check_classify_targets.sh;
  // a unit test's bar must hold on every CPU and BLAS kernel, and digits moves by up to 2 points
  // with the seed (0.944 to 0.983 over seeds 1-5), so it sits well below.
  EXPECT_GE(j["accuracy"].get<double>(), 0.90) << "digits test accuracy far below the 0.95 target";
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
  // The target (0.93 for seeds 1-5 on every kernel path) is checked by
  // scripts/check_classify_targets.sh; a unit test's bar must hold on every CPU and BLAS kernel, so it
  // sits well below what any measured run gave (0.9388 to 0.9733).
  EXPECT_GE(j["accuracy"].get<double>(), 0.90) << "DNA splice test accuracy far below the 0.93 target";
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
  const CliRun bad = run("check forecast --ensemble 0 --epochs 0 --transform x");
  EXPECT_EQ(bad.code, 6) << bad.out;
  EXPECT_NE(bad.out.find("3 problems found"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("[RECUR-E0013]: --ensemble must be > 0"), std::string::npos) << bad.out;
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

namespace {

// OPENBLAS_CORETYPE=Haswell gives OpenBLAS its AVX2 kernels: on a CPU with AVX-512 the report
// says so and names the fix; with SkylakeX (its AVX-512 kernels) it says nothing. (Forcing
// either core on a CPU without AVX-512 would run instructions it lacks: skipped there.)
TEST(Cli, ReportNotesOpenBlasKernelsNarrowerThanTheCpu) {
  if (recur::ops::detected_isa() != recur::ops::Isa::kAvx512) GTEST_SKIP() << "needs a CPU with AVX-512";
  const std::string args = "forecast --search off --ensemble 1 --epochs 2 --output ";
  const CliRun narrow = recur::test::run_cli(args + fresh_dir("blas-narrow").string(), "OPENBLAS_CORETYPE=Haswell");
  ASSERT_EQ(narrow.code, 0) << narrow.out;
  const std::size_t at = narrow.out.find("Note: OpenBLAS runs its Haswell kernels on this AVX-512 CPU");
  ASSERT_NE(at, std::string::npos) << narrow.out;
  EXPECT_NE(narrow.out.find("OPENBLAS_CORETYPE=Haswell", at), std::string::npos) << narrow.out;
  EXPECT_NE(narrow.out.find("set it to SkylakeX", at), std::string::npos) << narrow.out;
  const CliRun wide = recur::test::run_cli(args + fresh_dir("blas-wide").string(), "OPENBLAS_CORETYPE=SkylakeX");
  ASSERT_EQ(wide.code, 0) << wide.out;
  EXPECT_EQ(wide.out.find("Note: OpenBLAS"), std::string::npos) << wide.out;
  // --json keeps stdout one JSON document.
  const CliRun json = recur::test::run_cli(args + fresh_dir("blas-json").string() + " --json", "OPENBLAS_CORETYPE=Haswell");
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_EQ(json.out.find("Note: OpenBLAS"), std::string::npos);
}

}  // namespace
