// Alerts end to end: pipelines run (with task bodies defined here) and their webhooks land on
// a real HTTP server on 127.0.0.1 through libcurl; command alerts run /bin/sh. Covers the
// events, the JSON, tokens from the environment that never reach logs or the run store, dead
// and hanging endpoints that neither fail nor hold up the run, and located config errors.
#include "orchestrate/alerts.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "core/file.h"
#include "orchestrate/orchestrator.h"
#include "orchestrate/task_kind.h"
#include "testing.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::WriteText;

// A local webhook receiver: records every POST; answers with the queued statuses (then 200),
// or holds requests until released when `hang` is set.
class Receiver {
 public:
  struct Request {
    std::string path, body, authorization, content_type;
    json Json() const { return json::parse(body, nullptr, false); }
  };

  explicit Receiver(bool hang = false) : hang_(hang) {
    server_.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      got_.push_back({req.path, req.body, req.get_header_value("Authorization"), req.get_header_value("Content-Type")});
      int status = 200;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
      if (hang_) cv_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
      res.status = status;
      res.set_content(reply_ + req.get_header_value("Authorization"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would not stop it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  // Statuses for the next requests, and text the answer starts with (then the Authorization
  // header it got, as a careless server might echo it).
  void Answer(std::deque<int> statuses, std::string reply = "") {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_ = std::move(statuses);
    reply_ = std::move(reply);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  bool hang_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<Request> got_;
  std::deque<int> statuses_;
  std::string reply_;
};

// Runs each task's function by id; unknown ids succeed.
class FnRunner : public TaskRunner {
 public:
  std::map<std::string, std::function<TaskOutcome(const Attempt&)>> fns;
  TaskOutcome Run(const Attempt& a) override {
    auto it = fns.find(a.task->id);
    return it == fns.end() ? TaskOutcome{} : it->second(a);
  }
};

TaskOutcome Boom(const Attempt& a) {
  TaskOutcome o;
  o.status = Status::Internal("boom on try " + std::to_string(a.try_number));
  return o;
}

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("STRATA_TEST_ALERT_TOKEN", kToken, 1); }
  void TearDown() override {
    ::unsetenv("STRATA_TEST_ALERT_TOKEN");
    ::unsetenv("STRATA_TEST_HOOK_URL");
  }

  // A project whose pipeline `p` has `tasks_yaml` (the tasks: map) and `alerts_yaml` (the
  // alerts: list).
  Result<PipelineSpec> Make(const std::string& tasks_yaml, const std::string& alerts_yaml) {
    WriteText(dir_.Sub("strata.yml"), "name: t\npipelines:\n  p:\n    concurrency: 2\n    tasks:\n" + tasks_yaml +
                                          "    alerts:\n" + alerts_yaml);
    STRATA_ASSIGN_OR_RETURN(project_, Project::Load(dir_.path()));
    return FindPipeline(project_, "p");
  }
  Result<RunReport> Run(const PipelineSpec& p, const std::string& date) {
    RunRequest r;
    r.logical_date = date;
    r.runner = &runner_;
    r.on_line = [this](const std::string& l) { lines_ += l + "\n"; };
    r.on_error = [this](const std::string& l) { errors_ += l + "\n"; };
    return RunPipeline(project_, p, r);
  }
  std::vector<AlertRecord> Recorded(const std::string& run_id) {
    auto store = OpenRunStore(project_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return {};
    auto alerts = (*store)->Alerts(run_id);
    EXPECT_TRUE(alerts.ok()) << alerts.status().ToString();
    return alerts.ok() ? *alerts : std::vector<AlertRecord>{};
  }
  // Every file under the project's state folder (logs, runs.db and its WAL) that holds `text`.
  std::vector<std::string> FilesHolding(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(project_.state_dir)) {
      if (!e.is_regular_file()) continue;
      if (testing::Slurp(e.path().string()).find(text) != std::string::npos) out.push_back(e.path().string());
    }
    return out;
  }

  static constexpr const char* kToken = "tok-s3cr3t-4242";
  TempDir dir_;
  Project project_;
  FnRunner runner_;
  std::string lines_, errors_;
};

TEST_F(AlertsTest, ATaskFailingAfterRetriesPostsRetryExhaustedThenTheRunsFailure) {
  Receiver hook;
  auto p = Make(
      "      flaky: {type: noop, retries: 2, retry_delay: 10ms}\n"
      "      downstream: {type: noop, after: [flaky]}\n"
      "      solo: {type: noop}\n",
      "      - webhook: " + hook.url() +
          "\n"
          "        headers: {Authorization: \"Bearer ${STRATA_TEST_ALERT_TOKEN}\"}\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->alerts.size(), 1u);
  EXPECT_EQ(p->alerts[0].headers.at("Authorization"), "Bearer ${STRATA_TEST_ALERT_TOKEN}");  // unresolved
  runner_.fns["flaky"] = Boom;
  runner_.fns["solo"] = Boom;
  auto r = Run(*p, "2024-01-05");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kFailed);

  // The run waited for its alerts: all three are in when it returns.
  auto got = hook.got();
  ASSERT_EQ(got.size(), 3u) << lines_ << errors_;
  std::map<std::string, json> by_task;
  for (const auto& g : got) {
    EXPECT_EQ(g.path, "/hook");
    EXPECT_EQ(g.authorization, std::string("Bearer ") + kToken);
    EXPECT_EQ(g.content_type, "application/json");
    json j = g.Json();
    ASSERT_TRUE(j.is_object()) << g.body;
    by_task[j["task"].is_null() ? "(run)" : j["task"].get<std::string>()] = j;
  }
  json flaky = by_task["flaky"];
  EXPECT_EQ(flaky["event"], "retry_exhausted");
  EXPECT_EQ(flaky["pipeline"], "p");
  EXPECT_EQ(flaky["run_id"], "p__2024-01-05");
  EXPECT_EQ(flaky["logical_date"], "2024-01-05");
  EXPECT_EQ(flaky["state"], "failed");
  EXPECT_EQ(flaky["try"], 3);
  EXPECT_EQ(flaky["error"], "boom on try 3");
  EXPECT_EQ(flaky["link"], "/runs/p__2024-01-05#task=flaky");
  EXPECT_NE(flaky["log_path"].get<std::string>().find("flaky/attempt-1-try-3.log"), std::string::npos) << flaky;
  EXPECT_TRUE(std::regex_match(flaky["at"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << flaky["at"];
  EXPECT_EQ(flaky["summary"], "retry_exhausted: p__2024-01-05: task flaky failed after 3 tries: boom on try 3");
  json solo = by_task["solo"];  // failed without retries: a plain failure
  EXPECT_EQ(solo["event"], "failure");
  EXPECT_EQ(solo["try"], 1);
  json run = by_task["(run)"];
  EXPECT_EQ(got.back().Json()["task"], nullptr);  // the run's alert comes last
  EXPECT_EQ(run["event"], "failure");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(run["try"], nullptr);
  EXPECT_EQ(run["log_path"], nullptr);
  EXPECT_EQ(run["link"], "/runs/p__2024-01-05");
  EXPECT_NE(run["error"].get<std::string>().find("flaky"), std::string::npos) << run;
  EXPECT_EQ(by_task.count("downstream"), 0u);  // upstream_failed is not an alert of its own

  auto recorded = Recorded("p__2024-01-05");
  ASSERT_EQ(recorded.size(), 3u);
  for (const auto& a : recorded) {
    EXPECT_TRUE(a.ok) << a.error;
    EXPECT_EQ(a.tries, 1);
    EXPECT_EQ(a.target, "webhook " + hook.url("/…"));  // the path may be the webhook's secret
    EXPECT_EQ(a.run_attempt, 1);
  }
  EXPECT_EQ(recorded.back().event, "failure");
  EXPECT_EQ(recorded.back().task_id, "");
  EXPECT_NE(lines_.find("alert retry_exhausted (flaky) to webhook " + hook.url("/…") + " sent"), std::string::npos)
      << lines_;
  // The token went over the wire only.
  EXPECT_EQ(FilesHolding(kToken), std::vector<std::string>{});
  EXPECT_EQ(lines_.find(kToken), std::string::npos);
  EXPECT_EQ(errors_.find(kToken), std::string::npos);
  EXPECT_EQ(FilesHolding("retry_exhausted flaky -> webhook " + hook.url("/…") + ": sent").size(), 1u);  // alerts.log
}

TEST_F(AlertsTest, SuccessIsSentOnlyToAlertsThatListenForIt) {
  Receiver hook;
  auto p = Make("      a: {type: noop}\n      b: {type: noop, after: [a]}\n",
                "      - on: [success]\n        webhook: " + hook.url("/ok") +
                    "\n"
                    "      - webhook: " +
                    hook.url("/failures") + "\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto r = Run(*p, "2024-01-06");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  auto got = hook.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/ok");
  json j = got[0].Json();
  EXPECT_EQ(j["event"], "success");
  EXPECT_EQ(j["task"], nullptr);
  EXPECT_EQ(j["state"], "success");
  EXPECT_EQ(j["error"], nullptr);
  EXPECT_EQ(j["summary"], "success: p__2024-01-06: run succeeded");
  EXPECT_EQ(got[0].authorization, "");
}

TEST_F(AlertsTest, APublishTaskThatCannotRunIsBlocked) {
  Receiver hook;
  auto p = Make("      build: {type: noop}\n      publish: {type: noop, after: [build]}\n",
                "      - on: publish_blocked\n        webhook: " + hook.url("/blocked") +
                    "\n"
                    "      - on: [failure]\n        webhook: " +
                    hook.url("/failed") + "\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  p->tasks[1].kind = FindTaskKind("publish");  // publish tasks are not parsed yet; the alert keys on the type
  runner_.fns["build"] = Boom;
  auto r = Run(*p, "2024-01-07");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> seen;
  for (const auto& g : hook.got()) {
    json j = g.Json();
    seen.push_back(g.path + " " + j["event"].get<std::string>() + " " +
                   (j["task"].is_null() ? "(run)" : j["task"].get<std::string>()) + " " +
                   j["state"].get<std::string>());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"/blocked publish_blocked publish upstream_failed",
                                            "/failed failure (run) failed", "/failed failure build failed"}));
}

TEST_F(AlertsTest, ACommandGetsTheJsonOnStdinAndTheEventInItsEnvironment) {
  // ${STRATA_TASK:-run} is left to the shell (Strata does not expand commands).
  auto p = Make("      bad: {type: noop}\n",
                "      - on: [failure]\n"
                "        command: 'cat > " +
                    dir_.Sub("alert-${STRATA_TASK:-run}.json") +
                    "; echo \"$STRATA_ALERT_EVENT $STRATA_RUN_ID $STRATA_TRY $STRATA_ALERT_LINK\" >> " +
                    dir_.Sub("env.txt") + "; echo hello from the alert'\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  runner_.fns["bad"] = Boom;
  auto r = Run(*p, "2024-01-08");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json task = json::parse(testing::Slurp(dir_.Sub("alert-bad.json")), nullptr, false);
  EXPECT_EQ(task["event"], "failure");
  EXPECT_EQ(task["task"], "bad");
  EXPECT_EQ(task["error"], "boom on try 1");
  json run = json::parse(testing::Slurp(dir_.Sub("alert-run.json")), nullptr, false);
  EXPECT_EQ(run["task"], nullptr);
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(testing::Slurp(dir_.Sub("env.txt")),
            "failure p__2024-01-08 1 /runs/p__2024-01-08#task=bad\nfailure p__2024-01-08 0 /runs/p__2024-01-08\n");
  auto log = testing::Slurp(JoinPath(project_.state_dir, "logs/p/2024-01-08/alerts.log"));
  EXPECT_NE(log.find("hello from the alert"), std::string::npos) << log;
  auto recorded = Recorded("p__2024-01-08");
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_TRUE(recorded[0].ok && recorded[1].ok);
  EXPECT_EQ(recorded[0].target, "command");
}

TEST_F(AlertsTest, AFailingOrHangingCommandIsReportedAndStopped) {
  auto p = Make("      a: {type: noop}\n",
                "      - {on: [success], command: 'exit 7'}\n"
                "      - {on: [success], timeout: 300ms, command: 'sleep 30 & echo $! > " +
                    dir_.Sub("pid") + "; wait'}\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(*p, "2024-01-09");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  EXPECT_LT(secs, 5);
  auto recorded = Recorded("p__2024-01-09");
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_FALSE(recorded[0].ok);
  EXPECT_NE(recorded[0].error.find("exit code 7"), std::string::npos) << recorded[0].error;
  EXPECT_FALSE(recorded[1].ok);
  EXPECT_NE(recorded[1].error.find("timed out after 0.3s"), std::string::npos) << recorded[1].error;
  EXPECT_NE(errors_.find("alert success (run) to command FAILED: command failed with exit code 7"), std::string::npos)
      << errors_;
  // The background sleep went with its process group.
  int child = std::atoi(testing::Slurp(dir_.Sub("pid")).c_str());
  ASSERT_GT(child, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto stat = testing::Slurp("/proc/" + std::to_string(child) + "/stat");
  EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos) << "still running: " << stat;
}

TEST_F(AlertsTest, AnUnreachableWebhookNeitherFailsNorHoldsUpTheRun) {
  std::string closed;
  {
    Receiver gone;  // a port that was just free, and is closed again
    closed = gone.url("/…");
  }
  // Three failures and the run's: only the first task alert and the run's are tried.
  auto p = Make("      a: {type: noop}\n      b: {type: noop}\n      c: {type: noop}\n",
                "      - webhook: " + closed.substr(0, closed.size() - std::strlen("/…")) + "/hook\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (const char* t : {"a", "b", "c"}) runner_.fns[t] = Boom;
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(*p, "2024-01-10");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kFailed);  // from its tasks; alerts change nothing
  EXPECT_LT(secs, 5);                          // two deliveries of 3 refused connections, 0.25 s + 0.75 s apart
  auto recorded = Recorded("p__2024-01-10");
  ASSERT_EQ(recorded.size(), 4u);
  std::vector<int> task_tries;
  for (const auto& a : recorded) {
    EXPECT_FALSE(a.ok);
    if (a.task_id.empty()) {
      EXPECT_EQ(a.tries, 3);
      EXPECT_NE(a.error.find("POST " + closed + " failed after 3 tries: Couldn't connect"), std::string::npos)
          << a.error;
    } else {
      task_tries.push_back(a.tries);
      if (a.tries == 0) {
        EXPECT_NE(a.error.find("not sent: it failed to answer an alert less than 60 s ago"), std::string::npos)
            << a.error;
      }
    }
  }
  EXPECT_EQ(task_tries, (std::vector<int>{3, 0, 0}));
  EXPECT_EQ(recorded.back().task_id, "");
  EXPECT_NE(errors_.find("alert failure (run) to webhook " + closed + " FAILED"), std::string::npos) << errors_;
}

TEST_F(AlertsTest, AHangingWebhookIsCutOffAtItsTimeout) {
  Receiver hook(/*hang=*/true);
  auto p = Make("      a: {type: noop}\n      b: {type: noop}\n",
                "      - on: [success]\n        timeout: 400ms\n        webhook: " + hook.url() + "\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(*p, "2024-01-11");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  EXPECT_GE(secs, 0.35);
  EXPECT_LT(secs, 3);
  auto recorded = Recorded("p__2024-01-11");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_FALSE(recorded[0].ok);
  EXPECT_NE(recorded[0].error.find("imeout"), std::string::npos) << recorded[0].error;
}

TEST_F(AlertsTest, ServerErrorsAreRetriedAndClientErrorsAreNotAndSecretsAreScrubbed) {
  Receiver hook;
  // The URL itself is a secret (like a Slack webhook): it comes from the environment.
  ::setenv("STRATA_TEST_HOOK_URL", hook.url("/services/T0/B0/s3cretpath").c_str(), 1);
  auto p = Make("      a: {type: noop}\n",
                "      - on: [success]\n"
                "        webhook: ${STRATA_TEST_HOOK_URL}\n"
                "        headers: {Authorization: \"Bearer ${STRATA_TEST_ALERT_TOKEN}\", X-Team: data}\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  hook.Answer({503, 502});
  auto r = Run(*p, "2024-01-12");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(hook.got().size(), 3u);
  EXPECT_EQ(hook.got()[0].path, "/services/T0/B0/s3cretpath");
  auto recorded = Recorded("p__2024-01-12");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_TRUE(recorded[0].ok) << recorded[0].error;
  EXPECT_EQ(recorded[0].tries, 3);
  EXPECT_EQ(recorded[0].target, "webhook ${STRATA_TEST_HOOK_URL}");

  // A 401 whose body echoes the token: one try, and the token is scrubbed from the error.
  hook.Answer({401}, "bad credentials: ");
  r = Run(*p, "2024-01-13");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(hook.got().size(), 4u);
  recorded = Recorded("p__2024-01-13");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_FALSE(recorded[0].ok);
  EXPECT_EQ(recorded[0].tries, 1);
  EXPECT_EQ(recorded[0].error,
            "POST ${STRATA_TEST_HOOK_URL} failed after 1 try: HTTP 401: bad credentials: Bearer ***");
  for (const std::string& secret : {std::string(kToken), std::string("s3cretpath")}) {
    EXPECT_EQ(FilesHolding(secret), std::vector<std::string>{}) << secret;
    EXPECT_EQ(lines_.find(secret), std::string::npos) << lines_;
    EXPECT_EQ(errors_.find(secret), std::string::npos) << errors_;
  }
}

TEST_F(AlertsTest, AnUnsetVariableIsAWarningAtTheStartAndAFailedDelivery) {
  Receiver hook;
  auto p =
      Make("      a: {type: noop}\n", "      - on: [success]\n        webhook: " + hook.url() +
                                          "\n"
                                          "        headers: {Authorization: \"Bearer ${STRATA_TEST_UNSET_TOKEN}\"}\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();  // parsing never reads the environment
  auto r = Run(*p, "2024-01-14");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  EXPECT_TRUE(hook.got().empty());
  EXPECT_NE(errors_.find("needs environment variable(s) STRATA_TEST_UNSET_TOKEN, which are not set"), std::string::npos)
      << errors_;
  auto recorded = Recorded("p__2024-01-14");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].error,
            "webhook header Authorization: environment variable STRATA_TEST_UNSET_TOKEN is not set (use "
            "${STRATA_TEST_UNSET_TOKEN:-default} for a default)");
}

TEST_F(AlertsTest, TargetsShowNoCredentialsQueriesOrHeaders) {
  AlertSpec a;
  a.webhook = "https://user:pa55@hooks.example.com:8443/x/y?token=abc#frag";
  a.headers["Authorization"] = "Bearer literal-secret";
  EXPECT_EQ(a.Target(), "webhook https://hooks.example.com:8443/…");  // a webhook's path is often its secret
  a.webhook = "https://hooks.example.com";
  EXPECT_EQ(a.Target(), "webhook https://hooks.example.com");
  a.webhook = "";
  a.command = "curl -H 'X: $TOKEN' ...";
  EXPECT_EQ(a.Target(), "command");
}

TEST_F(AlertsTest, TheUiBaseUrlComesFromTheEnvironment) {
  AlertMessage m;
  m.run_id = "daily__2024-01-01";
  m.task = "load raw";
  ::setenv("STRATA_UI_URL", "https://strata.example.com/", 1);
  EXPECT_EQ(m.Link(), "https://strata.example.com/runs/daily__2024-01-01#task=load%20raw");
  ::unsetenv("STRATA_UI_URL");
  m.task = "";
  EXPECT_EQ(m.Link(), "/runs/daily__2024-01-01");
}

TEST_F(AlertsTest, PipelinesShareAlertsThroughAYamlAnchor) {
  WriteText(dir_.Sub("strata.yml"),
            "name: t\npipelines:\n"
            "  a:\n    tasks: {x: {type: noop}}\n"
            "    alerts: &alerts\n      - {on: [failure, success], webhook: 'https://h.example.com/x'}\n"
            "  b:\n    tasks: {y: {type: noop}}\n    alerts: *alerts\n");
  auto project = Project::Load(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  auto pipelines = ParsePipelines(*project);
  ASSERT_TRUE(pipelines.ok()) << pipelines.status().ToString();
  ASSERT_EQ(pipelines->size(), 2u);
  for (const auto& p : *pipelines) {
    ASSERT_EQ(p.alerts.size(), 1u) << p.name;
    EXPECT_EQ(p.alerts[0].webhook, "https://h.example.com/x");
    EXPECT_TRUE(p.alerts[0].Listens(AlertEvent::kSuccess));
    EXPECT_FALSE(p.alerts[0].Listens(AlertEvent::kRetryExhausted));
  }
}

TEST_F(AlertsTest, BadAlertConfigsAreLocatedErrors) {
  const std::string tasks = "      a: {type: noop}\n";
  struct Case {
    std::string alerts;
    std::string error;
  };
  const Case cases[] = {
      {"      - on: [failur]\n        webhook: http://x/y\n",
       "strata.yml:8:14: pipelines.p.alerts[0].on[0]: unknown alert event 'failur' (did you mean 'failure'?)"},
      {"      - on: [success]\n", "strata.yml:8:9: pipelines.p.alerts[0]: an alert needs `webhook`"},
      {"      - {webhook: http://x/y, command: echo}\n", "an alert has either `webhook` or `command`, not both"},
      {"      - webhook: ftp://x/y\n",
       "strata.yml:8:18: pipelines.p.alerts[0].webhook: webhook must be an http:// or https:// URL, not 'ftp://x/y'"},
      {"      - webhook: http://x/y\n        header: {A: b}\n",
       "strata.yml:9:9: pipelines.p.alerts[0].header: unknown key 'header' (did you mean 'headers'?)"},
      {"      - webhook: http://x/y\n        headers: {A: \"${UNCLOSED\"}\n",
       "pipelines.p.alerts[0].headers.A: unterminated ${...}"},
      {"      - webhook: http://x/y\n        headers: {\"Bad Name\": b}\n",
       "'Bad Name' is not a valid HTTP header name"},
      {"      - webhook: http://x/y\n        timeout: soon\n", "alerts[0].timeout: invalid duration 'soon'"},
      {"      - command: echo\n        headers: {A: b}\n", "`headers` only applies to a `webhook` alert"},
      {"      webhook: http://x/y\n", "pipelines.p.alerts: `alerts` is a list of alerts"},
  };
  for (const auto& c : cases) {
    auto p = Make(tasks, c.alerts);
    ASSERT_FALSE(p.ok()) << c.alerts;
    EXPECT_NE(p.status().message().find(c.error), std::string::npos) << p.status().message();
  }
}

}  // namespace
}  // namespace strata::orchestrate
