// DbtProject: dbt_project.yml and profiles.yml as dbt-core 1.7+ reads them, and dbt's
// config precedence for folder configs.
//
// Folder configs live under `models:`, `seeds:`, `snapshots:` and `tests:` in
// dbt_project.yml, nested by project name and folder, with or without the `+` prefix:
//
//   models:
//     shop:
//       +materialized: view
//       marts: {+materialized: table, +tags: [nightly]}
//
// For a node at fqn [shop, marts, fct_orders] the configs of `models`, `shop`, `marts` and
// `fct_orders` apply, deeper ones winning. Precedence overall: in-file config() > YAML
// properties > dbt_project.yml folders (see MergeConfig for how values combine).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace strata::transform {

// The dbt version whose behaviour Strata follows: `dbt_version`, `require-dbt-version` checks
// and manifest metadata.
inline constexpr const char* kDbtCompatVersion = "1.10.5";

// Renders Jinja in YAML values (profiles.yml's env_var(), vars). Identity when empty.
using TextRenderer = std::function<Result<std::string>(const std::string& text, const std::string& where)>;

// A profiles.yml target. DuckDB: {type: duckdb, path, schema, threads}. PostgreSQL (as in
// dbt-postgres): {type: postgres, host, port, user, password, dbname, schema, sslmode,
// connect_timeout, threads}; the password only through the environment,
// password: "{{ env_var('SHOP_PG_PASSWORD') }}" (or none: libpq's PGPASSWORD, ~/.pgpass).
struct Profile {
  std::string name;
  std::string target;    // selected target name
  std::string where;     // the target in profiles.yml ("/x/profiles.yml:4:7: shop.outputs.dev")
  std::string type;      // "duckdb" or "postgres"
  std::string path;      // duckdb: database file, absolute (relative paths are from the project root)
  std::string database;  // postgres: the dbname
  std::string schema = "main";
  int threads = 1;
  // postgres
  std::string host, user, password, sslmode;
  int port = 5432;
  int connect_timeout = 10;
  nlohmann::json settings = nlohmann::json::object();  // the target's other keys (password removed)
};

struct DbtProject {
  std::string root;  // absolute project directory
  std::string name;
  std::string version;
  std::string profile_name;
  std::vector<std::string> model_paths{"models"};
  std::vector<std::string> seed_paths{"seeds"};
  std::vector<std::string> snapshot_paths{"snapshots"};
  std::vector<std::string> macro_paths{"macros"};
  std::vector<std::string> test_paths{"tests"};
  std::string target_path = "target";
  std::string packages_install_path = "dbt_packages";  // relative to root, or absolute
  std::vector<std::string> clean_targets;
  // `dispatch:` — macro namespace -> the packages adapter.dispatch searches, in order.
  std::map<std::string, std::vector<std::string>> dispatch;
  std::vector<std::string> on_run_start, on_run_end;  // hooks (SQL templates)
  nlohmann::json vars = nlohmann::json::object();
  nlohmann::json models = nlohmann::json::object();  // folder config trees
  nlohmann::json seeds = nlohmann::json::object();
  nlohmann::json snapshots = nlohmann::json::object();
  nlohmann::json tests = nlohmann::json::object();
  nlohmann::json unit_tests = nlohmann::json::object();

  static Result<DbtProject> Load(const std::string& dir);

  // The folder config for a node of `resource` ("models", "seeds", ...) at `fqn`
  // ([project, folders..., name]).
  nlohmann::json FolderConfig(const std::string& resource, const std::vector<std::string>& fqn) const;
};

// Where profiles.yml is looked for, in order: `profiles_dir`, else $DBT_PROFILES_DIR, the
// project root, ~/.dbt.
std::vector<std::string> ProfilesCandidates(const DbtProject& project, const std::string& profiles_dir);
// The first of them that exists (absolute), or "".
std::string ProfilesFile(const DbtProject& project, const std::string& profiles_dir);

// Reads profiles.yml from `profiles_dir` (default: the project root, then ~/.dbt), picks
// `target` (default: the profile's `target:`), rendering values with `render`.
Result<Profile> LoadProfile(const DbtProject& project, const std::string& profiles_dir, const std::string& target,
                            const TextRenderer& render);

// Merges config `over` into `base`: `tags` accumulate (no duplicates), `meta` and `grants`
// merge key by key, `pre-hook`/`post-hook` append; everything else is replaced.
// Keys are normalized: a leading '+' is dropped, and `pre_hook` is `pre-hook`.
void MergeConfig(nlohmann::json* base, const nlohmann::json& over);

// Config keys dbt recognizes without the '+' prefix in dbt_project.yml.
bool IsConfigKey(const std::string& key);

}  // namespace strata::transform
