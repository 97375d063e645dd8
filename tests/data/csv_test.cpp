#include "recur/data/csv.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>

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

// --- dialects: delimiter, decimal comma, header that looks like data, guard rails ---

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const recur::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A file under the test temp dir, named after the running test, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& contents)
      : path_(testing::TempDir() + "recur_" +
              testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv") {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(CsvDelimiter, SemicolonTabAndPipeAreDetected) {
  const auto semi = recur::parse_csv("date;value\n1949-01;112\n1949-02;118\n", "s.csv");
  EXPECT_EQ(semi.delimiter, ';');
  EXPECT_EQ(semi.header, (std::vector<std::string>{"date", "value"}));
  EXPECT_EQ(recur::select_numeric(semi, {"value"}).values[0], (std::vector<double>{112, 118}));

  const auto tab = recur::parse_csv("date\ttemp\twind\n2020-01-01\t3.5\t1\n", "t.tsv");
  EXPECT_EQ(tab.delimiter, '\t');
  EXPECT_EQ(tab.header, (std::vector<std::string>{"date", "temp", "wind"}));
  EXPECT_EQ(recur::select_numeric(tab, {"temp"}).values[0][0], 3.5);

  const auto pipe = recur::parse_csv("a|b\n1|2\n", "p.csv");
  EXPECT_EQ(pipe.delimiter, '|');
  EXPECT_EQ(pipe.rows[0], (std::vector<std::string>{"1", "2"}));

  // The BOM and CRLF do not get in the way of detection.
  const auto bom = recur::parse_csv("\xEF\xBB\xBFx;y\r\n1;2\r\n", "b.csv");
  EXPECT_EQ(bom.delimiter, ';');
  EXPECT_EQ(bom.header, (std::vector<std::string>{"x", "y"}));
}

TEST(CsvDelimiter, CommaStaysTheDefault) {
  EXPECT_EQ(recur::parse_csv("a,b\n1,2\n", "c.csv").delimiter, ',');
  EXPECT_EQ(recur::parse_csv("v\n1\n2\n", "one.csv").delimiter, ',');  // one column
  EXPECT_EQ(recur::parse_csv("a,b;c\nx,y;z\n", "tie.csv").delimiter, ',');  // both split in 2
  // The ragged row decides nothing: the header still says ','.
  EXPECT_THROW(recur::parse_csv("a,b\n1,2\n3\n", "r.csv"), recur::ParseError);
}

TEST(CsvDelimiter, ConsistentSplitBeatsAnInconsistentOne) {
  // ',' splits the header in 3 but the rows in 2; ';' splits all in 2.
  const auto t = recur::parse_csv("temp, C;wind, m/s\n1.5;2\n2.5;3\n", "w.csv");
  EXPECT_EQ(t.delimiter, ';');
  EXPECT_EQ(t.header, (std::vector<std::string>{"temp, C", "wind, m/s"}));
}

TEST(CsvDelimiter, QuotedCellsMayHoldTheOtherDelimiters) {
  const auto semi = recur::parse_csv(
      "\"city, country\";\"pop, m\"\n\"Paris, FR\";2.1\n\"Rome, IT\";2.8\n", "cities.csv");
  EXPECT_EQ(semi.delimiter, ';');
  EXPECT_EQ(semi.header, (std::vector<std::string>{"city, country", "pop, m"}));
  EXPECT_EQ(semi.rows[1][0], "Rome, IT");

  const auto comma = recur::parse_csv("name,v\n\"a;b;c\",1\n\"d\te|f\",2\n", "q.csv");
  EXPECT_EQ(comma.delimiter, ',');
  EXPECT_EQ(comma.rows[0][0], "a;b;c");
  EXPECT_EQ(comma.rows[1][0], "d\te|f");

  // A quoted cell may hold the delimiter itself and a line end.
  const auto tab = recur::parse_csv("k\tnote\n1\t\"x\ty\nz\"\n2\tw\n", "n.tsv");
  EXPECT_EQ(tab.delimiter, '\t');
  EXPECT_EQ(tab.rows[0][1], "x\ty\nz");
  EXPECT_EQ(tab.line_numbers, (std::vector<long>{2, 4}));
}

TEST(CsvDelimiter, ForcedDelimiterIsUsedAsIs) {
  recur::CsvOptions comma;
  comma.delimiter = ',';
  const auto t = recur::parse_csv("a;b\n1;2\n", "f.csv", comma);
  EXPECT_EQ(t.delimiter, ',');
  EXPECT_EQ(t.header, (std::vector<std::string>{"a;b"}));

  recur::CsvOptions semi;
  semi.delimiter = ';';
  const auto u = recur::parse_csv("a,b;c\nx,y;z\n", "g.csv", semi);  // detection would say ','
  EXPECT_EQ(u.header, (std::vector<std::string>{"a,b", "c"}));

  recur::CsvOptions quote;
  quote.delimiter = '"';
  EXPECT_THROW(recur::parse_csv("a\n1\n", "h.csv", quote), recur::ValueError);
}

