// load: every committed lake file not loaded yet into the warehouse's raw.* tables.
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"
#include "warehouse/target.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;

class LoadKind : public TaskKind {
 public:
  const char* name() const override { return "load"; }
  void AddImpliedAssets(TaskSpec* t) const override {
    t->reads.push_back("lake.*");
    t->writes.push_back("raw");
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;
};

TaskOutcome LoadKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  auto turn = services.WarehouseTurn(a, log);
  if (!turn.ok()) return Failed(turn.status());
  std::vector<warehouse::LoadResult> results;
  auto target = services.Target(log);
  if (!target.ok()) return Failed(target.status());
  Status st = (*target)->LoadRaw(services.lake(), &results, nullptr, a.cancel);
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

}  // namespace

const TaskKind* LoadTaskKind() {
  static const LoadKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
