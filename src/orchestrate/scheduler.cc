#include "orchestrate/scheduler.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "orchestrate/calendar.h"
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
    STRATA_ASSIGN_OR_RETURN(RunCalendar calendar, RunCalendar::For(p));
    const Schedule& sched = calendar.schedule();
    if (!sched.recurring()) continue;
    // With catchup and a start date: every interval since the start date's local midnight
    // (kept when its local date is on or after it). Otherwise only the latest complete
    // interval, found directly (a weekly or monthly schedule has none in the last days, and a
    // per-minute one started years ago has millions).
    std::vector<Interval> intervals;
    if (p.catchup && !p.start_date.empty()) {
      STRATA_ASSIGN_OR_RETURN(Date start, Date::Parse(p.start_date));
      intervals = sched.Intervals(calendar.DayStart(start), now);
    } else {
      const auto end = sched.IsTick(now) ? std::optional<int64_t>(now) : sched.Previous(now);
      const auto start = end ? sched.Previous(*end) : std::nullopt;
      if (start) intervals.push_back({*start, *end});
    }
    std::vector<DueRun> due;
    std::set<std::string> keys;
    const bool collapse = HasCurrentStateSources(*project_, p);
    for (const auto& iv : intervals) {
      LogicalRun run = calendar.ForInterval(iv);
      if (!p.start_date.empty() && run.ds < p.start_date) continue;
      if (!keys.insert(run.key).second) continue;
      due.push_back({p.name, run.key, iv.end, "scheduled", {}});
    }
    if (due.empty()) continue;
    // The pipeline's history in one query, not one per interval (an hourly pipeline caught
    // up over a year has thousands).
    STRATA_ASSIGN_OR_RETURN(auto history, store->ListRuns(p.name, 0));
    std::map<std::string, const RunRecord*> by_id;
    for (const auto& r : history) by_id.emplace(r.run_id, &r);
    for (const auto& d : due) {
      auto it = by_id.find(RunStore::RunId(p.name, d.logical_date));
      const RunRecord* existing = it == by_id.end() ? nullptr : it->second;
      if (existing && existing->state != RunState::kInterrupted && existing->state != RunState::kRunning) continue;
      if (existing && existing->state == RunState::kRunning) {
        // Running elsewhere (its lock is held) is not due; a dead process's run is.
        auto lock = FileLock::Acquire(JoinPath(project_->state_dir, "locks/run-" + existing->run_id + ".lock"), false);
        if (!lock.ok()) continue;
      }
      if (collapse && !out.empty() && out.back().pipeline == p.name && out.back().trigger == "scheduled") {
        // One catch-up run for the newest interval covers the older ones.
        DueRun newer = d;
        newer.covers = std::move(out.back().covers);
        newer.covers.push_back(out.back().logical_date);
        out.back() = std::move(newer);
        continue;
      }
      out.push_back(d);
    }
  }
  // Triggered runs, oldest logical date first.
  STRATA_ASSIGN_OR_RETURN(auto runs, store->ListRuns("", 0));
  std::vector<DueRun> queued;
  for (const auto& r : runs) {
    if (r.state != RunState::kQueued) continue;
    bool known = false;
    for (const auto& p : pipelines_) known = known || p.name == r.pipeline;
    if (known) queued.push_back({r.pipeline, r.logical_date, 0, r.trigger, {}});
  }
  std::sort(queued.begin(), queued.end(),
            [](const DueRun& a, const DueRun& b) { return a.logical_date < b.logical_date; });
  out.insert(out.end(), queued.begin(), queued.end());
  return out;
}

namespace {

// Failures that pass: a lock held by another process, a full disk, a server away.
bool Transient(const Status& s) { return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kIOError; }

}  // namespace

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
                       (d.trigger == "scheduled" ? " is due" : " was triggered") +
                       (d.covers.empty() ? ""
                                         : " (a catch-up run covering " + std::to_string(d.covers.size()) +
                                               " earlier interval(s))"));
    }
    RunRequest req;
    req.logical_date = d.logical_date;
    req.trigger = d.trigger;
    req.catch_up = !d.covers.empty();
    req.covers = d.covers;
    req.clock = options_.clock;
    req.stop = options_.stop;
    req.runner = options_.runner;
    req.on_line = options_.on_line;
    auto report = RunPipeline(*project_, *spec, req);
    if (!report.ok()) {
      // Another process took the date in between: not an error of the scheduler.
      if (report.status().code() == Status::Code::kAborted) continue;
      // A run that could not start or finish its history (a locked or full run history, a
      // warehouse held too long) is due again on the next look; the scheduler goes on.
      if (Transient(report.status())) {
        if (options_.on_line) {
          options_.on_line("scheduler: " + d.pipeline + " for " + d.logical_date +
                           " could not run: " + report.status().message() + "; it is tried again on the next look");
        }
        continue;
      }
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
    if (Status s = RunDue().status(); !s.ok()) {
      if (!Transient(s)) return s;
      // The history was locked or the disk full: a later look may succeed.
      if (options_.on_line) options_.on_line("scheduler: " + s.message() + "; looking again shortly");
    }
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
