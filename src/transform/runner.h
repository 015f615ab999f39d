// Runner: executes the selected nodes of a LoadedProject on a warehouse engine (DuckDB or
// PostgreSQL), in DAG order, with independent nodes in parallel (one session per worker),
// and writes dbt's artifacts.
//
// Ninja's shape: a plan with a ready queue; workers take ready nodes; a finished node
// releases its children; a failed node skips everything downstream. In `build`, a failing
// error-severity test also skips the children of the node it tests, as dbt build does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "transform/loader.h"
#include "transform/plan.h"
#include "transform/selector.h"
#include "warehouse/session.h"

namespace strata::transform {

enum class Verb { kCompile, kRun, kBuild, kTest, kSeed, kSnapshot, kList, kFreshness };

const char* VerbName(Verb verb);

struct RunOptions {
  Verb verb = Verb::kBuild;
  SelectOptions selection;
  int threads = 0;  // 0: the profile's
  bool full_refresh = false;
  bool fail_fast = false;
  // Stops the run when fired: running queries are interrupted, nothing new starts.
  CancelToken* cancel = nullptr;
  // Called as each node finishes (from worker threads, serialized).
  std::function<void(const struct NodeResult&)> on_result;
};

struct NodeResult {
  std::string unique_id;
  std::string name;
  std::string resource_type;
  std::string status;  // success | error | skipped | pass | fail | warn
  std::string message;
  double seconds = 0;
  int64_t rows_affected = -1;  // models and seeds; -1 when unknown
  int64_t failures = -1;       // tests
  std::string compiled_sql;
  std::string materialized;
  // Source freshness: max_loaded_at, snapshotted_at, max_loaded_at_time_ago_in_s, criteria.
  nlohmann::json freshness;
  // The worker that ran it ("Thread-1", ...), and when it started and finished (unset for a
  // node that never started, such as a skipped one).
  std::string thread_id;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point completed_at{};
};

// The machine-readable form of a node's result (`--json`, task details, the web API).
nlohmann::json ToJson(const NodeResult& r);

struct RunResults {
  std::vector<NodeResult> results;  // in completion order
  double elapsed = 0;
  bool success() const;
  int Count(const std::string& status) const;
};

class Runner {
 public:
  // `project` and `db` must outlive the runner.
  Runner(const LoadedProject* project, warehouse::Engine* db) : project_(project), db_(db) {}

  Result<RunResults> Execute(const RunOptions& options);

  // Writes target/manifest.json, and target/run_results.json when `results` is given.
  Status WriteArtifacts(const RunResults* results, const RunOptions& options) const;

 private:
  // The selected nodes that `options.verb` runs.
  Result<std::set<std::string>> NodesToRun(const RunOptions& options) const;
  // Their order: parents first; in build, tests before the children of what they test.
  Plan PlanRun(const std::set<std::string>& todo, Verb verb) const;
  // Runs one node on the worker's session `conn` (opened on first use).
  NodeResult RunNode(const std::string& id, const RunOptions& options, std::unique_ptr<warehouse::Session>* conn) const;

  // Runs on-run-start (results null) or on-run-end hooks, with `schemas` of the `todo` nodes.
  Status RunProjectHooks(const std::vector<std::string>& hooks, const char* which, const std::set<std::string>& todo,
                         const RunResults* results) const;

  const LoadedProject* project_;
  warehouse::Engine* db_;
};

}  // namespace strata::transform
