// The executor on pipelines whose tasks are small functions defined here: retries and
// backoff (on a fake clock), timeouts that stop the work, trigger rules, upstream_failed
// propagation, concurrency limits, resume and stop.
#include "orchestrate/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/project.h"
#include "testing.h"

namespace strata::orchestrate {
namespace {

using Fn = std::function<TaskOutcome(const Attempt&)>;

// Runs each task's function by id; unknown ids succeed.
class FnRunner : public TaskRunner {
 public:
  std::map<std::string, Fn> fns;
  TaskOutcome Run(const Attempt& a) override {
    auto it = fns.find(a.task->id);
    return it == fns.end() ? TaskOutcome{} : it->second(a);
  }
};

// A pipeline from YAML tasks (the `tasks:` map), parsed like a project's.
PipelineSpec Pipeline(const std::string& tasks_yaml, const std::string& extra = "") {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"), "name: t\npipelines:\n  p:\n" + extra + "    tasks:\n" + tasks_yaml);
  auto project = Project::Load(dir.path());
  EXPECT_TRUE(project.ok()) << project.status().ToString();
  auto pipelines = ParsePipelines(*project);
  EXPECT_TRUE(pipelines.ok()) << pipelines.status().ToString();
  return pipelines.ok() && !pipelines->empty() ? (*pipelines)[0] : PipelineSpec{};
}

struct Recorded {
  std::vector<TaskEvent> events;
  std::vector<std::string> Lines(const PipelineSpec& p) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(p.tasks[e.task].id + " " + TaskStateName(e.state) + " try " + std::to_string(e.try_number));
    }
    return out;
  }
};

Result<RunOutcome> RunPipeline(const PipelineSpec& p, FnRunner* runner, Recorded* rec, Clock* clock = Clock::Real(),
                               CancelToken* stop = nullptr, std::vector<TaskState> initial = {}) {
  RunContext run;
  run.run_id = "r1";
  run.pipeline = p.name;
  ExecutorOptions o;
  o.clock = clock;
  o.stop = stop;
  o.initial = std::move(initial);
  o.on_event = [rec](const TaskEvent& e) { rec->events.push_back(e); };
  return Execute(p, runner, run, o);
}

TaskOutcome Fail(const std::string& m) {
  TaskOutcome o;
  o.status = Status::Internal(m);
  return o;
}

TEST(Executor, RetriesWithExponentialBackoffThenSucceeds) {
  PipelineSpec p = Pipeline(
      "      flaky: {type: noop, retries: 3, retry_delay: 10s, retry_backoff: exponential}\n"
      "      after_it: {type: noop, after: [flaky]}\n");
  FakeClock clock(1'000'000'000'000);
  FnRunner runner;
  std::vector<int64_t> starts;
  runner.fns["flaky"] = [&](const Attempt& a) {
    starts.push_back(clock.NowMicros());
    return a.try_number <= 2 ? Fail("try " + std::to_string(a.try_number) + " failed") : TaskOutcome{};
  };
  Recorded rec;
  auto out = RunPipeline(p, &runner, &rec, &clock);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->success());
  // Delays 10 s before retry 1, 20 s before retry 2 (exponential), on the fake clock.
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[1] - starts[0], 10'000'000);
  EXPECT_EQ(starts[2] - starts[1], 20'000'000);
  EXPECT_EQ(out->tasks[0].tries, 3);
  EXPECT_EQ(rec.Lines(p),
            (std::vector<std::string>{"flaky queued try 0", "flaky running try 1", "flaky up_for_retry try 1",
                                      "flaky queued try 1", "flaky running try 2", "flaky up_for_retry try 2",
                                      "flaky queued try 2", "flaky running try 3", "flaky success try 3",
                                      "after_it queued try 0", "after_it running try 1", "after_it success try 1"}));
  // The up_for_retry events say when the next attempt may start.
  EXPECT_EQ(rec.events[2].retry_at_micros - rec.events[2].at_micros, 10'000'000);
  EXPECT_EQ(rec.events[2].message, "try 1 failed");
  EXPECT_EQ(rec.events[2].exit_reason, "error");
}

TEST(Executor, JitterDrawsEachDelayBetweenHalfAndAll) {
  RetryPolicy r;
  r.delay_seconds = 8;
  r.exponential = true;
  r.max_delay_seconds = 20;
  EXPECT_DOUBLE_EQ(r.DelayBefore(1, 0.5), 8);
  EXPECT_DOUBLE_EQ(r.DelayBefore(2, 0.5), 16);
  EXPECT_DOUBLE_EQ(r.DelayBefore(3, 0.5), 20);  // 32 capped at 20
  r.jitter = true;
  EXPECT_DOUBLE_EQ(r.DelayBefore(2, 0.0), 8);  // half of 16
  EXPECT_DOUBLE_EQ(r.DelayBefore(2, 0.999), 8 + 0.999 * 8);
}

