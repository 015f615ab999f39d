// Helpers shared by Strata's tests: temporary folders and child processes.
#pragma once

#include <string>
#include <vector>

namespace strata::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when destroyed
// unless STRATA_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;   // exit status, or 128 + signal number when killed by a signal
  std::string out;      // stdout
  std::string err;      // stderr
};

// Runs argv[0] with arguments (no shell), extra environment entries ("K=V") added to ours,
// in `cwd` if not empty. Waits for it to finish.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {}, const std::string& cwd = "");

// Path of the built `strata` binary and of the source tree.
std::string StrataBinary();
std::string SourceDir();

// Reads a whole file; empty string if it does not exist.
std::string Slurp(const std::string& path);
void WriteText(const std::string& path, const std::string& text);

}  // namespace strata::testing
