// load_bench: the warehouse load of a project's lake against DuckDB's own readers over the
// same lake files, measured in the same process, alternating, several repetitions.
//
//   load_bench --project DIR [--reps N] [--threads N]
//
// For every lake table it reports the median seconds of
//   strata:   Warehouse::LoadRaw into a fresh database file (transaction, bookkeeping, commit)
//   duckdb:   CREATE TABLE AS SELECT * FROM read_parquet/read_json(<same files>, <same schema>)
//   duckdb_auto: the same with DuckDB detecting the JSON schema itself
// as JSON on stdout. Totals include the final CHECKPOINT on both sides (LoadRaw ends with
// one; the baseline runs one), so both end in the same durable state.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "core/project.h"
#include "db/duckdb.h"
#include "lake/lake.h"
#include "warehouse/warehouse.h"

namespace fs = std::filesystem;
using namespace strata;
using nlohmann::json;

namespace {

using bench::Median;
using bench::Now;

[[noreturn]] void Die(const Status& s) { bench::Die("load_bench", s); }

}  // namespace

int main(int argc, char** argv) {
  std::string project_dir = ".";
  int reps = 3, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--project")
      project_dir = argv[i + 1];
    else if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
    else if (a == "--threads")
      threads = std::atoi(argv[i + 1]);
  }
  auto project = Project::Load(project_dir);
  if (!project.ok()) Die(project.status());
  auto store = lake::OpenObjectStore(project->lake_location);
  if (!store.ok()) Die(store.status());
  lake::Lake lake(std::move(*store));
  auto tables = lake.Tables();
  if (!tables.ok()) Die(tables.status());

  std::string scratch = fs::temp_directory_path() / ("load_bench_" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  std::map<std::string, std::vector<double>> ours, base, base_auto;
  std::map<std::string, int64_t> rows;
  std::vector<double> ours_total, base_total;

  for (int rep = 0; rep < reps; ++rep) {
    // Ours: the whole LoadRaw into a fresh file.
    fs::remove(scratch + "/ours.duckdb");
    fs::remove(scratch + "/ours.duckdb.wal");
    WarehouseConfig cfg;
    cfg.path = scratch + "/ours.duckdb";
    cfg.threads = threads;
    auto wh = warehouse::Warehouse::Open(cfg);
    if (!wh.ok()) Die(wh.status());
    std::vector<warehouse::LoadResult> results;
    double t0 = Now();
    Status s = (*wh)->LoadRaw(&lake, &results);
    ours_total.push_back(Now() - t0);
    if (!s.ok()) Die(s);
    for (const auto& r : results) {
      ours[r.relation].push_back(r.seconds);
      rows[r.relation] = r.rows;
    }
    wh->reset();

    // DuckDB alone over the same files.
    fs::remove(scratch + "/base.duckdb");
    fs::remove(scratch + "/base.duckdb.wal");
    std::map<std::string, std::string> settings;
    if (threads > 0) settings["threads"] = std::to_string(threads);
    auto db = duck::Database::Open(scratch + "/base.duckdb", settings);
    if (!db.ok()) Die(db.status());
    auto conn = (*db)->Connect();
    if (!conn.ok()) Die(conn.status());
    double base_sum = 0;
    struct AutoJob {
      std::string rel, name, format;
      std::vector<std::string> paths;
    };
    std::vector<AutoJob> auto_jobs;
    for (const auto& [source, table] : *tables) {
      auto manifests = lake.Manifests(source, table);
      if (!manifests.ok()) Die(manifests.status());
      std::vector<std::string> paths;
      std::vector<lake::ColumnSchema> schema;
      std::string format;
      for (const auto& m : *manifests) {
        for (const auto& c : m.schema) {
          if (std::none_of(schema.begin(), schema.end(), [&](const auto& x) { return x.name == c.name; })) {
            schema.push_back(c);
          }
        }
        for (const auto& f : m.files) {
          paths.push_back(*lake.store()->ReadablePath(f.key));
          format = f.format;
        }
      }
      if (paths.empty()) continue;
      std::string rel = "raw." + warehouse::Warehouse::RelationName(source, table);
      std::string name = warehouse::Warehouse::RelationName(source, table);
      double t1 = Now();
      Status st = (*conn)->Execute("CREATE TABLE " + duck::QuoteIdent(name) + " AS SELECT * FROM " +
                                   warehouse::LakeReader(format, paths, &schema));
      double dt = Now() - t1;
      if (!st.ok()) Die(st);
      base[rel].push_back(dt);
      base_sum += dt;
      if (format != "parquet") auto_jobs.push_back({rel, name, format, paths});
    }
    // Both sides end durable and checkpointed (LoadRaw checkpoints after loading).
    double t3 = Now();
    Status cp = (*conn)->Execute("CHECKPOINT");
    if (!cp.ok()) Die(cp);
    base_sum += Now() - t3;
    base_total.push_back(base_sum);
    // Informational: DuckDB detecting the JSON schema itself (after the timed totals).
    for (const auto& job : auto_jobs) {
      double t2 = Now();
      Status st = (*conn)->Execute("CREATE TABLE " + duck::QuoteIdent(job.name + "_auto") + " AS SELECT * FROM " +
                                   warehouse::LakeReader(job.format, job.paths, nullptr));
      if (!st.ok()) Die(st);
      base_auto[job.rel].push_back(Now() - t2);
    }
  }
  fs::remove_all(scratch);

  json out;
  out["reps"] = reps;
  out["duckdb_version"] = duck::Database::LibraryVersion();
  out["tables"] = json::array();
  for (const auto& [rel, times] : ours) {
    json t = {{"relation", rel}, {"rows", rows[rel]}, {"strata_s", Median(times)}, {"duckdb_s", Median(base[rel])}};
    if (base_auto.count(rel)) t["duckdb_auto_s"] = Median(base_auto[rel]);
    out["tables"].push_back(t);
  }
  out["strata_total_s"] = Median(ours_total);
  out["duckdb_total_s"] = Median(base_total);
  std::cout << out.dump(2) << std::endl;
  return 0;
}
