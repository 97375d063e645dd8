#include "recur/data/time_index.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/core/random.hpp"
#include "recur/data/csv.hpp"

namespace {

using recur::TimeFrequency;
using recur::TimeIndex;
using recur::TimeLayout;
using Labels = std::vector<std::string>;

constexpr double kPi = 3.14159265358979323846;

TimeIndex parsed(const std::vector<std::string>& cells) {
  auto index = recur::parse_time_column(cells);
  EXPECT_TRUE(index.has_value()) << "cells starting " << cells.front();
  return index.value_or(TimeIndex{});
}

// ---- formats, frequencies and the labels after the last row ----

TEST(TimeIndex, YearMonthRollsOverIntoTheNextYear) {
  const TimeIndex a = parsed({"1960-10", "1960-11", "1960-12"});
  EXPECT_EQ(a.format.layout, TimeLayout::kYearMonth);
  EXPECT_EQ(a.format.name(), "YYYY-MM");
  EXPECT_EQ(a.frequency, TimeFrequency::kMonthly);
  EXPECT_EQ(a.step_months, 1);
  EXPECT_EQ(a.first_backward_row, TimeIndex::npos);
  EXPECT_EQ(a.next_labels(3), (Labels{"1961-01", "1961-02", "1961-03"}));
  const TimeIndex b = parsed({"1960/11", "1960/12"});
  EXPECT_EQ(b.format.name(), "YYYY/MM");
  EXPECT_EQ(b.next_labels(1), (Labels{"1961/01"}));
}

TEST(TimeIndex, QuartersInEachSpellingRollOver) {
  const TimeIndex a = parsed({"1960-Q3", "1960-Q4"});
  EXPECT_EQ(a.format.layout, TimeLayout::kYearQuarter);
  EXPECT_EQ(a.format.name(), "YYYY-Qn");
  EXPECT_EQ(a.frequency, TimeFrequency::kQuarterly);
  EXPECT_EQ(a.next_labels(2), (Labels{"1961-Q1", "1961-Q2"}));
  EXPECT_EQ(parsed({"1960Q3", "1960Q4"}).next_labels(1), (Labels{"1961Q1"}));
  EXPECT_EQ(parsed({"1960 Q4", "1961 Q1"}).next_labels(1), (Labels{"1961 Q2"}));
  EXPECT_EQ(parsed({"1960q4", "1961q1"}).next_labels(1), (Labels{"1961q2"}));
  EXPECT_FALSE(recur::parse_time_column({"1960-Q5"}));
  EXPECT_FALSE(recur::parse_time_column({"1960-Q1", "1960Q2"}));  // two spellings
}

TEST(TimeIndex, CompactDatesCrossTheYearAndLeapDays) {
  const TimeIndex a = parsed({"19581229", "19581230", "19581231"});
  EXPECT_EQ(a.format.layout, TimeLayout::kCompactDate);
  EXPECT_EQ(a.format.name(), "YYYYMMDD");
  EXPECT_EQ(a.frequency, TimeFrequency::kDaily);
  EXPECT_EQ(a.next_labels(2), (Labels{"19590101", "19590102"}));
  EXPECT_EQ(parsed({"20240227", "20240228"}).next_labels(2), (Labels{"20240229", "20240301"}));
  // 1900 is not a leap year (divisible by 100, not by 400); 2000 is.
  EXPECT_EQ(parsed({"19000227", "19000228"}).next_labels(1), (Labels{"19000301"}));
  EXPECT_EQ(parsed({"20000227", "20000228"}).next_labels(1), (Labels{"20000229"}));
  EXPECT_FALSE(recur::parse_time_column({"19590228", "19590229"}));  // no 29 Feb 1959
}

TEST(TimeIndex, DashedAndSlashedDates) {
  const TimeIndex a = parsed({"2100-02-27", "2100-02-28"});
  EXPECT_EQ(a.format.name(), "YYYY-MM-DD");
  EXPECT_EQ(a.next_labels(1), (Labels{"2100-03-01"}));
  const TimeIndex b = parsed({"2012/12/30", "2012/12/31"});
  EXPECT_EQ(b.format.name(), "YYYY/MM/DD");
  EXPECT_EQ(b.next_labels(1), (Labels{"2013/01/01"}));
  EXPECT_FALSE(recur::parse_time_column({"2012-12/30"}));
  EXPECT_FALSE(recur::parse_time_column({"2012-13-01"}));
  EXPECT_FALSE(recur::parse_time_column({"2012-04-31"}));
}

TEST(TimeIndex, HoursRollOverMidnightAndTheYear) {
  const TimeIndex a = parsed({"1958-03-29 22:00", "1958-03-29 23:00"});
  EXPECT_EQ(a.format.layout, TimeLayout::kDateTime);
  EXPECT_EQ(a.format.name(), "YYYY-MM-DD hh:mm");
  EXPECT_EQ(a.frequency, TimeFrequency::kHourly);
  EXPECT_EQ(a.next_labels(2), (Labels{"1958-03-30 00:00", "1958-03-30 01:00"}));
  const TimeIndex b = parsed({"1958-12-31T22:00:00", "1958-12-31T23:00:00"});
  EXPECT_EQ(b.format.name(), "YYYY-MM-DDThh:mm:ss");
  EXPECT_EQ(b.next_labels(1), (Labels{"1959-01-01T00:00:00"}));
  const TimeIndex c = parsed({"2020-02-28 23:58", "2020-02-28 23:59"});
  EXPECT_EQ(c.frequency, TimeFrequency::kMinutely);
  EXPECT_EQ(c.next_labels(1), (Labels{"2020-02-29 00:00"}));
  EXPECT_FALSE(recur::parse_time_column({"2020-02-28 24:00"}));
  EXPECT_FALSE(recur::parse_time_column({"2020-02-28 12:00", "2020-02-28 13:00:00"}));
}

TEST(TimeIndex, IntegerYearsAndTheirSteps) {
  std::vector<std::string> years;
  for (int y = 1949; y <= 1960; ++y) years.push_back(std::to_string(y));
  const TimeIndex a = parsed(years);
  EXPECT_EQ(a.format.layout, TimeLayout::kYear);
  EXPECT_EQ(a.frequency, TimeFrequency::kYearly);
  EXPECT_EQ(a.next_labels(2), (Labels{"1961", "1962"}));
  const TimeIndex every5 = parsed({"1950", "1955", "1960"});
  EXPECT_EQ(every5.frequency, TimeFrequency::kUnknown);
  EXPECT_EQ(every5.step_months, 60);
  EXPECT_EQ(every5.next_labels(1), (Labels{"1965"}));
}

TEST(TimeIndex, WeeklyFromDatesSevenDaysApart) {
  const TimeIndex a = parsed({"2020-12-14", "2020-12-21", "2020-12-28"});
  EXPECT_EQ(a.frequency, TimeFrequency::kWeekly);
  EXPECT_EQ(a.step_seconds, 7 * 86400);
  EXPECT_EQ(a.next_labels(2), (Labels{"2021-01-04", "2021-01-11"}));
  EXPECT_EQ(recur::seasons_for(a.frequency), (std::vector<std::size_t>{52}));
}

TEST(TimeIndex, MonthsQuartersAndYearsWrittenAsDates) {
  const TimeIndex monthly = parsed({"1960-01-01", "1960-02-01", "1960-03-01"});
  EXPECT_EQ(monthly.frequency, TimeFrequency::kMonthly);
  EXPECT_EQ(monthly.next_labels(1), (Labels{"1960-04-01"}));
  // Month ends stay month ends: 30 April, then 31 May.
  const TimeIndex ends = parsed({"2020-01-31", "2020-02-29", "2020-03-31"});
  EXPECT_EQ(ends.frequency, TimeFrequency::kMonthly);
  EXPECT_TRUE(ends.month_end);
  EXPECT_EQ(ends.next_labels(2), (Labels{"2020-04-30", "2020-05-31"}));
  EXPECT_EQ(parsed({"2020-01-01", "2020-04-01", "2020-07-01"}).frequency,
            TimeFrequency::kQuarterly);
  const TimeIndex quarter_ends = parsed({"1959-03-31", "1959-06-30", "1959-09-30"});
  EXPECT_EQ(quarter_ends.frequency, TimeFrequency::kQuarterly);
  EXPECT_EQ(quarter_ends.next_labels(1), (Labels{"1959-12-31"}));
  EXPECT_EQ(parsed({"2001-06-15", "2002-06-15"}).frequency, TimeFrequency::kYearly);
  // A day-of-month kept where it exists, clamped where it does not (no 31 June).
  EXPECT_EQ(parsed({"2020-03-31", "2020-04-30", "2020-05-31"}).next_labels(1),
            (Labels{"2020-06-30"}));
  EXPECT_EQ(parsed({"2021-01-30", "2021-02-28", "2021-03-30"}).next_labels(1),
            (Labels{"2021-04-30"}));
}

TEST(TimeIndex, FrequencyIsTheMedianStepDespiteGaps) {
  // Daily with a missing weekend; the gap does not change the step.
  const TimeIndex a = parsed({"2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07",
                              "2021-01-08", "2021-01-11", "2021-01-12"});
  EXPECT_EQ(a.frequency, TimeFrequency::kDaily);
  EXPECT_EQ(a.next_labels(1), (Labels{"2021-01-13"}));
  // Every 6 hours: no named frequency, but the step is known.
  const TimeIndex b = parsed({"2021-01-01 00:00", "2021-01-01 06:00", "2021-01-01 12:00"});
  EXPECT_EQ(b.frequency, TimeFrequency::kUnknown);
  EXPECT_EQ(b.next_labels(2), (Labels{"2021-01-01 18:00", "2021-01-02 00:00"}));
}

TEST(TimeIndex, BackwardOrDuplicateTimeIsFoundWithItsRow) {
  const TimeIndex dup = parsed({"2020-01", "2020-02", "2020-02", "2020-03"});
  EXPECT_EQ(dup.first_backward_row, 2u);
  EXPECT_EQ(dup.frequency, TimeFrequency::kMonthly);  // from the positive steps
  EXPECT_EQ(parsed({"2020-03-01", "2020-03-02", "2020-02-27"}).first_backward_row, 2u);
  EXPECT_EQ(parsed({"2020-03", "2020-01"}).first_backward_row, 1u);
  EXPECT_EQ(parsed({"2020-03-01 10:00", "2020-03-01 09:00", "2020-03-01 11:00"}).first_backward_row,
            1u);
}

TEST(TimeIndex, IntegerTimesSortedNewestFirstAreFoundAsBackwards) {
  EXPECT_EQ(parsed({"1962", "1961", "1960"}).first_backward_row, 1u);
  EXPECT_EQ(parsed({"20200103", "20200102", "20200101"}).first_backward_row, 1u);
}

TEST(TimeIndex, NumericColumnsAreNotTimes) {
  EXPECT_FALSE(recur::parse_time_column({"112", "118", "132", "129"}));
  EXPECT_FALSE(recur::parse_time_column({"1500.5", "1501.5"}));
  EXPECT_FALSE(recur::parse_time_column({"2010", "1990", "2005", "1999", "2020"}));  // unordered
  EXPECT_FALSE(recur::parse_time_column({"1200", "1850", "2400", "2990"}));  // irregular steps
  EXPECT_FALSE(recur::parse_time_column({"3000", "3001", "3002"}));  // outside 1000..2999
  EXPECT_FALSE(recur::parse_time_column({"1960"}));                 // one integer: no evidence
  // A year repeated per quarter is half of a two-column time, not a time on its own.
  EXPECT_FALSE(recur::parse_time_column({"1959", "1959", "1959", "1959", "1960", "1960"}));
  EXPECT_FALSE(recur::parse_time_column({"12345678", "12345679"}));  // month 56
  // Valid YYYYMMDD values in no order: an 8-digit feature, not a date column.
  EXPECT_FALSE(recur::parse_time_column({"20200105", "19991231", "20100610", "19870722"}));
  EXPECT_FALSE(recur::parse_time_column({"-1960", "-1961"}));
  EXPECT_FALSE(recur::parse_time_column({}));
  EXPECT_FALSE(recur::parse_time_column({"2020-01", "NA", "2020-03"}));
  EXPECT_FALSE(recur::parse_time_column({"2020-01", "2020-02-01"}));  // mixed layouts
  EXPECT_FALSE(recur::parse_time_column({"rain", "sun"}));
  // Surrounding spaces are trimmed, as select_numeric does.
  EXPECT_TRUE(recur::parse_time_column({" 2020-01", "2020-02 "}));
}

TEST(TimeIndex, OneRowOrNoStepBetweenRows) {
  // A layout with its own unit continues by that unit.
  EXPECT_EQ(parsed({"1960-05"}).next_labels(1), (Labels{"1960-06"}));
  EXPECT_EQ(parsed({"1960-Q4"}).next_labels(1), (Labels{"1961-Q1"}));
  // A full date alone gives no step.
  const TimeIndex one = parsed({"1960-05-01"});
  EXPECT_EQ(one.frequency, TimeFrequency::kUnknown);
  EXPECT_THROW(one.next_labels(1), recur::ValueError);
  const TimeIndex same = parsed({"1960-05-01", "1960-05-01"});
  EXPECT_EQ(same.first_backward_row, 1u);
  try {
    same.next_labels(1);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no step between rows"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(parsed({"2020-01"}).next_labels(0).empty());
}

TEST(TimeIndex, LabelsStopAtTheYear9999) {
  const TimeIndex a = parsed({"9999-10", "9999-11"});
  EXPECT_EQ(a.next_labels(1), (Labels{"9999-12"}));
  try {
    a.next_labels(2);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("pass the year 9999; at most 1 fit"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parsed({"9999-12-30", "9999-12-31"}).next_labels(1), recur::ValueError);
  EXPECT_THROW(parsed({"2020-01-01"}).next_labels(std::numeric_limits<std::size_t>::max()),
               recur::ValueError);
}

// ---- a year column with a quarter or month column, and finding the time column of a table ----

TEST(TimeIndex, YearAndQuarterColumns) {
  const auto a = recur::parse_time_columns({"1959", "1959", "1959", "1959", "1960"},
                                           {"1", "2", "3", "4", "1"}, TimeFrequency::kQuarterly);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->frequency, TimeFrequency::kQuarterly);
  EXPECT_EQ(a->first_backward_row, TimeIndex::npos);
  EXPECT_EQ(a->next_labels(4), (Labels{"1960-Q2", "1960-Q3", "1960-Q4", "1961-Q1"}));
  const auto m = recur::parse_time_columns({"2001", "2001"}, {"11", "12"}, TimeFrequency::kMonthly);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->next_labels(1), (Labels{"2002-01"}));
  EXPECT_TRUE(recur::parse_time_columns({"1959"}, {"Q3"}, TimeFrequency::kQuarterly));
  EXPECT_FALSE(recur::parse_time_columns({"1959"}, {"5"}, TimeFrequency::kQuarterly));
  EXPECT_FALSE(recur::parse_time_columns({"1959"}, {"13"}, TimeFrequency::kMonthly));
  EXPECT_FALSE(recur::parse_time_columns({"59"}, {"1"}, TimeFrequency::kQuarterly));
  EXPECT_FALSE(recur::parse_time_columns({"1959", "1959"}, {"1"}, TimeFrequency::kQuarterly));
  EXPECT_THROW(recur::parse_time_columns({"1959"}, {"1"}, TimeFrequency::kDaily),
               recur::ValueError);
}

TEST(TimeIndex, FindsTheTimeColumnOfATable) {
  const auto t = recur::parse_csv("id,when,value\n1,2020-01-06,5\n2,2020-01-13,6\n3,2020-01-20,7\n",
                                  "t.csv");
  const auto found = recur::find_time_columns(t);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->columns, (std::vector<std::size_t>{1}));
  EXPECT_EQ(found->index.frequency, TimeFrequency::kWeekly);
  // An integer year column is found; a count next to it is not.
  const auto y = recur::parse_csv("count,Year\n112,1949\n118,1950\n132,1951\n", "y.csv");
  const auto found_year = recur::find_time_columns(y);
  ASSERT_TRUE(found_year);
  EXPECT_EQ(found_year->columns, (std::vector<std::size_t>{1}));
  // year + month by name, in any case.
  const auto ym = recur::parse_csv("YEAR,Month,v\n2001,11,1\n2001,12,2\n2002,1,3\n", "ym.csv");
  const auto found_ym = recur::find_time_columns(ym);
  ASSERT_TRUE(found_ym);
  EXPECT_EQ(found_ym->columns, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(found_ym->index.next_labels(1), (Labels{"2002-02"}));
  EXPECT_FALSE(recur::find_time_columns(recur::parse_csv("a,b\n1,2\n3,4\n5,6\n", "n.csv")));
}

TEST(TimeIndex, FindsTheTimeColumnsOfTheBundledFiles) {
  const auto air = recur::find_time_columns(recur::read_csv(RECUR_DATA_DIR "/airpassengers.csv"));
  ASSERT_TRUE(air);
  EXPECT_EQ(air->columns, (std::vector<std::size_t>{0}));
  EXPECT_EQ(air->index.frequency, TimeFrequency::kMonthly);
  EXPECT_EQ(air->index.points.size(), 144u);
  EXPECT_EQ(air->index.next_labels(2), (Labels{"1961-01", "1961-02"}));

  const auto macro = recur::find_time_columns(recur::read_csv(RECUR_DATA_DIR "/macrodata.csv"));
  ASSERT_TRUE(macro);
  EXPECT_EQ(macro->columns, (std::vector<std::size_t>{0, 1}));  // year, quarter
  EXPECT_EQ(macro->index.frequency, TimeFrequency::kQuarterly);
  EXPECT_EQ(macro->index.first_backward_row, TimeIndex::npos);
  EXPECT_EQ(macro->index.next_labels(2), (Labels{"2009-Q4", "2010-Q1"}));

  const auto weather =
      recur::find_time_columns(recur::read_csv(RECUR_DATA_DIR "/seattle_weather.csv"));
  ASSERT_TRUE(weather);
  EXPECT_EQ(weather->columns, (std::vector<std::size_t>{0}));
  EXPECT_EQ(weather->index.frequency, TimeFrequency::kDaily);
  EXPECT_EQ(weather->index.next_labels(1), (Labels{"2016-01-01"}));
}

TEST(TimeIndex, FrequencyNamesRoundTrip) {
  for (TimeFrequency f :
       {TimeFrequency::kUnknown, TimeFrequency::kYearly, TimeFrequency::kQuarterly,
        TimeFrequency::kMonthly, TimeFrequency::kWeekly, TimeFrequency::kDaily,
        TimeFrequency::kHourly, TimeFrequency::kHalfHourly, TimeFrequency::kMinutely}) {
    EXPECT_EQ(recur::parse_frequency(recur::frequency_name(f)), f);
  }
  EXPECT_EQ(recur::frequency_name(TimeFrequency::kMonthly), "monthly");
  try {
    recur::parse_frequency("fortnightly");
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of unknown, yearly, quarterly, monthly, "
                                         "weekly, daily, hourly, half-hourly, minutely"),
              std::string::npos)
        << e.what();
  }
}

