// Pipelines run for real (shell commands, SQL on DuckDB) with their history: timeouts that
// stop processes and queries, retries recorded as attempts with logs, resume of a stopped
// run, and a 10-day backfill where two days fail and are then re-run alone.
#include "orchestrate/orchestrator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "core/file.h"
#include "db/duckdb.h"
#include "pg_testing.h"
#include "transform/publish.h"
#include "warehouse/session.h"

namespace strata::orchestrate {
namespace {

using testing::TempDir;
using testing::WriteText;

class OrchestratorTest : public ::testing::Test {
 protected:
  // A project with one pipeline `p` whose tasks are `tasks_yaml` (the tasks: map).
  PipelineSpec Make(const std::string& tasks_yaml) {
    WriteText(dir_.Sub("strata.yml"),
              "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\n"
              "pipelines:\n  p:\n    concurrency: 2\n    tasks:\n" +
                  tasks_yaml);
    return Load();
  }
  // The project in dir_ and its pipeline `p`.
  PipelineSpec Load() {
    auto project = Project::Load(dir_.path());
    EXPECT_TRUE(project.ok()) << project.status().ToString();
    project_ = *project;
    auto p = FindPipeline(project_, "p");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : PipelineSpec{};
  }
  Result<RunReport> Run(const PipelineSpec& p, const std::string& date, CancelToken* stop = nullptr) {
    RunRequest r;
    r.logical_date = date;
    r.stop = stop;
    return RunPipeline(project_, p, r);
  }
  std::string Path(const std::string& name) { return dir_.Sub(name); }
  int Lines(const std::string& name) {
    auto text = ReadFile(Path(name));
    if (!text.ok()) return 0;
    return static_cast<int>(std::count(text->begin(), text->end(), '\n'));
  }

  TempDir dir_;
  Project project_;
};

TEST_F(OrchestratorTest, ShellTimeoutKillsTheWholeProcessGroup) {
  // The command starts a background sleep (a grandchild) and waits: a timeout must end both.
  PipelineSpec p =
      Make("      slow: {type: shell, timeout: 300ms, command: 'sleep 30 & echo $! > " + Path("pid") + "; wait'}\n");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(p, "2024-01-01");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kFailed);
  EXPECT_EQ(r->outcome.tasks[0].exit_reason, "timeout");
  EXPECT_LT(secs, 10);
  auto pid = ReadFile(Path("pid"));
  ASSERT_TRUE(pid.ok());
  int child = std::stoi(*pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Gone, or a zombie waiting for init to reap it (orphans are reparented): not running.
  auto stat = ReadFile("/proc/" + std::to_string(child) + "/stat");
  bool alive = stat.ok() && stat->find(") Z ") == std::string::npos;
  EXPECT_FALSE(alive) << "the background sleep " << child << " survived the timeout: " << stat.value();
}

TEST_F(OrchestratorTest, SqlTimeoutInterruptsTheQuery) {
  PipelineSpec p = Make(
      "      heavy: {type: sql, timeout: 300ms, sql: 'select count(*) from range(1000000000000) a'}\n"
      "      quick: {type: sql, sql: 'create table t as select 42 as answer'}\n");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(p, "2024-01-01");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome.tasks[0].state, TaskState::kFailed);
  EXPECT_EQ(r->outcome.tasks[0].exit_reason, "timeout");
  EXPECT_EQ(r->outcome.tasks[1].state, TaskState::kSuccess);
  EXPECT_LT(secs, 10);  // a trillion-row count, stopped
}

TEST_F(OrchestratorTest, RetriesAreRecordedAsAttemptsWithLogs) {
  // Fails on its first two tries (counting in a file), then succeeds.
  PipelineSpec p = Make("      flaky: {type: shell, retries: 2, retry_delay: 10ms, command: 'echo try >> " +
                        Path("tries") + "; test $(wc -l < " + Path("tries") + ") -ge 3 || { echo boom; exit 3; }'}\n");
  auto r = Run(p, "2024-01-02");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  auto store = OpenRunStore(project_);
  ASSERT_TRUE(store.ok());
  auto attempts = (*store)->Attempts("p__2024-01-02", "flaky");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ((*attempts)[0].state, TaskState::kUpForRetry);
  EXPECT_EQ((*attempts)[0].exit_reason, "error");
  EXPECT_NE((*attempts)[0].message.find("exit code 3"), std::string::npos) << (*attempts)[0].message;
  EXPECT_EQ((*attempts)[2].state, TaskState::kSuccess);
  auto log = ReadFile((*attempts)[0].log_path);
  ASSERT_TRUE(log.ok()) << (*attempts)[0].log_path;
  EXPECT_NE(log->find("boom"), std::string::npos) << *log;  // the command's own output
  auto run = (*store)->FindRun("p__2024-01-02");
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->state, RunState::kSuccess);
  EXPECT_EQ((*run)->attempt, 1);
}

