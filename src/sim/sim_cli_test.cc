// The `strata sim` command line, run as a child process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sim/internal/sim_test_util.h"
#include "sim/shop_simulator.h"
#include "testing.h"

namespace strata::sim {
namespace {

using strata::testing::CommandResult;
using strata::testing::RunCommand;
using strata::testing::StrataBinary;

CommandResult Strata(std::vector<std::string> args) {
  args.insert(args.begin(), StrataBinary());
  return RunCommand(args);
}

TEST(SimCliTest, GeneratesAdvancesAndReportsJson) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  CommandResult r =
      Strata({"sim", "--out", out, "--scale", "0.05", "--days", "3", "--seed", "7", "--start", "2024-03-01", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j.at("days_simulated"), 3);
  EXPECT_EQ(j.at("first_date"), "2024-03-01");
  EXPECT_EQ(j.at("last_date"), "2024-03-03");
  EXPECT_TRUE(std::filesystem::exists(ShopSimulator::EventsFilePath(out, Date::FromYmd(2024, 3, 3), 3)));

  // A second generation into the same folder fails.
  r = Strata({"sim", "--out", out, "--scale", "0.05", "--days", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;

  // --day extends it (human summary).
  r = Strata({"sim", "--out", out, "--day", "2024-03-05"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2024-03-04 .. 2024-03-05"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shop.db"), std::string::npos) << r.out;
  r = Strata({"sim", "--out", out, "--day", "2024-03-05", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("days_simulated"), 0);
}

TEST(SimCliTest, NoDirtAndRateFlags) {
  testing::TempDir tmp;
  CommandResult r = Strata({"sim", "--out", tmp.Sub("a"), "--scale", "0.05", "--days", "2", "--no-dirt",
                            "--malformed-rate", "0.05", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto total = nlohmann::json::parse(r.out).at("total");
  EXPECT_EQ(total.at("duplicate_lines"), 0);
  EXPECT_EQ(total.at("late_events"), 0);
  EXPECT_EQ(total.at("drifted_events"), 0);
  EXPECT_GT(total.at("malformed_lines").get<int64_t>(), 0);
}

TEST(SimCliTest, UsageErrors) {
  testing::TempDir tmp;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"sim", "--out", tmp.Sub("a"), "--start", "2024-02-30"},
                                             {"sim", "--out", tmp.Sub("a"), "--scale", "0"},
                                             {"sim", "--out", tmp.Sub("a"), "--day", "tomorrow"},
                                             {"sim", "--out", tmp.Sub("a"), "--day", "2024-01-05", "--seed", "3"},
                                             {"sim", "--scale", "1"}}) {
    CommandResult r = Strata(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  }
  // A missing simulation is a failure, not a usage error.
  CommandResult r = Strata({"sim", "--out", tmp.Sub("none"), "--day", "2024-01-05"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

TEST(SimCliTest, ServeApiWritesPortFileAndStopsOnSigterm) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  ASSERT_EQ(Strata({"sim", "--out", out, "--scale", "0.05", "--days", "1"}).exit_code, 0);
  const std::string port_file = tmp.Sub("port");
  const std::string log = tmp.Sub("log");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::string bin = StrataBinary();
    ::execl(bin.c_str(), bin.c_str(), "sim", "serve-api", "--out", out.c_str(), "--port", "0", "--port-file",
            port_file.c_str(), "--fail-first", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string port;
  for (int i = 0; i < 500 && port.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    port = testing::Slurp(port_file);
  }
  ASSERT_FALSE(port.empty()) << testing::Slurp(log);
  while (!port.empty() && port.back() == '\n') port.pop_back();
  const std::string base = "http://127.0.0.1:" + port;
  EXPECT_EQ(testutil::HttpGet(base + "/health").status, 200);
  EXPECT_EQ(testutil::HttpGet(base + "/v1/products").status, 503);
  EXPECT_EQ(testutil::HttpGet(base + "/v1/products").status, 200);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(testing::Slurp(log).find("catalog API listening on http://127.0.0.1:" + port), std::string::npos)
      << testing::Slurp(log);
}

}  // namespace
}  // namespace strata::sim