// ---- seasons ----

TEST(Season, PeriodsImpliedByAFrequency) {
  using V = std::vector<std::size_t>;
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kMonthly), V{12});
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kQuarterly), V{4});
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kWeekly), V{52});
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kDaily), (V{7, 365}));
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kHourly), (V{24, 168}));
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kHalfHourly), (V{48, 336}));
  // Half-hourly readings (electricity demand) are their own frequency.
  const auto half = recur::parse_time_column({"2000-07-03 00:00", "2000-07-03 00:30", "2000-07-03 01:00"});
  ASSERT_TRUE(half.has_value());
  EXPECT_EQ(half->frequency, TimeFrequency::kHalfHourly);
  EXPECT_EQ(half->next_labels(2), (std::vector<std::string>{"2000-07-03 01:30", "2000-07-03 02:00"}));
  EXPECT_EQ(recur::seasons_for(TimeFrequency::kMinutely), (V{60, 1440}));
  EXPECT_TRUE(recur::seasons_for(TimeFrequency::kYearly).empty());
  EXPECT_TRUE(recur::seasons_for(TimeFrequency::kUnknown).empty());
}

// 12 years of a monthly series: trend, a season of half-amplitude 10, Gaussian noise.
std::vector<double> monthly_on_a_trend(std::uint64_t seed, double noise_sd) {
  recur::Rng rng(seed);
  std::vector<double> y(144);
  for (std::size_t t = 0; t < y.size(); ++t)
    y[t] = 100 + 0.8 * t + 10 * std::sin(2 * kPi * t / 12) + rng.normal(0, noise_sd);
  return y;
}

