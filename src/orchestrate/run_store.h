// RunStore: the run history — pipeline runs, their task instances and every attempt — in
// SQLite (<state_dir>/runs.db, WAL mode), written by the process that runs the pipeline and
// read by `strata runs`, the scheduler and the web UI.
//
// A run is identified by (pipeline, logical date): run_id = "<pipeline>__<YYYY-MM-DD>", so
// there can never be two runs for one logical date; running a date again starts a new
// attempt of the same run (`runs.attempt` counts them) and keeps every task attempt.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "db/sqlite.h"
#include "orchestrate/state.h"

namespace strata::orchestrate {

struct RunRecord {
  std::string run_id;
  std::string pipeline;
  std::string logical_date;
  int64_t interval_start = 0;  // epoch seconds
  int64_t interval_end = 0;
  std::string trigger;  // manual | scheduled | backfill
  RunState state = RunState::kQueued;
  int attempt = 0;  // times the run was started
  int64_t started_micros = 0;
  int64_t ended_micros = 0;
  int64_t pid = 0;
  std::string message;
};

struct TaskRecord {
  std::string run_id;
  std::string task_id;
  std::string type;
  TaskState state = TaskState::kNone;
  int tries = 0;
  int64_t started_micros = 0;
  int64_t ended_micros = 0;
  int64_t rows = -1;
  std::string exit_reason;
  std::string message;
  std::string log_path;  // the latest attempt's
};

struct AttemptRecord {
  std::string run_id;
  std::string task_id;
  int run_attempt = 0;  // which start of the run
  int try_number = 0;
  TaskState state = TaskState::kRunning;  // then success | failed | up_for_retry
  int64_t started_micros = 0;
  int64_t ended_micros = 0;
  int64_t rows = -1;
  std::string exit_reason;
  std::string message;
  std::string log_path;
  std::string details;  // the task's machine-readable results (JSON text; "" = none)
};

// One alert delivery (see alerts.h): which event, about which task, to where, and whether it
// arrived. `target` and `error` never hold secrets.
struct AlertRecord {
  std::string run_id;
  int run_attempt = 0;
  std::string event;    // failure | retry_exhausted | publish_blocked | success
  std::string task_id;  // "" = the whole run
  std::string target;   // "webhook https://host/path" or "command"
  bool ok = false;
  int tries = 0;
  std::string error;
  int64_t at_micros = 0;
};

// The machine-readable forms (`strata runs --json`, the web API): timestamps as UTC ISO 8601
// ("" when not yet), durations in seconds.
nlohmann::json ToJson(const RunRecord& r);
nlohmann::json ToJson(const TaskRecord& t);  // without its attempts
nlohmann::json ToJson(const AttemptRecord& a);
nlohmann::json ToJson(const AlertRecord& a);

class RunStore {
 public:
  // Statements wait up to `lock_timeout_seconds` for a lock held by another process, then
  // fail with kUnavailable. A full disk is kIOError saying so. Messages are stored redacted.
  static Result<std::unique_ptr<RunStore>> Open(const std::string& path, int lock_timeout_seconds = 60);
  // For readers beside the writing process (the web server): opens the file read-only and
  // writes nothing, not even the schema. Writes through it fail.
  static Result<std::unique_ptr<RunStore>> OpenForReading(const std::string& path, int lock_timeout_seconds = 60);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  static std::string RunId(const std::string& pipeline, const std::string& logical_date) {
    return pipeline + "__" + logical_date;
  }

  Result<std::optional<RunRecord>> FindRun(const std::string& run_id);
  // Groups the writes until Commit() in one transaction (one flush to disk).
  Status Begin();
  Status Commit();
  Status Rollback();
  Status PutRun(const RunRecord& run);  // insert or replace
  Status PutTask(const TaskRecord& task);
  Status PutAttempt(const AttemptRecord& attempt);
  Status AddAlert(const AlertRecord& alert);  // appends

  // Newest first; `pipeline` "" = all; `limit` <= 0 = no limit.
  Result<std::vector<RunRecord>> ListRuns(const std::string& pipeline, int limit);
  Result<std::vector<TaskRecord>> Tasks(const std::string& run_id);
  Result<std::vector<AttemptRecord>> Attempts(const std::string& run_id, const std::string& task_id = "");
  // In the order they were sent.
  Result<std::vector<AlertRecord>> Alerts(const std::string& run_id);

 private:
  explicit RunStore(db::SqliteDb db) : db_(std::move(db)) {}
  Status CheckDetailsColumn();
  db::SqliteDb db_;
  bool has_details_ = true;  // histories from before attempts kept details lack the column
};

}  // namespace strata::orchestrate
