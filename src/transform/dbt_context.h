// The dbt context: what models, macros and tests see while they render — ref, source,
// config, var, env_var, is_incremental, this, target, adapter.dispatch, run_started_at,
// modules.datetime, log, doc, execute, flags.
//
// Rendering happens twice per node, as in dbt: a parse render records ref()/source()/config()
// calls (refs resolve to placeholder relations), and a compile render resolves them to real
// relations (ephemeral refs become CTE names).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transform/dbt_project.h"
#include "transform/jinja/environment.h"
#include "transform/manifest.h"

namespace strata::warehouse {
class Session;
}

namespace strata::transform {

enum class RenderMode { kParse, kCompile };

// What a unit test replaces while its model renders (dbt 1.8 `given` and `overrides`).
struct RenderOverrides {
  std::map<std::string, std::string> relations;        // unique id, or "this" -> CTE name
  nlohmann::json vars = nlohmann::json::object();      // var() answers, ahead of --vars
  nlohmann::json env_vars = nlohmann::json::object();  // env_var() answers, ahead of the environment
  nlohmann::json macros = nlohmann::json::object();    // macro name -> the value it returns
};

// The state of one render, reachable from dbt's functions.
struct RenderState {
  RenderMode mode = RenderMode::kParse;
  Node* node = nullptr;                // the node being rendered
  const Manifest* manifest = nullptr;  // compile: where refs resolve
  // Parse: what the template asked for, with the call's location.
  struct Ref {
    std::string package, name, where;
  };
  struct SourceRef {
    std::string source, table, where;
  };
  std::vector<Ref> refs;
  std::vector<SourceRef> sources;
  nlohmann::json config = nlohmann::json::object();  // config() calls
  // Compile.
  bool is_incremental = false;
  std::vector<std::string> ephemerals;         // unique ids of ephemeral nodes referenced
  const RenderOverrides* overrides = nullptr;  // unit tests only
  // Introspection and statements (adapter.get_columns_in_relation, run_query, ...): the
  // warehouse session of the render, opened on first use; empty when there is none.
  std::function<Result<warehouse::Session*>()> session;
  std::map<std::string, jinja::Value> results;  // statement results by name (load_result)
};

// The render state of the render making a call (an error outside node renders).
Result<RenderState*> RenderStateOf(jinja::CallContext& ctx);

// Shared, per-invocation settings of the context.
struct ContextSettings {
  std::string project_name;
  Profile profile;
  nlohmann::json project_vars = nlohmann::json::object();
  nlohmann::json cli_vars = nlohmann::json::object();  // --vars win over dbt_project.yml
  bool full_refresh = false;
  std::string run_started_at;  // "YYYY-MM-DD HH:MM:SS.ffffff"
  std::string invocation_id;
  std::shared_ptr<std::map<std::string, std::string>> docs;  // {% docs %} blocks by name
  // Only profiles.yml may read DBT_ENV_SECRET_* variables (as in dbt): anywhere else their
  // values would end up in target/ and logs.
  bool allow_secret_env = false;
  std::string which = "run";  // flags.WHICH: the command (run, build, compile, test, ...)
  bool empty = false;         // --empty: refs and sources of compiled models read no rows
  // selected_resources: the unique ids the running command selected (filled by the Runner
  // before any node renders; empty while parsing).
  std::shared_ptr<std::vector<std::string>> selected = std::make_shared<std::vector<std::string>>();
  std::vector<std::string> packages;                         // installed packages' names
  std::map<std::string, nlohmann::json> package_vars;        // each package's own dbt_project.yml vars
  std::map<std::string, std::vector<std::string>> dispatch;  // dbt_project.yml `dispatch:`
};

// A JSON value (YAML configs, vars) as a template value.
jinja::Value JsonToValue(const nlohmann::json& j);

// Registers dbt's globals on `env`.
void InstallDbtContext(jinja::Environment* env, const ContextSettings& settings);

// A Relation as templates see it ({{ this }}, ref(), source(), api.Relation.create), shaped
// like dbt's: database, schema, identifier, type, include(), incorporate(), render(), ...
// No schema means a CTE (an ephemeral model or a unit test input).
jinja::Value MakeRelation(const std::string& database, const std::string& schema, const std::string& identifier,
                          const std::string& type = "", const std::string& adapter = "duckdb");

// The same relation rendered as a subquery of no rows (dbt 1.8's --empty).
jinja::Value EmptyRelation(const jinja::Value& relation);

// Registers adapter, api, store_result and load_result (adapter_context.cc).
void InstallAdapterContext(jinja::Environment* env, const ContextSettings& settings);

// Registers set, tojson/fromjson, toyaml/fromyaml, local_md5, print, the as_* filters and
// modules.re/itertools/pytz and datetime constructors (context_modules.cc). After the
// datetime globals, which it extends.
void InstallContextModules(jinja::Environment* env);

// Python's datetime.strftime of a UTC time, as a bound method value.
jinja::Value StrftimeMethod(int64_t epoch_seconds);

// A node as templates see it (`model`, and the `node` of generate_schema_name): name,
// unique_id, resource_type, package_name, path, fqn, alias, schema, database, config, tags,
// description, columns.
jinja::Value NodeToValue(const Node& node);

// dbt's `graph` global over `manifest` (which must outlive it), built on first use.
jinja::Value MakeGraphValue(const Manifest* manifest);

// The render state and `execute`, for renders of no node (on-run-start/end hooks, operations).
void FillStateContext(jinja::Context* ctx, RenderState* state);

// The per-render variables for `node` (this, model, execute, the render state).
void FillRenderContext(jinja::Context* ctx, RenderState* state, const Node& node);

// The SQL relation text for a node ("schema"."alias", with database when set).
std::string RelationText(const std::string& database, const std::string& schema, const std::string& identifier);

}  // namespace strata::transform