TEST(Season, MonthlySeasonOnATrend) {
  for (std::uint64_t seed : {1, 2, 3})
    EXPECT_EQ(recur::infer_season_from_values(monthly_on_a_trend(seed, 3)), 12u) << "seed " << seed;
}

TEST(Season, SlowSeasonInLargeNoiseIsFoundOnTheDetrendedLevel) {
  // Noise twice the season's half-amplitude: differencing alone loses it.
  for (std::uint64_t seed : {1, 2, 3})
    EXPECT_EQ(recur::infer_season_from_values(monthly_on_a_trend(seed, 6)), 12u) << "seed " << seed;
}

TEST(Season, QuarterlyAndDailyWithWeeklyPatterns) {
  for (std::uint64_t seed : {1, 2, 3}) {
    recur::Rng rng(seed);
    const double quarter[4] = {3, -1, -4, 2};
    std::vector<double> q(80);
    for (std::size_t t = 0; t < q.size(); ++t) q[t] = 50 + 0.3 * t + quarter[t % 4] + rng.normal();
    EXPECT_EQ(recur::infer_season_from_values(q), 4u) << "seed " << seed;
    // Weekday effect on a wandering level (a random walk plus the pattern).
    const double week[7] = {0, 1, 1, 0.5, 2, 5, 6};
    std::vector<double> d(365);
    double level = 20;
    for (std::size_t t = 0; t < d.size(); ++t) {
      level += rng.normal(0, 0.3);
      d[t] = level + week[t % 7] + rng.normal();
    }
    EXPECT_EQ(recur::infer_season_from_values(d), 7u) << "seed " << seed;
  }
}