TEST(CsvDelimiter, ParseDelimiterTakesTheFlagSpellings) {
  EXPECT_EQ(recur::parse_delimiter(","), ',');
  EXPECT_EQ(recur::parse_delimiter(";"), ';');
  EXPECT_EQ(recur::parse_delimiter("|"), '|');
  EXPECT_EQ(recur::parse_delimiter("tab"), '\t');
  EXPECT_EQ(recur::parse_delimiter("\\t"), '\t');
  EXPECT_EQ(recur::parse_delimiter("\t"), '\t');
  EXPECT_THROW(recur::parse_delimiter("semicolon"), recur::ValueError);
  const std::string m = error_of([] { recur::parse_delimiter(":"); });
  EXPECT_NE(m.find("--delimiter"), std::string::npos) << m;
  EXPECT_NE(m.find("\":\""), std::string::npos) << m;
  EXPECT_NE(m.find("expected one of \",\", \";\", \"tab\", \"\\t\", \"|\""), std::string::npos)
      << m;
  EXPECT_EQ(recur::delimiter_name('\t'), "tab");
  EXPECT_EQ(recur::delimiter_name(';'), "';'");
}

TEST(CsvDecimalComma, CellWithADecimalCommaSaysSoAndIsNotReinterpreted) {
  const auto t = recur::parse_csv("date;value\n1949-01;112\n1949-02;112,5\n", "eu.csv");
  EXPECT_EQ(t.delimiter, ';');
  EXPECT_FALSE(recur::is_numeric_column(t, 1));
  try {
    recur::select_numeric(t, {"value"});
    FAIL() << "expected ParseError";
  } catch (const recur::ParseError& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), recur::codes::kNonNumericCell);
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 9);
    EXPECT_NE(m.find("expected a number, got \"112,5\""), std::string::npos) << m;
    EXPECT_NE(m.find("decimal comma"), std::string::npos) << m;
    EXPECT_NE(m.find("replace ',' by '.'"), std::string::npos) << m;
    EXPECT_EQ(m.find("thousands"), std::string::npos) << m;
  }
  const auto g = recur::parse_csv("date;value\n1949-01;1.234,5\n", "eu.csv");
  const std::string m = error_of([&] { recur::select_numeric(g, {"value"}); });
  EXPECT_NE(m.find("decimal comma"), std::string::npos) << m;
  EXPECT_NE(m.find("thousands separators"), std::string::npos) << m;
  // Text with a comma is not called a decimal comma.
  const auto h = recur::parse_csv("k;v\n1;a,b\n", "h.csv");
  const std::string n = error_of([&] { recur::select_numeric(h, {"v"}); });
  EXPECT_EQ(n.find("decimal comma"), std::string::npos) << n;
}

TEST(CsvDecimalComma, CommaFileSplitByDecimalCommasSaysSo) {
  try {
    recur::parse_csv("date,value\n1949-01,112,5\n", "air.csv");
    FAIL() << "expected ParseError";
  } catch (const recur::ParseError& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.line(), 2);
    EXPECT_NE(m.find("expected 2 cells (as many as the header has), got 3"), std::string::npos)
        << m;
    EXPECT_NE(m.find("decimal comma?"), std::string::npos) << m;
    EXPECT_NE(m.find("\"112\" and \"5\""), std::string::npos) << m;
    EXPECT_NE(m.find("112.5"), std::string::npos) << m;
  }
  // Two split numbers, two extra cells.
  const std::string two = error_of([] { recur::parse_csv("a,b\n1,5,-2,25\n", "two.csv"); });
  EXPECT_NE(two.find("decimal comma?"), std::string::npos) << two;
  // Extra cells that are not halves of numbers get no such guess.
  const std::string text = error_of([] { recur::parse_csv("a,b\n1,2\nx,y,z\n", "r.csv"); });
  EXPECT_NE(text.find("got 3."), std::string::npos) << text;
  EXPECT_EQ(text.find("decimal comma"), std::string::npos) << text;
  const std::string spaced = error_of([] { recur::parse_csv("a,b\nx,1, 5\n", "s.csv"); });
  EXPECT_EQ(spaced.find("decimal comma"), std::string::npos) << spaced;
}

