// strata pipeline run | backfill, strata runs [show], strata logs: pipelines through the
// orchestrator, and their history.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/date.h"
#include "core/file.h"
#include "core/project.h"
#include "orchestrate/orchestrator.h"
#include "orchestrate/scheduler.h"

namespace strata::cli {
namespace {

using nlohmann::json;
using orchestrate::RunReport;

std::string Micros(int64_t us) { return us == 0 ? "" : FormatTimestamp(us / 1000000); }

std::string Seconds(int64_t from, int64_t to) {
  if (from == 0 || to < from) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fs", (to - from) / 1e6);
  return buf;
}

// The report of one run as the JSON document `pipeline run` prints: the run and its tasks,
// plus per-stage details under the keys earlier versions used (sources, load, build).
json ReportJson(const orchestrate::PipelineSpec& p, const RunReport& report) {
  json doc = {{"date", report.run.logical_date}, {"run", orchestrate::ToJson(report.run)}, {"resumed", report.resumed}};
  json tasks = json::array(), sources = json::array();
  for (size_t i = 0; i < p.tasks.size(); ++i) {
    const auto& t = report.outcome.tasks[i];
    tasks.push_back({{"task", p.tasks[i].id},
                     {"type", p.tasks[i].type()},
                     {"state", orchestrate::TaskStateName(t.state)},
                     {"tries", t.tries},
                     {"rows", t.rows},
                     {"exit_reason", t.exit_reason},
                     {"message", t.message}});
    if (t.details.is_null()) continue;
    // The per-stage keys of earlier versions.
    const orchestrate::TaskSpec& spec = p.tasks[i];
    if (spec.Is("ingest")) {
      sources.push_back(t.details);
    } else if (spec.Is("load") || spec.Is("build") || spec.Is("test")) {
      doc[spec.type()] = t.details;
    }
  }
  doc["tasks"] = tasks;
  doc["sources"] = sources;
  doc["ok"] = report.outcome.success();
  return doc;
}

struct RunFlags {
  std::string project = ".";
  std::string pipeline;
  bool json = false;
};

void AddCommon(CLI::App* sub, RunFlags* f) {
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--pipeline", f->pipeline, "Pipeline name (default: the project's only pipeline)");
  sub->add_flag("--json", f->json, "Print one JSON document for machines");
}

Project LoadProject(Output& out, const std::string& path) {
  auto project = Project::Load(path);
  if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
  return std::move(*project);
}

// The run history of the project at `path`.
// Runs whose process died show as interrupted, not running.
std::unique_ptr<orchestrate::RunStore> OpenHistory(Output& out, const std::string& path) {
  Project project = LoadProject(out, path);
  auto store = orchestrate::OpenRunStore(project);
  if (!store.ok()) Fail(out, store.status());
  auto marked = orchestrate::MarkDeadRunsInterrupted(project, store->get());
  if (!marked.ok()) out.Error("could not mark dead runs interrupted: " + marked.status().message());
  return std::move(*store);
}

}  // namespace

// The project, the pipeline named by the flags, and the run `date` names (a date or time, see
// orchestrate/calendar.h; "" = the current run) of a command about one run; usage errors exit.
struct DatedRun {
  Project project;
  orchestrate::PipelineSpec spec;
  std::string date;
};
DatedRun ResolveDated(Output& out, const RunFlags& f, const std::string& date) {
  DatedRun r;
  r.project = LoadProject(out, f.project);
  auto spec = orchestrate::FindPipeline(r.project, f.pipeline);
  if (!spec.ok()) Fail(out, spec.status(), UsageCode(spec.status()));
  r.spec = std::move(*spec);
  auto calendar = orchestrate::RunCalendar::For(r.spec);
  if (!calendar.ok()) Fail(out, calendar.status(), kExitUsage);
  auto when = calendar->Resolve(date, Clock::Real()->NowSeconds());
  if (!when.ok()) Fail(out, Status::InvalidArgument("--date: " + when.status().message()), kExitUsage);
  r.date = when->key;
  return r;
}

constexpr const char* kDateHelp =
    "Logical date YYYY-MM-DD (default: today in the pipeline's time zone); for a pipeline that runs several "
    "times a day, the start of one interval: YYYY-MM-DDTHH:MM (local) or ...Z (UTC)";

void RegisterPipelineCommands(CLI::App* app) {
  CLI::App* pipeline = app->add_subcommand("pipeline", "Run the project's pipelines: ingest, load, build, ...");
  pipeline->require_subcommand(1);

  struct Flags : RunFlags {
    std::string date, from, to;
    bool rerun_all = false;
    int parallel = 0;
    bool every_interval = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* run = pipeline->add_subcommand("run", "Run a pipeline for one logical date (resuming an unfinished run)");
  AddCommon(run, f.get());
  run->add_option("--date", f->date, kDateHelp);
  run->add_flag("--rerun-all", f->rerun_all, "Run every task again, even those an interrupted run finished");
  run->callback([f] {
    Output out(f->json);
    auto [project, spec, date] = ResolveDated(out, *f, f->date);
    out.Line("pipeline " + spec.name + " of " + project.name + " for " + date);
    SignalStop signals;
    orchestrate::RunRequest req;
    req.logical_date = date;
    req.rerun_all = f->rerun_all;
    req.stop = &signals.token;
    req.on_line = [&out](const std::string& line) { out.Line(line); };
    req.on_error = [&out](const std::string& line) { out.Error(line); };
    auto report = orchestrate::RunPipeline(project, spec, req);
    if (!report.ok()) Fail(out, report.status());
    json doc = ReportJson(spec, *report);
    out.Json(doc);
    if (!report->outcome.success()) throw CLI::RuntimeError(kExitFailure);
  });

  auto t = std::make_shared<Flags>();
  CLI::App* trigger = pipeline->add_subcommand(
      "trigger", "Queue a run for one logical date; the scheduler (strata scheduler) starts it");
  AddCommon(trigger, t.get());
  trigger->add_option("--date", t->date, kDateHelp);
  trigger->callback([t] {
    Output out(t->json);
    auto [project, spec, date] = ResolveDated(out, *t, t->date);
    auto run = orchestrate::TriggerRun(project, spec, date);
    if (!run.ok()) Fail(out, run.status(), UsageCode(run.status()));
    out.Line("queued " + run->run_id + ": `strata scheduler` starts it (`strata runs show " + run->run_id +
             "` follows it)");
    out.Json({{"ok", true}, {"run", orchestrate::ToJson(*run)}});
  });

  auto b = std::make_shared<Flags>();
  CLI::App* backfill = pipeline->add_subcommand(
      "backfill", "Run a pipeline for every date in a range that has no successful run yet, oldest first");
  AddCommon(backfill, b.get());
  backfill->add_option("--from", b->from, "First logical date YYYY-MM-DD (or time YYYY-MM-DDTHH:MM[Z])")->required();
  backfill->add_option("--to", b->to, "Last logical date YYYY-MM-DD, inclusive (or time)")->required();
  backfill
      ->add_option("--parallel", b->parallel,
                   "Runs at once (default: the pipeline's max_active_runs, 1 unless set); they share the warehouse")
      ->check(CLI::Range(1, 64));
  backfill->add_flag("--every-interval", b->every_interval,
                     "Run each missing interval, even for a pipeline with sql sources (which otherwise catches up "
                     "in one run: see the README)");
  backfill->callback([b] {
    Output out(b->json);
    Project project = LoadProject(out, b->project);
    auto spec = orchestrate::FindPipeline(project, b->pipeline);
    if (!spec.ok()) Fail(out, spec.status(), UsageCode(spec.status()));
    SignalStop signals;
    orchestrate::RunRequest req;
    req.stop = &signals.token;
    req.on_line = [&out](const std::string& line) { out.Line(line); };
    req.on_error = [&out](const std::string& line) { out.Error(line); };
    auto dates = orchestrate::Backfill(project, *spec, b->from, b->to, req, b->parallel, b->every_interval);
    if (!dates.ok()) Fail(out, dates.status(), UsageCode(dates.status()));
    json runs = json::array();
    bool ok = true;
    int ran = 0, skipped = 0, covered = 0;
    for (const auto& d : *dates) {
      if (!d.covered_by.empty()) {
        ++covered;
        out.Line("  " + d.logical_date + " covered by " + d.covered_by);
        runs.push_back({{"logical_date", d.logical_date}, {"state", "covered"}, {"covered_by", d.covered_by}});
      } else if (d.skipped) {
        ++skipped;
        runs.push_back({{"logical_date", d.logical_date},
                        {"state", orchestrate::RunStateName(d.report.run.state)},
                        {"skipped", true}});
      } else if (!d.status.ok()) {
        ++ran;
        ok = false;
        out.Error(d.logical_date + ": " + d.status.message());
        runs.push_back({{"logical_date", d.logical_date}, {"state", "error"}, {"error", d.status.message()}});
      } else {
        ++ran;
        ok = ok && d.report.outcome.success();
        runs.push_back({{"logical_date", d.logical_date},
                        {"state", orchestrate::RunStateName(d.report.run.state)},
                        {"run_id", d.report.run.run_id}});
      }
    }
    out.Line("backfill " + spec->name + " " + b->from + " .. " + b->to + ": " + std::to_string(ran) + " run(s), " +
             (covered > 0 ? std::to_string(covered) + " covered by the catch-up run, " : std::string()) +
             std::to_string(skipped) + " already done");
    out.Json({{"ok", ok},
              {"pipeline", spec->name},
              {"ran", ran},
              {"skipped", skipped},
              {"covered", covered},
              {"runs", runs}});
    if (!ok) throw CLI::RuntimeError(kExitFailure);
  });
}

void RegisterSchedulerCommand(CLI::App* app) {
  struct Flags : RunFlags {
    bool once = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sched =
      app->add_subcommand("scheduler", "Start pipeline runs when their schedules say they are due (until SIGTERM)");
  sched->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sched->add_flag("--once", f->once, "Run what is due now, then exit");
  sched->callback([f] {
    Output out(false);
    Project project = LoadProject(out, f->project);
    auto pipelines = orchestrate::ProjectPipelines(project);  // the implied one can be triggered
    if (!pipelines.ok()) Fail(out, pipelines.status(), UsageCode(pipelines.status()));
    SignalStop signals;
    orchestrate::SchedulerOptions o;
    o.stop = &signals.token;
    o.on_line = [&out](const std::string& line) { out.Line(line); };
    orchestrate::Scheduler scheduler(&project, std::move(*pipelines), o);
    Status s = f->once ? scheduler.RunDue().status() : scheduler.Serve();
    if (!s.ok()) Fail(out, s);
  });
}

void RegisterRunCommands(CLI::App* app) {
  struct Flags : RunFlags {
    int limit = 20;
    std::string run_id, task;
    int try_number = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* runs = app->add_subcommand("runs", "Pipeline run history (newest first)");
  AddCommon(runs, f.get());
  runs->add_option("--limit", f->limit, "How many runs")->capture_default_str();
  runs->callback([f, runs] {
    if (runs->get_subcommands().size() > 0) return;
    Output out(f->json);
    auto store = OpenHistory(out, f->project);
    auto list = store->ListRuns(f->pipeline, f->limit);
    if (!list.ok()) Fail(out, list.status());
    json items = json::array();
    for (const auto& r : *list) {
      out.Line(r.run_id + "  " + orchestrate::RunStateName(r.state) + "  attempt " + std::to_string(r.attempt) + "  " +
               r.trigger + "  " + Micros(r.started_micros) + "  " + Seconds(r.started_micros, r.ended_micros) +
               (r.message.empty() ? "" : "  " + r.message));
      items.push_back(orchestrate::ToJson(r));
    }
    if (list->empty()) out.Line("no runs yet");
    out.Json({{"ok", true}, {"runs", items}});
  });

  auto s = std::make_shared<Flags>();
  CLI::App* show = runs->add_subcommand("show", "One run: its tasks, attempts and logs");
  AddCommon(show, s.get());
  show->add_option("run_id", s->run_id, "Run id (<pipeline>__<date>)")->required();
  show->callback([s] {
    Output out(s->json);
    auto store = OpenHistory(out, s->project);
    auto run = store->FindRun(s->run_id);
    if (!run.ok()) Fail(out, run.status());
    if (!*run) Fail(out, Status::NotFound("no run '" + s->run_id + "' (see `strata runs`)"), kExitUsage);
    auto tasks = store->Tasks(s->run_id);
    auto attempts = store->Attempts(s->run_id);
    if (!tasks.ok()) Fail(out, tasks.status());
    if (!attempts.ok()) Fail(out, attempts.status());
    const auto& r = **run;
    out.Line(r.run_id + ": " + orchestrate::RunStateName(r.state) + " (attempt " + std::to_string(r.attempt) + ", " +
             r.trigger + ", " + Micros(r.started_micros) + ", " + Seconds(r.started_micros, r.ended_micros) + ")" +
             (r.message.empty() ? "" : " " + r.message));
    json items = json::array();
    for (const auto& t : *tasks) {
      out.Line("  " + t.task_id + "  " + orchestrate::TaskStateName(t.state) + "  tries " + std::to_string(t.tries) +
               (t.rows >= 0 ? "  rows " + std::to_string(t.rows) : "") + "  " +
               Seconds(t.started_micros, t.ended_micros) + (t.message.empty() ? "" : "  " + t.message));
      json tj = orchestrate::ToJson(t);
      tj["attempts"] = json::array();
      for (const auto& a : *attempts) {
        if (a.task_id != t.task_id) continue;
        tj["attempts"].push_back(orchestrate::ToJson(a));
      }
      items.push_back(tj);
    }
    auto alerts = store->Alerts(s->run_id);
    if (!alerts.ok()) Fail(out, alerts.status());
    json sent = json::array();
    for (const auto& a : *alerts) {
      std::string about = a.task_id.empty() ? "run" : a.task_id;
      out.Line("  alert " + a.event + " (" + about + ") to " + a.target + ": " +
               (a.ok ? "sent" : "FAILED: " + a.error) + "  " + Micros(a.at_micros));
      sent.push_back(orchestrate::ToJson(a));
    }
    out.Json({{"ok", true}, {"run", orchestrate::ToJson(r)}, {"tasks", items}, {"alerts", sent}});
  });

  auto l = std::make_shared<Flags>();
  CLI::App* logs = app->add_subcommand("logs", "The log of a task of a run (its latest attempt by default)");
  AddCommon(logs, l.get());
  logs->add_option("run_id", l->run_id, "Run id (<pipeline>__<date>)")->required();
  logs->add_option("task", l->task, "Task id")->required();
  logs->add_option("--try", l->try_number, "Attempt number (default: the latest)")->check(CLI::PositiveNumber);
  logs->callback([l] {
    Output out(l->json);
    auto store = OpenHistory(out, l->project);
    auto attempts = store->Attempts(l->run_id, l->task);
    if (!attempts.ok()) Fail(out, attempts.status());
    if (attempts->empty()) {
      Fail(out, Status::NotFound("no attempts of task '" + l->task + "' in run '" + l->run_id + "'"), kExitUsage);
    }
    const orchestrate::AttemptRecord* pick = &attempts->back();
    if (l->try_number > 0) {
      pick = nullptr;
      for (const auto& a : *attempts) {
        if (a.try_number == l->try_number) pick = &a;  // the latest run attempt with that try
      }
      if (pick == nullptr) Fail(out, Status::NotFound("no try " + std::to_string(l->try_number)), kExitUsage);
    }
    auto text = ReadFile(pick->log_path);
    if (!text.ok()) Fail(out, Status::NotFound("log " + pick->log_path + ": " + text.status().message()));
    if (out.json()) {
      out.Json({{"ok", true}, {"log", pick->log_path}, {"text", *text}});
    } else {
      std::fwrite(text->data(), 1, text->size(), stdout);
    }
  });
}

}  // namespace strata::cli
