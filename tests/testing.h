// Helpers shared by Strata's tests: temporary folders and child processes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "db/query_result.h"

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
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] with arguments (no shell), extra environment entries ("K=V") added to ours,
// in `cwd` if not empty. Waits for it to finish.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         const std::string& cwd = "");

// A child process running in the background (stdout/stderr to files), killed with SIGKILL
// when destroyed if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
               const std::string& log_path = "/dev/null");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  int pid() const { return pid_; }
  void Kill(int signal);
  // Waits for exit; returns the exit code, or 128 + signal.
  int Wait();
  bool Running();

 private:
  int pid_ = -1;
  int status_ = -1;
};

// Starts `strata sim serve-api --out <sim_dir>` on an ephemeral port and waits until it
// listens. url() is its base URL.
class SimApi {
 public:
  explicit SimApi(const std::string& sim_dir, const std::vector<std::string>& extra_flags = {});
  const std::string& url() const { return url_; }

 private:
  std::string port_file_;
  std::unique_ptr<ChildProcess> proc_;
  std::string url_;
};

// The throwaway PostgreSQL cluster `ctest` starts for the test run (the `pg` fixture, see
// scripts/pg_test_cluster.sh). Postgres() reads it; when there is none, the calling test fails
// with a message saying how to start one (tests are never skipped for a missing server).
struct PgServer {
  std::string host;  // 127.0.0.1
  int port = 0;
  std::string socket;  // Unix socket folder
  std::string user;    // `strata`, with a password, CREATEDB and CREATEROLE (permission tests)
  std::string password;
  std::string dbname;     // strata_test, owned by `user`
  std::string state_dir;  // for scripts/pg_test_cluster.sh kill|restart <state_dir>
};
// nullptr (after adding a test failure) when the cluster is not running.
const PgServer* Postgres();
// A schema name of the running test's own (tests of several binaries share the cluster):
// `prefix`, a hash of the test's name without its parameter, and the process id.
std::string PgTestSchema(const std::string& prefix);
// A profiles.yml target for the cluster as a YAML flow mapping, e.g. for `dev: <here>`,
// building into `schema`. Its password is read from STRATA_TEST_PG_PASSWORD, which this sets.
std::string PgProfileTarget(const PgServer& server, const std::string& schema, int threads = 1);
// Runs scripts/pg_test_cluster.sh <action> for the test cluster (kill, restart); true on success.
bool PgCluster(const std::string& action);

// Path of the built `strata` binary and of the source tree.
std::string StrataBinary();
std::string SourceDir();

// A query result's rows as lines: cells joined by '|', NULL as NULL (what tests compare).
std::vector<std::string> RowLines(const sql::QueryResult& result);

// Reads a whole file; empty string if it does not exist.
std::string Slurp(const std::string& path);
void WriteText(const std::string& path, const std::string& text);

}  // namespace strata::testing
