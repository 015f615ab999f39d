#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;

// Feeds `data` to the child's stdin without blocking past `deadline`; stops at EPIPE.
void Feed(int fd, const std::string& data, std::optional<Clock::time_point> deadline) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  for (size_t sent = 0; sent < data.size();) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const bool time_left = !deadline || Clock::now() < *deadline;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && time_left) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    break;  // EPIPE (it exited or closed stdin) or out of time
  }
}

}  // namespace

std::string SubprocessResult::Describe() const {
  return signal != 0 ? "killed by signal " + std::to_string(signal) : "exit code " + std::to_string(exit_code);
}

std::vector<std::string> ShellCommand(const std::string& command) { return {"/bin/sh", "-c", command}; }

Result<SubprocessResult> RunSubprocess(const SubprocessOptions& o) {
  if (o.argv.empty()) return Status::InvalidArgument("no program to run");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool replaced = std::any_of(o.env.begin(), o.env.end(), [&](const auto& v) { return v.first == name; });
    if (!replaced) env.push_back(std::move(entry));
  }
  for (const auto& [k, v] : o.env) env.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = o.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int sv[2] = {-1, -1};
  if (o.stdin_data && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::IOError("socketpair: " + std::string(std::strerror(errno)));
  }
  const std::string out = o.output_path.empty() ? "/dev/null" : o.output_path;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (o.stdin_data) {
    posix_spawn_file_actions_adddup2(&actions, sv[1], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, so a stop reaches its children
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (sv[1] >= 0) ::close(sv[1]);
  if (rc != 0) {
    if (sv[0] >= 0) ::close(sv[0]);
    return Status::IOError("cannot start " + o.argv[0] + ": " + std::strerror(rc));
  }

  std::atomic<bool> cancelled{false};
  CancelScope stop_on_cancel(o.cancel, [&cancelled] { cancelled = true; });
  if (o.stdin_data) {
    Feed(sv[0], *o.stdin_data, o.deadline);
    ::close(sv[0]);
  }
  SubprocessResult result;
  int status = 0;
  std::optional<Clock::time_point> terminated_at;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return Status::IOError("waitpid: " + std::string(std::strerror(errno)));
    if (!terminated_at) {
      const bool late = o.deadline && Clock::now() >= *o.deadline;
      if (late || cancelled) {
        result.timed_out = late && !cancelled;
        result.cancelled = cancelled;
        terminated_at = Clock::now();
        ::kill(-pid, SIGTERM);
      }
    } else if (Clock::now() - *terminated_at > o.grace) {
      ::kill(-pid, SIGKILL);  // a group that ignores SIGTERM
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(terminated_at ? 10 : 5));
  }
  if (terminated_at) ::kill(-pid, SIGKILL);  // whatever of the group is left
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace strata
