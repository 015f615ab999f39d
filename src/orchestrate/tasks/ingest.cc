// ingest: one source of the project into the lake, in the run's `ds` partition; the sql
// connector takes rows changed before the interval's end (or the catch-up run's start).
#include <chrono>

#include "ingest/connector.h"
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"

namespace strata::orchestrate {
namespace {

using nlohmann::json;

class IngestKind : public TaskKind {
 public:
  const char* name() const override { return "ingest"; }
  std::vector<std::string> keys() const override { return {"source", "tables", "full_refresh"}; }
  Status Parse(const Project& project, const ConfigNode& node, TaskSpec* t) const override {
    STRATA_ASSIGN_OR_RETURN(t->source, node.RequiredString("source"));
    if (project.FindSource(t->source) == nullptr) {
      std::string hint = Closest(t->source, project.SourceNames());
      return node["source"].Error("no source '" + t->source + "' in the project" +
                                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    STRATA_ASSIGN_OR_RETURN(t->tables, ListAt(node, "tables"));
    STRATA_ASSIGN_OR_RETURN(t->full_refresh, node.Bool("full_refresh", false));
    return Status::OK();
  }
  void AddImpliedAssets(TaskSpec* t) const override { t->writes.push_back("lake." + t->source); }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;
};

TaskOutcome IngestKind::Run(TaskServices& services, const Attempt& a, std::ostream& log) const {
  const SourceConfig* src = services.project().FindSource(a.task->source);
  if (src == nullptr) return Failed(Status::InvalidArgument("no source '" + a.task->source + "'"));
  ingest::IngestOptions opts;
  opts.date = a.run->ds;
  opts.until = a.run->extract_until > 0 ? a.run->extract_until : a.run->interval_end;
  opts.tables = a.task->tables;
  opts.full_refresh = a.task->full_refresh;
  opts.cancel = a.cancel;
  std::vector<ingest::TableResult> results;
  auto t0 = std::chrono::steady_clock::now();
  Status st = ingest::IngestSource(services.project(), services.lake(), *src, opts, &results);
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

}  // namespace

const TaskKind* IngestTaskKind() {
  static const IngestKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
