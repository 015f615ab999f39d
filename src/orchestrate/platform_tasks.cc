#include "orchestrate/platform_tasks.h"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/date.h"
#include "core/file.h"
#include "core/redact.h"
#include "core/subprocess.h"
#include "ingest/connector.h"
#include "transform/loader.h"
#include "transform/publish.h"
#include "transform/runner.h"
#include "transform/target.h"

namespace strata::orchestrate {

using nlohmann::json;

namespace {

TaskOutcome Failed(const Status& s, json details = json()) {
  TaskOutcome o;
  o.status = s;
  o.details = std::move(details);
  return o;
}

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size())
    s->replace(pos, from.size(), to);
}

// The run's identity, by Airflow's names: dbt vars ({{ var('ds') }}, ...), {{ ds }} in sql
// and shell commands, and STRATA_DS, ... in a shell task's environment.
std::vector<std::pair<std::string, std::string>> RunIdentity(const RunContext& run) {
  return {{"ds", run.ds},
          {"logical_date", run.logical_date},
          {"data_interval_start", FormatTimestamp(run.interval_start)},
          {"data_interval_end", FormatTimestamp(run.interval_end)},
          {"run_id", run.run_id}};
}

// The run as dbt vars, so that models can process the run's interval; a task's `vars:` win.
json RunVars(const Attempt& a) {
  json vars = json::object();
  for (const auto& [name, value] : RunIdentity(*a.run)) vars[name] = value;
  for (const auto& [k, v] : a.task->vars.items()) vars[k] = v;
  return vars;
}

}  // namespace

std::string ExpandRunMacros(const std::string& text, const RunContext& run) {
  std::string out = text;
  for (const auto& [name, value] : RunIdentity(run)) {
    ReplaceAll(&out, "{{ " + name + " }}", value);
    ReplaceAll(&out, "{{" + name + "}}", value);
  }
  return out;
}

Result<std::shared_ptr<warehouse::OpenTarget>> PlatformTasks::Target(std::ostream& log) {
  // Decided afresh for each task: the profile may name another target since the last one.
  STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(*project_));
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<warehouse::OpenTarget> open = target_.lock();
  // After a failed write (a full disk) DuckDB must be reopened before anything else runs on it.
  if (open && (open->broken() || open->target().Describe() != target.Describe())) open.reset();
  if (!open) {
    warehouse::OpenTarget::Options options;
    options.on_wait = [&log](const std::string& message) { log << "  " << message << "\n"; };
    STRATA_ASSIGN_OR_RETURN(std::unique_ptr<warehouse::OpenTarget> opened,
                            warehouse::OpenTarget::Open(target, options));
    open = std::move(opened);
    target_ = open;
  }
  return open;
}

Result<std::unique_lock<std::timed_mutex>> PlatformTasks::WarehouseTurn(const Attempt& a, std::ostream& log) {
  std::unique_lock<std::timed_mutex> turn(turn_mu_, std::defer_lock);
  bool said = false;
  while (!turn.try_lock_for(std::chrono::milliseconds(100))) {
    if (a.cancel != nullptr && a.cancel->cancelled()) {
      return Status::Aborted("cancelled while waiting for the warehouse (" + a.cancel->reason() + ")");
    }
    if (!said) {
      log << "  waiting for the warehouse: another task of this process is using it\n";
      said = true;
    }
  }
  return turn;
}

namespace {

// A task's log file: each line is redacted (core/redact.h) and written through at once, so
// that a task killed mid-way leaves every line it logged before.
class TaskLog : public std::streambuf {
 public:
  explicit TaskLog(const std::string& path) {
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    file_.open(path, std::ios::app | std::ios::binary);
  }
  ~TaskLog() override { sync(); }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_.push_back(static_cast<char>(c));
    if (c == '\n') sync();
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) overflow(traits_type::to_int_type(s[i]));
    return n;
  }
  int sync() override {
    if (line_.empty() || !file_.is_open()) return 0;
    file_ << Redact(line_);
    file_.flush();
    line_.clear();
    return 0;
  }

 private:
  std::ofstream file_;
  std::string line_;
};

}  // namespace

