// Project: the platform's project file (strata.yml): sources, lake, warehouse, state.
//
//   name: shop
//   lake: lake                      # a local folder (relative to the project) or s3://...
//   warehouse: {type: duckdb, path: warehouse/shop.duckdb}
//   state_dir: .strata              # locks and local state
//   lock_timeout: 60                # seconds to wait for a warehouse or run history that another
//                                   # process holds, before giving up (retryably)
//   sources:
//     <name>: {type: sql | http | events, ...connector settings}
//   transform: transform            # a dbt project folder, built after each load
//   quality: quality                # expectation suites and checkpoints (default: quality/, or
//                                   # a Great Expectations project's gx/)
//   pipelines: {<name>: {...}}      # DAGs of tasks, parsed by the orchestrate module
//
// Connector settings are validated by the ingest module, with the same located errors.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace strata {

struct WarehouseConfig {
  std::string type = "duckdb";
  std::string path;  // absolute
  int threads = 0;   // 0 = DuckDB's default
  std::string memory_limit;
  // How long opening the database waits while another process holds it (DuckDB allows one
  // writer process); the wait is reported, and running out of it is kUnavailable.
  int lock_timeout_seconds = 60;
  // Where strata.yml declares it ("strata.yml:7:3"); "" = not declared: the warehouse is the
  // dbt project's target, or warehouse/<name>.duckdb without one (transform/target.h).
  std::string where;
};

// Where the publish task puts audited marts when not in the warehouse itself: a PostgreSQL
// server for BI tools (the lakehouse mode). The password comes from the environment
// variable `password_env`, never from the file.
struct PublishTargetConfig {
  std::string type;  // "" = publish inside the warehouse; "postgres"
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string dbname, user, password_env, sslmode = "prefer";
  int connect_timeout = 10;
  std::string where;  // "strata.yml:12:3", for messages
};

struct SourceConfig {
  std::string name;
  std::string type;
  ConfigNode node;  // the source's whole map
};

struct Project {
  std::string file;  // absolute path of the project file
  std::string dir;   // its directory
  std::string name;
  std::string lake_location;
  std::string state_dir;
  int lock_timeout_seconds = 60;  // `lock_timeout`: for the warehouse and the run history
  WarehouseConfig warehouse;
  PublishTargetConfig publish;
  std::vector<SourceConfig> sources;
  std::string transform_dir;  // the dbt project built after loading ("" = none)
  std::string quality_dir;    // `quality:`, absolute ("" = quality/ or gx/, see quality/checkpoint.h)
  ConfigNode pipelines;       // the `pipelines:` map, parsed by the orchestrate module

  // <state_dir>/published: the serving copies of a DuckDB warehouse's publications, which
  // `strata serve` reads (warehouse/serving_copy.h).
  std::string serving_dir() const { return state_dir + "/published"; }

  // `path_or_dir` is the project file or a directory holding strata.yml.
  static Result<Project> Load(const std::string& path_or_dir);
  // A path from the project file, made absolute relative to the project directory.
  std::string Resolve(const std::string& path) const;
  const SourceConfig* FindSource(const std::string& name) const;
  std::vector<std::string> SourceNames() const;
};

}  // namespace strata
