// The run history keeps states by name and reads back exactly what it wrote; a state it does
// not know (a damaged file, or a newer Strata's history) is an error naming the row.
#include "orchestrate/run_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

#include "testing.h"

namespace strata::orchestrate {
namespace {

TEST(RunStore, EveryStateRoundTripsByName) {
  testing::TempDir dir;
  auto store = RunStore::Open(dir.Sub("runs.db"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const RunState runs[] = {RunState::kQueued, RunState::kRunning,     RunState::kSuccess,
                           RunState::kFailed, RunState::kInterrupted, RunState::kCovered};
  for (RunState state : runs) {
    RunRecord r;
    r.run_id = RunStore::RunId("p", RunStateName(state));
    r.pipeline = "p";
    r.state = state;
    ASSERT_TRUE((*store)->PutRun(r).ok());
    auto back = (*store)->FindRun(r.run_id);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((**back).state, state);
    EXPECT_EQ(ParseRunState(RunStateName(state)).value(), state);
  }
  const TaskState tasks[] = {TaskState::kNone,           TaskState::kQueued, TaskState::kRunning,
                             TaskState::kSuccess,        TaskState::kFailed, TaskState::kUpForRetry,
                             TaskState::kUpstreamFailed, TaskState::kSkipped};
  for (TaskState state : tasks) {
    TaskRecord t;
    t.run_id = "p__x";
    t.task_id = TaskStateName(state);
    t.state = state;
    ASSERT_TRUE((*store)->PutTask(t).ok());
    AttemptRecord a;
    a.run_id = "p__x";
    a.task_id = t.task_id;
    a.try_number = 1;
    a.state = state;
    ASSERT_TRUE((*store)->PutAttempt(a).ok());
  }
  auto back = (*store)->Tasks("p__x");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), std::size(tasks));
  for (const auto& t : *back) EXPECT_EQ(TaskStateName(t.state), t.task_id);
  auto attempts = (*store)->Attempts("p__x");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), std::size(tasks));
  for (const auto& a : *attempts) EXPECT_EQ(TaskStateName(a.state), a.task_id);
  EXPECT_FALSE(ParseRunState("succeeded").ok());
  EXPECT_FALSE(ParseTaskState("").ok());
}

TEST(RunStore, AnUnknownStoredStateIsCorruptionNamingTheRow) {
  testing::TempDir dir;
  const std::string path = dir.Sub("runs.db");
  {
    auto store = RunStore::Open(path);
    ASSERT_TRUE(store.ok());
    RunRecord r;
    r.run_id = "p__2024-01-01";
    r.pipeline = "p";
    r.state = RunState::kSuccess;
    ASSERT_TRUE((*store)->PutRun(r).ok());
    TaskRecord t;
    t.run_id = r.run_id;
    t.task_id = "load";
    t.state = TaskState::kSuccess;
    ASSERT_TRUE((*store)->PutTask(t).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE runs SET state = 'exploded'; UPDATE task_instances SET state = 'melted'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto run = (*store)->FindRun("p__2024-01-01");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kCorruption);
  EXPECT_NE(run.status().message().find("run p__2024-01-01"), std::string::npos) << run.status().message();
  EXPECT_NE(run.status().message().find("'exploded'"), std::string::npos) << run.status().message();
  auto listed = (*store)->ListRuns("", 0);
  EXPECT_EQ(listed.status().code(), Status::Code::kCorruption);
  auto tasks = (*store)->Tasks("p__2024-01-01");
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("task p__2024-01-01/load"), std::string::npos) << tasks.status().message();
}

}  // namespace
}  // namespace strata::orchestrate

namespace strata::orchestrate {
namespace {

TEST(RunStore, AttemptDetailsAreKeptAndOldHistoriesGainTheColumn) {
  testing::TempDir dir;
  const std::string path = dir.Sub("runs.db");
  // A history written before attempts had details.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE attempts (run_id TEXT NOT NULL, task_id TEXT NOT NULL, run_attempt INTEGER NOT "
                         "NULL, try_number INTEGER NOT NULL, state TEXT NOT NULL, started_micros INTEGER, "
                         "ended_micros INTEGER, rows INTEGER, exit_reason TEXT, message TEXT, log_path TEXT, PRIMARY "
                         "KEY (run_id, task_id, run_attempt, try_number));"
                         "INSERT INTO attempts VALUES ('r', 'old', 1, 1, 'success', 1, 2, 3, '', 'm', '')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  AttemptRecord a;
  a.run_id = "r";
  a.task_id = "new";
  a.try_number = 1;
  a.state = TaskState::kSuccess;
  a.details = R"({"results":[{"status":"pass"}]})";
  ASSERT_TRUE((*store)->PutAttempt(a).ok());
  auto back = (*store)->Attempts("r");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  std::map<std::string, std::string> details;
  for (const auto& x : *back) details[x.task_id] = x.details;
  EXPECT_EQ(details["old"], "");
  EXPECT_EQ(details["new"], a.details);
  // Opening again does not add it twice.
  store->reset();
  EXPECT_TRUE(RunStore::Open(path).ok());
}

}  // namespace
}  // namespace strata::orchestrate
