// The scheduler on a fake clock: runs start when their interval ends, catch-up runs the
// missed dates oldest first, a date never runs twice, and a daily job in Europe/Berlin runs
// once per day across both daylight-saving transitions. Expected instants are worked out by
// hand in the comments.
#include "orchestrate/scheduler.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <mutex>
#include <thread>

#include "core/date.h"
#include "testing.h"

namespace strata::orchestrate {
namespace {

// Records which logical dates ran, and when (fake clock, epoch seconds).
class Recorder : public TaskRunner {
 public:
  explicit Recorder(Clock* clock) : clock_(clock) {}
  TaskOutcome Run(const Attempt& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    runs.emplace_back(a.run->logical_date, clock_->NowSeconds());
    return TaskOutcome{};
  }
  std::vector<std::pair<std::string, int64_t>> runs;

 private:
  Clock* clock_;
  std::mutex mu_;
};

int64_t At(const std::string& ts) { return *ParseTimestamp(ts); }

class SchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Scheduler> Make(const std::string& pipeline_yaml) {
    testing::WriteText(dir_.Sub("strata.yml"),
                       "name: t\npipelines:\n  p:\n" + pipeline_yaml + "    tasks:\n      work: {type: noop}\n");
    auto project = Project::Load(dir_.path());
    EXPECT_TRUE(project.ok()) << project.status().ToString();
    project_ = *project;
    auto pipelines = ParsePipelines(project_);
    EXPECT_TRUE(pipelines.ok()) << pipelines.status().ToString();
    SchedulerOptions o;
    o.clock = &clock_;
    o.runner = &recorder_;
    return std::make_unique<Scheduler>(&project_, *pipelines, o);
  }
  std::vector<std::string> Dates(const std::vector<DueRun>& due) {
    std::vector<std::string> out;
    for (const auto& d : due) out.push_back(d.logical_date);
    return out;
  }

  testing::TempDir dir_;
  Project project_;
  FakeClock clock_{0};
  Recorder recorder_{&clock_};
};

TEST_F(SchedulerTest, RunsAtTheEndOfEachIntervalCatchesUpAndNeverTwice) {
  auto s = Make("    schedule: '0 6 * * *'\n    start_date: 2024-01-01\n    catchup: true\n");
  // The interval [01-01 06:00, 01-02 06:00) ends at 01-02 06:00: not due a minute before.
  clock_.Set(At("2024-01-02 05:59:00") * 1000000);
  auto due = s->Due();
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_TRUE(due->empty());
  clock_.Set(At("2024-01-02 06:00:00") * 1000000);
  auto ran = s->RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  ASSERT_EQ(ran->size(), 1u);
  EXPECT_EQ((*ran)[0].run.logical_date, "2024-01-01");
  EXPECT_EQ((*ran)[0].run.trigger, "scheduled");
  // Same instant again: nothing (no second run for a date).
  ran = s->RunDue();
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE(ran->empty());
  // Down for three days: catch-up runs 01-02, 01-03, 01-04, oldest first.
  clock_.Set(At("2024-01-05 07:00:00") * 1000000);
  ran = s->RunDue();
  ASSERT_TRUE(ran.ok());
  std::vector<std::string> dates;
  for (const auto& r : *ran) dates.push_back(r.run.logical_date);
  EXPECT_EQ(dates, (std::vector<std::string>{"2024-01-02", "2024-01-03", "2024-01-04"}));
  EXPECT_EQ(recorder_.runs.size(), 4u);
}

TEST_F(SchedulerTest, AnHourlyPipelineRunsEveryIntervalOnceEach) {
  auto s =
      Make("    schedule: '@hourly'\n    timezone: Europe/Berlin\n    start_date: 2024-10-27\n    catchup: true\n");
  // Local midnight of 10-27 is 10-26 22:00Z; at 10-27 01:30Z three intervals of 10-27 have
  // ended, the last starting at 02:00 CEST; the next starts at 02:00 again (CET).
  clock_.Set(At("2024-10-27 01:30:00") * 1000000);
  auto ran = s->RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  std::vector<std::string> keys;
  for (const auto& r : *ran) keys.push_back(r.run.logical_date);
  EXPECT_EQ(keys, (std::vector<std::string>{"2024-10-26T22:00Z", "2024-10-26T23:00Z", "2024-10-27T00:00Z"}));
  ASSERT_EQ(ran->size(), 3u);
  EXPECT_EQ((*ran)[2].run.run_id, "p__2024-10-27T00:00Z");
  EXPECT_EQ((*ran)[2].run.interval_start, At("2024-10-27 00:00:00"));
  EXPECT_EQ((*ran)[2].run.interval_end, At("2024-10-27 01:00:00"));
  // Nothing twice; the next interval is due when it ends.
  ran = s->RunDue();
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE(ran->empty());
  clock_.Set(At("2024-10-27 02:00:00") * 1000000);
  auto due = s->Due();
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Dates(*due), (std::vector<std::string>{"2024-10-27T01:00Z"}));
}

