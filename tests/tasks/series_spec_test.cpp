// How a CSV table becomes a series (recur/tasks/series_spec.hpp): time-column detection, a
// year + quarter pair made one column, newest-first files put in order and unordered ones
// refused, feature selection around the time column, labels past the end, and the season from
// the flag, the time column or the autocorrelation.
#include "recur/tasks/series_spec.hpp"

#include <gtest/gtest.h>

#include "support/expect_error.hpp"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"

namespace {

using recur::CsvTable;
using recur::tasks::SeriesSpec;
using recur::tasks::SeriesSpecOptions;
using Names = std::vector<std::string>;

constexpr double kPi = 3.14159265358979323846;

CsvTable table(const std::string& text) { return recur::parse_csv(text, "t.csv"); }

using recur::test::expect_error;

// 40 monthly rows from 1958-01 with a target and a numeric feature.
std::string monthly_csv(bool newest_first = false) {
  std::vector<std::string> rows;
  for (int i = 0; i < 40; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d-%02d,%d,%d\n", 1958 + i / 12, i % 12 + 1, 100 + i, 7 * i);
    rows.push_back(buf);
  }
  std::string text = "month,value,x\n";
  if (newest_first)
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) text += *it;
  else
    for (const auto& r : rows) text += r;
  return text;
}

TEST(TaskSeriesSpec, FindsTheFirstTimeColumnThatIsNotExcluded) {
  const CsvTable t = table("id,day,sales\n1,2020-01-01,5\n2,2020-01-02,6\n3,2020-01-03,7\n");
  EXPECT_EQ(recur::tasks::find_time_column(t, {"sales"}), "day");
  EXPECT_EQ(recur::tasks::find_time_column(t, {"day"}), "");  // a named feature is never the time
  EXPECT_TRUE(recur::tasks::reads_as_times(t, "day"));
  EXPECT_FALSE(recur::tasks::reads_as_times(t, "sales"));
  expect_error<recur::ValueError>([&] { recur::tasks::reads_as_times(t, "dya"); }, {"no column named \"dya\"", "day"});
}

TEST(TaskSeriesSpec, YearAndQuarterColumnsBecomeOneTimeColumn) {
  CsvTable t = table("year,quarter,gdp\n1959,1,10\n1959,2,11\n1959,3,12\n1959,4,13\n1960,1,14\n");
  Names sources;
  EXPECT_EQ(recur::tasks::add_period_column(t, &sources), "year_quarter");
  EXPECT_EQ(sources, (Names{"year", "quarter"}));
  ASSERT_EQ(t.header.back(), "year_quarter");
  EXPECT_EQ(t.rows[0].back(), "1959-Q1");
  EXPECT_EQ(t.rows[4].back(), "1960-Q1");
  // Months are zero-padded, and a taken name gets "_".
  CsvTable m = table("year,month,year_month,v\n1959,9,a,1\n1959,10,b,2\n1959,11,c,3\n");
  EXPECT_EQ(recur::tasks::add_period_column(m, &sources), "year_month_");
  EXPECT_EQ(m.rows[0].back(), "1959-09");
  // No such pair: nothing changes.
  CsvTable none = table("a,b\n1,2\n3,4\n");
  Names untouched{"keep"};
  EXPECT_EQ(recur::tasks::add_period_column(none, &untouched), "");
  EXPECT_EQ(none.header.size(), 2u);
  EXPECT_EQ(untouched, Names{"keep"});
}

TEST(TaskSeriesSpec, NewestFirstRowsArePutOldestFirstWithAWarning) {
  std::vector<std::string> warnings;
  const CsvTable t = recur::tasks::in_time_order(table("m,v\n1960-03,3\n1960-02,2\n1960-01,1\n"), "m", &warnings);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][0], "1960-01");
  EXPECT_EQ(t.rows[2][1], "3");
  EXPECT_EQ(t.line_numbers, (std::vector<long>{4, 3, 2}));  // lines follow their rows
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("runs backwards"), std::string::npos) << warnings[0];
  // Already in order: as it was, no warning.
  warnings.clear();
  const CsvTable same = recur::tasks::in_time_order(table("m,v\n1960-01,1\n1960-02,2\n"), "m", &warnings);
  EXPECT_EQ(same.rows[0][0], "1960-01");
  EXPECT_TRUE(warnings.empty());
}