TEST_F(OrchestratorTest, AStoppedRunResumesFromItsFirstUnfinishedTask) {
  PipelineSpec p = Make("      a: {type: shell, command: 'echo a >> " + Path("a") +
                        "'}\n"
                        "      b: {type: shell, after: [a], command: 'echo b >> " +
                        Path("b") +
                        "; sleep 20'}\n"
                        "      c: {type: shell, after: [b], command: 'echo c >> " +
                        Path("c") + "'}\n");
  CancelToken stop;
  std::thread stopper([&] {
    while (Lines("b") == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop.Cancel("SIGTERM");
  });
  auto r = Run(p, "2024-01-03", &stop);
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->run.state, RunState::kInterrupted);
  EXPECT_EQ(Lines("c"), 0);
  // The rerun keeps a (done), runs b again and then c.
  p = Make("      a: {type: shell, command: 'echo a >> " + Path("a") +
           "'}\n"
           "      b: {type: shell, after: [a], command: 'echo b >> " +
           Path("b") +
           "'}\n"
           "      c: {type: shell, after: [b], command: 'echo c >> " +
           Path("c") + "'}\n");
  r = Run(p, "2024-01-03");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resumed);
  EXPECT_EQ(r->resumed_from, "interrupted");
  EXPECT_EQ(r->run.state, RunState::kSuccess);
  EXPECT_EQ(r->run.attempt, 2);
  EXPECT_EQ(Lines("a"), 1);  // not redone
  EXPECT_EQ(Lines("b"), 2);
  EXPECT_EQ(Lines("c"), 1);
  // A second process cannot run the same date while this one holds it.
  auto lock = FileLock::Acquire(JoinPath(project_.state_dir, "locks/run-p__2024-01-04.lock"), false);
  ASSERT_TRUE(lock.ok());
  auto busy = Run(p, "2024-01-04");
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("run p__2024-01-04 is already running"), std::string::npos);
}

TEST_F(OrchestratorTest, BackfillRunsMissingAndFailedDatesOnly) {
  // Days listed in `bad` fail; every successful run appends its date to `done`.
  WriteText(Path("bad"), "2024-01-04\n2024-01-07\n");
  PipelineSpec p = Make("      work: {type: shell, command: 'grep -qx {{ ds }} " + Path("bad") +
                        " && exit 1; echo {{ ds }} >> " + Path("done") + "'}\n");
  RunRequest req;
  auto first = Backfill(project_, p, "2024-01-01", "2024-01-10", req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 10u);
  std::vector<std::string> failed;
  for (const auto& d : *first) {
    EXPECT_FALSE(d.skipped);
    if (d.report.run.state != RunState::kSuccess) failed.push_back(d.logical_date);
  }
  EXPECT_EQ(failed, (std::vector<std::string>{"2024-01-04", "2024-01-07"}));
  EXPECT_EQ(Lines("done"), 8);
  // Fixed: the second backfill runs exactly the two failed days, oldest first.
  WriteText(Path("bad"), "");
  auto second = Backfill(project_, p, "2024-01-01", "2024-01-10", req);
  ASSERT_TRUE(second.ok());
  std::vector<std::string> ran;
  for (const auto& d : *second) {
    if (!d.skipped) ran.push_back(d.logical_date + ":" + RunStateName(d.report.run.state));
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"2024-01-04:success", "2024-01-07:success"}));
  auto done = ReadFile(Path("done"));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->substr(done->size() - 22), "2024-01-04\n2024-01-07\n");
  // A third backfill has nothing to do; the history has one run per date.
  auto third = Backfill(project_, p, "2024-01-01", "2024-01-10", req);
  ASSERT_TRUE(third.ok());
  for (const auto& d : *third) EXPECT_TRUE(d.skipped) << d.logical_date;
  auto store = OpenRunStore(project_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->ListRuns("p", 0);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 10u);
}