TaskOutcome PlatformTasks::Run(const Attempt& a) {
  // A noop does nothing and has nothing to log: no log file (creating one costs more than
  // scheduling the task, on ext4 about half a millisecond).
  if (a.task->type == TaskType::kNoop) return TaskOutcome{};
  TaskLog sink(a.log_path);
  std::ostream log(&sink);
  log << "task " << a.task->id << " (" << TaskTypeName(a.task->type) << ") of run " << a.run->run_id << ", try "
      << a.try_number << ", logical date " << a.run->logical_date << "\n";
  if (a.cancel != nullptr && a.cancel->cancelled()) return Failed(Status::Aborted("cancelled before it started"));
  TaskOutcome o;
  switch (a.task->type) {
    case TaskType::kIngest:
      o = Ingest(a, log);
      break;
    case TaskType::kLoad:
      o = Load(a, log);
      break;
    case TaskType::kBuild:
    case TaskType::kTest:
      o = Dbt(a, log);
      break;
    case TaskType::kSql:
      o = Sql(a, log);
      break;
    case TaskType::kShell:
      o = Shell(a, log);
      break;
    case TaskType::kNoop:
      break;  // handled above
    case TaskType::kPublish:
      o = Publish(a, log);
      break;
  }
  log << (o.status.ok() ? "ok" : "FAILED: " + o.status.message()) << (o.summary.empty() ? "" : ": " + o.summary)
      << "\n";
  return o;
}

TaskOutcome PlatformTasks::Ingest(const Attempt& a, std::ostream& log) {
  const SourceConfig* src = project_->FindSource(a.task->source);
  if (src == nullptr) return Failed(Status::InvalidArgument("no source '" + a.task->source + "'"));
  ingest::IngestOptions opts;
  opts.date = a.run->ds;
  opts.until = a.run->extract_until > 0 ? a.run->extract_until : a.run->interval_end;
  opts.tables = a.task->tables;
  opts.full_refresh = a.task->full_refresh;
  opts.cancel = a.cancel;
  std::vector<ingest::TableResult> results;
  auto t0 = std::chrono::steady_clock::now();
  Status st = ingest::IngestSource(*project_, lake_, *src, opts, &results);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json tables = json::array();
  int64_t landed = 0, quarantined = 0;
  for (const auto& r : results) {
    landed += r.landed;
    quarantined += r.quarantined;
    log << "  " << r.source << "." << r.table << ": received " << r.received << ", landed " << r.landed
        << ", quarantined " << r.quarantined << (r.batch_id.empty() ? " (nothing new)" : " in batch " + r.batch_id)
        << "\n";
    for (const auto& w : r.warnings) log << "    warning: " << w << "\n";
    tables.push_back(ingest::ToJson(r));
  }
  json details = {{"source", src->name},
                  {"type", src->type},
                  {"ok", st.ok()},
                  {"seconds", secs},
                  {"error", st.ok() ? json() : json(st.message())},
                  {"tables", tables}};
  if (!st.ok()) return Failed(st, details);
  TaskOutcome o;
  o.rows = landed;
  o.summary = std::to_string(landed) + " records landed, " + std::to_string(quarantined) + " quarantined";
  o.details = details;
  return o;
}

TaskOutcome PlatformTasks::Load(const Attempt& a, std::ostream& log) {
  auto turn = WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  std::vector<warehouse::LoadResult> results;
  auto target = Target(log);
  if (!target.ok()) return Failed(target.status());
  Status st = (*target)->LoadRaw(lake_, &results, nullptr, a.cancel);
  json tables = json::array();
  int64_t rows = 0;
  for (const auto& r : results) {
    rows += r.rows;
    for (const auto& w : r.warnings) log << "  warning: " << r.relation << ": " << w << "\n";
    if (r.files > 0) log << "  " << r.relation << ": +" << r.rows << " rows from " << r.files << " file(s)\n";
    tables.push_back(warehouse::ToJson(r));
  }
  json details = {{"warehouse", (*target)->target().Describe()},
                  {"ok", st.ok()},
                  {"tables", tables},
                  {"error", st.ok() ? json() : json(st.message())}};
  if (!st.ok()) return Failed(st, details);
  TaskOutcome o;
  o.rows = rows;
  o.summary = rows == 0 ? "nothing new to load" : std::to_string(rows) + " rows loaded";
  o.details = details;
  return o;
}

