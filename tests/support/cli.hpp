#pragma once
// Runs the `recur` binary under test (RECUR_CLI_PATH) for the end-to-end tests.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace recur::test {

struct CliRun {
  int code;         // the exit status (-1 when killed by a signal)
  std::string out;  // stdout and stderr together
};

/// `recur <args>` through the shell; `prefix` goes before the binary (e.g. "VAR=1" or "cd dir &&").
inline CliRun run_cli(const std::string& args, const std::string& prefix = "") {
  const std::string cmd = prefix + " " + std::string(RECUR_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace recur::test
