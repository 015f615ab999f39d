// The states a pipeline run and its task instances go through, as Airflow names them. The
// names are what the run history stores and what `strata runs`, alerts and the web API show.
#pragma once

#include <iosfwd>
#include <string_view>

#include "core/status.h"

namespace strata::orchestrate {

// queued → running → success | failed | upstream_failed | skipped; a failed try that will be
// retried is up_for_retry until its next try starts. kNone: not yet scheduled.
enum class TaskState { kNone, kQueued, kRunning, kSuccess, kFailed, kUpForRetry, kUpstreamFailed, kSkipped };
const char* TaskStateName(TaskState state);
Result<TaskState> ParseTaskState(std::string_view name);
// success, failed, upstream_failed, skipped: nothing more will happen to the task in this run.
bool IsTerminal(TaskState state);

// queued (waiting for the scheduler) → running → success | failed | interrupted (stopped, or
// its process died; resumable). covered: an older interval a later catch-up run's extraction
// included (RunRecord.message names it); it never ran on its own.
enum class RunState { kQueued, kRunning, kSuccess, kFailed, kInterrupted, kCovered };
const char* RunStateName(RunState state);
Result<RunState> ParseRunState(std::string_view name);

// Prints the name (test failures, logs).
std::ostream& operator<<(std::ostream& os, TaskState state);
std::ostream& operator<<(std::ostream& os, RunState state);

}  // namespace strata::orchestrate
