// Materializations, on any engine: how one node becomes a view, table, incremental table,
// seed or test result. The SQL of each statement comes from dispatchable macros
// (src/transform/macros), so a project or a warehouse can override it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "warehouse/session.h"

namespace strata::transform {

// The columns of relation schema.name as (name, type), in order; empty if it does not exist.
Result<std::vector<std::pair<std::string, std::string>>> Columns(warehouse::Session* c, const std::string& schema,
                                                                 const std::string& name);

// Runs `node` on `conn`, filling `result` (status, rows, failures, compiled SQL).
// Expected failures (SQL errors, failing tests) are reported in `result`, not as a Status;
// a non-OK Status means the node could not be attempted.
Status Materialize(const LoadedProject& project, warehouse::Session* conn, const Node& node, bool full_refresh,
                   NodeResult* result);

// Source freshness as in `dbt source freshness`: the age of the newest `loaded_at_field`
// value, measured from the invocation's run_started_at, against the source's warn_after and
// error_after. status pass | warn | error (stale, or the query failed).
Status CheckFreshness(const LoadedProject& project, warehouse::Session* conn, const Node& source, NodeResult* result);

}  // namespace strata::transform