TEST_F(OrchestratorTest, AnHourlyPipelineRunsAndBackfillsIntervalByInterval) {
  WriteText(dir_.Sub("strata.yml"),
            "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\npipelines:\n  p:\n    schedule: '0 * * * *'\n"
            "    timezone: America/New_York\n    tasks:\n      work: {type: shell, command: 'echo "
            "$STRATA_RUN_ID $STRATA_DS $STRATA_DATA_INTERVAL_START $STRATA_DATA_INTERVAL_END >> " +
                Path("seen") + "'}\n");
  PipelineSpec p = Load();
  // Three intervals, given by their local starts (EST = UTC-5): 23:00 on 01-01 to 01:00 on 01-02.
  RunRequest req;
  auto runs = Backfill(project_, p, "2024-01-01T23:00", "2024-01-02T01:00", req);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 3u);
  for (const auto& r : *runs) EXPECT_EQ(r.report.run.state, RunState::kSuccess) << r.logical_date;
  EXPECT_EQ(ReadFile(Path("seen")).value(),
            "p__2024-01-02T04:00Z 2024-01-01 2024-01-02 04:00:00 2024-01-02 05:00:00\n"
            "p__2024-01-02T05:00Z 2024-01-02 2024-01-02 05:00:00 2024-01-02 06:00:00\n"
            "p__2024-01-02T06:00Z 2024-01-02 2024-01-02 06:00:00 2024-01-02 07:00:00\n");
  // The same interval by its UTC key is the same run; a whole day backfills its 24 hours,
  // skipping the two already done.
  auto again = Run(p, "2024-01-02T05:00Z");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->run.run_id, "p__2024-01-02T05:00Z");
  EXPECT_EQ(again->run.attempt, 2);
  auto day = Backfill(project_, p, "2024-01-02", "2024-01-02", req);
  ASSERT_TRUE(day.ok());
  ASSERT_EQ(day->size(), 24u);
  int skipped = 0;
  for (const auto& r : *day) skipped += r.skipped ? 1 : 0;
  EXPECT_EQ(skipped, 2);
  EXPECT_EQ(Lines("seen"), 3 + 1 + 22);
  // A date alone does not name one of its runs.
  auto date = Run(p, "2024-01-02");
  ASSERT_FALSE(date.ok());
  EXPECT_NE(date.status().message().find("2024-01-02T05:00Z"), std::string::npos) << date.status().message();
}

