// LoadedProject: a dbt-style project read from disk and parsed into a Manifest, with the
// template environment that compiles its nodes.
//
// Loading follows dbt's parse phase: macros (built-in, then the project's, which override),
// docs blocks, models, seeds, snapshots and singular tests are discovered; every SQL node is
// rendered once in parse mode to record its ref(), source() and config() calls; YAML
// properties add descriptions, columns, configs and generic tests; configs merge as
// folder < YAML < config(); schemas and aliases come from generate_schema_name and
// generate_alias_name. Unknown refs and sources, cycles and duplicate names are errors that
// name the file, line and column, with a "did you mean".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/project.h"
#include "core/status.h"
#include "transform/dbt_context.h"
#include "transform/dbt_project.h"
#include "transform/jinja/environment.h"
#include "transform/manifest.h"
#include "transform/properties.h"

namespace strata::transform {

struct LoadOptions {
  std::string project_dir = ".";
  std::string profiles_dir;  // "" = project dir, then ~/.dbt
  std::string target;        // "" = the profile's default
  nlohmann::json cli_vars = nlohmann::json::object();
  bool full_refresh = false;
  std::string which = "run";  // the command, for flags.WHICH
  bool empty = false;         // --empty (dbt 1.8): models read zero rows from their refs and sources
  // The invocation's timestamp ("YYYY-MM-DD HH:MM:SS", UTC): run_started_at, and the "now" of
  // snapshots. Empty: the current time.
  std::string run_started_at;
  // Exposures from outside the dbt project (Strata's dashboards), beside its YAML ones.
  std::vector<ExposureSpec> extra_exposures;
};

// Only the profile's selected target of the project at options.project_dir (dbt_project.yml
// and profiles.yml; no models parsed): which warehouse the project builds in.
Result<Profile> LoadTargetProfile(const LoadOptions& options);

struct LoadedProject {
  DbtProject project;
  std::vector<DbtProject> packages;  // installed (dbt_packages/), by name
  Profile profile;
  ContextSettings settings;
  std::unique_ptr<jinja::Environment> env;
  Manifest manifest;
  Graph graph;
  std::map<std::string, std::shared_ptr<jinja::Template>> templates;  // by unique id
  std::map<std::string, UnitTestSpec> unit_tests;                     // by the unit test node's unique id
  // What dbt warns about and goes on: a YAML entry that matches no file, tests of disabled nodes.
  std::vector<std::string> warnings;

  static Result<std::unique_ptr<LoadedProject>> Load(const LoadOptions& options);

  // The project a node comes from (the root project or an installed package); null for none.
  const DbtProject* ProjectOf(const Node& node) const;

  // Renders a node's SQL for execution. `is_incremental` answers is_incremental().
  // Ephemeral models it references are inlined as CTEs. A unit test passes `overrides`: its
  // inputs replace refs, sources and `this`, and its vars, env vars and macros win.
  // `session` answers introspection and statements (run_query, adapter.get_columns_in_relation);
  // without one they fail with a clear error.
  Result<std::string> Compile(const Node& node, bool is_incremental, const RenderOverrides* overrides = nullptr,
                              const std::function<Result<warehouse::Session*>()>& session = {}) const;

  // Renders hook SQL in compile mode: a pre-/post-hook of `node` (with its this, model and
  // config), or with `node` null an on-run-start/end hook or an operation, with `extra`
  // variables (results, schemas).
  Result<std::string> RenderHook(const std::string& sql, const std::string& where, const Node* node,
                                 const std::map<std::string, jinja::Value>& extra,
                                 const std::function<Result<warehouse::Session*>()>& session) const;

  // Calls a (dispatchable) macro by name with positional arguments; returns its text.
  Result<std::string> CallMacro(const std::string& name, std::vector<jinja::Value> args) const;
};

// The dbt project of a Strata project (its `transform:` folder), loaded with `vars`; null when
// the project has none. Errors say they come from reading the dbt project.
Result<std::unique_ptr<LoadedProject>> LoadTransformOf(const Project& project,
                                                       const nlohmann::json& vars = nlohmann::json::object());

}  // namespace strata::transform