TEST(TaskSeriesSpec, ATimeThatGoesBackInTheMiddleIsRefusedNamingTheLines) {
  std::vector<std::string> warnings;
  expect_error<recur::ValueError>(
      [&] { recur::tasks::in_time_order(table("m,v\n1960-01,1\n1960-02,2\n1960-02,3\n1960-03,4\n"), "m", &warnings); },
      {"t.csv:4:", "goes back or repeats", "\"1960-02\" comes after \"1960-02\" (line 3)", "sort the file"});
}

TEST(TaskSeriesSpec, SeriesFromTableDetectsTheTimeColumnAndOrdersTheRows) {
  SeriesSpecOptions o;
  o.target = "value";
  const SeriesSpec s = recur::tasks::series_from_table(table(monthly_csv(true)), o);
  EXPECT_EQ(s.time_column, "month");
  EXPECT_EQ(s.features, Names{"value"});
  ASSERT_EQ(s.rows(), 40u);
  EXPECT_EQ(s.target_values().front(), 100.0);  // oldest first after the reversal
  EXPECT_EQ(s.target_values().back(), 139.0);
  EXPECT_EQ(s.labels.front(), "1958-01");
  EXPECT_EQ(s.labels.back(), "1961-04");
  ASSERT_TRUE(s.time_index.has_value());
  EXPECT_EQ(s.time_index->frequency, recur::TimeFrequency::kMonthly);
  ASSERT_EQ(s.warnings.size(), 1u);
  const recur::tasks::SeriesData d = s.data();
  EXPECT_EQ(d.names, Names{"value"});
  EXPECT_EQ(d.rows(), 40u);
}

TEST(TaskSeriesSpec, AllFeaturesSkipTheTimeColumnAndTheColumnsBehindIt) {
  SeriesSpecOptions o;
  o.target = "gdp";
  o.all_features = true;
  const SeriesSpec s = recur::tasks::series_from_table(
      table("year,quarter,gdp,cpi\n1959,1,10,1\n1959,2,11,2\n1959,3,12,3\n1959,4,13,4\n1960,1,14,5\n"), o);
  EXPECT_EQ(s.time_column, "year_quarter");
  EXPECT_EQ(s.time_sources, (Names{"year", "quarter"}));
  EXPECT_EQ(s.features, (Names{"gdp", "cpi"}));
  EXPECT_EQ(s.labels[1], "1959-Q2");
  // Naming "year" as a feature makes the pair no time: rows are then numbered.
  o.all_features = false;
  o.features = {"year"};
  const SeriesSpec n = recur::tasks::series_from_table(
      table("year,quarter,gdp\n1959,1,10\n1959,2,11\n1959,3,12\n1959,4,13\n1960,1,14\n"), o);
  EXPECT_EQ(n.time_column, "");
  EXPECT_EQ(n.features, (Names{"gdp", "year"}));
  EXPECT_EQ(n.labels.front(), "1");
  EXPECT_FALSE(n.time_index.has_value());
}

TEST(TaskSeriesSpec, TheTimeColumnIsNeverAnInputAndANamedOneMustReadAsTimes) {
  SeriesSpecOptions o;
  o.target = "value";
  o.time_column = "month";
  o.features = {"month"};
  expect_error<recur::ValueError>([&] { recur::tasks::series_from_table(table(monthly_csv()), o); },
                                  {"\"month\" is the time column", "cannot also be the target or a feature"});
  o.features.clear();
  o.time_column = "x";
  expect_error<recur::ValueError>([&] { recur::tasks::series_from_table(table(monthly_csv()), o); },
                                  {"column \"x\" does not read as times"});
  o.time_column.clear();
  o.target.clear();
  expect_error<recur::ValueError>([&] { recur::tasks::series_from_table(table(monthly_csv()), o); },
                                  {"no target column", "month, value, x"});
  // No time column: rows are labelled 1, 2, ... and "+1", "+2" follow them.
  o.target = "value";
  o.no_time_column = true;
  const SeriesSpec s = recur::tasks::series_from_table(table(monthly_csv()), o);
  EXPECT_EQ(s.time_column, "");
  EXPECT_EQ(s.labels[2], "3");
  EXPECT_EQ(recur::tasks::future_labels(s.time_index, 2), (Names{"+1", "+2"}));
}

TEST(TaskSeriesSpec, FutureLabelsContinueTheTimeColumn) {
  SeriesSpecOptions o;
  o.target = "value";
  const SeriesSpec s = recur::tasks::series_from_table(table(monthly_csv()), o);
  EXPECT_EQ(recur::tasks::future_labels(s.time_index, 3), (Names{"1961-05", "1961-06", "1961-07"}));
  // All times equal: no step is known, steps are counted.
  const auto flat = recur::parse_time_column({"1960", "1960"});
  if (flat) EXPECT_EQ(recur::tasks::future_labels(flat, 1), Names{"+1"});
}

