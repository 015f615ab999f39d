#include "core/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testing.h"

namespace strata {
namespace {

using std::chrono::steady_clock;

TEST(Subprocess, ExitCodeOutputEnvironmentAndStdin) {
  testing::TempDir dir;
  SubprocessOptions o;
  o.argv = ShellCommand("echo \"$GREETING\"; cat; echo oops >&2; exit 3");
  o.env = {{"GREETING", "hello"}, {"HOME", "/nowhere"}};
  o.stdin_data = "from stdin\n";
  o.output_path = dir.Sub("out.log");
  auto r = RunSubprocess(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->Describe(), "exit code 3");
  EXPECT_EQ(testing::Slurp(dir.Sub("out.log")), "hello\nfrom stdin\noops\n");
  // Output is appended, and an inherited variable is replaced, not doubled.
  o.argv = ShellCommand("env | grep -c '^HOME='; echo $HOME");
  o.stdin_data.reset();
  r = RunSubprocess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(testing::Slurp(dir.Sub("out.log")), "hello\nfrom stdin\noops\n1\n/nowhere\n");
}

TEST(Subprocess, ACommandThatDoesNotReadItsStdinDoesNotBlock) {
  SubprocessOptions o;
  o.argv = ShellCommand("exit 0");
  o.stdin_data = std::string(8 << 20, 'x');  // far more than a socket buffer
  o.deadline = steady_clock::now() + std::chrono::seconds(5);
  auto start = steady_clock::now();
  auto r = RunSubprocess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(Subprocess, TheDeadlineStopsTheWholeGroupEvenOneThatIgnoresSigterm) {
  testing::TempDir dir;
  SubprocessOptions o;
  // A child that ignores SIGTERM and a grandchild that would outlive it.
  o.argv = ShellCommand("trap '' TERM; (sleep 30; echo survived >> " + dir.Sub("late") + ") & sleep 30");
  o.deadline = steady_clock::now() + std::chrono::milliseconds(300);
  o.grace = std::chrono::milliseconds(300);
  auto start = steady_clock::now();
  auto r = RunSubprocess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, 9) << r->Describe();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(testing::Slurp(dir.Sub("late")), "") << "a grandchild outlived the stop";
}

TEST(Subprocess, CancellingStopsIt) {
  CancelToken cancel;
  SubprocessOptions o;
  o.argv = ShellCommand("sleep 30");
  o.cancel = &cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel.Cancel("test");
  });
  auto r = RunSubprocess(o);
  stopper.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->signal, 15);
}

TEST(Subprocess, AProgramThatCannotStartIsAnError) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/program"};
  auto r = RunSubprocess(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot start /nonexistent/program"), std::string::npos);
}

}  // namespace
}  // namespace strata