Result<std::unique_ptr<warehouse::Engine>> PlatformTasks::Engine(std::shared_ptr<warehouse::OpenTarget>* hold,
                                                                 std::ostream& log) {
  STRATA_ASSIGN_OR_RETURN(*hold, Target(log));
  return (*hold)->NewEngine();
}

TaskOutcome PlatformTasks::Dbt(const Attempt& a, std::ostream& log) {
  auto turn = WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  transform::LoadOptions lo;
  lo.project_dir = project_->transform_dir;
  lo.full_refresh = a.task->full_refresh;
  lo.cli_vars = RunVars(a);
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) return Failed(loaded.status());
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = Engine(&held, log);
  if (!engine.ok()) return Failed(engine.status());
  transform::Runner runner(loaded->get(), engine->get());
  transform::RunOptions ro;
  ro.verb = a.task->type == TaskType::kBuild ? transform::Verb::kBuild : transform::Verb::kTest;
  if (!a.task->select.empty()) ro.selection.select = {a.task->select};
  if (!a.task->exclude.empty()) ro.selection.exclude = {a.task->exclude};
  ro.full_refresh = a.task->full_refresh;
  ro.cancel = a.cancel;
  ro.on_result = [&log](const transform::NodeResult& r) {
    log << "  " << r.status << " " << r.resource_type << " " << r.name;
    if (r.rows_affected >= 0) log << " (" << r.rows_affected << " rows)";
    if (r.failures > 0) log << " (" << r.failures << " failing)";
    log << "\n";
    if (!r.message.empty() && r.status != "success" && r.status != "pass") log << "    " << r.message << "\n";
  };
  auto results = runner.Execute(ro);
  if (!results.ok()) return Failed(results.status());
  Status written = runner.WriteArtifacts(&*results, ro);
  if (!written.ok()) log << "  writing artifacts: " << written.message() << "\n";
  json rs = json::array();
  std::string failing;
  int64_t rows = 0;
  for (const auto& r : results->results) {
    rs.push_back({{"unique_id", r.unique_id},
                  {"status", r.status},
                  {"message", r.message},
                  {"seconds", r.seconds},
                  {"rows_affected", r.rows_affected},
                  {"failures", r.failures}});
    if (r.status == "error" || r.status == "fail") failing += (failing.empty() ? "" : ", ") + r.name;
    if (r.rows_affected > 0) rows += r.rows_affected;
  }
  json details = {{"ok", results->success()}, {"elapsed", results->elapsed}, {"results", rs}};
  std::string counts = std::to_string(results->Count("success") + results->Count("pass")) + " ok, " +
                       std::to_string(results->Count("warn")) + " warn, " + std::to_string(results->Count("error")) +
                       " error, " + std::to_string(results->Count("fail")) + " fail, " +
                       std::to_string(results->Count("skipped")) + " skipped";
  if (a.cancel != nullptr && a.cancel->cancelled()) return Failed(Status::Aborted("cancelled"), details);
  if (!results->success()) return Failed(Status::Failed(counts + "; failing: " + failing), details);
  TaskOutcome o;
  o.rows = rows;
  o.summary = counts;
  o.details = details;
  return o;
}