TEST(Executor, ExhaustedRetriesFailAndPropagateByTriggerRule) {
  PipelineSpec p = Pipeline(
      "      extract: {type: noop, retries: 1, retry_delay: 1s}\n"
      "      transform: {type: noop, after: [extract]}\n"
      "      report: {type: noop, after: [transform]}\n"
      "      cleanup: {type: noop, after: [report], trigger_rule: all_done}\n"
      "      alert: {type: noop, after: [extract], trigger_rule: one_failed}\n"
      "      tolerant: {type: noop, after: [alert], trigger_rule: none_failed}\n"
      "      on_all_failed: {type: noop, after: [extract], trigger_rule: all_failed}\n"
      "      side: {type: noop}\n");
  FakeClock clock(0);
  FnRunner runner;
  std::atomic<int> extract_tries{0};
  runner.fns["extract"] = [&](const Attempt&) {
    ++extract_tries;
    return Fail("source unreachable");
  };
  Recorded rec;
  auto out = RunPipeline(p, &runner, &rec, &clock);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->success());
  auto st = [&](const std::string& id) { return std::string(TaskStateName(out->tasks[p.FindTask(id)].state)); };
  EXPECT_EQ(extract_tries, 2);  // the first attempt and one retry
  EXPECT_EQ(st("extract"), "failed");
  EXPECT_EQ(out->tasks[p.FindTask("extract")].message, "source unreachable");
  EXPECT_EQ(st("transform"), "upstream_failed");
  EXPECT_EQ(st("report"), "upstream_failed");  // propagates down the chain
  EXPECT_EQ(st("cleanup"), "success");         // all_done runs whatever happened
  EXPECT_EQ(st("alert"), "success");           // one_failed fires
  EXPECT_EQ(st("tolerant"), "success");        // its upstream (alert) succeeded
  EXPECT_EQ(st("on_all_failed"), "success");
  EXPECT_EQ(st("side"), "success");  // independent of the failure
  EXPECT_EQ(out->tasks[p.FindTask("transform")].tries, 0);
}

TEST(Executor, SkipsPropagateAndOneFailedSkipsWhenAllIsWell) {
  PipelineSpec p = Pipeline(
      "      a: {type: noop}\n"
      "      alert: {type: noop, after: [a], trigger_rule: one_failed}\n"
      "      after_alert: {type: noop, after: [alert]}\n"
      "      done_anyway: {type: noop, after: [alert], trigger_rule: none_failed}\n");
  FnRunner runner;
  Recorded rec;
  auto out = RunPipeline(p, &runner, &rec);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->success());  // skipped tasks do not fail a run
  EXPECT_EQ(out->tasks[1].state, TaskState::kSkipped);
  EXPECT_EQ(out->tasks[2].state, TaskState::kSkipped);  // all_success over a skipped upstream
  EXPECT_EQ(out->tasks[3].state, TaskState::kSuccess);  // none_failed accepts skips
}

