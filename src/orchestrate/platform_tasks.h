// PlatformTasks: the TaskRunner that does real work — ingest a source into the lake, load new
// lake files into raw.*, build or test the dbt project, publish audited relations, run SQL
// on the warehouse, run a shell command — for one pipeline run.
//
// Tasks of a run share one open warehouse (DuckDB allows one writer process, and in-process
// tasks share its Database). Cancellation (timeouts, stop): DuckDB work is interrupted
// through the connection; a shell command's whole process group gets SIGTERM, then SIGKILL
// after a grace period; ingestion checks it after every page, file and part (an abandoned
// batch is never committed).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/project.h"
#include "lake/lake.h"
#include "orchestrate/executor.h"
#include "warehouse/warehouse.h"

namespace strata::orchestrate {

class PlatformTasks : public TaskRunner {
 public:
  // `project` and `lake` must outlive this object.
  PlatformTasks(const Project* project, lake::Lake* lake) : project_(project), lake_(lake) {}
  TaskOutcome Run(const Attempt& attempt) override;

 private:
  Result<warehouse::Warehouse*> Warehouse();
  TaskOutcome Ingest(const Attempt& a, std::ostream& log);
  TaskOutcome Load(const Attempt& a, std::ostream& log);
  TaskOutcome Dbt(const Attempt& a, std::ostream& log);
  TaskOutcome Publish(const Attempt& a, std::ostream& log);
  TaskOutcome Sql(const Attempt& a, std::ostream& log);
  TaskOutcome Shell(const Attempt& a, std::ostream& log);

  const Project* project_;
  lake::Lake* lake_;
  std::mutex mu_;
  std::unique_ptr<warehouse::Warehouse> warehouse_;
  std::mutex load_mu_;  // the raw load uses the warehouse's own connection
};

// Loads the lake's new files into the raw schema the project's models read: the database of
// its dbt target when that is PostgreSQL (binary COPY), else the project's DuckDB warehouse,
// which `duckdb` opens on demand. `destination` receives where, for messages.
Status LoadLake(const Project& project, lake::Lake* lake, const std::function<Result<warehouse::Warehouse*>()>& duckdb,
                std::vector<warehouse::LoadResult>* results,
                const std::function<void(const warehouse::LoadResult&)>& on_table, CancelToken* cancel,
                std::string* destination);

// The connection settings of the project's PostgreSQL publish target, with the password read
// from its environment variable.
Result<pg::ConnectOptions> PublishTargetOptions(const PublishTargetConfig& config);

// Replaces {{ ds }}, {{ logical_date }}, {{ data_interval_start }}, {{ data_interval_end }},
// {{ run_id }} in SQL and shell commands (Airflow's names).
std::string ExpandRunMacros(const std::string& text, const RunContext& run);

}  // namespace strata::orchestrate
