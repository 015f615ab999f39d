// PlatformTasks: the TaskRunner that does real work for one pipeline run: it runs each task's
// kind (orchestrate/tasks/: ingest, load, build, test, publish, sql, shell, noop) and offers
// the kinds the platform's services (task_kind.h).
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
#include "orchestrate/task_kind.h"
#include "warehouse/session.h"
#include "warehouse/target.h"

namespace strata::orchestrate {

class PlatformTasks : public TaskRunner, public TaskServices {
 public:
  // `project` and `lake` must outlive this object.
  PlatformTasks(const Project* project, lake::Lake* lake) : project_(project), lake_(lake) {}
  // Runs the attempt's task kind (task_kind.h) with this object's services, logging to the
  // attempt's log file.
  TaskOutcome Run(const Attempt& attempt) override;

  // TaskServices:
  const Project& project() const override { return *project_; }
  lake::Lake* lake() override { return lake_; }
  Result<std::unique_lock<std::timed_mutex>> WarehouseTurn(const Attempt& a, std::ostream& log) override;
  Result<std::shared_ptr<warehouse::OpenTarget>> Target(std::ostream& log) override;
  Result<std::unique_ptr<warehouse::Engine>> Engine(std::shared_ptr<warehouse::OpenTarget>* hold,
                                                    std::ostream& log) override;

 private:
  const Project* project_;
  lake::Lake* lake_;
  std::mutex mu_;
  std::weak_ptr<warehouse::OpenTarget> target_;
  std::timed_mutex turn_mu_;  // held by the one task using the warehouse
};

}  // namespace strata::orchestrate