TEST(Executor, TimeoutStopsTheAttemptAndCountsAsAFailure) {
  PipelineSpec p = Pipeline("      slow: {type: noop, timeout: 200ms, retries: 1, retry_delay: 0s}\n");
  FnRunner runner;
  std::atomic<int> interrupted{0};
  runner.fns["slow"] = [&](const Attempt& a) {
    // Blocks like a long query until its cancel token interrupts it.
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    CancelScope scope(a.cancel, [&] {
      std::lock_guard<std::mutex> l(m);
      stop = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> l(m);
    cv.wait_for(l, std::chrono::seconds(30), [&] { return stop; });
    if (stop) ++interrupted;
    return Fail("interrupted");
  };
  Recorded rec;
  auto t0 = std::chrono::steady_clock::now();
  auto out = RunPipeline(p, &runner, &rec);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tasks[0].state, TaskState::kFailed);
  EXPECT_EQ(out->tasks[0].exit_reason, "timeout");
  EXPECT_EQ(out->tasks[0].tries, 2);  // a timeout is retried like any failure
  EXPECT_EQ(interrupted, 2);
  EXPECT_NE(out->tasks[0].message.find("timed out after 0.2s"), std::string::npos) << out->tasks[0].message;
  EXPECT_LT(secs, 5.0);  // both attempts really stopped, not left to run 30 s
}

TEST(Executor, ConcurrencyLimitsParallelTasks) {
  PipelineSpec p = Pipeline(
      "      a: {type: noop}\n      b: {type: noop}\n      c: {type: noop}\n      d: {type: noop}\n"
      "      e: {type: noop}\n      join: {type: noop, after: [a, b, c, d, e]}\n",
      "    concurrency: 2\n");
  FnRunner runner;
  std::atomic<int> now{0}, peak{0};
  Fn body = [&](const Attempt&) {
    int x = ++now;
    int seen = peak.load();
    while (x > seen && !peak.compare_exchange_weak(seen, x)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    --now;
    return TaskOutcome{};
  };
  for (const char* id : {"a", "b", "c", "d", "e"}) runner.fns[id] = body;
  Recorded rec;
  auto out = RunPipeline(p, &runner, &rec);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->success());
  EXPECT_EQ(peak, 2);  // never more than `concurrency`, and parallel at all
}

TEST(Executor, ResumeKeepsSucceededTasksAndStopCancelsRunningOnes) {
  PipelineSpec p =
      Pipeline("      a: {type: noop}\n      b: {type: noop, after: [a]}\n      c: {type: noop, after: [b]}\n");
  FnRunner runner;
  std::atomic<int> a_runs{0};
  runner.fns["a"] = [&](const Attempt&) {
    ++a_runs;
    return TaskOutcome{};
  };
  CancelToken stop;
  runner.fns["b"] = [&](const Attempt& a) {
    stop.Cancel("SIGTERM");  // the run is stopped while b runs, which waits to be interrupted
    for (int i = 0; i < 500 && !a.cancel->cancelled(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return a.cancel->cancelled() ? Fail("interrupted") : TaskOutcome{};
  };
  Recorded rec;
  auto out =
      RunPipeline(p, &runner, &rec, Clock::Real(), &stop, {TaskState::kSuccess, TaskState::kNone, TaskState::kNone});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(a_runs, 0);  // succeeded in the earlier attempt: not run again
  EXPECT_TRUE(out->stopped);
  EXPECT_FALSE(out->success());
  EXPECT_EQ(out->tasks[1].state, TaskState::kFailed);
  EXPECT_EQ(out->tasks[1].exit_reason, "cancelled");
  EXPECT_EQ(out->tasks[2].state, TaskState::kNone);  // never started: a resume runs it
}

TEST(Pipelines, DependenciesFromAssetsAndErrorsThatNameTheSpot) {
  testing::TempDir dir;
  auto parse = [&](const std::string& tasks, const std::string& extra = "") -> Result<std::vector<PipelineSpec>> {
    testing::WriteText(dir.Sub("strata.yml"),
                       "name: t\nsources:\n  shopdb: {type: sql}\n  clicks: {type: events}\ntransform: tr\n"
                       "pipelines:\n  daily:\n" +
                           extra + "    tasks:\n" + tasks);
    auto project = Project::Load(dir.path());
    if (!project.ok()) return project.status();
    return ParsePipelines(*project);
  };
  auto ok = parse(
      "      build: {type: build, select: marts}\n"
      "      ingest_db: {type: ingest, source: shopdb}\n"
      "      ingest_clicks: {type: ingest, source: clicks}\n"
      "      load: {type: load}\n"
      "      audit: {type: test}\n"
      "      export: {type: shell, command: 'true', reads: [models]}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  const PipelineSpec& p = (*ok)[0];
  auto ups = [&](const std::string& id) {
    std::vector<std::string> out;
    for (int u : p.upstream[p.FindTask(id)]) out.push_back(p.tasks[u].id);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(ups("load"), (std::vector<std::string>{"ingest_clicks", "ingest_db"}));
  EXPECT_EQ(ups("build"), (std::vector<std::string>{"load"}));
  EXPECT_EQ(ups("audit"), (std::vector<std::string>{"build"}));
  EXPECT_EQ(ups("export"), (std::vector<std::string>{"build"}));
  EXPECT_TRUE(ups("ingest_db").empty());

  auto bad = parse("      a: {type: noop, after: [bee]}\n      b: {type: noop}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("strata.yml:9:7: pipelines.daily.tasks.a: task 'a' runs after 'bee', which "
                                        "is not a task of pipeline 'daily' (did you mean 'b'?)"),
            std::string::npos)
      << bad.status().message();
  bad = parse(
      "      a: {type: noop, after: [c]}\n      b: {type: noop, after: [a]}\n      c: {type: noop, after: [b]}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("has a dependency cycle (each task runs before the next): "), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("a -> b -> c -> a"), std::string::npos) << bad.status().message();
  bad = parse("      a: {type: ingest, source: shop_db}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no source 'shop_db' in the project (did you mean 'shopdb'?)"),
            std::string::npos)
      << bad.status().message();
  bad = parse("      a: {type: bulid}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown task type 'bulid' (did you mean 'build'?)"), std::string::npos)
      << bad.status().message();
  bad = parse("      a: {type: noop, timeout: 5 minutes}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid duration '5 minutes'"), std::string::npos) << bad.status().message();
  bad = parse("      a: {type: noop}\n", "    schedule: '0 25 * * *'\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("pipelines.daily.schedule: cron \"0 25 * * *\": hour field: 25 is out of range"),
      std::string::npos)
      << bad.status().message();
  bad = parse("      a: {type: noop}\n", "    schedule: '@daily'\n    timezone: Europe/Berln\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Europe/Berln"), std::string::npos) << bad.status().message();
  bad = parse("      a: {type: noop, trigger_rule: all_doen}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("(did you mean 'all_done'?)"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace strata::orchestrate
