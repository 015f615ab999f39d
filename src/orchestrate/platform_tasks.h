// PlatformTasks: the TaskRunner that does real work — ingest a source into the lake, load new
// lake files into raw.*, build or test the dbt project, publish audited relations, run SQL
// on the warehouse, run a shell command — for one pipeline run.
//
// The warehouse (DuckDB allows one writer process) is opened when a task needs it, shared by
// the tasks of this process that use it at once, and closed when the last lets go, so that
// other processes (`strata query`, another date's run) can use the file between tasks; it
// is reopened after a failed write (duckdb.h). Tasks that use the warehouse run one at a
// time per PlatformTasks, also across concurrent runs (a parallel backfill): DuckDB's catalog
// cannot take two concurrent writers of the same schemas. Ingest and shell tasks run freely.
// Cancellation (timeouts, stop): DuckDB work is interrupted
// through the connection; a shell command's whole process group gets SIGTERM, then SIGKILL
// after a grace period; ingestion checks it after every page, file and part (an abandoned
// batch is never committed).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include "core/project.h"
#include "lake/lake.h"
#include "orchestrate/executor.h"
#include "transform/loader.h"
#include "warehouse/session.h"
#include "warehouse/target.h"

namespace strata::orchestrate {

class PlatformTasks : public TaskRunner {
 public:
  // `project` and `lake` must outlive this object.
  PlatformTasks(const Project* project, lake::Lake* lake) : project_(project), lake_(lake) {}
  TaskOutcome Run(const Attempt& attempt) override;

 private:
  // The shared handle on the project's warehouse (see above; transform/target.h decides which);
  // `log` is told while another process holds it.
  Result<std::shared_ptr<warehouse::OpenTarget>> Target(std::ostream& log);
  // Waits for this object's warehouse turn (one warehouse task at a time); kAborted if the
  // attempt is cancelled while waiting.
  Result<std::unique_lock<std::timed_mutex>> WarehouseTurn(const Attempt& a, std::ostream& log);
  TaskOutcome Ingest(const Attempt& a, std::ostream& log);
  TaskOutcome Load(const Attempt& a, std::ostream& log);
  TaskOutcome Dbt(const Attempt& a, std::ostream& log);
  TaskOutcome Publish(const Attempt& a, std::ostream& log);
  TaskOutcome Sql(const Attempt& a, std::ostream& log);
  TaskOutcome Shell(const Attempt& a, std::ostream& log);
  // An engine on the shared warehouse handle, which `hold` keeps open while the engine lives.
  Result<std::unique_ptr<warehouse::Engine>> Engine(std::shared_ptr<warehouse::OpenTarget>* hold, std::ostream& log);

  const Project* project_;
  lake::Lake* lake_;
  std::mutex mu_;
  std::weak_ptr<warehouse::OpenTarget> target_;
  std::timed_mutex turn_mu_;  // held by the one task using the warehouse
};

// Replaces {{ ds }}, {{ logical_date }}, {{ data_interval_start }}, {{ data_interval_end }},
// {{ run_id }} in SQL and shell commands (Airflow's names).
std::string ExpandRunMacros(const std::string& text, const RunContext& run);

}  // namespace strata::orchestrate
