#include "orchestrate/orchestrator.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "core/date.h"
#include "core/file.h"
#include "core/parallel.h"
#include "core/transaction.h"
#include "lake/object_store.h"
#include "orchestrate/platform_tasks.h"
#include "orchestrate/task_kind.h"

namespace strata::orchestrate {

Result<std::vector<PipelineSpec>> ProjectPipelines(const Project& project) {
  STRATA_ASSIGN_OR_RETURN(auto pipelines, ParsePipelines(project));
  if (!pipelines.empty()) return pipelines;
  PipelineSpec p;
  p.name = "default";
  p.where = project.file;
  for (const auto& s : project.sources) {
    TaskSpec t;
    t.id = "ingest_" + s.name;
    t.kind = FindTaskKind("ingest");
    t.source = s.name;
    t.where = project.file;
    p.tasks.push_back(t);
  }
  TaskSpec load;
  load.id = "load";
  load.kind = FindTaskKind("load");
  load.where = project.file;
  p.tasks.push_back(load);
  if (!project.transform_dir.empty()) {
    TaskSpec build;
    build.id = "build";
    build.kind = FindTaskKind("build");
    build.where = project.file;
    p.tasks.push_back(build);
  }
  for (auto& t : p.tasks) AddImpliedAssets(&t);  // load after every ingest, build after load
  STRATA_RETURN_IF_ERROR(ResolveDependencies(&p));
  return std::vector<PipelineSpec>{p};
}

Result<PipelineSpec> FindPipeline(const Project& project, const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(auto pipelines, ProjectPipelines(project));
  std::vector<std::string> names;
  for (const auto& p : pipelines) {
    if (p.name == name || (name.empty() && pipelines.size() == 1)) return p;
    names.push_back(p.name);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  if (name.empty())
    return Status::InvalidArgument("the project has several pipelines; name one with --pipeline: " + list);
  std::string hint = Closest(name, names);
  return Status::InvalidArgument("no pipeline '" + name + "' in " + project.file +
                                 (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "; pipelines: " + list);
}

namespace {

// The alert events a task's state change counts as, most specific first (see alerts.h).
std::vector<AlertEvent> TaskAlertEvents(const TaskSpec& task, const TaskEvent& e) {
  std::vector<AlertEvent> out;
  bool failed = e.state == TaskState::kFailed && e.exit_reason != "cancelled";  // cancelled: the run was stopped
  if (task.Is("publish") && (failed || e.state == TaskState::kUpstreamFailed)) {
    out.push_back(AlertEvent::kPublishBlocked);
  }
  if (failed && e.try_number > 1) out.push_back(AlertEvent::kRetryExhausted);
  if (failed) out.push_back(AlertEvent::kFailure);
  return out;
}

}  // namespace

Result<std::unique_ptr<RunStore>> OpenRunStore(const Project& project) {
  return RunStore::Open(JoinPath(project.state_dir, "runs.db"), project.lock_timeout_seconds);
}

namespace {

// The lock a run holds while it runs: kAborted when another process holds it.
Result<FileLock> LockRun(const Project& project, const std::string& run_id) {
  auto lock = FileLock::Acquire(JoinPath(project.state_dir, "locks/run-" + run_id + ".lock"), /*wait=*/false);
  if (!lock.ok() && lock.status().code() == Status::Code::kAborted) {
    return Status::Aborted("run " + run_id + " is already running in another process");
  }
  return lock;
}

// Names `run` after `when`: run id, pipeline, logical date and data interval.
void SetRunIdentity(RunRecord* run, const PipelineSpec& pipeline, const LogicalRun& when) {
  run->run_id = RunStore::RunId(pipeline.name, when.key);
  run->pipeline = pipeline.name;
  run->logical_date = when.key;
  run->interval_start = when.start;
  run->interval_end = when.end;
}

}  // namespace

bool HasCurrentStateSources(const Project& project, const PipelineSpec& pipeline) {
  for (const auto& t : pipeline.tasks) {
    if (!t.Is("ingest")) continue;
    const SourceConfig* src = project.FindSource(t.source);
    if (src != nullptr && src->type == "sql") return true;
  }
  return false;
}

namespace {

// Records the runs named by `keys` as covered by the catch-up run `by` (see orchestrator.h).
// A run that is running in another process is left alone.
Status MarkCovered(const Project& project, const PipelineSpec& pipeline, const std::vector<std::string>& keys,
                   const RunRecord& by, RunStore* store, Clock* clock);

}  // namespace

Result<int> MarkDeadRunsInterrupted(const Project& project, RunStore* store) {
  STRATA_ASSIGN_OR_RETURN(auto runs, store->ListRuns("", 0));
  int marked = 0;
  for (const auto& listed : runs) {
    if (listed.state != RunState::kRunning) continue;
    auto lock = LockRun(project, listed.run_id);
    if (!lock.ok()) continue;  // alive (or its lock file cannot be made: leave it)
    // Holding its lock: whoever wrote "running" held it too and is gone. Read it again, as it
    // may have ended between the listing and the lock.
    STRATA_ASSIGN_OR_RETURN(auto run, store->FindRun(listed.run_id));
    if (!run || run->state != RunState::kRunning) continue;
    run->state = RunState::kInterrupted;
    run->message = "the process running it (pid " + std::to_string(run->pid) + ") stopped before it finished";
    STRATA_RETURN_IF_ERROR(store->PutRun(*run));
    STRATA_ASSIGN_OR_RETURN(auto tasks, store->Tasks(run->run_id));
    for (auto& t : tasks) {
      if (t.state != TaskState::kRunning) continue;
      t.state = TaskState::kFailed;  // as Airflow treats a zombie task
      t.exit_reason = "killed";
      t.message = "its process stopped while it ran";
      STRATA_RETURN_IF_ERROR(store->PutTask(t));
    }
    ++marked;
  }
  return marked;
}

Result<RunRecord> TriggerRun(const Project& project, const PipelineSpec& pipeline, const std::string& logical_date,
                             Clock* clock) {
  STRATA_ASSIGN_OR_RETURN(RunCalendar calendar, RunCalendar::For(pipeline));
  STRATA_ASSIGN_OR_RETURN(LogicalRun when, calendar.Resolve(logical_date, clock->NowSeconds()));
  STRATA_ASSIGN_OR_RETURN(auto store, OpenRunStore(project));
  const std::string run_id = RunStore::RunId(pipeline.name, when.key);
  // Holding the run's lock while queueing: it cannot start or finish in between.
  auto lock = LockRun(project, run_id);
  if (!lock.ok() && lock.status().code() == Status::Code::kAborted) {
    return Status::AlreadyExists(lock.status().message());
  }
  STRATA_RETURN_IF_ERROR(lock.status());
  STRATA_ASSIGN_OR_RETURN(auto existing, store->FindRun(run_id));
  if (existing && existing->state == RunState::kQueued)
    return Status::AlreadyExists("run " + run_id + " is already queued");
  RunRecord run = existing ? *existing : RunRecord();
  SetRunIdentity(&run, pipeline, when);
  run.trigger = "manual";
  run.state = RunState::kQueued;
  run.message = "queued at " + FormatTimestamp(clock->NowSeconds()) + " UTC; the scheduler starts it";
  STRATA_RETURN_IF_ERROR(store->PutRun(run));
  return run;
}

namespace {

Status MarkCovered(const Project& project, const PipelineSpec& pipeline, const std::vector<std::string>& keys,
                   const RunRecord& by, RunStore* store, Clock* clock) {
  STRATA_ASSIGN_OR_RETURN(RunCalendar calendar, RunCalendar::For(pipeline));
  for (const auto& key : keys) {
    STRATA_ASSIGN_OR_RETURN(LogicalRun when, calendar.Resolve(key, clock->NowSeconds()));
    const std::string run_id = RunStore::RunId(pipeline.name, when.key);
    auto lock = LockRun(project, run_id);
    if (!lock.ok()) continue;  // running elsewhere: it records its own outcome
    STRATA_ASSIGN_OR_RETURN(auto existing, store->FindRun(run_id));
    if (existing && existing->state == RunState::kSuccess) continue;
    RunRecord run = existing ? *existing : RunRecord();
    SetRunIdentity(&run, pipeline, when);
    run.trigger = by.trigger;
    run.state = RunState::kCovered;
    run.started_micros = by.started_micros;
    run.ended_micros = by.ended_micros;
    run.pid = 0;
    run.message = "covered by catch-up run " + by.run_id +
                  " (its sources keep only current state: it extracted every change up to its start)";
    STRATA_RETURN_IF_ERROR(store->PutRun(run));
  }
  return Status::OK();
}

}  // namespace

namespace {

// A run's progress for people: lines on request.on_line, failures on request.on_error.
class RunPrinter {
 public:
  explicit RunPrinter(const RunRequest& request) : request_(request) {}
  void Say(const std::string& line) const {
    if (request_.on_line) request_.on_line(line);
  }
  void Complain(const std::string& line) const {
    if (request_.on_error) {
      request_.on_error(line);
    } else {
      Say(line);
    }
  }
  // One line per task event: started, succeeded, retrying, FAILED, upstream_failed, skipped.
  void OnEvent(const std::string& id, const TaskEvent& e, int64_t attempt_started_micros) const {
    char buf[32];
    switch (e.state) {
      case TaskState::kRunning:
        Say("  " + id + " started (try " + std::to_string(e.try_number) + ")");
        break;
      case TaskState::kSuccess:
        std::snprintf(buf, sizeof(buf), "%.2fs", (e.at_micros - attempt_started_micros) / 1e6);
        Say("  " + id + " succeeded in " + buf + (e.message.empty() ? "" : ": " + e.message));
        break;
      case TaskState::kUpForRetry:
        std::snprintf(buf, sizeof(buf), "%.1fs", (e.retry_at_micros - e.at_micros) / 1e6);
        Say("  " + id + " failed (" + e.exit_reason + "), retrying in " + buf + ": " + e.message);
        break;
      case TaskState::kFailed:
        Complain("  " + id + " FAILED (" + e.exit_reason + ") after " + std::to_string(e.try_number) +
                 (e.try_number == 1 ? " try: " : " tries: ") + e.message);
        break;
      case TaskState::kUpstreamFailed:
      case TaskState::kSkipped:
        Say("  " + id + " " + TaskStateName(e.state) + ": " + e.message);
        break;
      default:
        break;
    }
  }

 private:
  const RunRequest& request_;
};

// A run's history in the run store: its task rows and each task's current attempt, written
// in rounds (one transaction per round of events: on a disk that takes 0.3 ms to sync,
// per-event commits cost about 1 ms per task). A failed write does not stop the run: the
// first is kept, and Repair() writes every record again before the run is recorded as ended.
class RunRecorder {
 public:
  RunRecorder(RunStore* store, const PipelineSpec& pipeline, const RunRecord* run, std::vector<TaskRecord> records)
      : store_(store), pipeline_(pipeline), run_(run), records_(std::move(records)), attempts_(records_.size()) {}

  // Every task's row, in one transaction; `initial` says which were kept from an earlier attempt.
  Status Start(const std::vector<TaskState>& initial) {
    STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<RunStore>::Begin(store_));
    for (size_t i = 0; i < pipeline_.tasks.size(); ++i) {
      TaskRecord& t = records_[i];
      if (initial[i] != TaskState::kSuccess) {
        t = TaskRecord();
        t.run_id = run_->run_id;
        t.task_id = pipeline_.tasks[i].id;
        t.type = pipeline_.tasks[i].type();
        t.state = initial[i];
      }
      STRATA_RETURN_IF_ERROR(store_->PutTask(t));
    }
    return tx.Commit();
  }

  // Records a task's state change (and its attempt's).
  void OnEvent(const TaskEvent& e) {
    if (!in_round_) {
      Keep(store_->Begin());
      in_round_ = true;
    }
    TaskRecord& t = records_[e.task];
    t.state = e.state;
    t.tries = e.try_number;
    AttemptRecord& a = attempts_[e.task];
    switch (e.state) {
      case TaskState::kRunning:
        if (t.started_micros == 0 || e.try_number == 1) t.started_micros = e.at_micros;
        t.log_path = e.log_path;
        t.exit_reason.clear();
        t.message.clear();
        a = AttemptRecord();
        a.run_id = run_->run_id;
        a.task_id = pipeline_.tasks[e.task].id;
        a.run_attempt = run_->attempt;
        a.try_number = e.try_number;
        a.state = t.state;
        a.started_micros = e.at_micros;
        a.log_path = e.log_path;
        Keep(store_->PutAttempt(a));
        break;
      case TaskState::kSuccess:
      case TaskState::kFailed:
      case TaskState::kUpForRetry:
        t.ended_micros = e.at_micros;
        t.rows = e.rows;
        t.exit_reason = e.exit_reason;
        t.message = e.message;
        // Complete the attempt row written when it started.
        a.state = t.state;
        a.details = e.details != nullptr && !e.details->is_null() ? e.details->dump() : "";
        a.ended_micros = e.at_micros;
        a.rows = e.rows;
        a.exit_reason = e.exit_reason;
        a.message = e.message;
        Keep(store_->PutAttempt(a));
        break;
      case TaskState::kUpstreamFailed:
      case TaskState::kSkipped:
        t.message = e.message;
        break;
      default:
        break;
    }
    Keep(store_->PutTask(t));
  }

  void EndRound() {
    if (in_round_) Keep(store_->Commit());
    in_round_ = false;
  }

  // After a missed write (a lock held past lock_timeout, a full disk): every task's final
  // record again, so that the history agrees with what happened before the run is recorded
  // as ended. Returns the first missed write's error if that fails too (then the run stays
  // "running" in the history, and is found interrupted later).
  Status Repair(const RunPrinter& printer) {
    if (error_.ok()) return Status::OK();
    printer.Complain("  the run history missed an update (" + error_.message() + "); writing it again");
    Status repaired = [this]() -> Status {
      STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<RunStore>::Begin(store_));
      for (const auto& record : records_) STRATA_RETURN_IF_ERROR(store_->PutTask(record));
      for (const auto& attempt : attempts_) {
        if (!attempt.run_id.empty()) STRATA_RETURN_IF_ERROR(store_->PutAttempt(attempt));
      }
      return tx.Commit();
    }();
    if (!repaired.ok()) return error_;
    error_ = Status::OK();
    return Status::OK();
  }

  const TaskRecord& task(size_t i) const { return records_[i]; }
  const AttemptRecord& attempt(size_t i) const { return attempts_[i]; }

 private:
  void Keep(Status s) {
    if (error_.ok() && !s.ok()) error_ = std::move(s);
  }
  RunStore* store_;
  const PipelineSpec& pipeline_;
  const RunRecord* run_;
  std::vector<TaskRecord> records_;
  std::vector<AttemptRecord> attempts_;  // each task's current attempt
  bool in_round_ = false;
  Status error_;  // the first missed write
};

// A run's alerts: events go out from the dispatcher's thread; their results are recorded in
// the history and reported from the run's thread (on the next task event, and at the end).
class RunAlerts {
 public:
  RunAlerts(const PipelineSpec& pipeline, const RunRecord* run, RunStore* store, const RunPrinter& printer,
            const std::string& log_path)
      : pipeline_(pipeline), run_(run), store_(store), printer_(printer) {
    if (pipeline.alerts.empty()) return;
    for (const auto& a : pipeline.alerts) {
      std::string missing;
      for (const auto& name : a.MissingEnv()) missing += (missing.empty() ? "" : ", ") + name;
      if (!missing.empty()) {
        printer.Complain("  alert " + a.Target() + " (" + a.where + ") needs environment variable(s) " + missing +
                         ", which are not set: it will fail when sent");
      }
    }
    dispatcher_ = std::make_unique<AlertDispatcher>(&pipeline.alerts, log_path);
  }

  void Post(const std::vector<AlertEvent>& events, const std::string& task, const std::string& state, int try_number,
            const std::string& error, const std::string& log_path, int64_t at_micros) {
    if (!dispatcher_ || events.empty()) return;
    AlertMessage m;
    m.pipeline = pipeline_.name;
    m.run_id = run_->run_id;
    m.logical_date = run_->logical_date;
    m.task = task;
    m.state = state;
    m.try_number = try_number;
    m.error = error;
    m.log_path = log_path;
    m.at_micros = at_micros;
    dispatcher_->Post(events, m);
  }

  // Records and reports the deliveries that have finished.
  void Collect() {
    if (!dispatcher_) return;
    for (const AlertResult& r : dispatcher_->TakeFinished()) {
      AlertRecord a;
      a.run_id = run_->run_id;
      a.run_attempt = run_->attempt;
      a.event = AlertEventName(r.message.event);
      a.task_id = r.message.task;
      a.target = r.target;
      a.ok = r.ok;
      a.tries = r.tries;
      a.error = r.error;
      a.at_micros = r.at_micros;
      Status s = store_->AddAlert(a);  // an alert's history is not worth failing the run for
      if (!s.ok()) printer_.Complain("  could not record an alert: " + s.message());
      std::string what = "  alert " + a.event + " (" + (a.task_id.empty() ? "run" : a.task_id) + ") to " + a.target;
      if (r.ok) {
        printer_.Say(what + " sent");
      } else {
        printer_.Complain(what + " FAILED: " + r.error);
      }
    }
  }

  // Sends the run's own alert, then waits for every queued one (each bounded by its timeout).
  void Finish() {
    if (run_->state == RunState::kSuccess || run_->state == RunState::kFailed) {
      Post({run_->state == RunState::kSuccess ? AlertEvent::kSuccess : AlertEvent::kFailure}, "",
           RunStateName(run_->state), 0, run_->message, "", run_->ended_micros);
    }
    if (dispatcher_) dispatcher_->Wait();
    Collect();
  }

 private:
  const PipelineSpec& pipeline_;
  const RunRecord* run_;
  RunStore* store_;
  const RunPrinter& printer_;
  std::unique_ptr<AlertDispatcher> dispatcher_;
};

// What an earlier attempt of the run left: the successful tasks are kept (their records and
// state), unless `rerun_all`. A run found "running" (we hold its lock, so its process died)
// is marked interrupted first.
Status PrepareResume(const PipelineSpec& pipeline, std::optional<RunRecord>* existing, bool rerun_all, RunStore* store,
                     std::vector<TaskState>* initial, std::vector<TaskRecord>* records, RunReport* report) {
  initial->assign(pipeline.tasks.size(), TaskState::kNone);
  records->assign(pipeline.tasks.size(), TaskRecord());
  RunRecord* e = existing->has_value() ? &**existing : nullptr;
  if (e == nullptr || rerun_all ||
      (e->state != RunState::kRunning && e->state != RunState::kInterrupted && e->state != RunState::kFailed)) {
    return Status::OK();
  }
  report->resumed_from = e->state == RunState::kFailed ? "failed" : "interrupted";
  STRATA_ASSIGN_OR_RETURN(auto tasks, store->Tasks(e->run_id));
  for (auto& t : tasks) {
    int i = pipeline.FindTask(t.task_id);
    if (i >= 0 && t.state == TaskState::kSuccess) {
      (*initial)[i] = TaskState::kSuccess;
      (*records)[i] = std::move(t);  // kept as the earlier attempt left it
      report->resumed = true;
    }
  }
  if (e->state == RunState::kRunning) {
    e->state = RunState::kInterrupted;
    e->message = "the process running it (pid " + std::to_string(e->pid) + ") stopped before it finished";
    STRATA_RETURN_IF_ERROR(store->PutRun(*e));
  }
  return Status::OK();
}

// The run's state and message once the executor is done.
void SetOutcome(const PipelineSpec& pipeline, const RunRequest& request, RunReport* report) {
  RunRecord& run = report->run;
  run.state = report->outcome.stopped     ? RunState::kInterrupted
              : report->outcome.success() ? RunState::kSuccess
                                          : RunState::kFailed;
  if (run.state == RunState::kFailed) {
    std::string failed;
    for (size_t i = 0; i < pipeline.tasks.size(); ++i) {
      if (report->outcome.tasks[i].state == TaskState::kFailed) {
        failed += (failed.empty() ? "" : ", ") + pipeline.tasks[i].id;
      }
    }
    run.message = "failed tasks: " + failed;
  } else if (run.state == RunState::kInterrupted) {
    run.message = "stopped: " + (request.stop ? request.stop->reason() : std::string());
  }
}

std::string CoversText(const std::vector<std::string>& covers) {
  return covers.front() + (covers.size() > 1 ? " .. " + covers.back() : std::string());
}

}  // namespace

Result<RunReport> RunPipeline(const Project& project, const PipelineSpec& pipeline, const RunRequest& request) {
  const RunPrinter printer(request);
  STRATA_ASSIGN_OR_RETURN(RunCalendar calendar, RunCalendar::For(pipeline));
  STRATA_ASSIGN_OR_RETURN(LogicalRun when, calendar.Resolve(request.logical_date, request.clock->NowSeconds()));
  STRATA_ASSIGN_OR_RETURN(auto store, OpenRunStore(project));
  const std::string run_id = RunStore::RunId(pipeline.name, when.key);
  STRATA_ASSIGN_OR_RETURN(FileLock lock, LockRun(project, run_id));

  RunReport report;
  STRATA_ASSIGN_OR_RETURN(auto existing, store->FindRun(run_id));
  std::vector<TaskState> initial;
  std::vector<TaskRecord> records;
  STRATA_RETURN_IF_ERROR(
      PrepareResume(pipeline, &existing, request.rerun_all, store.get(), &initial, &records, &report));
  RunRecord& run = report.run;
  SetRunIdentity(&run, pipeline, when);
  run.trigger = request.trigger;
  run.state = RunState::kRunning;
  run.attempt = existing ? existing->attempt + 1 : 1;
  run.started_micros = request.clock->NowMicros();
  run.pid = getpid();
  STRATA_RETURN_IF_ERROR(store->PutRun(run));
  RunRecorder recorder(store.get(), pipeline, &run, std::move(records));
  STRATA_RETURN_IF_ERROR(recorder.Start(initial));
  if (report.resumed) {
    std::string kept;
    for (size_t i = 0; i < initial.size(); ++i) {
      if (initial[i] == TaskState::kSuccess) kept += (kept.empty() ? "" : ", ") + pipeline.tasks[i].id;
    }
    printer.Say("resuming " + report.resumed_from + " run " + run_id + "; already done: " + kept);
  }

  RunContext ctx;
  ctx.run_id = run_id;
  ctx.pipeline = pipeline.name;
  ctx.logical_date = run.logical_date;
  ctx.ds = when.ds;
  ctx.interval_start = run.interval_start;
  ctx.interval_end = run.interval_end;
  if (request.catch_up) {
    ctx.extract_until = request.clock->NowSeconds();
    printer.Say("catch-up run: sql sources are extracted up to " + FormatTimestamp(ctx.extract_until) + " UTC" +
                (request.covers.empty() ? std::string() : ", covering " + CoversText(request.covers)));
  }
  std::unique_ptr<lake::Lake> lake;
  std::unique_ptr<PlatformTasks> platform;
  TaskRunner* runner = request.runner;
  if (runner == nullptr) {
    STRATA_ASSIGN_OR_RETURN(auto objects, lake::OpenObjectStore(project.lake_location));
    lake = std::make_unique<lake::Lake>(std::move(objects));
    platform = std::make_unique<PlatformTasks>(&project, lake.get());
    runner = platform.get();
  }

  const std::string run_logs = JoinPath(project.state_dir, "logs/" + pipeline.name + "/" + run.logical_date);
  RunAlerts alerts(pipeline, &run, store.get(), printer, JoinPath(run_logs, "alerts.log"));
  ExecutorOptions eo;
  eo.clock = request.clock;
  eo.initial = initial;
  eo.stop = request.stop;
  eo.jitter_seed = std::hash<std::string>()(run_id) + run.attempt;
  eo.log_path = [&](const TaskSpec& t, int try_number) {
    if (t.kind != nullptr && !t.kind->logs() && request.runner == nullptr) return std::string();  // nothing to log
    return JoinPath(run_logs,
                    t.id + "/attempt-" + std::to_string(run.attempt) + "-try-" + std::to_string(try_number) + ".log");
  };
  eo.on_round = [&] { recorder.EndRound(); };
  eo.on_event = [&](const TaskEvent& e) {
    recorder.OnEvent(e);
    const TaskRecord& t = recorder.task(e.task);
    printer.OnEvent(pipeline.tasks[e.task].id, e, recorder.attempt(e.task).started_micros);
    alerts.Post(TaskAlertEvents(pipeline.tasks[e.task], e), t.task_id, TaskStateName(t.state), e.try_number, e.message,
                t.log_path, e.at_micros);
    alerts.Collect();
  };
  printer.Say("run " + run_id + " (attempt " + std::to_string(run.attempt) + ")");
  auto outcome = Execute(pipeline, runner, ctx, eo);
  recorder.EndRound();  // an executor error can end a round early
  run.ended_micros = request.clock->NowMicros();
  if (!outcome.ok()) {
    run.state = RunState::kFailed;
    run.message = outcome.status().message();
    (void)store->PutRun(run);  // the executor's error is the one to report
    alerts.Finish();
    return outcome.status();
  }
  report.outcome = std::move(*outcome);
  SetOutcome(pipeline, request, &report);
  if (Status repaired = recorder.Repair(printer); !repaired.ok()) {
    alerts.Finish();
    return repaired;
  }
  if (request.catch_up && run.state == RunState::kSuccess && !request.covers.empty()) {
    run.message = "catch-up run covering " + CoversText(request.covers) + "; sql sources extracted up to " +
                  FormatTimestamp(ctx.extract_until) + " UTC";
  }
  STRATA_RETURN_IF_ERROR(store->PutRun(run));
  if (request.catch_up && run.state == RunState::kSuccess) {
    STRATA_RETURN_IF_ERROR(MarkCovered(project, pipeline, request.covers, run, store.get(), request.clock));
  }
  alerts.Finish();
  printer.Say("run " + run_id + " " + RunStateName(run.state) + (run.message.empty() ? "" : " (" + run.message + ")"));
  return report;
}

Result<std::vector<BackfillDate>> Backfill(const Project& project, const PipelineSpec& pipeline,
                                           const std::string& from, const std::string& to, RunRequest request,
                                           int parallel, bool every_interval) {
  STRATA_ASSIGN_OR_RETURN(RunCalendar calendar, RunCalendar::For(pipeline));
  auto runs = calendar.Between(from, to);
  if (!runs.ok()) return Status::InvalidArgument("backfill: " + runs.status().message());
  STRATA_ASSIGN_OR_RETURN(auto store, OpenRunStore(project));
  std::vector<BackfillDate> out;
  std::vector<size_t> pending;  // indexes into `out`, oldest first
  for (const LogicalRun& when : *runs) {
    BackfillDate item;
    item.logical_date = when.key;
    STRATA_ASSIGN_OR_RETURN(auto existing, store->FindRun(RunStore::RunId(pipeline.name, item.logical_date)));
    if (existing && (existing->state == RunState::kSuccess || existing->state == RunState::kCovered)) {
      item.skipped = true;
      item.report.run = *existing;
    } else {
      pending.push_back(out.size());
    }
    out.push_back(std::move(item));
  }
  request.trigger = "backfill";
  if (!every_interval && pending.size() > 1 && HasCurrentStateSources(project, pipeline)) {
    // One catch-up run for the newest; the older ones are covered by it when it succeeds.
    BackfillDate& newest = out[pending.back()];
    RunRequest r = request;
    r.logical_date = newest.logical_date;
    r.catch_up = true;
    for (size_t k = 0; k + 1 < pending.size(); ++k) r.covers.push_back(out[pending[k]].logical_date);
    auto report = RunPipeline(project, pipeline, r);
    if (!report.ok()) {
      newest.status = report.status();
      return std::vector<BackfillDate>{newest};
    }
    newest.report = std::move(*report);
    if (newest.report.run.state != RunState::kSuccess) return std::vector<BackfillDate>{newest};
    std::vector<BackfillDate> result;
    for (size_t i = 0; i < out.size(); ++i) {
      if (std::find(pending.begin(), pending.end() - 1, i) != pending.end() - 1) {
        out[i].covered_by = newest.report.run.run_id;
        auto covered = store->FindRun(RunStore::RunId(pipeline.name, out[i].logical_date));
        if (covered.ok() && covered->has_value()) out[i].report.run = **covered;
      }
      result.push_back(std::move(out[i]));
    }
    return result;
  }
  int workers =
      std::max(1, std::min<int>(parallel > 0 ? parallel : pipeline.max_active_runs, static_cast<int>(pending.size())));
  // Concurrent runs share one set of platform tasks (one open warehouse) and print in turn.
  std::unique_ptr<lake::Lake> lake;
  std::unique_ptr<PlatformTasks> platform;
  std::mutex print_mu;
  if (workers > 1) {
    if (request.runner == nullptr) {
      STRATA_ASSIGN_OR_RETURN(auto objects, lake::OpenObjectStore(project.lake_location));
      lake = std::make_unique<lake::Lake>(std::move(objects));
      platform = std::make_unique<PlatformTasks>(&project, lake.get());
      request.runner = platform.get();
    }
    for (auto* f : {&request.on_line, &request.on_error}) {
      if (*f) {
        *f = [inner = *f, &print_mu](const std::string& line) {
          std::lock_guard<std::mutex> lock(print_mu);
          inner(line);
        };
      }
    }
  }
  std::vector<char> ran(pending.size(), 0);  // not vector<bool>: threads set distinct items
  (void)ParallelFor(pending.size(), workers, [&](size_t k) {
    if (request.stop != nullptr && request.stop->cancelled()) return Status::OK();
    ran[k] = 1;
    BackfillDate& item = out[pending[k]];
    RunRequest r = request;
    r.logical_date = item.logical_date;
    auto report = RunPipeline(project, pipeline, r);
    if (report.ok()) {
      item.report = std::move(*report);
    } else {
      item.status = report.status();  // reported per date; the other dates still run
    }
    return Status::OK();
  });
  // Dates never started (a stop) are left out, as before.
  std::vector<bool> keep(out.size(), true);
  for (size_t k = 0; k < pending.size(); ++k) keep[pending[k]] = ran[k] != 0;
  std::vector<BackfillDate> result;
  for (size_t i = 0; i < out.size(); ++i) {
    if (keep[i]) result.push_back(std::move(out[i]));
  }
  return result;
}

}  // namespace strata::orchestrate
