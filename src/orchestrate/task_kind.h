// TaskKind: one kind of pipeline task (`type:` in strata.yml) — which settings it takes, the
// assets it implies, and what it does when it runs. Each kind lives in its own file under
// orchestrate/tasks/ and is listed once in tasks/registry.cc; pipeline parsing and
// PlatformTasks look kinds up by name and never switch over them.
//
// A kind runs against TaskServices, what the platform offers every task of a run: the
// project, the lake, and the warehouse (one task at a time per process, through the target
// that transform/target.h chose).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/project.h"
#include "core/status.h"
#include "orchestrate/executor.h"

namespace strata::lake {
class Lake;
}
namespace strata::warehouse {
class OpenTarget;
class Engine;
}  // namespace strata::warehouse

namespace strata::orchestrate {

class TaskServices {
 public:
  virtual ~TaskServices() = default;
  virtual const Project& project() const = 0;
  virtual lake::Lake* lake() = 0;
  // Waits for this process's warehouse turn (one warehouse task at a time); kAborted if the
  // attempt is cancelled while waiting.
  virtual Result<std::unique_lock<std::timed_mutex>> WarehouseTurn(const Attempt& a, std::ostream& log) = 0;
  // The shared handle on the project's warehouse; `log` is told while another process holds it.
  virtual Result<std::shared_ptr<warehouse::OpenTarget>> Target(std::ostream& log) = 0;
  // An engine on it, which `hold` keeps open while the engine lives.
  virtual Result<std::unique_ptr<warehouse::Engine>> Engine(std::shared_ptr<warehouse::OpenTarget>* hold,
                                                            std::ostream& log) = 0;
};

class TaskKind {
 public:
  virtual ~TaskKind() = default;
  // Its `type:` in pipelines.
  virtual const char* name() const = 0;
  // The settings it takes besides every task's (after, reads, writes, trigger_rule, retries).
  virtual std::vector<std::string> keys() const { return {}; }
  // Reads its settings from the task's map (keys already checked) into `t`.
  virtual Status Parse(const Project& /*project*/, const ConfigNode& /*node*/, TaskSpec* /*t*/) const {
    return Status::OK();
  }
  // Adds the assets it reads and writes by nature (pipeline.h).
  virtual void AddImpliedAssets(TaskSpec* /*t*/) const {}
  // Whether an attempt writes a log file (a noop has nothing to say, and skipping the file
  // keeps it the cheapest task there is).
  virtual bool logs() const { return true; }
  // Runs one attempt; `log` is the attempt's log.
  virtual TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const = 0;
};

// The kind named `name`, or null.
const TaskKind* FindTaskKind(std::string_view name);
// Every kind, in the order they are documented.
const std::vector<const TaskKind*>& TaskKinds();

// Helpers for kinds.
TaskOutcome Failed(const Status& s, nlohmann::json details = nlohmann::json());
// The run's identity, by Airflow's names: ds, logical_date, data_interval_start,
// data_interval_end, run_id.
std::vector<std::pair<std::string, std::string>> RunIdentity(const RunContext& run);
// The run as dbt vars, so that models can process the run's interval; a task's `vars:` win.
nlohmann::json RunVars(const Attempt& a);
// Replaces {{ ds }}, {{ logical_date }}, {{ data_interval_start }}, {{ data_interval_end }},
// {{ run_id }} in SQL and shell commands (Airflow's names).
std::string ExpandRunMacros(const std::string& text, const RunContext& run);

}  // namespace strata::orchestrate
