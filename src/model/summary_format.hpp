#pragma once
// Number and column formatting of the model summaries (Keras's style), private to src/model.
#include <cstddef>
#include <string>

namespace recur::detail {

/// 1234567 -> "1,234,567".
inline std::string format_int(std::size_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

/// Pads to `width`; a longer cell keeps one space before the next column.
inline std::string pad(std::string s, std::size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

}  // namespace recur::detail