// Counts how many attempts run at once.
class Overlap : public TaskRunner {
 public:
  TaskOutcome Run(const Attempt& a) override {
    int now = ++active_;
    int seen = max_.load();
    while (now > seen && !max_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    --active_;
    TaskOutcome o;
    if (a.run->logical_date == "2024-02-04") o.status = Status::Internal("bad day");
    return o;
  }
  int max() const { return max_.load(); }

 private:
  std::atomic<int> active_{0}, max_{0};
};

TEST_F(OrchestratorTest, BackfillRunsSeveralDatesAtOnceUpToTheLimit) {
  PipelineSpec p = Make("      work: {type: noop}\n");
  Overlap overlap;
  RunRequest req;
  req.runner = &overlap;
  auto r = Backfill(project_, p, "2024-02-01", "2024-02-07", req, /*parallel=*/3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_GE(overlap.max(), 2);
  EXPECT_LE(overlap.max(), 3);
  for (const auto& d : *r) {
    EXPECT_EQ(d.report.run.state, d.logical_date == "2024-02-04" ? RunState::kFailed : RunState::kSuccess)
        << d.logical_date;
  }
  // Sequential by default (max_active_runs 1): the failed day alone runs again.
  Overlap again;
  req.runner = &again;
  auto second = Backfill(project_, p, "2024-02-01", "2024-02-07", req);
  ASSERT_TRUE(second.ok());
  int ran = 0;
  for (const auto& d : *second) ran += d.skipped ? 0 : 1;
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(again.max(), 1);
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

// Write-audit-publish on a real dbt project: the day's rows are written by a sql task, the
// model is built without its tests, and publish audits it before promoting it.
class PublishTest : public OrchestratorTest {
 protected:
  // A query's rows as "a|b\n" (NULL spelled out), or its error.
  static std::string Text(const Result<sql::QueryResult>& r) {
    if (!r.ok()) return "error: " + r.status().message();
    std::string out;
    for (const auto& row : r->rows) {
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "|" : "") + row[i].value_or("NULL");
      out += "\n";
    }
    return out;
  }
  // `top` adds top-level strata.yml settings; `models` is what build and publish select.
  PipelineSpec MakeWap(const std::string& publish_extra = "", const std::string& top = "",
                       const std::string& schema = "analytics", const std::string& models = "orders_mart") {
    WriteText(dir_.Sub("transform/dbt_project.yml"), "name: wap\nprofile: wap\nmodels:\n  wap:\n    +schema: marts\n");
    WriteText(dir_.Sub("transform/profiles.yml"),
              "wap:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../wh.duckdb, schema: main}\n");
    WriteText(dir_.Sub("transform/models/orders_mart.sql"), "select order_id, amount, note from raw_orders\n");
    WriteText(dir_.Sub("transform/models/orders_summary.sql"),
              "select count(*) as orders, sum(amount) as amount from {{ ref('orders_mart') }}\n");
    WriteText(dir_.Sub("transform/models/orders_mart.yml"),
              "version: 2\nmodels:\n  - name: orders_mart\n    description: One row per order.\n"
              "    columns:\n      - name: order_id\n        description: The order's id.\n        tests: [unique]\n"
              "      - name: amount\n        tests: [not_null]\n"
              "      - name: note\n        tests:\n          - not_null:\n              config: {severity: warn}\n");
    std::string yml = "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\n" + top +
                      "pipelines:\n  p:\n    tasks:\n"
                      "      write: {type: sql, sql: \"create table if not exists raw_orders(order_id int, amount int,"
                      " note varchar, day varchar); insert into raw_orders select * from day_rows where day = "
                      "'{{ ds }}'\"}\n"
                      "      build: {type: build, select: '" +
                      models +
                      "', exclude: 'resource_type:test', after: [write]}\n"
                      "      publish: {type: publish, select: '" +
                      models + "', schema: " + schema + ", retries: 3" + publish_extra + "}\n";
    WriteText(dir_.Sub("strata.yml"), yml);
    return Load();
  }
  // Rows of the day_rows table the sql task copies from: (order_id, amount, note, day).
  void Seed(const std::string& values) {
    auto db = duck::Database::Open(Path("wh.duckdb"));
    ASSERT_TRUE(db.ok());
    auto conn = (*db)->Connect();
    ASSERT_TRUE(
        (*conn)
            ->Execute("create table if not exists day_rows(order_id int, amount int, note varchar, day varchar);"
                      "insert into day_rows values " +
                      values)
            .ok());
  }
  std::string Query(const std::string& sql) {
    auto db = duck::Database::Open(Path("wh.duckdb"));
    if (!db.ok()) return "open failed: " + db.status().message();
    auto conn = (*db)->Connect();
    auto r = (*conn)->Query(sql);
    return Text(r);
  }
  int Task(const PipelineSpec& p, const std::string& id) { return p.FindTask(id); }
};

TEST_F(PublishTest, BlockedPublishKeepsThePreviousVersionAndNamesTheChecks) {
  PipelineSpec p = MakeWap();
  Seed(
      "(1, 10, 'a', '2024-01-01'), (2, 20, 'b', '2024-01-01'),"    // day 1: clean
      "(3, NULL, 'c', '2024-01-02'), (2, 25, 'd', '2024-01-02'),"  // day 2: a null amount, a duplicate id
      "(4, 40, NULL, '2024-01-03')");                              // day 3: only a warn-severity failure
  auto day1 = Run(p, "2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  EXPECT_EQ(day1->run.state, RunState::kSuccess);
  EXPECT_EQ(Query("select order_id, amount from analytics.orders_mart order by 1"), "1|10\n2|20\n");
  EXPECT_EQ(Query("select relation, row_count, logical_date from analytics._strata_publications"),
            "orders_mart|2|2024-01-01\n");
  // Descriptions travel with the data, for BI tools.
  EXPECT_EQ(Query("select comment from duckdb_tables() where schema_name = 'analytics' and table_name = 'orders_mart'"),
            "One row per order.\n");
  EXPECT_EQ(Query("select comment from duckdb_columns() where schema_name = 'analytics' and column_name = 'order_id'"),
            "The order's id.\n");

  auto day2 = Run(p, "2024-01-02");
  ASSERT_TRUE(day2.ok()) << day2.status().ToString();
  EXPECT_EQ(day2->run.state, RunState::kFailed);
  const TaskResult& pub = day2->outcome.tasks[Task(p, "publish")];
  EXPECT_EQ(pub.state, TaskState::kFailed);
  EXPECT_EQ(pub.exit_reason, "blocked");
  EXPECT_EQ(pub.tries, 1) << "a blocked publish is not retried";
  EXPECT_NE(pub.message.find("not_null_orders_mart_amount (1 failing rows)"), std::string::npos) << pub.message;
  EXPECT_NE(pub.message.find("unique_orders_mart_order_id (1 failing rows)"), std::string::npos) << pub.message;
  EXPECT_NE(pub.message.find("keeps its previous version"), std::string::npos) << pub.message;
  EXPECT_EQ(pub.details["blocked_by"].size(), 2u) << pub.details.dump();
  // The staging build has the bad rows; the published schema still has day 1.
  EXPECT_EQ(Query("select count(*) from main_marts.orders_mart"), "4\n");
  EXPECT_EQ(Query("select order_id, amount from analytics.orders_mart order by 1"), "1|10\n2|20\n");
  EXPECT_EQ(Query("select count(*) from analytics._strata_publications"), "1\n");

  // Fix the data (delete the bad rows); day 3 adds a row that only fails a warn test.
  ASSERT_EQ(Query("delete from raw_orders where day = '2024-01-02'"), "2\n");  // rows deleted
  auto day3 = Run(p, "2024-01-03");
  ASSERT_TRUE(day3.ok()) << day3.status().ToString();
  EXPECT_EQ(day3->run.state, RunState::kSuccess);
  const TaskResult& pub3 = day3->outcome.tasks[Task(p, "publish")];
  EXPECT_NE(pub3.message.find("1 warning: not_null_orders_mart_note (1 failing rows)"), std::string::npos)
      << pub3.message;
  EXPECT_EQ(pub3.details["warnings"].size(), 1u);
  EXPECT_EQ(Query("select order_id, amount from analytics.orders_mart order by 1"), "1|10\n2|20\n4|40\n");
  EXPECT_EQ(Query("select logical_date from analytics._strata_publications order by published_at"),
            "2024-01-01\n2024-01-03\n");
}

// The campaign's case: rerunning an older date republished the current marts (built from
// every date loaded so far) labelled with that older date.
TEST_F(PublishTest, ARerunOfAPastDateNeverMovesThePublishedDataBack) {
  PipelineSpec p = MakeWap();
  Seed("(1, 10, 'a', '2024-01-01'), (2, 20, 'b', '2024-01-02')");
  for (const char* day : {"2024-01-01", "2024-01-02"}) {
    auto r = Run(p, day);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::string why;
    for (const auto& t : r->outcome.tasks) why += t.message + "\n";
    ASSERT_EQ(r->run.state, RunState::kSuccess) << why;
  }
  EXPECT_EQ(Query("select logical_date, row_count from analytics._strata_publications order by published_at"),
            "2024-01-01|1\n2024-01-02|2\n");
  auto rerun = Run(p, "2024-01-01");
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->run.state, RunState::kSuccess);
  const TaskResult& pub = rerun->outcome.tasks[Task(p, "publish")];
  EXPECT_NE(pub.message.find("not published: the schema holds the publication of 2024-01-02"), std::string::npos)
      << pub.message;
  EXPECT_EQ(pub.details["superseded_by"], "2024-01-02");
  // Nothing was relabelled: the log has the two publications it had.
  EXPECT_EQ(Query("select logical_date, row_count from analytics._strata_publications order by published_at"),
            "2024-01-01|1\n2024-01-02|2\n");
  EXPECT_EQ(Query("select count(*) from analytics.orders_mart"), "2\n");
  EXPECT_EQ(pub.details["audited"], 0) << "nothing to publish, nothing to audit";
}

// The campaign's case: `pipeline backfill --parallel 2|3` failed runs that should succeed
// (catalog write-write conflicts, "Cannot CHECKPOINT", creating schema analytics at once).
TEST_F(PublishTest, AParallelBackfillRunsEveryDateCorrectly) {
  PipelineSpec p = MakeWap();
  std::string rows;
  for (int day = 1; day <= 6; ++day) {
    rows += std::string(rows.empty() ? "" : ", ") + "(" + std::to_string(day) + ", " + std::to_string(day * 10) +
            ", 'n', '2024-01-0" + std::to_string(day) + "')";
  }
  Seed(rows);
  RunRequest req;
  auto dates = Backfill(project_, p, "2024-01-01", "2024-01-06", req, /*parallel=*/3);
  ASSERT_TRUE(dates.ok()) << dates.status().ToString();
  ASSERT_EQ(dates->size(), 6u);
  for (const auto& d : *dates) {
    ASSERT_TRUE(d.status.ok()) << d.logical_date << ": " << d.status.ToString();
    std::string why;
    for (const auto& t : d.report.outcome.tasks) why += t.message + "\n";
    EXPECT_EQ(d.report.run.state, RunState::kSuccess) << d.logical_date << ":\n" << why;
  }
  EXPECT_EQ(Query("select count(*), sum(amount) from main_marts.orders_mart"), "6|210\n");
  // The published data is the newest date's, and only newer dates replaced older ones.
  EXPECT_EQ(Query("select max(logical_date) from analytics._strata_publications"), "2024-01-06\n");
}

TEST_F(PublishTest, BuildSeesTheRunAsDbtVars) {
  WriteText(dir_.Sub("transform/dbt_project.yml"), "name: wap\nprofile: wap\n");
  WriteText(dir_.Sub("transform/profiles.yml"),
            "wap:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../wh.duckdb, schema: main}\n");
  WriteText(dir_.Sub("transform/models/interval.sql"),
            "select '{{ var(\"ds\") }}' as ds, '{{ var(\"data_interval_start\") }}' as s, "
            "'{{ var(\"data_interval_end\") }}' as e, '{{ var(\"run_id\") }}' as r, {{ var(\"k\") }} as k\n");
  WriteText(dir_.Sub("strata.yml"),
            "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\n"
            "pipelines:\n  p:\n    tasks:\n      build: {type: build, vars: {k: 7}}\n");
  auto r = Run(Load(), "2024-02-29");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->run.state, RunState::kSuccess) << r->outcome.tasks[0].message;
  EXPECT_EQ(Query("select * from main.interval"),
            "2024-02-29|2024-02-29 00:00:00|2024-03-01 00:00:00|p__2024-02-29|7\n");
}

TEST_F(PublishTest, ConfigurationErrorsAreCaughtBeforeRunning) {
  WriteText(dir_.Sub("transform/dbt_project.yml"), "name: wap\nprofile: wap\n");
  WriteText(dir_.Sub("strata.yml"),
            "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\n"
            "pipelines:\n  p:\n    tasks:\n      publish: {type: publish, schema: analytics}\n");
  auto project = Project::Load(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  auto p = FindPipeline(*project, "p");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("strata.yml:7:7: pipelines.p.tasks.publish: a publish task needs `select`"),
            std::string::npos)
      << p.status().message();
}

TEST_F(PublishTest, PublishingIntoTheBuildSchemaIsRefused) {
  PipelineSpec p = MakeWap();
  p.tasks[Task(p, "publish")].publish_schema = "main_marts";
  Seed("(1, 10, 'a', '2024-01-01')");
  auto r = Run(p, "2024-01-01");
  ASSERT_TRUE(r.ok());
  const TaskResult& pub = r->outcome.tasks[Task(p, "publish")];
  EXPECT_EQ(pub.state, TaskState::kFailed);
  EXPECT_NE(pub.message.find("is built in schema 'main_marts', the schema it would be published to"), std::string::npos)
      << pub.message;
}

// The lakehouse mode: the same write-audit-publish, with the marts published to PostgreSQL.
class PgPublishTest : public PublishTest {
 protected:
  void SetUp() override {
    server_ = testing::Postgres();
    ASSERT_NE(server_, nullptr);
    schema_ = testing::PgTestSchema("bi");
    setenv("STRATA_TEST_PUBLISH_PASSWORD", server_->password.c_str(), 1);
    auto c = pg::Connection::Open(Options());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    pg_ = std::move(*c);
    ASSERT_TRUE(pg_->Execute("drop schema if exists " + schema_ + " cascade").ok());
  }
  void TearDown() override {
    auto c = pg::Connection::Open(Options());
    if (c.ok()) (void)(*c)->Execute("drop schema if exists " + schema_ + " cascade");
  }
  pg::ConnectOptions Options() const { return testing::PgOptions(*server_); }
  std::string PublishBlock() const {
    return "publish: {type: postgres, host: " + server_->host + ", port: " + std::to_string(server_->port) +
           ", dbname: " + server_->dbname + ", user: " + server_->user +
           ", password_env: STRATA_TEST_PUBLISH_PASSWORD}\n";
  }
  // Rows as "a|b\n" from the PostgreSQL server (a fresh connection: the server may have
  // been restarted).
  std::string PgQuery(const std::string& sql) {
    auto c = pg::Connection::Open(Options());
    if (!c.ok()) return "connect failed: " + c.status().message();
    auto r = (*c)->Query(sql);
    return Text(r);
  }
  const testing::PgServer* server_ = nullptr;
  std::string schema_;
  std::unique_ptr<pg::Connection> pg_;
};

TEST_F(PgPublishTest, MartsPublishToPostgreSQLWithIndexesAndCommentsAndKeepTheLastGoodVersion) {
  PipelineSpec p = MakeWap("", PublishBlock(), schema_);
  Seed(
      "(1, 10, 'a', '2024-01-01'), (2, 20, 'b', '2024-01-01'),"
      "(3, NULL, 'c', '2024-01-02'), (2, 25, 'd', '2024-01-02'),"
      "(4, 40, NULL, '2024-01-03')");
  auto day1 = Run(p, "2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  ASSERT_EQ(day1->run.state, RunState::kSuccess) << day1->outcome.tasks[Task(p, "publish")].message;
  const std::string mart = schema_ + ".orders_mart";
  EXPECT_EQ(PgQuery("select order_id, amount, note from " + mart + " order by 1"), "1|10|a\n2|20|b\n");
  EXPECT_EQ(PgQuery("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '" + mart +
                    "'::regclass and attnum > 0 order by attnum"),
            "integer\ninteger\ntext\n");
  // The unique test (error severity, audited) becomes a unique index; descriptions comments.
  EXPECT_EQ(PgQuery("select indexname, indexdef like 'CREATE UNIQUE INDEX%(order_id)' from pg_indexes where "
                    "schemaname = '" +
                    schema_ + "' and tablename = 'orders_mart'"),
            "orders_mart_order_id_key|true\n");
  EXPECT_EQ(PgQuery("select obj_description('" + mart + "'::regclass), col_description('" + mart + "'::regclass, 1)"),
            "One row per order.|The order's id.\n");
  EXPECT_EQ(PgQuery("select relation, row_count, logical_date from " + schema_ + "._strata_publications"),
            "orders_mart|2|2024-01-01\n");
  // Nothing was published inside the DuckDB warehouse.
  EXPECT_EQ(Query("select count(*) from duckdb_tables() where schema_name = '" + schema_ + "'"), "0\n");

  // Day 2 fails its audit: PostgreSQL keeps day 1.
  auto day2 = Run(p, "2024-01-02");
  ASSERT_TRUE(day2.ok());
  EXPECT_EQ(day2->run.state, RunState::kFailed);
  EXPECT_EQ(day2->outcome.tasks[Task(p, "publish")].exit_reason, "blocked");
  EXPECT_EQ(PgQuery("select order_id, amount from " + mart + " order by 1"), "1|10\n2|20\n");

  ASSERT_EQ(Query("delete from raw_orders where day = '2024-01-02'"), "2\n");
  auto day3 = Run(p, "2024-01-03");
  ASSERT_TRUE(day3.ok());
  ASSERT_EQ(day3->run.state, RunState::kSuccess) << day3->outcome.tasks[Task(p, "publish")].message;
  EXPECT_EQ(PgQuery("select order_id, amount from " + mart + " order by 1"), "1|10\n2|20\n4|40\n");
  // The swap renamed the new index; no staging tables or indexes are left behind.
  EXPECT_EQ(PgQuery("select string_agg(c.relname, ',' order by c.relname) from pg_class c join pg_namespace n on "
                    "n.oid = c.relnamespace where n.nspname = '" +
                    schema_ + "'"),
            "_strata_publications,orders_mart,orders_mart_order_id_key\n");
  EXPECT_EQ(PgQuery("select logical_date from " + schema_ + "._strata_publications order by published_at"),
            "2024-01-01\n2024-01-03\n");
}

TEST_F(PgPublishTest, AMissingPasswordVariableIsAClearError) {
  std::string block = PublishBlock();
  block.replace(block.find("STRATA_TEST_PUBLISH_PASSWORD"), 28, "STRATA_TEST_NO_SUCH_VARIABLE");
  PipelineSpec p = MakeWap("", block, schema_);
  Seed("(1, 10, 'a', '2024-01-01')");
  auto r = Run(p, "2024-01-01");
  ASSERT_TRUE(r.ok());
  const TaskResult& pub = r->outcome.tasks[Task(p, "publish")];
  EXPECT_EQ(pub.state, TaskState::kFailed);
  EXPECT_NE(pub.message.find("the password variable STRATA_TEST_NO_SUCH_VARIABLE is not set"), std::string::npos)
      << pub.message;
}

// Kills the shared test server: ctest runs suites named *RunsAlone* on their own (RUN_SERIAL).
class PgPublishRunsAlone : public PgPublishTest {};

TEST_F(PgPublishRunsAlone, AServerKilledMidPublishKeepsThePreviousMartsAndTheRerunCompletes) {
  PipelineSpec p = MakeWap("", PublishBlock(), schema_, "orders_mart orders_summary");
  Seed("(1, 10, 'a', '2024-01-01'), (2, 20, 'b', '2024-01-01'), (3, 30, 'c', '2024-01-02')");
  auto day1 = Run(p, "2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  ASSERT_EQ(day1->run.state, RunState::kSuccess) << day1->outcome.tasks[Task(p, "publish")].message;
  EXPECT_EQ(PgQuery("select orders, amount from " + schema_ + ".orders_summary"), "2|30\n");

  // Day 2 is written and built (the pipeline without its publish task) ...
  PipelineSpec build_only = p;
  build_only.tasks.erase(build_only.tasks.begin() + Task(p, "publish"));
  auto day2 = Run(build_only, "2024-01-02");
  ASSERT_TRUE(day2.ok());
  ASSERT_EQ(day2->run.state, RunState::kSuccess);

  // ... and its publish loses the server after the first relation is copied.
  transform::LoadOptions lo;
  lo.project_dir = Path("transform");
  auto loaded = transform::LoadedProject::Load(lo);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const pg::ConnectOptions options = Options();
  transform::PublishOptions po;
  po.selection.select = {"orders_mart orders_summary"};
  po.schema = schema_;
  po.postgres = &options;
  int copied = 0;
  po.on_copied = [&](const std::string&) {
    if (copied++ == 0) {
      ASSERT_TRUE(testing::PgCluster("kill"));
    }
  };
  {
    auto engine = warehouse::OpenDuckDb(Path("wh.duckdb"));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    auto report = transform::Publish(**loaded, engine->get(), po);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), Status::Code::kUnavailable) << report.status().ToString();
    EXPECT_NE(report.status().message().find("publishing orders_summary to postgres"), std::string::npos)
        << report.status().ToString();
  }
  ASSERT_TRUE(testing::PgCluster("restart"));
  // Both marts are day 1's, together; nothing half-done is left.
  EXPECT_EQ(PgQuery("select order_id from " + schema_ + ".orders_mart order by 1"), "1\n2\n");
  EXPECT_EQ(PgQuery("select orders, amount from " + schema_ + ".orders_summary"), "2|30\n");
  EXPECT_EQ(PgQuery("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where "
                    "n.nspname = '" +
                    schema_ + "' and c.relname like '%strata_new%'"),
            "0\n");

  // The rerun publishes day 2.
  po.on_copied = nullptr;
  auto engine = warehouse::OpenDuckDb(Path("wh.duckdb"));
  ASSERT_TRUE(engine.ok());
  auto report = transform::Publish(**loaded, engine->get(), po);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->published);
  EXPECT_EQ(PgQuery("select order_id from " + schema_ + ".orders_mart order by 1"), "1\n2\n3\n");
  EXPECT_EQ(PgQuery("select orders, amount from " + schema_ + ".orders_summary"), "3|60\n");
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

// The campaign's case: a full disk under the state folder said only "runs.db: disk I/O error".
// (A tmpfs is mounted: root only; ctest runs *RunsAlone* suites one at a time.)
TEST(FullStateDiskRunsAlone, AFullStateFolderSaysTheDiskIsFull) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("p/state"));
  auto mounted = testing::RunCommand({"/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.Sub("p/state")});
  if (mounted.exit_code != 0) GTEST_SKIP() << "cannot mount a tmpfs here (" << mounted.err << "): needs root";
  struct Unmount {
    std::string path;
    ~Unmount() { (void)testing::RunCommand({"/bin/umount", "-l", path}); }
  } unmount{dir.Sub("p/state")};
  testing::WriteText(dir.Sub("p/strata.yml"),
                     "name: p\nstate_dir: state\npipelines:\n  d:\n    tasks:\n"
                     "      t: {type: noop}\n");
  auto project = Project::Load(dir.Sub("p"));
  ASSERT_TRUE(project.ok());
  auto pipeline = FindPipeline(*project, "d");
  RunRequest req;
  req.logical_date = "2024-01-01";
  ASSERT_TRUE(RunPipeline(*project, *pipeline, req).ok());
  const auto free_bytes = std::filesystem::space(dir.Sub("p/state")).available;
  auto fill = testing::RunCommand({"/usr/bin/fallocate", "-l", std::to_string(free_bytes), dir.Sub("p/state/filler")});
  ASSERT_EQ(fill.exit_code, 0) << fill.err;
  req.logical_date = "2024-01-02";
  auto run = RunPipeline(*project, *pipeline, req);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kIOError) << run.status().ToString();
  EXPECT_NE(run.status().message().find("the disk is full"), std::string::npos) << run.status().message();
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

// Holds runs.db for a while from another connection when the first task runs, so that the
// orchestrator's record of that task's end waits past lock_timeout and fails.
class LockingRunner : public TaskRunner {
 public:
  explicit LockingRunner(std::string db) : db_(std::move(db)) {}
  ~LockingRunner() override {
    if (holder_.joinable()) holder_.join();
  }
  TaskOutcome Run(const Attempt& a) override {
    if (a.task->id == "first") {
      std::promise<void> held;
      std::future<void> taken = held.get_future();
      holder_ = std::thread([this, held = std::move(held)]() mutable {
        sqlite3* other = nullptr;
        sqlite3_open(db_.c_str(), &other);
        sqlite3_busy_timeout(other, 10000);
        sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        held.set_value();
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));
        sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(other);
      });
      taken.wait();  // the task ends while the history is locked
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // the lock is gone by the end
    }
    return TaskOutcome{};
  }

 private:
  std::string db_;
  std::thread holder_;
};

