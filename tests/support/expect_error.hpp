#pragma once
// Error tests: the call throws the expected recur error type, with its stable code, and the
// message holds the key words (what was expected, what was received, the fix).
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace recur::test {

/// Calls f; expects an exception of type E whose code() is `code` (when not empty; what() then
/// shows it as "[code]") and whose what() holds every one of `words`.
template <typename E>
void expect_error(const std::function<void()>& f, const std::string& code, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "expected an exception" << (code.empty() ? "" : " with " + code);
  } catch (const E& e) {
    const std::string what = e.what();
    if (!code.empty()) {
      EXPECT_EQ(e.code(), code) << what;
      EXPECT_NE(what.find("[" + code + "]"), std::string::npos) << what;
    }
    for (const auto& w : words) EXPECT_NE(what.find(w), std::string::npos) << "missing \"" << w << "\" in " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

/// The same without a code check.
template <typename E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& words) {
  expect_error<E>(f, std::string(), words);
}

}  // namespace recur::test
