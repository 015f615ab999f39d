// Subprocess: the one place Strata starts other programs (the shell task, alert commands).
//
// The child runs in its own process group, so that stopping it reaches whatever it started;
// its stdout and stderr are appended to a file; its environment is ours with some variables
// set (replacing inherited ones of the same name); its stdin is /dev/null or a string fed
// through a socket, which never blocks past the deadline and never raises SIGPIPE when the
// child does not read it. At the deadline, or when `cancel` fires, the whole group gets
// SIGTERM and, after `grace`, SIGKILL.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace strata {

struct SubprocessOptions {
  std::vector<std::string> argv;                         // argv[0]: the program's path
  std::vector<std::pair<std::string, std::string>> env;  // set in the child's environment
  std::string output_path;                               // stdout and stderr appended here; "" = /dev/null
  std::optional<std::string> stdin_data;                 // fed to stdin; none = /dev/null
  std::optional<std::chrono::steady_clock::time_point> deadline;
  CancelToken* cancel = nullptr;
  std::chrono::milliseconds grace{2000};  // from SIGTERM to SIGKILL
};

struct SubprocessResult {
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  bool timed_out = false;  // stopped at the deadline
  bool cancelled = false;  // stopped because `cancel` fired

  bool ok() const { return exit_code == 0; }
  // "exit code 3", "killed by signal 9".
  std::string Describe() const;
};

// Runs the command to its end (or until stopped). An error only when it cannot be started.
Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options);

// `/bin/sh -c command`.
std::vector<std::string> ShellCommand(const std::string& command);

}  // namespace strata
