// quality: runs checkpoints (quality/checkpoint.h) on the warehouse, after the relations they
// validate were built. Error-severity failures fail the task (and so stop what depends on it);
// warn-severity failures are reported. Each validation result is stored where GE stores them
// and listed in the task's details, so the run's history links to them.
//
//   check_marts: {type: quality, checkpoint: marts}          # or checkpoints: [a, b]
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"
#include "quality/checkpoint.h"
#include "quality/gate.h"
#include "transform/loader.h"
#include "warehouse/target.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;

class QualityKind : public TaskKind {
 public:
  const char* name() const override { return "quality"; }
  std::vector<std::string> keys() const override { return {"checkpoint", "checkpoints"}; }
  Status Parse(const Project& project, const ConfigNode& node, TaskSpec*) const override {
    STRATA_ASSIGN_OR_RETURN(auto names, CheckpointsOf(node));
    if (names.empty()) return node.Error("a quality task needs `checkpoint: NAME` (or `checkpoints: [...]`)");
    const quality::QualityPaths paths = quality::PathsOf(project);
    for (const auto& n : names) {
      auto file = quality::CheckpointFile(paths, n);
      if (!file.ok()) return node.Error(file.status().message());
    }
    return Status::OK();
  }
  void AddImpliedAssets(TaskSpec* t) const override {
    t->reads.push_back("models");
    t->writes.push_back("checks");
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;

  static Result<std::vector<std::string>> CheckpointsOf(const ConfigNode& node) {
    std::vector<std::string> out;
    if (node.Has("checkpoint")) {
      STRATA_ASSIGN_OR_RETURN(std::string one, node.RequiredString("checkpoint"));
      out.push_back(one);
    }
    if (node.Has("checkpoints")) {
      STRATA_ASSIGN_OR_RETURN(auto more, node["checkpoints"].StringList());
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }
};

TaskOutcome QualityKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  auto names = CheckpointsOf(a.task->node);
  if (!names.ok()) return Failed(names.status());
  const quality::QualityPaths paths = quality::PathsOf(services.project());
  auto checkpoints = quality::LoadCheckpoints(paths, *names);
  if (!checkpoints.ok()) return Failed(checkpoints.status());
  // Model names resolve to their built relations when the project has a dbt project.
  auto loaded = transform::LoadTransformOf(services.project(), RunVars(a));
  if (!loaded.ok()) return Failed(loaded.status());
  std::unique_ptr<transform::LoadedProject> dbt = std::move(*loaded);
  auto turn = services.WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  std::shared_ptr<warehouse::OpenTarget> held;
  auto engine = services.Engine(&held, log);
  if (!engine.ok()) return Failed(engine.status());
  auto session = (*engine)->Connect();
  if (!session.ok()) return Failed(session.status());
  CancelScope on_cancel(a.cancel, [s = session->get()] { s->Interrupt(); });
  quality::CheckpointOptions options;
  options.run_names = RunIdentity(*a.run);
  options.run_name = a.run->run_id;
  options.resolve = [&dbt](const std::string& asset) { return dbt ? quality::ModelRelation(*dbt, asset) : ""; };
  json details = json::array();
  json audit = json::array();  // every expectation as a check, like a publish's audit
  int blocking = 0, warnings = 0, evaluated = 0, successful = 0;
  for (const auto& c : *checkpoints) {
    auto r = quality::RunCheckpoint(session->get(), c, paths, options);
    if (!r.ok()) return Failed(r.status().WithContext("checkpoint " + c.name));
    for (const auto& check : quality::AuditResults(*r)) {
      audit.push_back(transform::ToJson(check));
      log << "  " << check.status << " " << check.name;
      if (!check.message.empty() && check.status != "pass") log << ": " << check.message;
      log << "\n";
    }
    for (const auto& f : r->stored) log << "  result: " << f << "\n";
    blocking += r->blocking;
    warnings += r->warnings;
    evaluated += r->evaluated;
    successful += r->successful;
    details.push_back(r->ToJson());
  }
  char pct[32];
  std::snprintf(pct, sizeof(pct), "%.1f", evaluated == 0 ? 100.0 : 100.0 * successful / evaluated);
  const std::string summary = std::to_string(successful) + " of " + std::to_string(evaluated) +
                              " expectations passed (" + pct + " %)" +
                              (warnings ? ", " + std::to_string(warnings) + " warning(s)" : "");
  if (blocking > 0) {
    TaskOutcome o =
        Failed(Status::Failed(std::to_string(blocking) + " error-severity expectation(s) failed; " + summary),
               {{"checkpoints", details}, {"audit", audit}});
    o.final = true;  // the data will not change by retrying
    return o;
  }
  TaskOutcome o;
  o.summary = summary;
  o.details = {{"checkpoints", details}, {"audit", audit}};
  return o;
}

}  // namespace

const TaskKind* QualityTaskKind() {
  static const QualityKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