TEST(Season, MultipleIsReducedToItsBase) {
  // A 12-season whose amplitude alternates year by year (6.5, 3.5): the ACF peaks highest at
  // 24 (the full repeat), and 12 is a clear peak too, so the base 12 is the answer.
  for (std::uint64_t seed : {1, 2, 3}) {
    recur::Rng rng(seed);
    std::vector<double> y(240);
    for (std::size_t t = 0; t < y.size(); ++t) {
      const double amplitude = (t / 12) % 2 ? 6.5 : 3.5;
      y[t] = amplitude * std::sin(2 * kPi * t / 12) + rng.normal();
    }
    EXPECT_EQ(recur::infer_season_from_values(y), 12u) << "seed " << seed;
  }
  // Hourly with a daily cycle and a weekend dip: 24 (not 168, nor 72).
  recur::Rng rng(4);
  std::vector<double> h(24 * 7 * 5);
  for (std::size_t t = 0; t < h.size(); ++t) {
    const double weekend = (t / 24) % 7 >= 5 ? -3 : 0;
    h[t] = 50 + 5 * std::sin(2 * kPi * t / 24) + weekend + rng.normal();
  }
  EXPECT_EQ(recur::infer_season_from_values(h), 24u);
}

TEST(Season, TenYearCycleLikeAnimalCounts) {
  // Positive, skewed counts on a quasi-periodic 9.6-step cycle with a wandering phase.
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    recur::Rng rng(seed);
    std::vector<double> y(114);
    double phase = rng.uniform(0, 2 * kPi);
    for (double& v : y) {
      phase += 2 * kPi / 9.6 + rng.normal(0, 0.15);
      v = std::exp(6.5 + 1.5 * std::sin(phase) + rng.normal(0, 0.3));
    }
    const std::size_t season = recur::infer_season_from_values(y);
    EXPECT_GE(season, 9u) << "seed " << seed;
    EXPECT_LE(season, 11u) << "seed " << seed;
  }
}

