#include "recur/data/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/core/error.hpp"

namespace {

TEST(Csv, NonNumericCellGivesFileLineColumnAndColumnName) {
  const auto t = recur::parse_csv("date,temp,wind\n2020-01-01,3.5,1\n2020-01-02,N/A,2\n", "data.csv");
  try {
    recur::select_numeric(t, {"temp", "wind"});
    FAIL() << "expected ParseError";
  } catch (const recur::ParseError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("data.csv:3:12 (column \"temp\"): expected a number, got \"N/A\""), std::string::npos) << m;
    EXPECT_NE(m.find("--missing interpolate"), std::string::npos) << m;
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 12);
  }
}

TEST(Csv, GarbageCellIsAnErrorEvenWhenInterpolating) {
  const auto t = recur::parse_csv("a,b\n1,2\n3,a\n", "f.csv");
  try {
    recur::select_numeric(t, {"b"}, recur::MissingPolicy::kInterpolate);
    FAIL();
  } catch (const recur::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv:3:3 (column \"b\"): expected a number, got \"a\""),
              std::string::npos) << e.what();
  }
}

TEST(Csv, EmptyCellIsNamedAsEmpty) {
  const auto t = recur::parse_csv("a,b\n1,2\n3,\n", "f.csv");
  try {
    recur::select_numeric(t, {"b"});
    FAIL();
  } catch (const recur::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("got an empty cell"), std::string::npos) << e.what();
  }
}

TEST(Csv, InterpolateFillsLinearlyAndCopiesEdges) {
  const auto t = recur::parse_csv("v\nNA\n1\n\n\n4\nN/A\n", "f.csv");
  const auto nc = recur::select_numeric(t, {"v"}, recur::MissingPolicy::kInterpolate);
  // blank lines are skipped, so the rows are NA, 1, 4, N/A
  EXPECT_EQ(nc.values[0], (std::vector<double>{1, 1, 4, 4}));
  const auto t2 = recur::parse_csv("v\n1\nNA\nNA\n4\n", "g.csv");
  const auto n2 = recur::select_numeric(t2, {"v"}, recur::MissingPolicy::kInterpolate);
  EXPECT_EQ(n2.values[0], (std::vector<double>{1, 2, 3, 4}));
}

TEST(Csv, DropRemovesRowsWithMissingCells) {
  const auto t = recur::parse_csv("a,b\n1,2\nNA,3\n4,5\n", "f.csv");
  const auto nc = recur::select_numeric(t, {"a", "b"}, recur::MissingPolicy::kDrop);
  EXPECT_EQ(nc.values[0], (std::vector<double>{1, 4}));
  EXPECT_EQ(nc.values[1], (std::vector<double>{2, 5}));
  EXPECT_EQ(nc.rows, (std::vector<std::size_t>{0, 2}));
}

TEST(Csv, UnknownColumnListsColumnsAndClosestMatch) {
  const auto t = recur::parse_csv("date,temp_max,temp_min\n1,2,3\n", "w.csv");
  try {
    recur::column_index(t, "tmp_max");
    FAIL();
  } catch (const recur::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no column named \"tmp_max\""), std::string::npos) << m;
    EXPECT_NE(m.find("date, temp_max, temp_min"), std::string::npos) << m;
    EXPECT_NE(m.find("Did you mean \"temp_max\"?"), std::string::npos) << m;
  }
}

TEST(Csv, RaggedRowAndBadHeaderAreParseErrors) {
  try {
    recur::parse_csv("a,b\n1,2\n3\n", "r.csv");
    FAIL();
  } catch (const recur::ParseError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("expected 2 cells"), std::string::npos);
  }
  EXPECT_THROW(recur::parse_csv("a,a\n1,2\n", "d.csv"), recur::ParseError);
  EXPECT_THROW(recur::parse_csv("", "e.csv"), recur::ParseError);
  EXPECT_THROW(recur::parse_csv("a,b\n\"1,2\n", "q.csv"), recur::ParseError);
}

TEST(Csv, QuotesCrlfAndBomAreHandled) {
  const auto t = recur::parse_csv("\xEF\xBB\xBFname,v\r\n\"x, \"\"y\"\"\",1.5\r\n", "q.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"name", "v"}));
  EXPECT_EQ(t.rows[0][0], "x, \"y\"");
  EXPECT_EQ(recur::select_numeric(t, {"v"}).values[0][0], 1.5);
}

TEST(Csv, MissingFileIsAnIoErrorWithTheReason) {
  try {
    recur::read_csv("/nonexistent/file.csv");
    FAIL();
  } catch (const recur::IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent/file.csv"), std::string::npos);
    EXPECT_NE(m.find("No such file"), std::string::npos) << m;
  }
}

TEST(Csv, BundledAirPassengersIsNumericAndComplete) {
  const auto t = recur::read_csv(std::string(RECUR_DATA_DIR) + "/airpassengers.csv");
  EXPECT_EQ(t.rows.size(), 144u);
  EXPECT_FALSE(recur::is_numeric_column(t, 0));
  EXPECT_TRUE(recur::is_numeric_column(t, 1));
  const auto nc = recur::select_numeric(t, {"passengers"});
  EXPECT_EQ(nc.values[0].front(), 112);
  EXPECT_EQ(nc.values[0].back(), 432);
}

}  // namespace
