// Which warehouse a Strata project uses, decided in one place (docs/adr/0010).
//
// With a dbt project (strata.yml's `transform:`), the warehouse is its profile's target — the
// same one `dbt build` would use. strata.yml may also declare `warehouse:`; then the two must
// name the same warehouse, and when they do not, that is an error naming both files, never a
// silent choice. Without a dbt project, it is strata.yml's warehouse (by default the DuckDB
// file warehouse/<name>.duckdb).
#pragma once

#include <optional>
#include <string>

#include "core/project.h"
#include "core/status.h"
#include "transform/dbt_project.h"
#include "warehouse/target.h"

namespace strata::transform {

// The target a dbt profile names. `duckdb` gives a DuckDB target's settings other than its
// path (threads, memory limit, lock timeout).
warehouse::Target TargetOf(const Profile& profile, const WarehouseConfig& duckdb = {});

// The project's warehouse; `dbt_target` picks a profile target other than its default.
Result<warehouse::Target> ResolveTarget(const Project& project, const std::string& dbt_target = "");

// The warehouse of a dbt project's verbs (`strata build` in its folder): its profile's
// target, checked against the strata.yml of an enclosing folder that builds this project.
Result<warehouse::Target> ResolveTarget(const std::string& dbt_project_dir, const Profile& profile);
// The Strata project whose `transform:` is this dbt project: the strata.yml in the nearest
// folder above it that has one, if that file names this project.
std::optional<Project> EnclosingProject(const std::string& dbt_project_dir);

// Where `publish` puts audited relations when not in the warehouse itself: the project's
// PostgreSQL publish target, with the password read from its environment variable; nullopt
// when publishing stays inside the warehouse.
Result<std::optional<pg::ConnectOptions>> PublishTarget(const Project& project);

}  // namespace strata::transform
