// Operations: dbt's verbs that do not run a plan of nodes — debug, run-operation, show, ls's
// output forms, clean, retry's plan, init — and the run flags that adjust a loaded project
// before it runs (--empty, --store-failures, --warn-error, --target-path). The command line
// parses flags, calls these and prints; nothing here prints.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "db/query_result.h"
#include "transform/loader.h"
#include "transform/selector.h"
#include "warehouse/target.h"

namespace strata::transform {

// ---- debug ----------------------------------------------------------------------------------

struct DebugReport {
  struct Check {
    std::string name;  // "dbt_project.yml", "profiles.yml", "connection"
    bool ok = false;
    std::string detail;  // what was found, or the error
  };
  std::string project_dir;    // absolute
  std::string profiles_file;  // the profiles.yml read; "" when none was found
  // The selected target as "key: value" pairs (type, schema, path or host/port/user/dbname,
  // threads): never the password.
  std::vector<std::pair<std::string, std::string>> target;
  std::vector<Check> checks;  // in order; a check is missing when an earlier one failed
  bool ok() const;
};

// Checks the project at options.project_dir as `dbt debug` does: dbt_project.yml reads, a
// profiles.yml is found and has the target, and the warehouse answers `select 1` (a DuckDB
// file is created if missing, as dbt-duckdb does). Problems are failed checks, never errors.
DebugReport Debug(const LoadOptions& options);

// ---- a warehouse session for renders ----------------------------------------------------------

// A session on a target, opened on first use (renders that never query never connect).
// Statements autocommit. Not thread-safe; must outlive the renders given Fn().
class TargetSession {
 public:
  explicit TargetSession(warehouse::Target target) : target_(std::move(target)) {}
  ~TargetSession();
  TargetSession(const TargetSession&) = delete;
  TargetSession& operator=(const TargetSession&) = delete;

  Result<warehouse::Session*> Get();
  // Get(), as LoadedProject's `session` parameters take it.
  std::function<Result<warehouse::Session*>()> Fn() {
    return [this] { return Get(); };
  }

