// The layers of the code (README, "Architecture"): each source folder may include only folders
// of a LOWER level, so no two folders include each other and nothing reaches up; the library
// never includes cli/; and only cli/ prints (the library's one writer is ProgressBar, which
// writes to the stream its user hands it, asked for by FitOptions::verbose or by the user).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;

// Level of each folder of include/recur and src: a folder includes only lower levels.
const std::map<std::string, int> kLevel = {
    {"core", 0},       {"ops", 1},     {"io", 1},      {"layers", 2}, {"data", 2},
    {"losses", 2},     {"metrics", 3}, {"optimizers", 3}, {"callbacks", 4}, {"model", 5},
    {"tasks", 6},
};

fs::path root() { return fs::path(RECUR_DATA_DIR).parent_path(); }

// (folder, file) of every library source and header.
std::vector<std::pair<std::string, fs::path>> library_files() {
  std::vector<std::pair<std::string, fs::path>> files;
  for (const char* base : {"include/recur", "src"}) {
    const fs::path dir = root() / base;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const fs::path rel = fs::relative(e.path(), dir);
      if (rel.begin() == rel.end() || std::next(rel.begin()) == rel.end()) continue;  // recur.hpp, the umbrella
      files.emplace_back(rel.begin()->string(), e.path());
    }
  }
  return files;
}

TEST(Architecture, FoldersIncludeOnlyLowerLevelsAndNeverCli) {
  const std::regex include_re(R"re(^\s*#\s*include\s+"(recur/([a-z_]+)/|([a-z_]+)/)[^"]*")re");
  std::size_t checked = 0;
  std::set<std::string> folders;
  for (const auto& [folder, path] : library_files()) {
    folders.insert(folder);
    ASSERT_TRUE(kLevel.count(folder)) << "folder " << folder << " has no level in this test (and the README's table)";
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, include_re)) continue;
      const std::string target = m[2].matched ? m[2].str() : m[3].str();
      EXPECT_NE(target, "cli") << path << ":" << n << " includes cli/, which is above the library";
      if (!m[2].matched || target == folder) continue;
      ++checked;
      ASSERT_TRUE(kLevel.count(target)) << path << ":" << n << " includes an unknown folder " << target;
      EXPECT_LT(kLevel.at(target), kLevel.at(folder))
          << path << ":" << n << ": " << folder << " (level " << kLevel.at(folder) << ") includes " << target
          << " (level " << kLevel.at(target) << "), which is not below it";
    }
  }
  EXPECT_GT(checked, 50u) << "the include scan found too little: wrong root?";
  EXPECT_GE(folders.size(), 10u);
}

TEST(Architecture, OnlyCliPrints) {
  const std::regex print_re(R"(\b(printf|fprintf|puts|fputs|std::cout|std::cerr|stdout|stderr)\b)");
  for (const auto& [folder, path] : library_files()) {
    const bool progress_bar = folder == "callbacks";  // ProgressBar: the stream its user passes
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const std::string code = line.substr(0, line.find("//"));
      if (std::regex_search(code, print_re) && !progress_bar)
        ADD_FAILURE() << path << ":" << n << " prints or names a standard stream: " << line;
    }
  }
}

}  // namespace