TEST_F(SchedulerTest, WithoutCatchupOnlyTheLatestIntervalRuns) {
  auto s = Make("    schedule: '@daily'\n    start_date: 2024-01-01\n    catchup: false\n");
  clock_.Set(At("2024-01-10 00:30:00") * 1000000);  // latest complete interval: [01-09, 01-10)
  auto due = s->Due();
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Dates(*due), (std::vector<std::string>{"2024-01-09"}));
}

TEST_F(SchedulerTest, AWeeklyPipelineWithoutAStartDateRunsItsLatestWeek) {
  auto s = Make("    schedule: '@weekly'\n    catchup: false\n");
  // Sundays 00:00 UTC: 2024-01-07 and 2024-01-14. On Wednesday 01-17 the latest complete
  // interval is [01-07, 01-14), logical date 01-07.
  clock_.Set(At("2024-01-17 12:00:00") * 1000000);
  auto due = s->Due();
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(Dates(*due), (std::vector<std::string>{"2024-01-07"}));
}

TEST_F(SchedulerTest, AnInterruptedRunIsDueAgainAFinishedOneIsNot) {
  auto s = Make("    schedule: '@daily'\n    start_date: 2024-01-01\n    catchup: true\n");
  auto store = OpenRunStore(project_);
  ASSERT_TRUE(store.ok());
  RunRecord dead;
  dead.run_id = "p__2024-01-01";
  dead.pipeline = "p";
  dead.logical_date = "2024-01-01";
  dead.state = RunState::kRunning;  // its process died: nobody holds its lock
  ASSERT_TRUE((*store)->PutRun(dead).ok());
  RunRecord failed = dead;
  failed.run_id = "p__2024-01-02";
  failed.logical_date = "2024-01-02";
  failed.state = RunState::kFailed;  // failures wait for a person (or a backfill)
  ASSERT_TRUE((*store)->PutRun(failed).ok());
  clock_.Set(At("2024-01-04 00:00:00") * 1000000);
  auto due = s->Due();
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Dates(*due), (std::vector<std::string>{"2024-01-01", "2024-01-03"}));
}

