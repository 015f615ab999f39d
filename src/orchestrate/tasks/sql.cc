// sql: statements on the warehouse, with the run's macros ({{ ds }}, ...) expanded.
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"
#include "warehouse/target.h"

namespace strata::orchestrate {
namespace {

class SqlKind : public TaskKind {
 public:
  const char* name() const override { return "sql"; }
  std::vector<std::string> keys() const override { return {"sql"}; }
  Status Parse(const Project& /*project*/, const ConfigNode& node, TaskSpec* t) const override {
    STRATA_ASSIGN_OR_RETURN(t->sql, node.RequiredString("sql"));
    return Status::OK();
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;
};

TaskOutcome SqlKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  auto turn = services.WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  std::shared_ptr<warehouse::OpenTarget> held;  // outlives the engine
  auto engine = services.Engine(&held, log);
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

}  // namespace

const TaskKind* SqlTaskKind() {
  static const SqlKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
