// publish: write-audit-publish. The selected relations' tests run first, then the quality
// checkpoints the task names (`checkpoints: [marts]`, quality/gate.h); only when no
// error-severity test or expectation fails are they copied into `schema` (or the PostgreSQL
// publish target) in one transaction (transform/publish.h).
#include "transform/publish.h"

#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"
#include "quality/gate.h"
#include "transform/loader.h"
#include "transform/target.h"
#include "warehouse/target.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;

class PublishKind : public TaskKind {
 public:
  const char* name() const override { return "publish"; }
  std::vector<std::string> keys() const override {
    return {"select", "exclude", "schema", "audit", "vars", "checkpoints"};
  }
  Status Parse(const Project& project, const ConfigNode& node, TaskSpec* t) const override {
    STRATA_RETURN_IF_ERROR(ParseDbtSelection(project, node, t));
    // Publishing everything by default would put staging models in front of users.
    if (t->select.empty()) return node.Error("a publish task needs `select`: the relations to publish (e.g. marts)");
    STRATA_ASSIGN_OR_RETURN(t->publish_schema, node.String("schema", t->publish_schema));
    if (t->publish_schema.empty()) return node["schema"].Error("the schema to publish to cannot be empty");
    STRATA_ASSIGN_OR_RETURN(t->audit, node.Bool("audit", true));
    if (node.Has("checkpoints")) {
      STRATA_ASSIGN_OR_RETURN(auto names, node["checkpoints"].StringList());
      const quality::QualityPaths paths = quality::PathsOf(project);
      for (const auto& n : names) {
        auto file = quality::CheckpointFile(paths, n);
        if (!file.ok()) return node["checkpoints"].Error(file.status().message());
      }
    }
    return Status::OK();
  }
  void AddImpliedAssets(TaskSpec* t) const override {
    t->reads.push_back("models");
    t->reads.push_back("checks");
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;
};

TaskOutcome PublishKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  auto turn = services.WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  transform::LoadOptions lo;
  lo.project_dir = services.project().transform_dir;
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
  po.serving_dir = services.project().serving_dir();
  json audit = json::array();  // every check the gates ran, for the run history
  po.on_result = [&log, &audit](const transform::NodeResult& r) {
    audit.push_back(transform::ToJson(r));
    log << "  audit " << r.status << " " << r.name;
    if (r.failures > 0) log << " (" << r.failures << " failing)";
    log << "\n";
    if (!r.message.empty() && r.status != "pass") log << "    " << r.message << "\n";
  };
  // The gates: the dbt tests, then the quality checkpoints named.
  std::vector<quality::Checkpoint> checkpoints;
  if (a.task->node.Has("checkpoints")) {
    auto names = a.task->node["checkpoints"].StringList();
    if (!names.ok()) return Failed(names.status());
    auto loaded_checkpoints = quality::LoadCheckpoints(quality::PathsOf(services.project()), *names);
    if (!loaded_checkpoints.ok()) return Failed(loaded_checkpoints.status());
    checkpoints = std::move(*loaded_checkpoints);
  }
  json quality_results = json::array();
  std::unique_ptr<transform::PublishGate> dbt_gate, quality_gate;
  if (!checkpoints.empty()) {
    quality::CheckpointOptions qo;
    qo.run_names = RunIdentity(*a.run);
    qo.run_name = a.run->run_id;
    dbt_gate = transform::DbtTestsGate();
    quality_gate = quality::CheckpointGate(std::move(checkpoints), quality::PathsOf(services.project()), qo,
                                           [&quality_results, &log](const quality::CheckpointResult& r) {
                                             quality_results.push_back(r.ToJson());
                                             for (const auto& f : r.stored) log << "  result: " << f << "\n";
                                           });
    po.gates = {dbt_gate.get(), quality_gate.get()};
  }
  auto publish_target = transform::PublishTarget(services.project());
  if (!publish_target.ok()) return Failed(publish_target.status());
  if (publish_target->has_value()) po.postgres = &**publish_target;
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = services.Engine(&held, log);
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
                  {"audit", audit},
                  {"superseded_by", report->superseded_by.empty() ? json() : json(report->superseded_by)},
                  {"relations", relations},
                  {"serving_copy", report->serving_copy},
                  {"blocked_by", checks(report->blocking)},
                  {"warnings", checks(report->warnings)}};
  if (!quality_results.empty()) details["quality"] = quality_results;
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

}  // namespace

const TaskKind* PublishTaskKind() {
  static const PublishKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
