// Orchestrator: runs a pipeline for a logical date with its history — the entry point of
// `strata pipeline run | backfill`, and later of the scheduler.
//
// A run holds a lock file per (pipeline, date) while it runs, so two processes never run the
// same date at once. The history (RunStore) says what happened before: a run found
// "running" whose lock is free was killed (SIGKILL, power loss) — it is marked interrupted
// and resumed from its first unfinished task; a failed run is resumed the same way; a
// successful run, run again, runs every task again (each task is idempotent for its date).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/clock.h"
#include "core/project.h"
#include "orchestrate/calendar.h"
#include "orchestrate/executor.h"
#include "orchestrate/pipeline.h"
#include "orchestrate/run_store.h"

namespace strata::orchestrate {

// The project's pipelines, or when it declares none, the implied one named "default":
// ingest every source (in parallel), load, then build the dbt project if there is one.
Result<std::vector<PipelineSpec>> ProjectPipelines(const Project& project);
// The pipeline named `name`; "" picks the only one (or "default").
Result<PipelineSpec> FindPipeline(const Project& project, const std::string& name);

// Catch-up after an outage. A sql source keeps only each row's current state, and a run
// extracts the rows changed before its interval's end. Run date by date after an outage, the
// earlier dates miss every row changed since (an order's customer, updated later, is invisible
// to the order's date) and their tests fail. So when a backfill, or the scheduler's catch-up,
// finds several intervals to run for a pipeline that ingests a sql source, it runs one
// catch-up run, for the newest of them, whose sql extracts reach the time it starts; when it
// succeeds, the older intervals are recorded as runs in state "covered", naming it. Event files
// of the covered dates land in the catch-up run's partition. `strata pipeline backfill
// --every-interval` runs each interval instead.
bool HasCurrentStateSources(const Project& project, const PipelineSpec& pipeline);

struct RunRequest {
  std::string logical_date;        // a date or time as calendar.h reads them; "" = the current run
  std::string trigger = "manual";  // manual | scheduled | backfill
  bool rerun_all = false;          // ignore what an earlier attempt of this run finished
  // A catch-up run (above): it extracts current-state sources up to its start, and once it
  // succeeds, the runs named here (older logical dates) are recorded as covered by it.
  bool catch_up = false;
  std::vector<std::string> covers;
  Clock* clock = Clock::Real();
  CancelToken* stop = nullptr;
  TaskRunner* runner = nullptr;  // nullptr: PlatformTasks on the project
  // Progress lines for humans (task started, finished, retried, ...), and failures.
  std::function<void(const std::string&)> on_line;
  std::function<void(const std::string&)> on_error;
};

struct RunReport {
  RunRecord run;
  RunOutcome outcome;
  bool resumed = false;      // an earlier attempt's successful tasks were kept
  std::string resumed_from;  // its state then: interrupted | failed
};

Result<RunReport> RunPipeline(const Project& project, const PipelineSpec& pipeline, const RunRequest& request);

// Runs every run of the pipeline's calendar (calendar.h) whose interval starts in [from, to]
// — each date, or for a schedule that ticks several times a day each interval — that has no
// successful run yet, oldest first (each run resumes what an earlier attempt finished).
// `request` is the template (its logical_date is ignored, its trigger becomes "backfill").
// Stops early when request.stop fires. Runs already successful are listed as skipped. Up to `parallel` runs at once (0:
// the pipeline's max_active_runs, which defaults to 1); runs at once share one warehouse, so use it for pipelines whose
// dates are independent — not for incremental models that must see the days in order.
struct BackfillDate {
  std::string logical_date;  // the run's key
  bool skipped = false;      // already successful (or covered)
  std::string covered_by;    // covered by this catch-up run (then `report.run` is the covered record)
  Status status;             // why the run could not be attempted
  RunReport report;
};
// With `every_interval` false and a pipeline that ingests current-state sources, several runs
// to do become one catch-up run (see above).
Result<std::vector<BackfillDate>> Backfill(const Project& project, const PipelineSpec& pipeline,
                                           const std::string& from, const std::string& to, RunRequest request,
                                           int parallel = 0, bool every_interval = false);

// Queues a run of `pipeline` for `logical_date` (a date or time, calendar.h) for the scheduler to start on its next
// look (Airflow's "trigger"; `strata pipeline run` runs in the foreground instead). The run
// is recorded as queued with trigger "manual"; a date already queued, or running in a live
// process, is kAlreadyExists.
Result<RunRecord> TriggerRun(const Project& project, const PipelineSpec& pipeline, const std::string& logical_date,
                             Clock* clock = Clock::Real());

// The run history of the project (<state_dir>/runs.db).
Result<std::unique_ptr<RunStore>> OpenRunStore(const Project& project);

// Runs recorded "running" whose process is gone (SIGKILL, power loss: their lock is free) are
// marked interrupted, as their next attempt would, so that the history tells the truth.
// Returns how many were.
Result<int> MarkDeadRunsInterrupted(const Project& project, RunStore* store);

}  // namespace strata::orchestrate