// The campaign's case: with runs.db locked for a while, `pipeline run` exited 1 while the
// history said success. Now the history writes that failed are redone before the run is
// recorded, and the outcome and the history agree.
TEST_F(OrchestratorTest, AHistoryWriteThatFailedMidRunIsRedoneAndTheOutcomeAgreesWithIt) {
  WriteText(dir_.Sub("strata.yml"),
            "name: t\nlock_timeout: 1\npipelines:\n  p:\n    tasks:\n"
            "      first: {type: noop}\n      second: {type: noop, after: [first]}\n");
  PipelineSpec p = Load();
  ASSERT_TRUE(OpenRunStore(project_).ok());
  LockingRunner runner(project_.state_dir + "/runs.db");
  RunRequest r;
  r.logical_date = "2024-01-01";
  r.runner = &runner;
  std::vector<std::string> errors;
  r.on_error = [&](const std::string& line) { errors.push_back(line); };
  auto report = RunPipeline(project_, p, r);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->run.state, RunState::kSuccess);
  ASSERT_FALSE(errors.empty()) << "the first task's end could not be recorded at once";
  EXPECT_NE(errors[0].find("writing it again"), std::string::npos) << errors[0];
  auto store = *OpenRunStore(project_);
  EXPECT_EQ((*store->FindRun("p__2024-01-01"))->state, RunState::kSuccess);
  for (const auto& t : *store->Tasks("p__2024-01-01")) EXPECT_EQ(t.state, TaskState::kSuccess) << t.task_id;
}

}  // namespace
}  // namespace strata::orchestrate
