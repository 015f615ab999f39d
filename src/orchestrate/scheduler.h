// Scheduler: starts pipeline runs when their schedule says they are due — the long-running
// `strata scheduler`.
//
// A run is due at the end of its data interval (Airflow's rule): a daily 06:00 schedule runs
// the interval [D 06:00, D+1 06:00) at D+1 06:00, with logical date D (the interval's start,
// as a local date in the pipeline's time zone); an hourly schedule runs [06:00, 07:00) at
// 07:00 as run 2024-01-01T06:00Z (calendar.h names runs). With `catchup` and a
// `start_date`, every interval since the start date that has no run yet is due, oldest
// first; otherwise only the latest. A run that already exists is never started twice —
// except one whose process died (interrupted), which the scheduler resumes. Several due
// intervals of a pipeline that ingests a sql source become one catch-up run (orchestrator.h).
//
// Runs queued by `strata pipeline trigger` (TriggerRun) are due at once, whatever the
// schedule, and are looked for at least every few seconds while serving.
//
// Time comes from the Clock: tests step a FakeClock through daylight-saving transitions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/clock.h"
#include "core/project.h"
#include "orchestrate/orchestrator.h"
#include "orchestrate/pipeline.h"

namespace strata::orchestrate {

struct DueRun {
  std::string pipeline;
  std::string logical_date;           // the run's key (calendar.h): a local date, or a UTC start time
  int64_t due_at = 0;                 // the tick ending its interval (epoch seconds); queued runs: 0
  std::string trigger = "scheduled";  // or "manual": queued by `strata pipeline trigger`
  // A catch-up run (orchestrator.h): the older due intervals it covers, oldest first.
  std::vector<std::string> covers;
};

struct SchedulerOptions {
  Clock* clock = Clock::Real();
  CancelToken* stop = nullptr;   // SIGTERM: finish nothing new, stop running tasks cleanly
  TaskRunner* runner = nullptr;  // nullptr: the platform's tasks
  std::function<void(const std::string&)> on_line;
};

class Scheduler {
 public:
  Scheduler(const Project* project, std::vector<PipelineSpec> pipelines, SchedulerOptions options)
      : project_(project), pipelines_(std::move(pipelines)), options_(std::move(options)) {}

  // Runs due at the clock's current time, oldest first, per pipeline.
  Result<std::vector<DueRun>> Due();
  // Starts (and waits for) every due run; returns them with their reports.
  Result<std::vector<RunReport>> RunDue();
  // Loops RunDue() and sleeping until the next tick, until `stop` fires.
  Status Serve();

 private:
  const Project* project_;
  std::vector<PipelineSpec> pipelines_;
  SchedulerOptions options_;
};

}  // namespace strata::orchestrate
