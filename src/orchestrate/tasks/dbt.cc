// build and test: dbt's verbs on the project's dbt project, with a selection, the run's
// identity as dbt vars.
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "warehouse/target.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;

class DbtKind : public TaskKind {
 public:
  explicit DbtKind(transform::Verb verb) : verb_(verb) {}
  const char* name() const override { return verb_ == transform::Verb::kBuild ? "build" : "test"; }
  std::vector<std::string> keys() const override {
    if (verb_ == transform::Verb::kBuild) return {"select", "exclude", "full_refresh", "vars"};
    return {"select", "exclude", "vars"};
  }
  Status Parse(const Project& project, const ConfigNode& node, TaskSpec* t) const override {
    STRATA_RETURN_IF_ERROR(ParseDbtSelection(project, node, t));
    if (verb_ == transform::Verb::kBuild) {
      STRATA_ASSIGN_OR_RETURN(t->full_refresh, node.Bool("full_refresh", false));
    }
    return Status::OK();
  }
  void AddImpliedAssets(TaskSpec* t) const override {
    t->reads.push_back(verb_ == transform::Verb::kBuild ? "raw" : "models");
    t->writes.push_back(verb_ == transform::Verb::kBuild ? "models" : "checks");
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;

 private:
  transform::Verb verb_;
};

TaskOutcome DbtKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  auto turn = services.WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  transform::LoadOptions lo;
  lo.project_dir = services.project().transform_dir;
  lo.full_refresh = a.task->full_refresh;
  lo.cli_vars = RunVars(a);
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) return Failed(loaded.status());
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = services.Engine(&held, log);
  if (!engine.ok()) return Failed(engine.status());
  transform::Runner runner(loaded->get(), engine->get());
  transform::RunOptions ro;
  ro.verb = verb_;
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
    rs.push_back(transform::ToJson(r));
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

}  // namespace

Status ParseDbtSelection(const Project& project, const ConfigNode& node, TaskSpec* t) {
  STRATA_ASSIGN_OR_RETURN(t->select, node.String("select", ""));
  STRATA_ASSIGN_OR_RETURN(t->exclude, node.String("exclude", ""));
  if (node.Has("vars")) {
    if (!node["vars"].IsMap()) return node["vars"].Error("vars must be a map of dbt vars");
    t->vars = node["vars"].ToJson();
  }
  if (project.transform_dir.empty()) {
    return node.Error(std::string("a ") + t->type() + " task needs the project's `transform:` folder");
  }
  return Status::OK();
}

const TaskKind* BuildTaskKind() {
  static const DbtKind kind(transform::Verb::kBuild);
  return &kind;
}

const TaskKind* TestTaskKind() {
  static const DbtKind kind(transform::Verb::kTest);
  return &kind;
}

}  // namespace strata::orchestrate