TEST(TaskSeriesSpec, ForAModelTheYearPeriodColumnIsRebuiltOrTheTimeDropped) {
  const std::string text = "year,quarter,gdp\n1960,1,14\n1959,4,13\n1959,3,12\n";
  const SeriesSpec s = recur::tasks::series_for_model(table(text), {"gdp"}, "year_quarter", recur::MissingPolicy::kError);
  EXPECT_EQ(s.time_column, "year_quarter");
  EXPECT_EQ(s.labels, (Names{"1959-Q3", "1959-Q4", "1960-Q1"}));
  EXPECT_EQ(s.target_values(), (std::vector<double>{12, 13, 14}));
  const SeriesSpec d = recur::tasks::series_for_model(table("gdp\n1\n2\n"), {"gdp"}, "month", recur::MissingPolicy::kError);
  EXPECT_EQ(d.time_column, "");
  EXPECT_EQ(d.labels, (Names{"1", "2"}));
}

// ---- the season ----

TEST(TaskSeason, AGivenSeasonWinsAndTheBaselinesNeedTwoSeasonsOfTraining) {
  const std::vector<double> y(100, 1.0);
  auto c = recur::tasks::choose_season(std::nullopt, y, 100, 30);
  EXPECT_EQ(c.seasons, (std::vector<std::size_t>{30}));
  EXPECT_EQ(c.source, "given");
  EXPECT_EQ(c.season, 30u);
  c = recur::tasks::choose_season(std::nullopt, y, 50, 30);  // 50 < 2 x 30
  EXPECT_EQ(c.seasons, (std::vector<std::size_t>{30}));
  EXPECT_EQ(c.season, 1u);
}

TEST(TaskSeason, TheTimeColumnsFrequencyGivesTheSeasonsBeforeTheAutocorrelation) {
  // Monthly times over a series with a strong period of 5: the frequency decides (12).
  std::vector<std::string> months;
  std::vector<double> y;
  for (int i = 0; i < 60; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%d-%02d", 1950 + i / 12, i % 12 + 1);
    months.push_back(buf);
    y.push_back(10 + std::sin(2 * kPi * i / 5.0));
  }
  const auto index = recur::parse_time_column(months);
  ASSERT_TRUE(index.has_value());
  auto c = recur::tasks::choose_season(index, y, 48, 0);
  EXPECT_EQ(c.seasons, (std::vector<std::size_t>{12}));
  EXPECT_EQ(c.source, "time column, monthly");
  EXPECT_EQ(c.season, 12u);
  // Daily: 7 and 365; the baselines take the first one the training part covers twice.
  std::vector<std::string> days;
  for (int i = 1; i <= 28; ++i) days.push_back("2020-02-" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  c = recur::tasks::choose_season(recur::parse_time_column(days), std::vector<double>(28, 1.0), 20, 0);
  EXPECT_EQ(c.seasons, (std::vector<std::size_t>{7, 365}));
  EXPECT_EQ(c.source, "time column, daily");
  EXPECT_EQ(c.season, 7u);
  // Without a time column the autocorrelation of the training part finds the 5.
  c = recur::tasks::choose_season(std::nullopt, y, 48, 0);
  EXPECT_EQ(c.seasons, (std::vector<std::size_t>{5}));
  EXPECT_EQ(c.source, "autocorrelation");
  EXPECT_EQ(c.season, 5u);
}

TEST(TaskSeason, NothingFoundMeansNoSeasonAndBadInputIsRefused) {
  std::vector<double> line;
  for (int i = 0; i < 60; ++i) line.push_back(i);
  const auto c = recur::tasks::choose_season(std::nullopt, line, 48, 0);
  EXPECT_TRUE(c.seasons.empty());
  EXPECT_EQ(c.source, "none found");
  EXPECT_EQ(c.season, 1u);
  expect_error<recur::ValueError>([&] { recur::tasks::choose_season(std::nullopt, line, 61, 0); },
                                  {"train_end 61", "60 values"});
  line[3] = NAN;
  expect_error<recur::ValueError>([&] { recur::tasks::choose_season(std::nullopt, line, 48, 0); }, {"RECUR-E0005"});
}

}  // namespace