// Steps the clock in 5-minute steps from `from` to `to`, running what is due at each step;
// returns (logical date, run start) in order.
std::vector<std::pair<std::string, int64_t>> Step(Scheduler* s, FakeClock* clock, Recorder* rec, int64_t from,
                                                  int64_t to) {
  for (int64_t t = from; t <= to; t += 300) {
    clock->Set(t * 1000000);
    auto r = s->RunDue();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  return rec->runs;
}

TEST_F(SchedulerTest, DailyInBerlinRunsOncePerDayAcrossBothDstTransitions) {
  auto s = Make("    schedule: '30 2 * * *'\n    timezone: Europe/Berlin\n    catchup: false\n");
  // Spring: 2024-03-31 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
  //   tick 03-30 02:30 CET  = 03-30 01:30Z  -> ends the interval of 03-29
  //   tick 03-31 03:00 CEST = 03-31 01:00Z  (first instant after the gap) -> 03-30
  //   tick 04-01 02:30 CEST = 04-01 00:30Z -> 03-31
  // Starting at 03-30 00:00Z without catch-up, the latest complete interval (of 03-28) runs
  // at once.
  auto runs = Step(s.get(), &clock_, &recorder_, At("2024-03-30 00:00:00"), At("2024-04-01 12:00:00"));
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0], std::make_pair(std::string("2024-03-28"), At("2024-03-30 00:00:00")));
  EXPECT_EQ(runs[1], std::make_pair(std::string("2024-03-29"), At("2024-03-30 01:30:00")));
  EXPECT_EQ(runs[2], std::make_pair(std::string("2024-03-30"), At("2024-03-31 01:00:00")));
  EXPECT_EQ(runs[3], std::make_pair(std::string("2024-03-31"), At("2024-04-01 00:30:00")));
  // Autumn: 2024-10-27 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice
  // (00:30Z and 01:30Z); the daily job runs at the first only.
  //   tick 10-26 02:30 CEST = 10-26 00:30Z -> 10-25
  //   tick 10-27 02:30 CEST = 10-27 00:30Z -> 10-26 (not again at 01:30Z)
  //   tick 10-28 02:30 CET  = 10-28 01:30Z -> 10-27
  recorder_.runs.clear();
  runs = Step(s.get(), &clock_, &recorder_, At("2024-10-26 00:00:00"), At("2024-10-28 12:00:00"));
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0], std::make_pair(std::string("2024-10-24"), At("2024-10-26 00:00:00")));
  EXPECT_EQ(runs[1], std::make_pair(std::string("2024-10-25"), At("2024-10-26 00:30:00")));
  EXPECT_EQ(runs[2], std::make_pair(std::string("2024-10-26"), At("2024-10-27 00:30:00")));
  EXPECT_EQ(runs[3], std::make_pair(std::string("2024-10-27"), At("2024-10-28 01:30:00")));
}

TEST_F(SchedulerTest, ServeStopsOnRequest) {
  auto s0 = Make("    schedule: '@hourly'\n    catchup: false\n");
  CancelToken stop;
  SchedulerOptions o;
  o.clock = &clock_;
  o.runner = &recorder_;
  o.stop = &stop;
  int lines = 0;
  o.on_line = [&](const std::string& line) {
    // Stop after the scheduler has run a date (the fake clock advances while it sleeps).
    if (line.find(" success") != std::string::npos && ++lines >= 1) stop.Cancel("SIGTERM");
  };
  auto pipelines = ParsePipelines(project_);
  ASSERT_TRUE(pipelines.ok());
  Scheduler s(&project_, *pipelines, o);
  clock_.Set(At("2024-05-01 10:30:00") * 1000000);
  ASSERT_TRUE(s.Serve().ok());
  EXPECT_TRUE(stop.cancelled());
  ASSERT_FALSE(recorder_.runs.empty());
  EXPECT_EQ(recorder_.runs[0].first, "2024-05-01T09:00Z");  // [09:00, 10:00) of 05-01
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

TEST_F(SchedulerTest, TriggeredRunsStartOnTheNextLookOnceEach) {
  // A pipeline without a schedule runs only when triggered.
  auto s = Make("");
  clock_.Set(At("2024-03-10 12:00:00") * 1000000);
  auto none = s->Due();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto queued = TriggerRun(project_, FindPipeline(project_, "p").value(), "2024-03-05", &clock_);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_EQ(queued->state, RunState::kQueued);
  ASSERT_TRUE(TriggerRun(project_, FindPipeline(project_, "p").value(), "2024-03-01", &clock_).ok());
  auto twice = TriggerRun(project_, FindPipeline(project_, "p").value(), "2024-03-05", &clock_);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), Status::Code::kAlreadyExists);
  EXPECT_NE(twice.status().message().find("already queued"), std::string::npos);

  auto due = s->Due();
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Dates(*due), (std::vector<std::string>{"2024-03-01", "2024-03-05"}));  // oldest first
  EXPECT_EQ((*due)[0].trigger, "manual");
  auto ran = s->RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  ASSERT_EQ(ran->size(), 2u);
  EXPECT_EQ((*ran)[0].run.trigger, "manual");
  EXPECT_EQ((*ran)[0].run.state, RunState::kSuccess);
  EXPECT_EQ(recorder_.runs.size(), 2u);
  auto again = s->Due();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty()) << "a triggered run starts once";

  // Triggering a finished date queues it again: a deliberate re-run.
  ASSERT_TRUE(TriggerRun(project_, FindPipeline(project_, "p").value(), "2024-03-05", &clock_).ok());
  auto rerun = s->RunDue();
  ASSERT_TRUE(rerun.ok());
  ASSERT_EQ(rerun->size(), 1u);
  EXPECT_EQ((*rerun)[0].run.attempt, 2);
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

