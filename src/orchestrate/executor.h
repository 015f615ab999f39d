// Executor: runs one pipeline run — a DAG of tasks — on a pool of worker threads.
//
// One thread (the caller's) owns every decision: which task becomes ready, retries and their
// backoff, timeouts, trigger rules. Workers only run task bodies. Task states follow
// Airflow's: none -> queued -> running -> success | failed | up_for_retry (-> queued again);
// tasks whose trigger rule cannot be met become upstream_failed or skipped without running.
// A timed-out attempt is cancelled through its CancelToken (which interrupts DuckDB queries
// and kills child processes), counted as a failure with exit reason "timeout", and retried
// like any failure. Time comes from a Clock, so tests drive backoff without sleeping.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/clock.h"
#include "core/status.h"
#include "orchestrate/pipeline.h"
#include "orchestrate/state.h"

namespace strata::orchestrate {

// The run a task belongs to.
struct RunContext {
  std::string run_id;
  std::string pipeline;
  std::string logical_date;    // the run's logical date or time (calendar.h): YYYY-MM-DD, or
                               // YYYY-MM-DDTHH:MMZ for pipelines that run several times a day
  std::string ds;              // YYYY-MM-DD: local date of the interval start, the lake partition
  int64_t interval_start = 0;  // data interval [start, end), epoch seconds
  int64_t interval_end = 0;
  // Current-state sources (sql) extract rows changed before this instant; 0 = interval_end.
  // A catch-up run (orchestrator.h) sets it to the time it starts.
  int64_t extract_until = 0;
};

// One attempt of one task, as a TaskRunner sees it.
struct Attempt {
  const TaskSpec* task = nullptr;
  const RunContext* run = nullptr;
  int try_number = 1;
  CancelToken* cancel = nullptr;  // fired on timeout or when the run is stopped
  std::string log_path;           // the attempt's log file ("" = do not log)
};

struct TaskOutcome {
  Status status;
  int64_t rows = -1;       // rows landed, loaded or built; -1 = not applicable
  std::string summary;     // one line for humans
  nlohmann::json details;  // machine-readable results (per table, per node)
  // A failure that a retry cannot change (a publish blocked by failing checks): the task
  // fails at once with exit reason "blocked", whatever its retries.
  bool final = false;
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Runs the attempt to completion. Must return promptly once attempt.cancel fires.
  virtual TaskOutcome Run(const Attempt& attempt) = 0;
};

// A task's state change, reported in order from the executor's thread.
struct TaskEvent {
  int task = -1;
  TaskState state = TaskState::kNone;
  int try_number = 0;
  int64_t at_micros = 0;
  std::string message;      // failures: the error; retries: when and why
  std::string exit_reason;  // finished attempts: "" (ok), "error", "blocked", "timeout", "cancelled"
  int64_t rows = -1;
  int64_t retry_at_micros = 0;  // up_for_retry: when the next attempt may start
  std::string log_path;
  // Finished attempts (success, failed, up_for_retry): the attempt's TaskOutcome::details;
  // valid during the on_event call. Null otherwise.
  const nlohmann::json* details = nullptr;
};

struct TaskResult {
  TaskState state = TaskState::kNone;
  int tries = 0;
  std::string message;
  std::string exit_reason;
  int64_t rows = -1;
  int64_t started_micros = 0;  // first attempt's start, 0 if never started
  int64_t ended_micros = 0;
  nlohmann::json details;  // the last attempt's
};

struct RunOutcome {
  std::vector<TaskResult> tasks;  // by task index
  bool stopped = false;           // the run was cancelled before every task finished
  bool success() const;           // every task succeeded or was skipped, and not stopped
};

struct ExecutorOptions {
  Clock* clock = Clock::Real();
  int concurrency = 0;  // 0: the pipeline's
  // Called for every state change, serialized, on the executor's thread.
  std::function<void(const TaskEvent&)> on_event;
  // Called after each round of state changes, before the executor waits for work to finish:
  // where a history commits a round's events together (one disk flush, not one per event).
  std::function<void()> on_round;
  // Resume: tasks whose state here is success keep it and are not run again.
  std::vector<TaskState> initial;
  // The log file of an attempt (may be empty).
  std::function<std::string(const TaskSpec&, int try_number)> log_path;
  // Stops the run: running attempts are cancelled, nothing new starts.
  CancelToken* stop = nullptr;
  uint64_t jitter_seed = 0;
};

Result<RunOutcome> Execute(const PipelineSpec& pipeline, TaskRunner* runner, const RunContext& run,
                           const ExecutorOptions& options);

}  // namespace strata::orchestrate
