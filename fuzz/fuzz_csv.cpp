// Fuzz target: the CSV reader (recur::parse_csv: delimiter detection, quoting, line ends, the
// header) and what the CLI does next with a table: select_numeric on its numeric columns and on
// all of them, the time-column search, and the season read off a numeric column.
//
// Input layout: byte 0 chooses the options, the rest is the CSV text.
//   bits 0-2  delimiter: 1 ',', 2 ';', 3 tab, 4 '|', 5 forced to byte 1 (then the text starts
//             at byte 2), otherwise detected
//   bits 3-4  MissingPolicy: 1 interpolate, 2 drop, otherwise error
//   bit 5     also find_time_columns
//   bit 6     also infer_season_from_values on the first numeric column
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/time_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  std::size_t at = 1;
  recur::CsvOptions options;
  switch (control & 7) {
    case 1: options.delimiter = ','; break;
    case 2: options.delimiter = ';'; break;
    case 3: options.delimiter = '\t'; break;
    case 4: options.delimiter = '|'; break;
    case 5:
      if (size < 2) return 0;
      options.delimiter = static_cast<char>(data[1]);
      at = 2;
      break;
    default: break;
  }
  const recur::MissingPolicy policy = ((control >> 3) & 3) == 1   ? recur::MissingPolicy::kInterpolate
                                      : ((control >> 3) & 3) == 2 ? recur::MissingPolicy::kDrop
                                                                  : recur::MissingPolicy::kError;
  const std::string text(reinterpret_cast<const char*>(data) + at, size - at);

  recur::CsvTable table;
  try {
    table = recur::parse_csv(text, "fuzz.csv", options);
  } catch (const recur::Error&) {
    return 0;  // a typed refusal is the expected outcome for malformed text
  }
  if (table.rows.size() != table.line_numbers.size() || table.rows.size() != table.cell_columns.size())
    recur_fuzz::fail("parse_csv: rows, line_numbers and cell_columns differ in length");
  for (std::size_t r = 0; r < table.rows.size(); ++r)
    if (table.rows[r].size() != table.header.size() || table.cell_columns[r].size() != table.header.size())
      recur_fuzz::fail("parse_csv accepted row " + std::to_string(r) + " with a cell count other than the header's");

  std::vector<std::string> numeric;
  for (std::size_t c = 0; c < table.header.size(); ++c)
    if (recur::is_numeric_column(table, c)) numeric.push_back(table.header[c]);
  try {
    if (!numeric.empty()) {
      const recur::NumericColumns columns = recur::select_numeric(table, numeric, policy);
      if ((control & 0x40) && !columns.values.empty()) (void)recur::infer_season_from_values(columns.values[0]);
    }
  } catch (const recur::Error&) {
  }
  try {
    (void)recur::select_numeric(table, table.header, policy);
  } catch (const recur::Error&) {
  }
  if (control & 0x20) {
    try {
      (void)recur::find_time_columns(table);
    } catch (const recur::Error&) {
    }
  }
  return 0;
}