TEST(CsvHeader, FirstRowThatLooksLikeDataIsKeptWithAWarning) {
  const auto t = recur::parse_csv("112,118\n132,129\n", "nums.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"112", "118"}));
  EXPECT_EQ(t.rows.size(), 1u);
  ASSERT_EQ(t.warnings.size(), 1u);
  const std::string& w = t.warnings[0];
  EXPECT_EQ(w.rfind("nums.csv: the first row (\"112,118\") looks like data, not a header; recur "
                    "takes it as the column names. Add a header row",
                    0),
            0u)
      << w;
  // Dates count as data; so do decimal commas in a ';' file.
  EXPECT_EQ(recur::parse_csv("1949-01,112\n1949-02,118\n", "d.csv").warnings.size(), 1u);
  const auto eu = recur::parse_csv("1,5;2,3\n1,7;2,9\n", "eu.csv");
  EXPECT_EQ(eu.delimiter, ';');
  ASSERT_EQ(eu.warnings.size(), 1u);
  EXPECT_NE(eu.warnings[0].find("(\"1,5;2,3\")"), std::string::npos) << eu.warnings[0];
}

TEST(CsvHeader, NormalHeaderGivesNoWarning) {
  EXPECT_TRUE(recur::parse_csv("date,passengers\n1949-01,112\n", "a.csv").warnings.empty());
  EXPECT_TRUE(recur::parse_csv("year,2020\n1,2\n", "b.csv").warnings.empty());  // one name
  EXPECT_TRUE(recur::read_csv(std::string(RECUR_DATA_DIR) + "/airpassengers.csv").warnings.empty());
}

TEST(CsvHeader, DuplicateNameInADataRowSaysTheRowLooksLikeData) {
  const std::string m = error_of([] { recur::parse_csv("1,1\n2,3\n", "dup.csv"); });
  EXPECT_NE(m.find("duplicate column name \"1\""), std::string::npos) << m;
  EXPECT_NE(m.find("looks like data"), std::string::npos) << m;
}

TEST(CsvHeader, HundredThousandColumnsParse) {
  constexpr int kColumns = 100000;
  std::string header, row;
  for (int c = 0; c < kColumns; ++c) {
    header += (c ? "," : "") + ("c" + std::to_string(c));
    row += c ? ",1" : "1";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto t = recur::parse_csv(header + "\n" + row + "\n", "wide.csv");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(t.header.size(), static_cast<std::size_t>(kColumns));
  EXPECT_EQ(t.header.back(), "c99999");
  EXPECT_EQ(t.rows[0].size(), static_cast<std::size_t>(kColumns));
  EXPECT_LT(seconds, 5.0) << "the duplicate-name check must not be quadratic";
  // A duplicate at the very end is still found.
  EXPECT_THROW(recur::parse_csv(header + ",c5\n", "wide.csv"), recur::ParseError);
}

TEST(CsvFile, DirectoryAndDeviceAreRefused) {
  const std::string dir = testing::TempDir();
  try {
    recur::read_csv(dir);
    FAIL() << "expected IoError";
  } catch (const recur::IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("\"" + dir + "\""), std::string::npos) << m;
    EXPECT_NE(m.find("is a directory"), std::string::npos) << m;
  }
  if (std::filesystem::exists("/dev/zero")) {
    const std::string m = error_of([] { recur::read_csv("/dev/zero"); });
    EXPECT_NE(m.find("recur::IoError"), std::string::npos) << m;
    EXPECT_NE(m.find("\"/dev/zero\""), std::string::npos) << m;
    EXPECT_NE(m.find("not a regular file"), std::string::npos) << m;
  }
}

TEST(CsvFile, FileOverTheSizeLimitIsRefused) {
  const TempFile f("date;value\n1949-01;112\n1949-02;118\n");  // 35 bytes
  recur::CsvOptions small;
  small.max_bytes = 20;
  try {
    recur::read_csv(f.path(), small);
    FAIL() << "expected IoError";
  } catch (const recur::IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(f.path()), std::string::npos) << m;
    EXPECT_NE(m.find("the file is 35 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("up to 20 bytes"), std::string::npos) << m;
  }
  // Under the limit, read_csv detects the delimiter as parse_csv does; a forced one is honoured.
  EXPECT_EQ(recur::read_csv(f.path()).delimiter, ';');
  recur::CsvOptions comma;
  comma.delimiter = ',';
  EXPECT_EQ(recur::read_csv(f.path(), comma).header, (std::vector<std::string>{"date;value"}));
  EXPECT_NE(error_of([] { recur::read_csv("big.csv", {}); }).find("No such file"),
            std::string::npos);
}

TEST(CsvNumbers, PointIsTheDecimalSeparatorAndSignsAreRead) {
  const auto t = recur::parse_csv("v\n+1.5\n-2\n.5\n1e3\n", "n.csv");
  EXPECT_EQ(recur::select_numeric(t, {"v"}).values[0], (std::vector<double>{1.5, -2, 0.5, 1000}));
  EXPECT_FALSE(recur::is_numeric_column(recur::parse_csv("v\n+-1\n", "n.csv"), 0));
  EXPECT_FALSE(recur::is_numeric_column(recur::parse_csv("v\n1e999\n", "n.csv"), 0));
}

}  // namespace