TEST(Season, RandomWalkAndWhiteNoiseHaveNone) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    recur::Rng rng(seed);
    std::vector<double> walk(200), noise(200);
    double level = 0;
    for (std::size_t t = 0; t < walk.size(); ++t) {
      level += rng.normal();
      walk[t] = level;
      noise[t] = rng.normal();
    }
    EXPECT_EQ(recur::infer_season_from_values(walk), 1u) << "seed " << seed;
    EXPECT_EQ(recur::infer_season_from_values(noise), 1u) << "seed " << seed;
  }
}

TEST(Season, ShortConstantAndTrendSeriesHaveNone) {
  EXPECT_EQ(recur::infer_season_from_values({}), 1u);
  EXPECT_EQ(recur::infer_season_from_values({1, 5, 1, 5, 1, 5, 1}), 1u);  // n < 8
  EXPECT_EQ(recur::infer_season_from_values(std::vector<double>(50, 3.0)), 1u);
  std::vector<double> line(100), quadratic(100), growth(100);
  for (std::size_t t = 0; t < line.size(); ++t) {
    line[t] = 0.1 + 2.7 * t;
    quadratic[t] = 0.01 * t * t;
    growth[t] = std::exp(0.05 * t);
  }
  EXPECT_EQ(recur::infer_season_from_values(line), 1u);
  EXPECT_EQ(recur::infer_season_from_values(quadratic), 1u);
  EXPECT_EQ(recur::infer_season_from_values(growth), 1u);
}

TEST(Season, NonFiniteValueIsNamed) {
  std::vector<double> y(20, 1.0);
  y[7] = std::nan("");
  try {
    recur::infer_season_from_values(y);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_EQ(e.code(), recur::codes::kNonFiniteData);
    EXPECT_NE(std::string(e.what()).find("value 7 of 20"), std::string::npos) << e.what();
  }
}

TEST(Season, BundledSeries) {
  auto column = [](const char* file, const char* name) {
    const auto table = recur::read_csv(std::string(RECUR_DATA_DIR "/") + file);
    return recur::select_numeric(table, {name}).values[0];
  };
  EXPECT_EQ(recur::infer_season_from_values(column("airpassengers.csv", "passengers")), 12u);
  // Four years of daily maxima: the annual cycle, found on the detrended level (~365).
  const std::size_t annual =
      recur::infer_season_from_values(column("seattle_weather.csv", "temp_max"));
  EXPECT_GE(annual, 350u);
  EXPECT_LE(annual, 380u);
  // Seasonally adjusted GDP: no season.
  EXPECT_EQ(recur::infer_season_from_values(column("macrodata.csv", "realgdp")), 1u);
}

}  // namespace
