// Test helper (header-only, for the transform tests): a dbt project in a temporary folder,
// built on embedded DuckDB or on schemas of the shared PostgreSQL test cluster, with helpers
// to run a verb and read rows back.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "testing.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "transform/target.h"
#include "warehouse/session.h"

namespace strata::transform {

// The shared copies of the real dbt packages (dbt_utils-1.3.3, ...): $STRATA_DBT_PACKAGES_DIR,
// else ../shared/dbt-packages beside the source tree, else /work/shared/dbt-packages; "" when
// none has them.
inline std::string SharedPackagesDir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("STRATA_DBT_PACKAGES_DIR")) candidates.push_back(env);
  candidates.push_back(testing::SourceDir() + "/../shared/dbt-packages");
  candidates.push_back("/work/shared/dbt-packages");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::exists(c + "/dbt_utils-1.3.3/dbt_project.yml", ec)) {
      return std::filesystem::canonical(c, ec).string();
    }
  }
  return "";
}

class DbtTestProject {
 public:
  // Writes profiles.yml: profile `profile`, target dev, on `engine` ("duckdb" or "postgres";
  // PostgreSQL in a fresh schema named from `schema_prefix`). A missing test cluster fails
  // the calling test.
  void Init(const std::string& engine, const std::string& profile, const std::string& schema_prefix, int threads = 2) {
    engine_ = engine;
    std::string target;
    if (engine == "postgres") {
      const testing::PgServer* pg = testing::Postgres();
      ASSERT_NE(pg, nullptr);
      schema = testing::PgTestSchema(schema_prefix);
      target = testing::PgProfileTarget(*pg, schema, threads);
    } else {
      target = "{type: duckdb, path: wh.duckdb, threads: " + std::to_string(threads) + "}";
    }
    testing::WriteText(dir.Sub("profiles.yml"), profile + ":\n  target: dev\n  outputs:\n    dev: " + target + "\n");
  }

  // Drops the PostgreSQL schemas the project made.
  ~DbtTestProject() {
    if (engine_ != "postgres" || !db) return;
    auto c = db->Connect();
    if (!c.ok()) return;
    auto schemas = (*c)->Query("SELECT nspname FROM pg_namespace WHERE nspname LIKE '" + schema + "%'");
    if (!schemas.ok()) return;
    for (const auto& row : schemas->rows) (void)(*c)->Execute("DROP SCHEMA IF EXISTS \"" + *row[0] + "\" CASCADE");
  }

  bool pg() const { return engine_ == "postgres"; }
  void Write(const std::string& rel, const std::string& text) { testing::WriteText(dir.Sub(rel), text); }

  // Loads the project (with `tweak` applied to the options) and runs `verb` on it.
  Result<RunResults> Run(Verb verb, std::vector<std::string> select = {},
                         const std::function<void(LoadOptions*)>& tweak = {}) {
    LoadOptions lo;
    lo.project_dir = dir.path();
    lo.which = VerbName(verb);
    if (tweak) tweak(&lo);
    auto p = LoadedProject::Load(lo);
    if (!p.ok()) return p.status();
    project = std::move(*p);
    db.reset();
    auto e = warehouse::OpenEngine(TargetOf(project->profile));
    if (!e.ok()) return e.status();
    db = std::move(*e);
    Runner runner(project.get(), db.get());
    RunOptions ro;
    ro.verb = verb;
    ro.selection.select = std::move(select);
    return runner.Execute(ro);
  }

  // The rows of `sql` ("{S}" is the target schema), cells joined by '|', NULL as NULL.
  std::vector<std::string> Rows(std::string sql) {
    for (size_t pos; (pos = sql.find("{S}")) != std::string::npos;) sql.replace(pos, 3, schema);
    std::vector<std::string> out;
    if (!db) {
      ADD_FAILURE() << "no warehouse yet: Run() first";
      return out;
    }
    auto c = db->Connect();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return out;
    auto r = (*c)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return out;
    return testing::RowLines(*r);
  }

  static const NodeResult* Find(const RunResults& r, const std::string& name) {
    for (const auto& x : r.results) {
      if (x.name == name) return &x;
    }
    return nullptr;
  }

  testing::TempDir dir;
  std::string schema = "main";
  std::unique_ptr<LoadedProject> project;
  std::unique_ptr<warehouse::Engine> db;

 private:
  std::string engine_;
};

}  // namespace strata::transform
