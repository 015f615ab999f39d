#include "testing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace strata::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/strata-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (std::getenv("STRATA_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

void ReadAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
}

// argv and envp for execve: our environment with `overrides` ("K=V") replacing entries.
struct ExecArgs {
  ExecArgs(const std::vector<std::string>& argv, const std::vector<std::string>& overrides) : args(argv) {
    env_strings = overrides;
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      std::string name = entry.substr(0, entry.find('='));
      bool replaced = false;
      for (const auto& o : overrides) replaced |= o.compare(0, name.size() + 1, name + "=") == 0;
      if (!replaced) env_strings.push_back(entry);
    }
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
  }
  std::vector<std::string> args, env_strings;
  std::vector<char*> cargv, envp;
};

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& cwd) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  ExecArgs exec(argv, env);

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
    ::execve(exec.cargv[0], exec.cargv.data(), exec.envp.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult r;
  std::thread err_reader([&] { ReadAll(err_pipe[0], &r.err); });
  ReadAll(out_pipe[0], &r.out);
  err_reader.join();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                           const std::string& log_path) {
  ExecArgs exec(argv, env);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execve(exec.cargv[0], exec.cargv.data(), exec.envp.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    Kill(SIGKILL);
    Wait();
  }
}

void ChildProcess::Kill(int signal) {
  if (pid_ > 0 && status_ < 0) ::kill(pid_, signal);
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  if (status_ >= 0) return status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

SimApi::SimApi(const std::string& sim_dir, const std::vector<std::string>& extra_flags) {
  port_file_ = sim_dir + "/.api-port-" + std::to_string(::getpid());
  std::remove(port_file_.c_str());
  std::vector<std::string> argv = {StrataBinary(), "sim", "serve-api",   "--out",   sim_dir,
                                   "--port",       "0",   "--port-file", port_file_};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  proc_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, sim_dir + "/.api.log");
  for (int i = 0; i < 200; ++i) {
    std::string port = Slurp(port_file_);
    if (!port.empty()) {
      while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
      url_ = "http://127.0.0.1:" + port;
      return;
    }
    if (!proc_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("strata sim serve-api did not start: " + Slurp(sim_dir + "/.api.log"));
}

std::string StrataBinary() {
#ifdef STRATA_BINARY
  return STRATA_BINARY;
#else
  return "strata";
#endif
}

std::string SourceDir() {
#ifdef STRATA_SOURCE_DIR
  return STRATA_SOURCE_DIR;
#else
  return ".";
#endif
}

namespace {
std::string PgStateDir() {
#ifdef STRATA_PG_STATE_DIR
  return STRATA_PG_STATE_DIR;
#else
  return "pgtest";
#endif
}
}  // namespace

const PgServer* Postgres() {
  static const PgServer* server = []() -> const PgServer* {
    const std::string state = PgStateDir();
    std::ifstream in(state + "/conninfo.env");
    if (!in) return nullptr;
    auto* s = new PgServer();
    s->state_dir = state;
    std::string line;
    while (std::getline(in, line)) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
      if (k == "STRATA_TEST_PG_HOST") s->host = v;
      if (k == "STRATA_TEST_PG_PORT") s->port = std::atoi(v.c_str());
      if (k == "STRATA_TEST_PG_SOCKET") s->socket = v;
      if (k == "STRATA_TEST_PG_USER") s->user = v;
      if (k == "STRATA_TEST_PG_PASSWORD") s->password = v;
      if (k == "STRATA_TEST_PG_DBNAME") s->dbname = v;
    }
    return s;
  }();
  if (server == nullptr) {
    ADD_FAILURE() << "no PostgreSQL test cluster (" << PgStateDir()
                  << "/conninfo.env is missing): run the tests through ctest, which starts one (the `pg` fixture), "
                     "or start one by hand: scripts/pg_test_cluster.sh start "
                  << PgStateDir();
  }
  return server;
}

std::string PgTestSchema(const std::string& prefix) {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  name = name.substr(0, name.find('/'));
  return prefix + std::to_string(std::hash<std::string>()(name) % 100000000) + "_" + std::to_string(getpid());
}

std::string PgProfileTarget(const PgServer& server, const std::string& schema, int threads) {
  setenv("STRATA_TEST_PG_PASSWORD", server.password.c_str(), 1);
  return "{type: postgres, host: " + server.host + ", port: " + std::to_string(server.port) + ", user: " + server.user +
         ", password: \"{{ env_var('STRATA_TEST_PG_PASSWORD') }}\", dbname: " + server.dbname + ", schema: " + schema +
         ", threads: " + std::to_string(threads) + "}";
}

bool PgCluster(const std::string& action) {
  CommandResult r = RunCommand({"/bin/bash", SourceDir() + "/scripts/pg_test_cluster.sh", action, PgStateDir()});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "pg_test_cluster.sh " << action << " failed (exit code " << r.exit_code << "): " << r.err;
  }
  return r.exit_code == 0;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> RowLines(const sql::QueryResult& result) {
  std::vector<std::string> out;
  out.reserve(result.rows.size());
  for (const auto& row : result.rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace strata::testing
