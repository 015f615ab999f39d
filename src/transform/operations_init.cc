// strata init: dbt's starter project, written whole or not at all (operations.h).
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/file.h"
#include "transform/operations.h"

namespace strata::transform {

namespace fs = std::filesystem;

namespace {

bool IsProjectName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

// ---- init -------------------------------------------------------------------------------------

namespace {

std::vector<std::pair<std::string, std::string>> StarterFiles(const std::string& name) {
  const std::string project = R"(# The dbt project )" + name +
                              R"(: `strata build` in this folder seeds, runs and tests it.
name: ')" + name + R"('
version: '1.0.0'

# The profile in profiles.yml (here, or in ~/.dbt/) that says which warehouse to build in.
profile: ')" + name + R"('

model-paths: ["models"]
analysis-paths: ["analyses"]
test-paths: ["tests"]
seed-paths: ["seeds"]
macro-paths: ["macros"]
snapshot-paths: ["snapshots"]

# `strata clean` deletes these.
clean-targets:
  - "target"
  - "dbt_packages"

# Folder configs: every model under models/example is a view unless it says otherwise.
models:
  )" + name + R"(:
    example:
      +materialized: view
)";
  const std::string profiles = R"(# Where `strata` builds the project: an embedded DuckDB file in this folder.
# For PostgreSQL: type: postgres, host, port, user, dbname, schema, and
# password: "{{ env_var('PG_PASSWORD') }}" (never the password itself).
)" + name + R"(:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: )" + name + R"(.duckdb
      schema: main
      threads: 4
)";
  const std::string first = R"(/*
    The first model of the project. A config() call in the file wins over
    dbt_project.yml: this one is a table although its folder says view.
*/

{{ config(materialized='table') }}

with source_data as (

    select 1 as id
    union all
    select null as id

)

select *
from source_data
-- The schema.yml tests say ids are unique and never null: keep this filter.
where id is not null
)";
  const std::string second = R"(-- The second model reads the first through ref(), which also orders the build.

select *
from {{ ref('my_first_dbt_model') }}
where id = 1
)";
  const std::string schema = R"(version: 2

models:
  - name: my_first_dbt_model
    description: "A starter model"
    columns:
      - name: id
        description: "The primary key of this table"
        data_tests:
          - unique
          - not_null

  - name: my_second_dbt_model
    description: "A starter model built on the first"
    columns:
      - name: id
        description: "The primary key of this table"
        data_tests:
          - unique
          - not_null
)";
  const std::string readme = "# " + name + R"(

A dbt project, built by Strata.

    strata debug       # is the warehouse reachable?
    strata build       # seeds, models, snapshots and their tests, in order
    strata show -s my_second_dbt_model
)";
  return {{"dbt_project.yml", project},
          {"profiles.yml", profiles},
          {"models/example/my_first_dbt_model.sql", first},
          {"models/example/my_second_dbt_model.sql", second},
          {"models/example/schema.yml", schema},
          {"README.md", readme},
          {".gitignore", "target/\ndbt_packages/\nlogs/\n*.duckdb\n*.duckdb.wal\n"},
          {"analyses/.gitkeep", ""},
          {"macros/.gitkeep", ""},
          {"seeds/.gitkeep", ""},
          {"snapshots/.gitkeep", ""},
          {"tests/.gitkeep", ""}};
}

}  // namespace

Result<std::vector<std::string>> InitProject(const std::string& parent_dir, const std::string& name) {
  if (!IsProjectName(name)) {
    return Status::InvalidArgument("project name '" + name +
                                   "': use letters, digits and underscores, not starting with a digit");
  }
  std::error_code ec;
  const fs::path parent = fs::absolute(parent_dir.empty() ? "." : parent_dir, ec).lexically_normal();
  const fs::path dir = parent / name;
  if (fs::symlink_status(dir, ec).type() != fs::file_type::not_found) {
    return Status::AlreadyExists(dir.string() + " already exists; init never writes into an existing folder");
  }
  // Built aside and renamed into place: the project appears whole or not at all.
  const fs::path tmp = parent / ("." + name + ".init-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  std::vector<std::string> written;
  for (const auto& [rel, text] : StarterFiles(name)) {
    Status s = WriteFileAtomic((tmp / rel).string(), text, Durability::kAtomicOnly);
    if (!s.ok()) {
      fs::remove_all(tmp, ec);
      return s;
    }
    written.push_back(rel);
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return Status::IOError("creating " + dir.string() + ": " + ec.message());
  }
  return written;
}

}  // namespace strata::transform
