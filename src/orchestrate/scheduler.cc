#include "orchestrate/scheduler.h"

#include <algorithm>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "orchestrate/schedule.h"

namespace strata::orchestrate {

namespace {
constexpr int64_t kTriggerPollSeconds = 5;
}  // namespace

Result<std::vector<DueRun>> Scheduler::Due() {
  const int64_t now = options_.clock->NowSeconds();
  STRATA_ASSIGN_OR_RETURN(auto store, OpenRunStore(*project_));
  std::vector<DueRun> out;
  for (const auto& p : pipelines_) {
    if (p.schedule.empty()) continue;
    STRATA_ASSIGN_OR_RETURN(Schedule sched, Schedule::Parse(p.schedule, p.timezone));
    if (!sched.recurring()) continue;
    // Intervals from a day before start_date's UTC midnight (any zone's local midnight is
    // within it), kept when their local logical date is on or after start_date.
    int64_t from = now - 2 * 86400;  // without start_date: the recent past only
    if (!p.start_date.empty()) {
      STRATA_ASSIGN_OR_RETURN(Date start, Date::Parse(p.start_date));
      from = start.StartEpochSeconds() - 86400;
    }
    std::vector<Interval> intervals = sched.Intervals(from, now);
    std::vector<DueRun> due;
    std::set<std::string> dates;
    for (const auto& iv : intervals) {
      std::string date = sched.FormatLocal(iv.start).substr(0, 10);
      if (!p.start_date.empty() && date < p.start_date) continue;
      if (!dates.insert(date).second) continue;  // a later interval of the same day
      due.push_back({p.name, date, iv.end});
    }
    if (!p.catchup && !due.empty()) due.erase(due.begin(), due.end() - 1);
    for (const auto& d : due) {
      STRATA_ASSIGN_OR_RETURN(auto existing, store->FindRun(RunStore::RunId(p.name, d.logical_date)));
      if (existing && existing->state != "interrupted" && existing->state != "running") continue;
      if (existing && existing->state == "running") {
        // Running elsewhere (its lock is held) is not due; a dead process's run is.
        auto lock = FileLock::Acquire(JoinPath(project_->state_dir, "locks/run-" + existing->run_id + ".lock"), false);
        if (!lock.ok()) continue;
      }
      out.push_back(d);
    }
  }
  // Triggered runs, oldest logical date first.
  STRATA_ASSIGN_OR_RETURN(auto runs, store->ListRuns("", 0));
  std::vector<DueRun> queued;
  for (const auto& r : runs) {
    if (r.state != "queued") continue;
    bool known = false;
    for (const auto& p : pipelines_) known = known || p.name == r.pipeline;
    if (known) queued.push_back({r.pipeline, r.logical_date, 0, r.trigger});
  }
  std::sort(queued.begin(), queued.end(),
            [](const DueRun& a, const DueRun& b) { return a.logical_date < b.logical_date; });
  out.insert(out.end(), queued.begin(), queued.end());
  return out;
}

Result<std::vector<RunReport>> Scheduler::RunDue() {
  STRATA_ASSIGN_OR_RETURN(auto due, Due());
  std::vector<RunReport> reports;
  for (const auto& d : due) {
    if (options_.stop != nullptr && options_.stop->cancelled()) break;
    const PipelineSpec* spec = nullptr;
    for (const auto& p : pipelines_) {
      if (p.name == d.pipeline) spec = &p;
    }
    if (options_.on_line) {
      options_.on_line("scheduler: " + d.pipeline + " for " + d.logical_date +
                       (d.trigger == "scheduled" ? " is due" : " was triggered"));
    }
    RunRequest req;
    req.logical_date = d.logical_date;
    req.trigger = d.trigger;
    req.clock = options_.clock;
    req.stop = options_.stop;
    req.runner = options_.runner;
    req.on_line = options_.on_line;
    auto report = RunPipeline(*project_, *spec, req);
    if (!report.ok()) {
      // Another process took the date in between: not an error of the scheduler.
      if (report.status().code() == Status::Code::kAborted) continue;
      return report.status();
    }
    reports.push_back(std::move(*report));
  }
  return reports;
}

Status Scheduler::Serve() {
  if (options_.on_line) {
    for (const auto& p : pipelines_) {
      if (p.schedule.empty()) continue;
      auto sched = Schedule::Parse(p.schedule, p.timezone);
      auto next = sched.ok() ? sched->Next(options_.clock->NowSeconds()) : std::nullopt;
      options_.on_line("scheduler: " + p.name + " \"" + p.schedule + "\" in " + p.timezone +
                       (next ? ", next tick " + sched->FormatLocal(*next) : ", never due"));
    }
  }
  while (options_.stop == nullptr || !options_.stop->cancelled()) {
    STRATA_RETURN_IF_ERROR(RunDue().status());
    // Sleep until the earliest next tick, in slices so that a stop is noticed.
    int64_t now = options_.clock->NowSeconds();
    int64_t wake = now + kTriggerPollSeconds;  // triggered runs are found by polling the history
    for (const auto& p : pipelines_) {
      if (p.schedule.empty()) continue;
      STRATA_ASSIGN_OR_RETURN(Schedule sched, Schedule::Parse(p.schedule, p.timezone));
      if (auto next = sched.Next(now)) wake = std::min(wake, *next);
    }
    while ((options_.stop == nullptr || !options_.stop->cancelled()) && options_.clock->NowSeconds() < wake) {
      options_.clock->SleepUntilMicros(std::min(wake * 1000000, options_.clock->NowMicros() + 200000));
    }
  }
  if (options_.on_line) options_.on_line("scheduler: stopped (" + options_.stop->reason() + ")");
  return Status::OK();
}

}  // namespace strata::orchestrate
