// Target: the one answer to "which warehouse?", and what every command and task does with it.
//
// transform::ResolveTarget (transform/target.h) decides it from strata.yml and the dbt
// profile; everything else — the raw load, dbt's verbs, publish, SQL tasks, `strata query` —
// takes a Target and asks it, never the configs. The kinds differ only behind this header.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/project.h"
#include "core/status.h"
#include "db/postgres.h"
#include "lake/lake.h"
#include "warehouse/session.h"
#include "warehouse/warehouse.h"

namespace strata::warehouse {

struct Target {
  enum class Kind { kDuckDb, kPostgres };
  Kind kind = Kind::kDuckDb;
  WarehouseConfig duckdb;       // kind == kDuckDb: the file and its settings
  pg::ConnectOptions postgres;  // kind == kPostgres (with the password: never print it)
  // Which configuration chose it, for messages: "strata.yml:7:3" or "profiles.yml target 'dev'".
  std::string origin;

  // "duckdb /abs/shop.duckdb" or "postgres strata@127.0.0.1:5432/shop" (no secrets).
  std::string Describe() const;
  // dbt's target.type: "duckdb" or "postgres".
  const char* TypeName() const;
};

// An open target: what the tasks of one process share while they use the warehouse. A
// DuckDB file is held open (one writer process); a PostgreSQL server is connected per use.
class OpenTarget {
 public:
  // read_only: nothing is written (DuckDB readers share the file; PostgreSQL sessions are
  // READ ONLY); on_wait: told about every 5 s while another process holds the DuckDB file.
  using Options = Warehouse::OpenOptions;
  // Opens `target`, waiting for a DuckDB file another process holds (up to its lock timeout,
  // then kUnavailable), or checking the PostgreSQL connection at once.
  static Result<std::unique_ptr<OpenTarget>> Open(const Target& target, const Options& options);
  virtual ~OpenTarget() = default;

  const Target& target() const { return target_; }
  // Loads every committed lake file not loaded yet into raw.* (Warehouse::LoadRaw, or
  // LoadRawToPostgres with binary COPY). `cancel` interrupts the load in progress.
  virtual Status LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                         const std::function<void(const LoadResult&)>& on_table, CancelToken* cancel) = 0;
  // An engine on this target for dbt's verbs, publish and SQL; it must not outlive this object.
  virtual Result<std::unique_ptr<Engine>> NewEngine() = 0;
  // Whether a write failed and the target must be opened again before further use (duckdb.h).
  virtual bool broken() const { return false; }

 protected:
  explicit OpenTarget(Target target) : target_(std::move(target)) {}

 private:
  Target target_;
};

// An engine owning its own handle on `target`, for one-off use (tests, tools): commands and
// tasks share an OpenTarget instead.
Result<std::unique_ptr<Engine>> OpenEngine(const Target& target);

}  // namespace strata::warehouse