TaskOutcome PlatformTasks::Publish(const Attempt& a, std::ostream& log) {
  auto turn = WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  transform::LoadOptions lo;
  lo.project_dir = project_->transform_dir;
  lo.cli_vars = RunVars(a);
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) return Failed(loaded.status());
  transform::PublishOptions po;
  po.selection.select = {a.task->select};
  if (!a.task->exclude.empty()) po.selection.exclude = {a.task->exclude};
  po.schema = a.task->publish_schema;
  po.audit = a.task->audit;
  po.run_id = a.run->run_id;
  po.logical_date = a.run->logical_date;
  po.cancel = a.cancel;
  po.on_result = [&log](const transform::NodeResult& r) {
    log << "  audit " << r.status << " " << r.name;
    if (r.failures > 0) log << " (" << r.failures << " failing)";
    log << "\n";
    if (!r.message.empty() && r.status != "pass") log << "    " << r.message << "\n";
  };
  auto publish_target = transform::PublishTarget(*project_);
  if (!publish_target.ok()) return Failed(publish_target.status());
  if (publish_target->has_value()) po.postgres = &**publish_target;
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = Engine(&held, log);
  if (!engine.ok()) return Failed(engine.status());
  auto report = transform::Publish(**loaded, engine->get(), po);
  if (!report.ok()) return Failed(report.status());
  auto checks = [](const std::vector<transform::NodeResult>& results) {
    json out = json::array();
    for (const auto& r : results) {
      out.push_back({{"unique_id", r.unique_id},
                     {"name", r.name},
                     {"status", r.status},
                     {"failures", r.failures},
                     {"message", r.message}});
    }
    return out;
  };
  json relations = json::array();
  int64_t rows = 0;
  for (const auto& r : report->relations) {
    relations.push_back({{"unique_id", r.unique_id}, {"from", r.from}, {"to", r.to}, {"rows", r.rows}});
    rows += r.rows;
    log << "  published " << r.to << " from " << r.from << " (" << r.rows << " rows)\n";
  }
  const std::string where = po.postgres ? "postgres " + po.postgres->Describe() + " " + po.schema : po.schema;
  json details = {{"published", report->published},
                  {"schema", where},
                  {"audited", report->audited},
                  {"superseded_by", report->superseded_by.empty() ? json() : json(report->superseded_by)},
                  {"relations", relations},
                  {"blocked_by", checks(report->blocking)},
                  {"warnings", checks(report->warnings)}};
  if (!report->superseded_by.empty()) {
    log << "  " << report->Summary() << "\n";
    TaskOutcome o;
    o.summary = report->Summary();
    o.details = details;
    return o;
  }
  if (!report->published) {
    // The previous version stays published; retrying cannot change failing data.
    TaskOutcome o = Failed(
        Status::Aborted("publish " + report->Summary() + "; " + po.schema + " keeps its previous version"), details);
    o.final = true;
    return o;
  }
  TaskOutcome o;
  o.rows = rows;
  o.summary = report->Summary();
  o.details = details;
  return o;
}

TaskOutcome PlatformTasks::Sql(const Attempt& a, std::ostream& log) {
  auto turn = WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = Engine(&held, log);
  if (!engine.ok()) return Failed(engine.status());
  auto session = (*engine)->Connect();
  if (!session.ok()) return Failed(session.status());
  CancelScope interrupt(a.cancel, [c = session->get()] { c->Interrupt(); });
  if (Status cancelled = interrupt.Check(); !cancelled.ok()) return Failed(cancelled);
  std::string sql = ExpandRunMacros(a.task->sql, *a.run);
  log << sql << "\n";
  auto r = (*session)->Query(sql);
  if (!r.ok()) return Failed(r.status());
  TaskOutcome o;
  o.rows = r->rows_changed;
  o.summary = r->rows_changed > 0 ? std::to_string(r->rows_changed) + " rows changed" : "done";
  return o;
}

TaskOutcome PlatformTasks::Shell(const Attempt& a, std::ostream& log) {
  std::string command = ExpandRunMacros(a.task->command, *a.run);
  log << "$ " << command << "\n";
  log.flush();
  // The child's environment: ours, the run's identity, then the task's own variables.
  SubprocessOptions so;
  so.argv = ShellCommand(command);
  for (const auto& [name, value] : RunIdentity(*a.run)) {
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    so.env.emplace_back("STRATA_" + upper, value);  // STRATA_DS, STRATA_RUN_ID, ...
  }
  so.env.emplace_back("STRATA_TASK", a.task->id);
  so.env.emplace_back("STRATA_TRY", std::to_string(a.try_number));
  for (const auto& [k, v] : a.task->env) so.env.emplace_back(k, v);
  so.output_path = a.log_path;
  so.cancel = a.cancel;
  so.grace = std::chrono::seconds(2);
  auto r = RunSubprocess(so);
  if (!r.ok()) return Failed(r.status());
  if (r->cancelled) return Failed(Status::Aborted("command stopped (" + a.cancel->reason() + ")"));
  if (r->ok()) {
    TaskOutcome o;
    o.summary = "exit code 0";
    return o;
  }
  return Failed(Status::Failed("command failed with " + r->Describe() +
                               (a.log_path.empty() ? "" : " (log: " + a.log_path + ")")));
}

}  // namespace strata::orchestrate