 private:
  warehouse::Target target_;
  std::unique_ptr<warehouse::OpenTarget> open_;
  std::unique_ptr<warehouse::Engine> engine_;
  std::unique_ptr<warehouse::Session> session_;
};

// ---- run-operation ----------------------------------------------------------------------------

// Calls `macro` ("name": the root project's, a package's reachable by bare name or dbt's;
// "package.name": that package's) with the members of `args` (a JSON object) as keyword
// arguments, with `session` for run_query/statement/adapter. Returns what it returned (or
// rendered), trimmed. Unknown macros are kNotFound with a "did you mean"; a failing macro's
// error carries the template's file:line:col and call stack.
Result<std::string> RunOperation(const LoadedProject& project, const std::string& macro, const nlohmann::json& args,
                                 const std::function<Result<warehouse::Session*>()>& session);

// ---- show -------------------------------------------------------------------------------------

struct ShowOptions {
  std::string select;      // one model, seed, snapshot or test (dbt's selection syntax)
  std::string inline_sql;  // or SQL with Jinja (ref, source, macros)
  int limit = 5;           // rows; negative: all
};

struct ShowResult {
  std::string node;          // the node's name, or "inline_query"
  std::string compiled_sql;  // ephemeral refs inlined as CTEs
  std::string query;         // what ran: the compiled SQL wrapped in the limit
  sql::QueryResult rows;
};

// Compiles the selected node (or the inline SQL, rendered as a node of the root project named
// inline_query, so ref() to ephemeral models inlines them) and runs it under the limit, as
// `select * from (<sql>) as model_limit_subq limit N`. Selecting nothing or several nodes is
// kInvalidArgument. Adds the inline node's template to `project`.
Result<ShowResult> Show(LoadedProject* project, const ShowOptions& options, TargetSession* session);

// `rows` as dbt prints a preview: "| a | b |" lines under a header and a rule.
std::string FormatTable(const sql::QueryResult& rows);
// `rows` as a JSON array of objects; numeric and boolean columns become JSON numbers and booleans.
nlohmann::json RowsToJson(const sql::QueryResult& rows);

// ---- ls ---------------------------------------------------------------------------------------

// `dbt ls --output selector`: the fqn joined with '.', with "source:" or "exposure:" in front.
std::string ListSelector(const Node& node);
// `--output name`: the name (sources: "source_name.table").
std::string ListName(const Node& node);
// `--output json`: the node's fields named in `keys` (empty: dbt's default keys alias, name,
// package_name, depends_on, tags, config, resource_type, source_name, original_file_path,
// unique_id). Keys the node does not have are left out, as dbt does.
nlohmann::json ListJson(const Node& node, const std::vector<std::string>& keys);

// ---- clean ------------------------------------------------------------------------------------

struct CleanReport {
  std::vector<std::string> removed;  // absolute paths
  std::vector<std::string> missing;  // clean-targets that did not exist
};

// Deletes the project's clean-targets (default: its target-path). With `project_files_only`
// (dbt's default) a target outside the project folder is refused; the project folder itself,
// a folder above it and its model, seed, snapshot, macro and test paths always are. Every
// target is checked before anything is deleted: a refusal (kInvalidArgument) deletes nothing.
Result<CleanReport> Clean(const DbtProject& project, bool project_files_only = true);

// ---- retry ------------------------------------------------------------------------------------

struct RetryPlan {
  std::string which;                 // the verb the previous invocation ran
  nlohmann::json args;               // its recorded args (select, vars, target, ...)
  std::set<std::string> unique_ids;  // the nodes to run again
};

// Reads a previous invocation's run_results.json: the nodes whose status was error, fail or
// skipped (and warn when `warn_error` or the previous invocation had --warn-error). No file is
// kNotFound; a file without args.which is kInvalidArgument.
Result<RetryPlan> PlanRetry(const std::string& run_results_path, bool warn_error);

// A selection of exactly `ids` (no indirect tests): fqn selectors, with nodes that a selector
// also matches excluded again. Ids the manifest no longer has are left out and named in
// *missing.
SelectOptions SelectExactly(const LoadedProject& project, const std::set<std::string>& ids,
                            std::vector<std::string>* missing);

// ---- init -------------------------------------------------------------------------------------

// Creates the project `name` in parent_dir/name as dbt's starter project (dbt_project.yml, a
// DuckDB profiles.yml, two example models with tests, empty seeds/ macros/ tests/ snapshots/
// analyses/, .gitignore), all at once: the folder appears complete or not at all. An existing
// folder is kAlreadyExists; a name other than letters, digits and '_' is kInvalidArgument.
// Returns the files written, relative to the new folder.
Result<std::vector<std::string>> InitProject(const std::string& parent_dir, const std::string& name);

// ---- run flags --------------------------------------------------------------------------------

// --store-failures: every test that does not set store_failures keeps its failing rows.
void StoreFailures(LoadedProject* project);

// --warn-error: tests with severity warn fail instead (checks that still end in warn must be
// failed by the caller).
void TestWarningsAsErrors(LoadedProject* project);

// --target-path: artifacts and compiled SQL go to `path` (relative to the project root, as the
// target-path key, or absolute).
void SetTargetPath(LoadedProject* project, const std::string& path);

// The absolute target folder of `project`.
std::string TargetDir(const DbtProject& project);

// ---- structured logs --------------------------------------------------------------------------

// One line of `--log-format json`, shaped like dbt's structured logs:
// {"info": {"name", "level", "msg", "ts", "invocation_id"}, "data": {...}}.
std::string LogLineJson(const std::string& level, const std::string& name, const std::string& msg,
                        const nlohmann::json& data = nlohmann::json::object(), const std::string& invocation_id = "");

}  // namespace strata::transform