// The campaign's case: a 12-second lock on runs.db ("database is locked") killed the
// scheduler, and later due runs never started.
TEST_F(SchedulerTest, AHistoryLockedPastLockTimeoutDelaysARunButNeverStopsTheScheduler) {
  testing::WriteText(dir_.Sub("strata.yml"),
                     "name: t\nlock_timeout: 1\npipelines:\n  p:\n"
                     "    schedule: '@daily'\n    catchup: false\n"
                     "    tasks:\n      work: {type: noop}\n");
  project_ = *Project::Load(dir_.path());
  ASSERT_TRUE(OpenRunStore(project_).ok());  // creates runs.db
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((project_.state_dir + "/runs.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  CancelToken stop;
  SchedulerOptions o;
  o.clock = &clock_;
  o.runner = &recorder_;
  o.stop = &stop;
  std::vector<std::string> lines;
  o.on_line = [&](const std::string& line) {
    lines.push_back(line);
    if (line.find("could not run") != std::string::npos || line.find("looking again") != std::string::npos) {
      sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);  // the other process lets go
    }
    if (line.find(" success") != std::string::npos) stop.Cancel("test");
  };
  Scheduler s(&project_, *ParsePipelines(project_), o);
  clock_.Set(At("2024-05-02 00:30:00") * 1000000);
  Status served = s.Serve();
  sqlite3_close(other);
  ASSERT_TRUE(served.ok()) << served.ToString();
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("is locked by another process"), std::string::npos) << all;
  ASSERT_EQ(recorder_.runs.size(), 1u) << all;
  EXPECT_EQ(recorder_.runs[0].first, "2024-05-01");
  auto run = (*OpenRunStore(project_))->FindRun("p__2024-05-01");
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->state, RunState::kSuccess);
}

TEST(RunStoreLocks, AWriterWaitsForAnotherProcessThenGivesUpRetryably) {
  testing::TempDir dir;
  const std::string path = dir.Sub("runs.db");
  auto store = *RunStore::Open(path, /*lock_timeout_seconds=*/1);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  RunRecord r;
  r.run_id = "p__2024-01-01";
  r.pipeline = "p";
  r.logical_date = "2024-01-01";
  r.state = RunState::kRunning;
  r.message = "GET http://u:hunter2@api/x failed";
  auto start = std::chrono::steady_clock::now();
  Status s = store->PutRun(r);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900)) << "it did not wait";
  ASSERT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("locked by another process"), std::string::npos) << s.message();
  // Released within the wait: the write goes through.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  ASSERT_EQ(sqlite3_exec(other, "SELECT 1", nullptr, nullptr, nullptr), SQLITE_OK);
  Status later = store->PutRun(r);
  release.join();
  EXPECT_TRUE(later.ok()) << later.ToString();
  sqlite3_close(other);
  auto back = store->FindRun(r.run_id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->message, "GET http://***@api/x failed");  // stored redacted
}

}  // namespace
}  // namespace strata::orchestrate
